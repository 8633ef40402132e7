"""Starting the Streamlit server for ``peaklens ui``: the settings travel to it in a private file.

The settings in force (flags, environment, config file resolved once, here) are written to a file only this
user can read, named on the server's command line and removed when it stops. The server's environment carries
no ``PEAKLENS_*`` variable at all: a secret (the Elasticsearch password, the UI password) never sits in a
process environment another program could read, and the server cannot resolve the settings differently.

The port is checked first: a busy one is answered in one line naming it (Streamlit would print our URL while
another program serves it). The server is a child process. SIGTERM or SIGINT to ``peaklens ui`` is passed on to it and waited for: a
service manager or ``kill`` that stops the launcher must not leave an orphaned server still serving the album.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

import yaml
from pydantic import SecretStr

from peaklens.config import Settings
from peaklens.errors import BadInput

APP = Path(__file__).with_name("app.py")
#: the server's own command-line argument naming its settings file
SETTINGS_ARG = "--settings-file"
#: signals forwarded to the server
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def server_env() -> dict[str, str]:
    """The server's environment: ours without any ``PEAKLENS_*`` variable (the settings file has them)."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("PEAKLENS_")}


def write_settings_file(settings: Settings, folder: Path) -> Path:
    """The settings' real values (secrets included) as YAML in a file only this user can read."""
    values: dict[str, object] = {}
    for name, value in settings.model_dump().items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        values[name] = str(value) if isinstance(value, Path) else value
    path = folder / "settings.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(values, handle)
    return path


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def check_exposure(settings: Settings, host: str) -> None:
    """Anyone who can reach a non-loopback address could browse the album: require a password there."""
    password = settings.ui_password.get_secret_value() if settings.ui_password else ""
    if not is_loopback(host) and not password:
        raise BadInput(
            f"--host {host} exposes your album beyond this machine: set a password first "
            "(PEAKLENS_UI_PASSWORD=… or ui_password in the config file), or use --host 127.0.0.1."
        )


def check_port(host: str, port: int) -> None:
    """One line when ``host:port`` cannot be listened on, before anything is printed or started: Streamlit
    would otherwise print our URL while another program serves it, then its own raw log line."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise BadInput(f"--host {host} is not an address or a name this machine can resolve.") from None
    refused: list[OSError] = []
    for family, kind, proto, _name, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # as the server binds: a port left in TIME_WAIT by an earlier run is free to take
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise BadInput(
                        f"Port {port} on {host} is already in use by another program: "
                        "stop it or pick a free port with --port."
                    ) from None
                refused.append(exc)
    if refused and len(refused) == len(addresses):
        raise BadInput(f"Cannot listen on {host} port {port}: {refused[0].strerror or refused[0]}.")


def streamlit_command(settings: Settings, host: str, port: int, settings_file: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.maxUploadSize",
        str(max(1, int(settings.max_upload_mb) + 1)),
        "--global.developmentMode",
        "false",
        # no Deploy button, no developer menu: this is an album viewer, not a dev server
        "--client.toolbarMode",
        "minimal",
        "--",
        SETTINGS_ARG,
        str(settings_file),
    ]


def launch(settings: Settings, config_file: Path | None, *, host: str, port: int) -> int:
    """Run the server until it exits or we are told to stop; returns its exit code (0 after Ctrl-C)."""
    check_exposure(settings, host)
    check_port(host, port)
    print(f"peaklens UI on http://{host}:{port}  (Ctrl-C stops it)", flush=True)
    with tempfile.TemporaryDirectory(prefix="peaklens-ui-") as private:
        settings_file = write_settings_file(settings, Path(private))
        return _serve(streamlit_command(settings, host, port, settings_file))


def _serve(command: list[str]) -> int:
    child = subprocess.Popen(command, env=server_env())
    stopping: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:  # only when wait() itself failed
            child.terminate()
            child.wait()
    if stopping:
        return 0 if stopping[0] == signal.SIGINT else 128 + stopping[0]
    return code
