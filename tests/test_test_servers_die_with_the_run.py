"""Servers a test run starts end with that run however it ends, killed with SIGTERM or SIGKILL included
(issue 18, item 14): a pytest run is started on a tiny test that starts the server the way the suites do,
then killed, and the server's processes must be gone within a bounded wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

#: the server processes must be gone this soon after the run that started them is killed
GONE_WITHIN_S = 20.0
#: how long the inner run may take to have its server up (the UI imports streamlit and the model on a busy box)
READY_WITHIN_S = 300.0

ES_TEST = """
import os, time
from pathlib import Path
from tests.es_server import running_noida

def test_serves(tmp_path):
    with running_noida(tmp_path / "es") as server:
        Path(os.environ["SERVER_PIDS"]).write_text(str(server.pid))
        time.sleep(600)
"""

UI_TEST = """
import os, time, urllib.request
from pathlib import Path
from tests.cli_support import _children

def test_serves(ui_process):
    proc, port = ui_process
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    pids = [proc.pid, *_children(proc.pid)]
    Path(os.environ["SERVER_PIDS"]).write_text(" ".join(map(str, pids)))
    time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def kill_the_run_and_wait(tmp_path: Path, test_source: str, sig: int) -> list[int]:
    """Start pytest on ``test_source``, wait for its server's PIDs, kill pytest with ``sig``; returns the PIDs
    still alive GONE_WITHIN_S later (empty when all ended)."""
    inner = tmp_path / "test_inner_server.py"
    inner.write_text(test_source)
    pids_file = tmp_path / "server.pids"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SERVER_PIDS": str(pids_file)}
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider", str(inner)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # our own handle on the run's group, to clean up if this test fails
    )
    pids: list[int] = []
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while not pids_file.is_file() or not pids_file.read_text().strip():
            assert run.poll() is None, "the inner test run ended before its server was up"
            assert time.monotonic() < deadline, "the inner test's server never came up"
            time.sleep(0.1)
        pids = [int(p) for p in pids_file.read_text().split()]
        assert pids and all(alive(pid) for pid in pids)
        run.send_signal(sig)  # pytest only, as a CI timeout or an OOM kill would
        run.wait(60)
        deadline = time.monotonic() + GONE_WITHIN_S
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        return [pid for pid in pids if alive(pid)]
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in pids:  # whatever is left, so this test itself leaves nothing running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_elasticsearch_emulator_ends_with_a_killed_test_run(tmp_path: Path, sig: int) -> None:
    assert kill_the_run_and_wait(tmp_path, ES_TEST, sig) == []


def test_the_ui_server_ends_with_a_killed_test_run(tmp_path: Path) -> None:
    assert kill_the_run_and_wait(tmp_path, UI_TEST, signal.SIGKILL) == []
