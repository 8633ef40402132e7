"""Starting the Streamlit server for ``peaklens ui``: settings travel to it as PEAKLENS_* variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr

from peaklens.config import Settings

APP = Path(__file__).with_name("app.py")


def settings_env(settings: Settings, config_file: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if config_file is not None:
        env["PEAKLENS_CONFIG"] = str(config_file)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"PEAKLENS_{name.upper()}"] = str(value)
    return env


def launch(settings: Settings, config_file: Path | None, *, host: str, port: int) -> int:
    command = [
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
    ]
    print(f"peaklens UI on http://{host}:{port}  (Ctrl-C stops it)", flush=True)
    try:
        return subprocess.call(command, env=settings_env(settings, config_file))
    except KeyboardInterrupt:
        return 0
