"""The server-wide resources behind the page: settings, the library (store, catalog, terrain, model), thumbnails.

Settings come from the private file the launcher wrote (real secret values, none in the environment). Each resource is cached once per distinct settings
*value* and shared by every session: the store and thumbnails are all browsing needs, so the page paints
before the model loads; the model loads on the first query or upload.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from pydantic import SecretStr

from peaklens.config import Settings, load_settings, settings_from_file
from peaklens.library import Library
from peaklens.ui.thumbs import ThumbCache


def settings_key(settings: Settings) -> str:
    """A digest of every setting's real value: equal settings share resources, different ones never do."""
    values = {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in settings.model_dump().items()
    }
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


@st.cache_resource(show_spinner="Opening the index…")
def _library(key: str, _settings: Settings) -> Library:
    """One library per distinct settings value, shared by every session (docs/DESIGN.md, concurrency)."""
    return Library.create(_settings)


@st.cache_resource(show_spinner=False)
def _thumbs(key: str, _settings: Settings) -> ThumbCache:
    return ThumbCache(_settings.data_dir / "thumbs", int(_settings.thumb_cache_mb * 1024 * 1024))


@dataclass
class Services:
    settings: Settings
    key: str
    library: Library
    thumbs: ThumbCache

    def model(self) -> Library:
        """The library with its model loaded (a spinner the first time any session needs it)."""
        if not self.library.model_loaded:
            with st.spinner("Loading the model (first query only)…"):
                self.library.embedder()
        return self.library

    def album_root(self) -> Path | None:
        return self.library.album_root()


def current_settings(argv: list[str] | None = None) -> Settings:
    """The settings the launcher resolved and wrote to its private file (named after ``--settings-file``);
    without one (``streamlit run`` by hand), the usual file and environment."""
    from peaklens.ui.launch import SETTINGS_ARG

    argv = sys.argv if argv is None else argv
    if SETTINGS_ARG in argv[:-1]:
        return settings_from_file(Path(argv[argv.index(SETTINGS_ARG) + 1]))
    return load_settings()


def services(settings: Settings) -> Services:
    key = settings_key(settings)
    return Services(settings, key, _library(key, settings), _thumbs(key, settings))
