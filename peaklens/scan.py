"""Walking the album: which files are photos, under which stable relative path.

The relative POSIX path is the photo's identity (its SHA-1 is the document id), so the walk is sorted and
never leaves the album root: a symlink pointing elsewhere would make the index depend on files the user
did not put in the album.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
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

    Hidden entries are skipped. Symlinks are followed only while they resolve inside the root, and only
    after the real tree is walked: a photo keeps the path of its real location (its id survives removing
    the link) and every real file and folder is listed once (link loops end). Unreadable folders and
    skipped links go to ``problems`` as ``(rel_path, reason)``; they never stop the walk. Zero-byte files
    are kept: the decoder reports them.
    """
    root = Path(root)
    if not root.exists():
        raise BadInput(f"Album folder {root} does not exist.")
    if not root.is_dir():
        raise BadInput(f"Album path {root} is not a folder.")
    real_root = root.resolve()
    base = root.absolute()
    found: list[AlbumFile] = []
    seen_dirs: dict[Path, str] = {real_root: "."}  # real folder -> the path it was listed under
    seen_files: dict[Path, str] = {}  # real photo -> its rel_path
    dir_links: deque[tuple[str, Path]] = deque()  # (rel_path, resolved target)
    file_links: list[tuple[str, Path]] = []

    def note(rel: str, reason: str) -> None:
        if problems is not None:
            problems.append((rel, reason))

    def inside(target: Path) -> bool:
        return target == real_root or real_root in target.parents

    def add(rel: str, real: Path, stat: os.stat_result) -> None:
        seen_files[real] = rel
        found.append(AlbumFile(rel, base / rel, stat.st_size, stat.st_mtime))

    def walk(folder: Path, real_folder: Path, rel_prefix: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            why = "permission denied" if isinstance(exc, PermissionError) else exc.strerror or str(exc)
            if not rel_prefix:
                raise BadInput(f"Album folder {root} cannot be read ({why}).") from None
            note(rel_prefix.rstrip("/"), f"folder cannot be read ({why})")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = rel_prefix + entry.name
            try:
                if entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if not target.exists():
                        if is_image_name(entry.name) or not os.path.splitext(entry.name)[1]:
                            note(rel, "broken symbolic link")
                    elif not inside(target):
                        note(rel, "symbolic link points outside the album")
                    elif target.is_dir():
                        dir_links.append((rel, target))
                    elif is_image_name(entry.name):
                        file_links.append((rel, target))
                elif entry.is_dir(follow_symlinks=False):
                    real = real_folder / entry.name
                    seen_dirs[real] = rel
                    walk(Path(entry.path), real, rel + "/")
                elif entry.is_file(follow_symlinks=False) and is_image_name(entry.name):
                    add(rel, real_folder / entry.name, entry.stat(follow_symlinks=False))
            except OSError as exc:
                note(rel, f"cannot be read ({exc.strerror or exc})")

    walk(root, real_root, "")
    while dir_links:  # folders reached only through a link (e.g. a link to a hidden folder)
        rel, target = dir_links.popleft()
        if target in seen_dirs:
            note(rel, f"link to a folder already scanned ({seen_dirs[target]})")
            continue
        seen_dirs[target] = rel
        walk(base / rel, target, rel + "/")
    for rel, target in file_links:
        if target in seen_files:
            note(rel, f"link to a photo already listed ({seen_files[target]})")
            continue
        try:
            add(rel, target, target.stat())
        except OSError as exc:
            note(rel, f"cannot be read ({exc.strerror or exc})")
    found.sort(key=lambda f: f.rel_path)
    return found
