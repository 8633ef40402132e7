"""Tiny test models, built once per machine into the temp folder (safe when pytest processes race)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import transformers

from peaklens.embed.tiny import build_tiny_model

#: bump when build_tiny_model changes what it writes, so stale folders in /tmp are not reused
VERSION = "v1"


def tiny_model_dir(kind: str = "siglip") -> Path:
    """The tiny ``kind`` model ("siglip" or "siglip2"), built on first use and reused by later processes.

    The folder name carries the transformers version: another version may save (or expect) other files.
    """
    folder = Path(tempfile.gettempdir()) / f"peaklens-tiny-{kind}-{VERSION}-tf{transformers.__version__}"
    return build_tiny_model(folder, kind=kind)  # type: ignore[arg-type]
