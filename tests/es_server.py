"""The Elasticsearch 8 emulator (PyPI's noida-db binary) for tests: started on a free loopback port, stopped by PID,
and ended by the kernel if the test run that started it dies first (``tests.process_guard``).

It is an emulator (brute-force kNN, small data only): production runs on real Elasticsearch. With
PEAKLENS_ES_URL set, the suites also run against that real server.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.process_guard import start_tied


def noida_binary() -> Path:
    spec = importlib.util.find_spec("noida_db")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("noida-db is not installed: scripts/bootstrap.sh installs it with the test extras")
    binary = Path(next(iter(spec.submodule_search_locations))) / "noida-db"
    if not binary.is_file():
        raise RuntimeError(f"noida-db binary missing at {binary}")
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def real_es_url() -> str | None:
    """A real Elasticsearch to test against as well, from ``PEAKLENS_ES_URL`` (None when unset)."""
    return os.environ.get("PEAKLENS_ES_URL") or None


@dataclass
class EsServer:
    url: str
    pid: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL after 5 s; idempotent."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # a child the server left behind


def _launch(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as handle:
        return start_tied(
            [
                str(noida_binary()),
                "start",
                "--only",
                "elasticsearch",
                "--host",
                "127.0.0.1",
                "--elasticsearch-port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends its children too
        )


def start_noida(data_dir: Path, port: int | None = None, timeout: float = 30.0) -> EsServer:
    """Start the emulator on ``port`` (a free one when None) and wait until ``GET /`` answers.

    With no port given, a start that dies at once (the free port was taken meanwhile) is retried on another.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}.noida.log"
    attempts = 1 if port else 3
    for attempt in range(1, attempts + 1):
        chosen = port or free_port()
        process = _launch(data_dir, chosen, log)
        server = EsServer(f"http://127.0.0.1:{chosen}", process.pid, process, log)
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(server.url + "/", timeout=1) as reply:
                    if reply.status == 200:
                        return server
            except OSError:
                pass
            time.sleep(0.1)
        died = process.poll() is not None
        server.stop()
        if died and attempt < attempts:
            continue
        tail = log.read_text(errors="replace")[-1500:].strip()
        why = f"exited with code {process.returncode}" if died else f"did not answer within {timeout:g} s"
        raise RuntimeError(f"noida-db on {server.url} {why}; its output ends with:\n{tail}")
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_noida(data_dir: Path, port: int | None = None) -> Iterator[EsServer]:
    """``with running_noida(tmp / "es") as server:`` ... ``server.url``; stopped on exit, even on errors."""
    server = start_noida(data_dir, port)
    try:
        yield server
    finally:
        server.stop()
