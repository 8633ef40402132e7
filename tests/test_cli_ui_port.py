"""``peaklens ui`` on a port another program holds: one line naming the port, no URL, no Streamlit log
(issue 18, item 9)."""

from __future__ import annotations

import socket

from tests.cli_support import (
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    one_error_line,
    timed_with_imports,
)


def test_ui_on_a_busy_port_says_so_in_one_line(env: dict[str, str]) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        done, took, imported = timed_with_imports(env, "ui", "--port", str(port))
    line = one_error_line(done)
    assert f"Port {port} on 127.0.0.1 is already in use" in line and "--port" in line
    assert done.stdout == "" and "http://" not in line  # no URL another program serves
    assert "streamlit" not in imported and not any(m.startswith("streamlit.") for m in imported)
    assert took < 30, took
