"""The thumbnail cache: cropped even-aspect thumbnails, and a size budget kept by evicting the least recently used."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from peaklens.ui.thumbs import CARD_ASPECT, ThumbCache
from tests.conftest import TREK_JPEGS


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.jpg"))


def test_grid_thumbnails_share_one_aspect_whatever_the_photo(tmp_path: Path) -> None:
    portrait = tmp_path / "portrait.jpg"
    landscape = tmp_path / "landscape.jpg"
    Image.new("RGB", (600, 1000), "red").save(portrait)
    Image.new("RGB", (1200, 500), "blue").save(landscape)
    cache = ThumbCache(tmp_path / "cache", 10 * 1024 * 1024)
    sizes = {Image.open(io.BytesIO(cache.jpeg(p, 384, CARD_ASPECT))).size for p in (portrait, landscape)}
    assert sizes == {(384, 288)}  # 4:3, hand-computed: 384 * 3 / 4


def test_a_second_request_is_served_from_disk(tmp_path: Path) -> None:
    cache = ThumbCache(tmp_path / "cache", 10 * 1024 * 1024)
    first = cache.jpeg(TREK_JPEGS[0], 256)
    (entry,) = _files(tmp_path / "cache")
    entry.write_bytes(b"cached")  # a cache hit returns what is on disk, without decoding again
    assert first != b"cached"
    assert cache.jpeg(TREK_JPEGS[0], 256) == b"cached"


def test_the_cache_stays_within_its_budget_and_keeps_what_was_used_last(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    probe = ThumbCache(folder / "probe", 10**9)
    sizes = [len(probe.jpeg(photo, 256)) for photo in TREK_JPEGS[:5]]
    budget = sum(sizes[:3]) + 16  # room for the first three thumbnails, not for a fourth
    cache = ThumbCache(folder / "real", budget)
    photos = TREK_JPEGS[:3]
    for photo in photos:
        cache.jpeg(photo, 256)
    files = _files(folder / "real")
    assert len(files) == 3
    # make the first photo's file the most recently used, the others old
    for age, path in enumerate(sorted(files, key=lambda p: p.stat().st_mtime)):
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    kept_first = cache.jpeg(photos[0], 256)  # a hit refreshes its mtime
    cache.jpeg(TREK_JPEGS[3], 256)
    cache.jpeg(TREK_JPEGS[4], 256)
    assert cache.size_bytes() <= budget
    assert cache.jpeg(photos[0], 256) == kept_first
    remaining = {p.read_bytes() for p in _files(folder / "real")}
    assert kept_first in remaining
    assert len(remaining) < 5
