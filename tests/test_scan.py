"""Which files a scan finds, in which order, under which id."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from peaklens.errors import BadInput
from peaklens.scan import IMAGE_EXTENSIONS, photo_id, scan_album
from tests.fixtures_images import ALBUM, write_bad_album, write_photo


def test_scan_lists_every_photo_sorted_and_skips_hidden_and_other_files(tmp_path: Path) -> None:
    expected = write_bad_album(tmp_path)
    files = scan_album(tmp_path)
    rel_paths = [f.rel_path for f in files]
    assert rel_paths == sorted(expected)  # hidden files/folders and readme.txt are not there
    assert "Sub Folder/UPPER.JPG" in rel_paths  # extension case does not matter
    assert not any(part.startswith(".") for p in rel_paths for part in p.split("/"))
    empty = next(f for f in files if f.rel_path == "empty.jpg")
    assert empty.size == 0  # kept: the decoder reports it
    for f in files:
        assert f.abs_path.is_absolute() and f.abs_path.is_file()
        assert f.size == f.abs_path.stat().st_size and f.mtime == f.abs_path.stat().st_mtime


def test_photo_id_is_sha1_of_the_relative_posix_path() -> None:
    assert photo_id("treks/Day 3/IMG_0001.HEIC") == hashlib.sha1(b"treks/Day 3/IMG_0001.HEIC").hexdigest()
    assert photo_id("Pokhara/Phewa ताल.jpg") == hashlib.sha1("Pokhara/Phewa ताल.jpg".encode()).hexdigest()
    assert len(photo_id("a.jpg")) == 40


def test_extensions_match_in_any_case(tmp_path: Path) -> None:
    for ext in sorted(IMAGE_EXTENSIONS):
        (tmp_path / f"lower{ext}").write_bytes(b"x")
        (tmp_path / f"UPPER{ext.upper()}").write_bytes(b"x")
    (tmp_path / "clip.mov").write_bytes(b"x")
    (tmp_path / "notes").write_bytes(b"x")
    assert len(scan_album(tmp_path)) == 2 * len(IMAGE_EXTENSIONS)


def test_the_real_sample_album_is_found_in_order() -> None:
    files = scan_album(ALBUM)
    assert len(files) == 16
    assert files[0].rel_path == "exif/ColorfulCups.jpg"
    assert [f.rel_path for f in files] == sorted(f.rel_path for f in files)


def test_symlinks_outside_the_root_are_skipped_and_reported(tmp_path: Path) -> None:
    album, outside = tmp_path / "album", tmp_path / "elsewhere"
    write_photo(album / "in.jpg")
    write_photo(album / "trip" / "day1.jpg")
    write_photo(outside / "private.jpg")
    (album / "link-to-private.jpg").symlink_to(outside / "private.jpg")
    (album / "link-to-elsewhere").symlink_to(outside, target_is_directory=True)
    (album / "same-trip").symlink_to(album / "trip", target_is_directory=True)
    (album / "alias.jpg").symlink_to(album / "in.jpg")
    (album / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    (album / "trip" / "loop").symlink_to(album, target_is_directory=True)
    problems: list[tuple[str, str]] = []
    rel_paths = [f.rel_path for f in scan_album(album, problems)]
    assert rel_paths == ["alias.jpg", "in.jpg", "same-trip/day1.jpg"]  # each real folder walked once
    reasons = dict(problems)
    assert "outside the album" in reasons["link-to-private.jpg"]
    assert "outside the album" in reasons["link-to-elsewhere"]
    assert "broken" in reasons["dangling.jpg"]
    assert "trip" in reasons and "same-trip/loop" in reasons  # no endless loop, and said so


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_an_unreadable_subfolder_is_reported_not_fatal(tmp_path: Path) -> None:
    write_photo(tmp_path / "ok.jpg")
    locked = tmp_path / "locked"
    write_photo(locked / "x.jpg")
    locked.chmod(0)
    try:
        problems: list[tuple[str, str]] = []
        assert [f.rel_path for f in scan_album(tmp_path, problems)] == ["ok.jpg"]
        assert problems == [("locked", "folder cannot be read (permission denied)")]
        assert [f.rel_path for f in scan_album(tmp_path)] == ["ok.jpg"]  # without a list: silent
    finally:
        locked.chmod(0o755)


def test_missing_or_non_folder_root_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"^Album folder .*nope does not exist\.$"):
        scan_album(tmp_path / "nope")
    photo = write_photo(tmp_path / "a.jpg")
    with pytest.raises(BadInput, match=r"^Album path .*a\.jpg is not a folder\.$"):
        scan_album(photo)


def test_an_empty_album_gives_an_empty_list(tmp_path: Path) -> None:
    assert scan_album(tmp_path) == []
