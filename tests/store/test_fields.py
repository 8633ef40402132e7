"""The local calendar day both stores file a photo under."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np

from peaklens.records import PhotoDoc
from peaklens.store.fields import local_date

NEPAL = timezone(timedelta(hours=5, minutes=45))


def _doc(**fields: object) -> PhotoDoc:
    return PhotoDoc(id="a", path="a.jpg", vector=np.zeros(2, dtype=np.float32), **fields)  # type: ignore[arg-type]


def test_the_day_is_the_cameras_wall_clock_day() -> None:
    doc = _doc(
        shot_time=datetime(2023, 10, 21, 0, 30, tzinfo=NEPAL), local_time=datetime(2023, 10, 21, 0, 30)
    )
    assert local_date(doc) == date(2023, 10, 21)  # 2023-10-20 in UTC


def test_an_aware_time_without_local_time_keeps_its_own_clock() -> None:
    assert local_date(_doc(shot_time=datetime(2023, 10, 21, 5, 30, tzinfo=NEPAL))) == date(2023, 10, 21)


def test_a_gps_clock_time_alone_has_no_local_day() -> None:
    doc = _doc(shot_time=datetime(2023, 10, 20, 18, 45, tzinfo=timezone.utc), time_source="GPS")
    assert local_date(doc) is None
