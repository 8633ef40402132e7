"""Running the real CLI in a subprocess, as a user does: shared by the CLI tests (fixtures in conftest.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE_ALBUM, copy_trek_photos, peaklens_env
from tests.process_guard import start_tied

PEAKLENS = Path(sys.executable).with_name("peaklens")


#: generous upper bounds for things that normally take seconds; readiness is polled, never slept for
SLOW_S = 300.0


#: modules whose import means the model or the store was being loaded
HEAVY = ("torch", "transformers", "lancedb")


@pytest.fixture
def env(tmp_path: Path, tiny_siglip: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PEAKLENS_")}
    return {**clean, **peaklens_env(tiny_siglip, tmp_path), "COLUMNS": "200"}


def run(env: dict[str, str], *args: str, timeout: float = SLOW_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PEAKLENS), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def one_error_line(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def indexed(tmp_path: Path, env: dict[str, str]) -> Path:
    """The sample album plus 6 real trek photos (GPS, compass heading), indexed through the CLI."""
    album = tmp_path / "album"
    shutil.copytree(SAMPLE_ALBUM, album, ignore=shutil.ignore_patterns("*.md"))
    copy_trek_photos(album / "trek", 6)
    ok(run(env, "index", str(album), "--no-progress"))
    return album


class StreamReader:
    """Collects a pipe in a thread so a test can wait for a line without blocking the child."""

    def __init__(self, stream: object) -> None:
        self.text = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for chunk in iter(lambda: stream.read(1), ""):  # type: ignore[attr-defined]
            with self._lock:
                self.text += chunk

    def wait_for(self, ready: Callable[[str], bool], proc: subprocess.Popen[str], what: str) -> None:
        deadline = time.monotonic() + SLOW_S
        while time.monotonic() < deadline:
            with self._lock:
                if ready(self.text):
                    return
            assert proc.poll() is None, f"exited ({proc.returncode}) before {what}: {self.text[-2000:]}"
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {SLOW_S} s: {self.text[-2000:]}")

    def rest(self) -> str:
        self._thread.join(SLOW_S)
        return self.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def ui_process(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    proc = start_tied(  # ends with this test run even if pytest is killed (the launcher stops its server)
        [str(PEAKLENS), "ui", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # a test-side group to clean up with, never signalled by the test itself
    )
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):  # the group this fixture started, server included
            os.killpg(proc.pid, signal.SIGKILL)


def timed_with_imports(
    env: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[str], float, set[str]]:
    """Run ``python -X importtime -m peaklens ARGS``: (the run, its wall time, the modules it imported)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "peaklens", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SLOW_S,
    )
    took = time.monotonic() - started
    imported = {
        line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }
    done.stderr = "\n".join(ln for ln in done.stderr.splitlines() if not ln.startswith("import time:"))
    return done, took, imported
