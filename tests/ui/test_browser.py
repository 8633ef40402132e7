"""The real UI in a real browser: `peaklens ui` on a free loopback port, driven in Debian's headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, TREK_JPEGS, IndexedAlbum

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def ui_url(indexed_album: IndexedAlbum, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, **indexed_album.env}
    log = (tmp_path / "ui.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "peaklens.cli",
            "ui",
            "--port",
            str(port),
            "--album",
            str(indexed_album.album),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"peaklens ui did not start: {(tmp_path / 'ui.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.browser
def test_search_filter_and_upload_in_a_real_browser(ui_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: scripts/test.sh installs it"
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.goto(ui_url)
            expect(page.get_by_text("peaklens").first).to_be_visible(timeout=90_000)

            search = page.get_by_label("Search")
            search.fill("snowy mountain")
            search.press("Enter")
            expect(page.get_by_text("Results for “snowy mountain”")).to_be_visible(timeout=60_000)
            expect(page.get_by_text("score 0.").first).to_be_visible()
            assert page.locator("img").count() >= 4
            assert page.get_by_text("▲ ").count() >= 1  # peak badges

            peak_box = page.locator("[data-testid='stSidebar'] [data-testid='stCheckbox']").first
            label = peak_box.inner_text()
            peak = label.rsplit(" (", 1)[0]
            peak_box.click()
            expect(page.get_by_text(f"{label.rsplit('(', 1)[1].rstrip(')')} photo(s)").first).to_be_visible(
                timeout=60_000
            )
            page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

            page.locator("input[type=file]").set_input_files(str(TREK_JPEGS[0]))
            expect(page.get_by_text("Which peak is this?")).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Visually similar photos")).to_be_visible(timeout=60_000)
            page.screenshot(path=str(tmp_path / "identify.png"), full_page=True)
            assert peak
            shot = os.environ.get("PEAKLENS_SCREENSHOT")
            if shot:
                shutil.copy(tmp_path / "search.png", shot)
        finally:
            browser.close()
