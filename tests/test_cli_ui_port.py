"""``peaklens ui`` on a port another program holds: one line naming the port, no URL, no Streamlit log
(issue 18, item 9)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from tests.cli_support import (
    SLOW_S,
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    one_error_line,
)
from tests.conftest import REPO


def test_ui_on_a_busy_port_says_so_in_one_line(env: dict[str, str]) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "peaklens", "ui", "--port", str(port)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=SLOW_S,
        )
        took = time.monotonic() - started
    imported = {ln.split("|")[-1].strip() for ln in done.stderr.splitlines() if ln.startswith("import time:")}
    done.stderr = "\n".join(ln for ln in done.stderr.splitlines() if not ln.startswith("import time:"))
    line = one_error_line(done)
    assert f"Port {port} on 127.0.0.1 is already in use" in line and "--port" in line
    assert done.stdout == "" and "http://" not in line  # no URL another program serves
    assert "streamlit" not in imported and not any(m.startswith("streamlit.") for m in imported)
    assert took < 30, took
