"""Thumbnails and browser-ready full-size images, cached on disk so a second visit is instant.

The cache is bounded (``settings.thumb_cache_mb``): a hit refreshes the file's mtime, and when the folder grows
past its budget the least recently used files go first (mtime, or atime where the filesystem keeps a newer one).
Grid thumbnails are cropped to one aspect ratio so that portrait and landscape photos line up in even rows.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from contextlib import suppress
from pathlib import Path

from PIL import Image, ImageOps

from peaklens.library import open_photo

THUMB_SIDE = 384
VIEW_SIDE = 2048
#: grid cards are width:height 4:3, centre-cropped
CARD_ASPECT = (4, 3)
#: after an eviction the cache holds at most this share of its budget, so eviction does not run on every write
EVICT_TO = 0.9


def render_jpeg(path: Path, side: int, aspect: tuple[int, int] | None = None) -> bytes:
    """JPEG bytes of the photo, upright, longest side at most ``side`` (HEIC becomes JPEG for the browser);
    with ``aspect`` the photo is centre-cropped to it."""
    image: Image.Image = open_photo(path, target=side, min_side=min(side, 384)).image
    if aspect is not None:
        width = side
        height = round(side * aspect[1] / aspect[0])
        image = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    elif max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _last_used(entry: os.DirEntry[str]) -> float:
    stat = entry.stat()
    return max(stat.st_mtime, stat.st_atime)


class ThumbCache:
    """Rendered JPEGs under ``folder``, at most ``max_bytes`` in all; safe to share between sessions (threads)."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._total: int | None = None  # bytes on disk, counted once, then tracked

    def jpeg(self, path: Path, side: int = THUMB_SIDE, aspect: tuple[int, int] | None = None) -> bytes:
        """The rendered JPEG, from the cache when the file's size and mtime have not changed."""
        stat = path.stat()
        shape = "" if aspect is None else f"{aspect[0]}x{aspect[1]}"
        key = hashlib.sha1(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{side}|{shape}".encode()).hexdigest()
        cached = self.folder / key[:2] / f"{key}.jpg"
        try:
            data = cached.read_bytes()
        except FileNotFoundError:
            pass
        else:
            with suppress(OSError):
                os.utime(cached)  # recently used: evicted last
            return data
        data = render_jpeg(path, side, aspect)
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, cached)
        self._added(len(data))
        return data

    def _files(self) -> list[os.DirEntry[str]]:
        found: list[os.DirEntry[str]] = []
        if not self.folder.is_dir():
            return found
        for sub in os.scandir(self.folder):
            if sub.is_dir():
                found.extend(e for e in os.scandir(sub.path) if e.is_file() and e.name.endswith(".jpg"))
        return found

    def size_bytes(self) -> int:
        return sum(entry.stat().st_size for entry in self._files())

    def _added(self, size: int) -> None:
        with self._lock:
            if self._total is None:
                self._total = self.size_bytes()
            else:
                self._total += size
            if self._total > self.max_bytes:
                self._total = self._evict()

    def _evict(self) -> int:
        """Delete least recently used files until the cache is within ``EVICT_TO`` of its budget."""
        entries = sorted(self._files(), key=_last_used)
        total = sum(entry.stat().st_size for entry in entries)
        target = int(self.max_bytes * EVICT_TO)
        for entry in entries:
            if total <= target:
                break
            size = entry.stat().st_size
            with suppress(FileNotFoundError):
                os.unlink(entry.path)
                total -= size
        return total
