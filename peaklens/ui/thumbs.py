"""Thumbnails and browser-ready full-size images, cached on disk so a second visit is instant."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from peaklens.imaging import open_photo

THUMB_SIDE = 384
VIEW_SIDE = 2048


def _render(path: Path, side: int) -> bytes:
    """JPEG bytes of the photo, upright, longest side at most ``side`` (HEIC becomes JPEG for the browser)."""
    photo = open_photo(path, target=side, min_side=side)
    image = photo.image
    if max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def cached_jpeg(path: Path, cache_dir: Path, side: int = THUMB_SIDE) -> bytes:
    """The rendered JPEG, from the cache when the file's size and mtime have not changed."""
    stat = path.stat()
    key = hashlib.sha1(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{side}".encode()).hexdigest()
    cached = cache_dir / key[:2] / f"{key}.jpg"
    if cached.is_file():
        return cached.read_bytes()
    data = _render(path, side)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, cached)
    return data
