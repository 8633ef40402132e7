"""The Elasticsearch 8 emulator (PyPI's noida-db binary) for tests: started on a free loopback port, stopped by PID.

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
    return os.environ.get("PEAKLENS_ES_URL") or None


@dataclass
class EsServer:
    url: str
    pid: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL after 5 s."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.process.wait()


def start_noida(data_dir: Path, port: int | None = None, timeout: float = 30.0) -> EsServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = data_dir.parent / f"{data_dir.name}.noida.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
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
            start_new_session=True,
        )
    server = EsServer(f"http://127.0.0.1:{port}", process.pid, process, log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(server.url + "/", timeout=1) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            tail = log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"noida-db did not answer on {server.url}: {tail}")
        time.sleep(0.1)


@contextlib.contextmanager
def running_noida(data_dir: Path, port: int | None = None) -> Iterator[EsServer]:
    server = start_noida(data_dir, port)
    try:
        yield server
    finally:
        server.stop()
