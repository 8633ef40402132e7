"""Serving album files safely: a stored path is only ever opened if it resolves inside the album root."""

from __future__ import annotations

from pathlib import Path

from peaklens.errors import BadInput


def resolve_in_album(root: Path, rel_path: str) -> Path:
    """The real file for a stored relative path; refuses absolute paths, ``..`` and symlinks leading out."""
    if not rel_path or "\x00" in rel_path:
        raise BadInput("Refused an empty or malformed photo path.")
    candidate = Path(rel_path)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise BadInput(f"Refused photo path {rel_path!r}: it points outside the album.")
    real_root = root.resolve()
    real = (real_root / candidate).resolve()
    if not real.is_relative_to(real_root):
        raise BadInput(f"Refused photo path {rel_path!r}: it resolves outside the album.")
    if not real.is_file():
        raise BadInput(f"Photo {rel_path} is no longer in the album (re-run `peaklens index`).")
    return real
