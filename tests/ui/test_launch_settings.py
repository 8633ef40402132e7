"""The UI server gets the settings in a private file, never through its environment."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from peaklens.config import Settings, settings_from_file
from peaklens.ui.launch import SETTINGS_ARG, server_env, streamlit_command, write_settings_file
from peaklens.ui.services import current_settings


def test_secrets_travel_in_a_file_only_the_user_reads_and_the_server_env_has_no_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKLENS_ES_PASSWORD", "from-env")
    monkeypatch.setenv("PEAKLENS_MODEL", "env-model")
    settings = Settings(model="flag-model", es_password="s3cret", k=9)
    path = write_settings_file(settings, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not any(name.startswith("PEAKLENS_") for name in server_env())
    command = streamlit_command(settings, "127.0.0.1", 8599, path)
    assert command[-2:] == [SETTINGS_ARG, str(path)]
    # the server resolves nothing again: the flag's model wins over the variable it can still see here
    served = current_settings(["app.py", SETTINGS_ARG, str(path)])
    assert (served.model, served.k) == ("flag-model", 9)
    assert served.es_password is not None and served.es_password.get_secret_value() == "s3cret"
    assert settings_from_file(path).model_dump() == served.model_dump()
