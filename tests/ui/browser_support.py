"""The UI served by `peaklens ui` and driven in headless Chromium: shared by the browser tests."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or REPO / "build" / "screenshots")


#: "1–24 of 95 photos": where the page is among all the photos the filters let through
COUNT = re.compile(r"^1(?:–(\d+))? of (\d+) photos?$")


#: generous, because the machine is a busy 2-core box; every wait ends as soon as the page is ready
READY_MS = 240_000


SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"
#: one photo's card in a result grid (thumbnail, scores, peak badges, capture time, "View")
CARD = ".peaklens-card"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def running_ui(album: Path, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`peaklens ui` as a user starts it; yields its URL once the server answers its health check."""
    port = free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "peaklens.cli", "ui", "--port", str(port), "--album", str(album)],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_MS / 1000
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as reply,
            ):
                if reply.status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"peaklens ui did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc)


@pytest.fixture
def cpu_hog() -> Iterator[None]:
    """Another CPU-heavy process for the whole test, as on a shared machine."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"], start_new_session=True, stdout=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        _stop(proc)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: scripts/test.sh installs it"
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:

            def open_page(url: str, init_script: str | None = None) -> Any:
                page = context.new_page()
                if init_script:
                    page.add_init_script(init_script)
                # offline, like the test machine: only the UI server answers
                page.route(
                    "**/*",
                    lambda route: (
                        route.continue_()
                        if route.request.url.startswith(url)
                        else route.abort("internetdisconnected")
                    ),
                )
                page.set_default_timeout(READY_MS)
                page.goto(url)
                return page

            yield open_page
        finally:
            context.close()


def settled(page: Any) -> None:
    """Wait until the script run has finished, then fail on any exception shown on the page."""
    page.wait_for_timeout(300)  # let a just-triggered rerun start
    page.wait_for_selector(SETTLED, timeout=READY_MS)
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()


def shoot(page: Any, name: str, **kwargs: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), **kwargs)


#: when the map's caption and the grid's heading first appear in the page, in ms since navigation
FIRST_SEEN = """
window.__firstSeen = {};
new MutationObserver(() => {
  const seen = window.__firstSeen;
  if (seen.map === undefined && [...document.querySelectorAll("[data-testid='stCaptionContainer']")]
      .some(c => c.innerText.startsWith("Drag on the map"))) seen.map = performance.now();
  if (seen.grid === undefined && [...document.querySelectorAll("h3")].some(h => h.innerText.includes("Your photos")))
    seen.grid = performance.now();
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def counted(page: Any) -> tuple[int, int]:
    """(photos on the page, photos in all) from the grid's "1–24 of 95 photos"."""
    text = page.get_by_text(COUNT).first.inner_text()
    match = COUNT.match(text)
    assert match, text
    return int(match.group(1) or 1), int(match.group(2))


def boxes_overlap(a: dict[str, float], b: dict[str, float], air: float = 0.5) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"] + air
        or b["x"] + b["width"] <= a["x"] + air
        or a["y"] + a["height"] <= b["y"] + air
        or b["y"] + b["height"] <= a["y"] + air
    )


def assert_map_is_readable(page: Any) -> int:
    """Every peak name drawn on the map overlaps no other name and no photo dot and lies wholly inside the
    plot; returns how many names are drawn."""
    chart = page.locator("svg.peaklens-map").first
    chart.scroll_into_view_if_needed()
    area = chart.locator("rect.plot").bounding_box()
    assert area is not None
    names = [
        n for n in (t.bounding_box() for t in chart.locator("text.peak-name").all()) if n and n["width"] > 0
    ]
    dots = [d.bounding_box() for d in chart.locator("circle.photo-dot").all()]
    for i, name in enumerate(names):
        assert area["x"] - 0.5 <= name["x"] and name["x"] + name["width"] <= area["x"] + area["width"] + 0.5
        assert area["y"] - 0.5 <= name["y"] and name["y"] + name["height"] <= area["y"] + area["height"] + 0.5
        assert not any(boxes_overlap(name, other) for other in names[i + 1 :]), name
        assert not any(d and boxes_overlap(name, d, air=1.0) for d in dots), name
    return len(names)
