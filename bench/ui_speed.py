"""What a trekker waits for in the browser: the first paint of `peaklens ui` and the answer to a typed query.

The trek album (../shared/trek) is indexed into a fresh store, `peaklens ui` is started as a user starts it,
and Debian's headless Chromium (Playwright) opens the page, offline like the test machine (with its cache, as a
user's browser has it). Timings are taken
in the browser, from navigation (or from pressing Enter) until what the user sees is there:

* first paint: the grid's heading and count, the map with its peak names drawn, the grid's thumbnails inside the
  window (its first row) all decoded (images below the fold load only when scrolled to), and Streamlit's script
  run finished (nothing still to arrive);
* a typed query: "Results for “…”" with the thumbnails inside the window, after the model has loaded (one
  query first).

Each fresh page is a new Streamlit session; the first one after the server starts also pays the server's cold
caches (the store, thumbnails), so it is reported apart.

With ``--baseline REF`` the package as it is at git ref REF (``git archive``, into a temporary folder) serves the
same store beside this checkout, and pages and queries alternate between the two servers (the order flips every
round): on a shared machine both see the same load, so before and after are comparable.

    .venv/bin/python -m bench.ui_speed [--model DIR] [--pages 5] [--queries 5] [--album ../shared/trek]
                                       [--baseline main]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import REPO, TREK, Section, table

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"
QUERIES = ["prayer flags", "snowy ridge at sunset", "a yak on the trail", "Ama Dablam", "suspension bridge",
           "tea house", "Mount Everest", "glacier lake"]  # fmt: skip
FIRST_PAINT_TARGET_S = 1.5
QUERY_TARGET_S = 1.0
#: the page's own timing of what is on screen, in ms since navigation (performance.now())
_GRID = """(heading) => [...document.querySelectorAll('h3')].some(h => h.innerText.includes(heading))
  && [...document.querySelectorAll("[data-testid='stCaptionContainer']")].some(c => /\\d+ photos?$|photo\\(s\\)$/.test(c.innerText))
  ? performance.now() : null"""
_MAP_DRAWN = """() => document.querySelectorAll("svg.peaklens-map text.peak-name").length > 0
  ? performance.now() : null"""
#: the grid's first thumbnails in the window (its first row is, at 1400 × 1000), every image in the window decoded
#: and no placeholder left in it (Streamlit may mark the run finished before the grid is drawn)
_WINDOW_DONE = """() => {
  const inView = e => { const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight && r.height > 0; };
  const images = [...document.querySelectorAll("[data-testid='stMain'] img")].filter(inView);
  const waiting = [...document.querySelectorAll("[data-testid='stSkeleton']")].filter(inView);
  return images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0) && waiting.length === 0
    ? performance.now() : null;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(model: str, work: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PEAKLENS_")}
    config = work / "empty.yaml"
    config.write_text("{}\n")
    return {**clean, "PEAKLENS_MODEL": model, "PEAKLENS_DATA_DIR": str(work / "store"),
            "PEAKLENS_CONFIG": str(config), "PEAKLENS_STORE": "embedded"}  # fmt: skip


def export_baseline(ref: str, folder: Path) -> Path:
    """The ``peaklens`` package as it is at git ref ``ref``, written into ``folder`` (no git state changes)."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref, "peaklens"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


@contextlib.contextmanager
def running_ui(album: Path, env: dict[str, str], log: Path, code: Path = REPO) -> Iterator[str]:
    """`peaklens ui` of the package in ``code`` on a free loopback port until the block ends (stopped by its
    process group)."""
    port = free_port()
    env = {**env, "PYTHONPATH": str(code)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "peaklens.cli", "ui", "--port", str(port), "--album", str(album)],
            cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as r,
            ):
                if r.status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"peaklens ui did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


#: offline like the test machine, with the browser's cache on (Playwright's request routing would turn it off):
#: every host name but the UI's address fails to resolve
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


def _first_paint(context: Any, url: str) -> dict[str, float]:
    """Seconds from navigation until the grid's heading and count, the map's peak names, all of it settled."""
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(url, wait_until="commit")
    grid = page.wait_for_function(_GRID, arg="Your photos", polling="raf").json_value()
    drawn = page.wait_for_function(_MAP_DRAWN, polling="raf").json_value()
    page.wait_for_selector(SETTLED)
    done = page.wait_for_function(_WINDOW_DONE, polling="raf").json_value()
    page.close()
    return {"grid": grid / 1000, "map": drawn / 1000, "settled": max(grid, drawn, done) / 1000}


def _query(page: Any, text: str) -> float:
    """Seconds from Enter until the query's results heading and count are on screen, settled, with the
    thumbnails inside the window decoded."""
    box = page.get_by_label("Search")
    box.fill(text)
    started = page.evaluate("() => performance.now()")
    box.press("Enter")
    page.wait_for_function(_GRID, arg=f"Results for “{text}”", polling="raf")
    page.wait_for_selector(SETTLED)
    done = page.wait_for_function(_WINDOW_DONE, polling="raf").json_value()
    return float(done - started) / 1000


PARTS = (("grid", "grid heading and count"), ("map", "map with peak names"),
         ("settled", "first paint (all of it, settled)"))  # fmt: skip


def _query_page(context: Any, url: str) -> tuple[Any, float]:
    """A page on ``url`` that has run one query (which loads the model), and that query's seconds."""
    page = context.new_page()
    page.set_default_timeout(300_000)
    page.goto(url)
    page.wait_for_selector(SETTLED)
    return page, _query(page, "snowy mountain")


def _alternating(servers: list[str], rounds: int, measure: Any) -> dict[str, list[Any]]:
    """``measure(server)`` ``rounds`` times per server, the servers taking turns (the order flips each round)."""
    found: dict[str, list[Any]] = {server: [] for server in servers}
    for i in range(rounds):
        for server in servers if i % 2 == 0 else servers[::-1]:
            found[server].append(measure(server))
    return found


def measure(album: Path, env: dict[str, str], work: Path, pages: int, queries: int,
            baseline: Path | None = None) -> list[list[object]]:  # fmt: skip
    """Rows of the table: per server ("before" is ``baseline``'s, "now" this checkout's) the cold first visit,
    the median and worst of ``pages`` new sessions and ``queries`` typed queries."""
    from playwright.sync_api import sync_playwright

    codes = {"now": REPO} if baseline is None else {"before": baseline, "now": REPO}
    with contextlib.ExitStack() as stack:
        urls = {name: stack.enter_context(running_ui(album, env, work / f"ui-{name}.log", code))
                for name, code in codes.items()}  # fmt: skip
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", OFFLINE])  # fmt: skip
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        cold = {name: _first_paint(context, url) for name, url in urls.items()}
        warm = _alternating(list(urls), pages, lambda name: _first_paint(context, urls[name]))
        loaded = {name: _query_page(context, url) for name, url in urls.items()}
        asked = dict.fromkeys(urls, 0)

        def typed_query(name: str) -> float:
            asked[name] += 1
            return _query(loaded[name][0], QUERIES[(asked[name] - 1) % len(QUERIES)])

        typed = _alternating(list(urls), queries, typed_query)
        browser.close()
    rows: list[list[object]] = []
    for name in urls:
        tag = f"{name}: " if baseline is not None else ""
        for part, label in PARTS:
            times = [w[part] for w in warm[name]]
            target = f"≤ {FIRST_PAINT_TARGET_S} s" if part == "settled" else ""
            rows.append([f"{tag}new session: {label}", f"{cold[name][part]:.2f}", f"{statistics.median(times):.2f}",
                         f"{max(times):.2f}", target])  # fmt: skip
        rows.append([f"{tag}first query (loads the model)", f"{loaded[name][1]:.2f}", "", "", ""])
        rows.append([f"{tag}typed query, model loaded", "", f"{statistics.median(typed[name]):.2f}",
                     f"{max(typed[name]):.2f}", f"≤ {QUERY_TARGET_S} s"])  # fmt: skip
    return rows


def run(model: str | None = None, album: Path | None = None, pages: int = 5, queries: int = 5,
        baseline: str | None = None) -> Section:  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="peaklens-ui-speed-"))
    album = album or TREK
    try:
        before = export_baseline(baseline, work / "baseline") if baseline else None
        if model is None:
            from peaklens.embed.tiny import build_tiny_model

            model = str(build_tiny_model(work / "tiny-siglip", kind="siglip"))
        env = _env(model, work)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "peaklens.cli", "index", str(album), "--no-progress"],
                              cwd=REPO, env=env, capture_output=True, text=True)  # fmt: skip
        if "added" not in done.stdout:  # some photos may fail (their own exit code); the rest is indexed
            raise RuntimeError(f"index failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
        indexed = time.perf_counter() - started
        load_before = os.getloadavg()[0]
        rows = measure(album, env, work, pages, queries, before)
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = (
        f"Album {album.name} (indexed in {indexed:.0f} s), model: "
        f"{'the tiny random SigLIP' if 'tiny' in model else model}. Seconds in the browser (headless Chromium, "
        f"offline), from navigation or from Enter; {pages} new sessions after the first, {queries} queries. "
        f"Machine load (1-minute average) {load_before:.1f} before, {load_after:.1f} after: on a shared machine "
        "these are wall times under that load."
        + (
            f" Before: the package at `{baseline}`, now: this checkout, both serving the same store, pages and "
            "queries taking turns (the first cold visit, before's, renders the thumbnails both use).\n\n"
            if baseline
            else "\n\n"
        )
        + table(["what the user waits for", "first (cold server)", "median", "worst", "target"], rows)
    )
    return Section("UI speed", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the tiny random SigLIP)")
    parser.add_argument("--album", type=Path, default=None, help="album folder (default: ../shared/trek)")
    parser.add_argument("--pages", type=int, default=5, help="new sessions timed after the first")
    parser.add_argument("--queries", type=int, default=5, help="typed queries timed after the model loaded")
    parser.add_argument("--baseline", default=None, metavar="REF",
                        help="also serve the package at this git ref, taking turns with this checkout")  # fmt: skip
    args = parser.parse_args()
    section = run(args.model, args.album, args.pages, args.queries, args.baseline)
    print(f"## {section.title}\n\n{section.body}")


if __name__ == "__main__":
    main()
