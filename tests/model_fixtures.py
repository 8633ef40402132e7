"""Tiny test models, built once per machine into the temp folder (safe when pytest processes race)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import transformers

from peaklens.embed.tiny import build_tiny_model

VERSION = "v1"


def tiny_model_dir(kind: str = "siglip") -> Path:
    folder = Path(tempfile.gettempdir()) / f"peaklens-tiny-{kind}-{VERSION}-tf{transformers.__version__}"
    return build_tiny_model(folder, kind=kind)  # type: ignore[arg-type]
