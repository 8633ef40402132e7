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
    write_photo(album / ".stash" / "kept.jpg")
    write_photo(outside / "private.jpg")
    (album / "link-to-private.jpg").symlink_to(outside / "private.jpg")
    (album / "link-to-elsewhere").symlink_to(outside, target_is_directory=True)
    (album / "same-trip").symlink_to(album / "trip", target_is_directory=True)  # sorts before "trip"
    (album / "alias.jpg").symlink_to(album / "in.jpg")
    (album / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    (album / "trip" / "loop").symlink_to(album, target_is_directory=True)
    (album / "stash").symlink_to(album / ".stash", target_is_directory=True)
    (album / "escape.jpg").symlink_to(album / ".." / "elsewhere" / "private.jpg")  # "inside" only by name
    problems: list[tuple[str, str]] = []
    files = scan_album(album, problems)
    # each real photo once, under its real path; a link to a folder seen nowhere else is followed
    assert [f.rel_path for f in files] == ["in.jpg", "stash/kept.jpg", "trip/day1.jpg"]
    assert files[1].abs_path == album.absolute() / "stash" / "kept.jpg"
    reasons = dict(problems)
    assert reasons["link-to-private.jpg"] == "symbolic link points outside the album"
    assert reasons["link-to-elsewhere"] == "symbolic link points outside the album"
    assert reasons["escape.jpg"] == "symbolic link points outside the album"
    assert reasons["dangling.jpg"] == "broken symbolic link"
    assert reasons["alias.jpg"] == "link to a photo already listed (in.jpg)"
    assert reasons["same-trip"] == "link to a folder already scanned (trip)"
    assert reasons["trip/loop"] == "link to a folder already scanned (.)"  # no endless loop, and said so
    assert len(problems) == 7


def test_a_symlinked_album_root_is_scanned_through_the_link(tmp_path: Path) -> None:
    write_photo(tmp_path / "real" / "a.jpg")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    files = scan_album(tmp_path / "link")
    assert [(f.rel_path, f.abs_path) for f in files] == [("a.jpg", tmp_path / "link" / "a.jpg")]


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


def test_a_folder_the_os_refuses_to_open_is_reported_not_fatal(tmp_path: Path) -> None:
    """Runs as root too: a path longer than PATH_MAX cannot be opened by anyone."""
    write_photo(tmp_path / "ok.jpg")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(20):  # 20 x 250 characters > 4096
            os.mkdir("d" * 250, dir_fd=fd)
            fd, parent = os.open("d" * 250, os.O_RDONLY, dir_fd=fd), fd
            os.close(parent)
    finally:
        os.close(fd)
    problems: list[tuple[str, str]] = []
    assert [f.rel_path for f in scan_album(tmp_path, problems)] == ["ok.jpg"]
    assert len(problems) == 1 and problems[0][1].startswith("folder cannot be read (File name too long")


def test_missing_or_non_folder_root_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"^Album folder .*nope does not exist\.$"):
        scan_album(tmp_path / "nope")
    photo = write_photo(tmp_path / "a.jpg")
    with pytest.raises(BadInput, match=r"^Album path .*a\.jpg is not a folder\.$"):
        scan_album(photo)


def test_an_empty_album_gives_an_empty_list(tmp_path: Path) -> None:
    assert scan_album(tmp_path) == []
