"""Walking the album: which files are photos, under which stable relative path.

The relative POSIX path is the photo's identity (its SHA-1 is the document id), so the walk is sorted and
never leaves the album root: a symlink pointing elsewhere would make the index depend on files the user
did not put in the album.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from peaklens.errors import BadInput

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif"})


@dataclass(frozen=True)
class AlbumFile:
    """One photo file; ``rel_path`` is POSIX and relative to the album root."""

    rel_path: str
    abs_path: Path
    size: int
    mtime: float


def photo_id(rel_path: str) -> str:
    """Document id: SHA-1 of the relative path, so a re-run overwrites instead of duplicating."""
    return hashlib.sha1(rel_path.encode("utf-8")).hexdigest()


def is_image_name(name: str) -> bool:
    """True for a visible file name with a photo extension (any case)."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def scan_album(root: Path, problems: list[tuple[str, str]] | None = None) -> list[AlbumFile]:
    """All photos under ``root``, sorted by relative path.

    Hidden entries are skipped; symlinks are followed only while they stay inside the root (each real folder
    is walked once, so link loops end). Unreadable folders and skipped links go to ``problems`` as
    ``(rel_path, reason)``; they never stop the walk. Zero-byte files are kept: the decoder reports them.
    """
    root = Path(root)
    if not root.exists():
        raise BadInput(f"Album folder {root} does not exist.")
    if not root.is_dir():
        raise BadInput(f"Album path {root} is not a folder.")
    real_root = root.resolve()
    base = root.absolute()
    found: list[AlbumFile] = []
    seen_dirs: set[Path] = {real_root}

    def note(rel: str, reason: str) -> None:
        if problems is not None:
            problems.append((rel, reason))

    def inside(target: Path) -> bool:
        return target == real_root or real_root in target.parents

    def walk(folder: Path, rel_prefix: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except PermissionError:
            if not rel_prefix:
                raise BadInput(f"Album folder {root} cannot be read (permission denied).") from None
            note(rel_prefix.rstrip("/"), "folder cannot be read (permission denied)")
            return
        except OSError as exc:
            if not rel_prefix:
                raise BadInput(f"Album folder {root} cannot be read ({exc.strerror or exc}).") from None
            note(rel_prefix.rstrip("/"), f"folder cannot be read ({exc.strerror or exc})")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = rel_prefix + entry.name
            try:
                is_link = entry.is_symlink()
                if is_link:
                    target = Path(entry.path).resolve()
                    if not target.exists():
                        if is_image_name(entry.name) or not os.path.splitext(entry.name)[1]:
                            note(rel, "broken symbolic link")
                        continue
                    if not inside(target):
                        note(rel, "symbolic link points outside the album; skipped")
                        continue
                if entry.is_dir():
                    real = Path(entry.path).resolve()
                    if real in seen_dirs:
                        note(rel, "folder already scanned through another path; skipped")
                        continue
                    seen_dirs.add(real)
                    walk(Path(entry.path), rel + "/")
                elif entry.is_file() and is_image_name(entry.name):
                    st = entry.stat()
                    found.append(AlbumFile(rel, base / rel, st.st_size, st.st_mtime))
            except OSError as exc:
                note(rel, f"cannot be read ({exc.strerror or exc})")

    walk(root, "")
    found.sort(key=lambda f: f.rel_path)
    return found
