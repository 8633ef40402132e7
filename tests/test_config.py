"""Settings: one object, resolved once; nothing written to the process environment; unknown variables named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from peaklens.config import load_settings, setting_sources, unknown_environment


def test_a_config_file_given_by_flag_is_used_without_touching_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PEAKLENS_CONFIG", raising=False)
    config = tmp_path / "mine.yaml"
    config.write_text("k: 7\ntop_k_peaks: 4\n")
    before = dict(os.environ)
    settings = load_settings(config, top_k_peaks=5)
    assert (settings.k, settings.top_k_peaks) == (7, 5), "file value, and the flag over the file"
    assert dict(os.environ) == before
    assert load_settings().k == 60, "the next load without --config does not inherit the file"
    assert setting_sources(["top_k_peaks"], config)["k"] == "config file"
    assert setting_sources(["top_k_peaks"], config)["top_k_peaks"] == "flag --top-k-peaks"


def test_a_misspelt_variable_is_named_with_the_setting_it_resembles() -> None:
    lines = unknown_environment(
        {"PEAKLENS_MODLE": "x", "PEAKLENS_MODEL": "y", "PEAKLENS_CONFIG": "z", "HOME": "/"}
    )
    assert lines == [
        "PEAKLENS_MODLE is not a peaklens setting (did you mean PEAKLENS_MODEL?); it is ignored."
    ]
    assert unknown_environment({"PEAKLENS_WHATEVER": "1"}) == [
        "PEAKLENS_WHATEVER is not a peaklens setting; it is ignored."
    ]
