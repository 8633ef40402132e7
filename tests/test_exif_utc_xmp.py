"""An XMP date written in UTC ("...Z") is an instant, not the camera's wall clock (issue 19, item 4).

Like the GPS clock, it gives no local calendar day unless an EXIF offset tag names the camera's zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from peaklens.exif import read_meta
from peaklens.records import PhotoDoc
from peaklens.store.fields import local_date
from tests.fixtures_images import exiftool_moment, exiftool_read, exiftool_write, make_exif, write_photo

NPT = timezone(timedelta(hours=5, minutes=45))


def _photo(path: Path, tags: dict[str, str]) -> Path:
    return exiftool_write(write_photo(path, exif=make_exif()), tags)


def _doc_of(path: Path) -> tuple[PhotoDoc, list[str]]:
    with Image.open(path) as image:
        meta = read_meta(image)
    doc = PhotoDoc(
        id="x", path=path.name, vector=np.zeros(2, dtype=np.float32),
        shot_time=meta.shot_time, local_time=meta.local_time, time_source=meta.time_source,
    )  # fmt: skip
    return doc, meta.warnings


def test_an_xmp_date_in_utc_is_an_instant_with_no_local_day(tmp_path: Path) -> None:
    # 2023-10-20 23:30 UTC is 05:15 on 21 October in Nepal: the UTC date would file it a day early
    path = _photo(tmp_path / "utc.jpg", {"XMP-xmp:CreateDate": "2023:10:20 23:30:00Z"})
    reference = exiftool_moment(str(exiftool_read([path], "XMP-xmp:CreateDate")[path.name]["CreateDate"]))
    doc, warnings = _doc_of(path)
    assert doc.shot_time == reference == datetime(2023, 10, 20, 23, 30, tzinfo=timezone.utc)
    assert doc.time_source == "XMP:xmp:CreateDate" and warnings == []
    assert doc.local_time is None
    assert local_date(doc) is None


def test_an_xmp_date_in_utc_takes_the_camera_zone_when_an_offset_tag_names_it(tmp_path: Path) -> None:
    path = _photo(
        tmp_path / "utc_npt.jpg",
        {"XMP-exif:DateTimeOriginal": "2023:10:20 23:30:00Z", "OffsetTimeOriginal": "+05:45"},
    )
    doc, _ = _doc_of(path)
    assert doc.shot_time == datetime(2023, 10, 20, 23, 30, tzinfo=timezone.utc)  # the same instant ...
    assert doc.shot_time is not None and doc.shot_time.utcoffset() == timedelta(hours=5, minutes=45)
    assert doc.local_time == datetime(2023, 10, 21, 5, 15)  # ... on the Nepal clock
    assert local_date(doc) == date(2023, 10, 21)


def test_an_xmp_date_with_an_explicit_zero_offset_keeps_its_local_day(tmp_path: Path) -> None:
    """ "+00:00" says the camera's clock was on UTC (London in winter): that clock is the local day."""
    path = _photo(tmp_path / "london.jpg", {"XMP-xmp:CreateDate": "2023:12:20 23:30:00+00:00"})
    doc, _ = _doc_of(path)
    assert doc.local_time == datetime(2023, 12, 20, 23, 30)
    assert local_date(doc) == date(2023, 12, 20)


def test_a_stored_utc_time_without_wall_clock_has_no_local_day() -> None:
    doc = PhotoDoc(
        id="x", path="x.jpg", vector=np.zeros(2, dtype=np.float32),
        shot_time=datetime(2023, 10, 20, 23, 30, tzinfo=timezone.utc), time_source="XMP:xmp:CreateDate",
    )  # fmt: skip
    assert local_date(doc) is None
