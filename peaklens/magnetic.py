"""Magnetic compass headings turned to true north with the World Magnetic Model.

A camera that records ``GPSImgDirectionRef = M`` measured its heading against magnetic north; the frame
geometry (``peaklens.frame``) needs true north. The declination (east positive) at the photo's place and date
comes from the World Magnetic Model through ``pygeomag``, which ships NOAA's coefficient files: the model
epoch that covers the date is used (WMM2020 for 2020-2024, WMM2025 for 2025-2029, the 2015/2010 models
before), never hand-typed coefficients. Why ``pygeomag``: pure Python with no dependencies and it ships
every epoch's coefficients, where NOAA's own ``wmm-calculator`` carries only the current model.

A date outside every shipped model still gets the nearest model's value (declination moves a few tenths of
a degree a year), with a warning that says so.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timezone
from typing import Any

from pygeomag import GeoMag, calculate_decimal_year

from peaklens.records import GeoPoint

#: the first and last years pygeomag has a model for (its WMM2010 ... WMM2025 coefficient files)
FIRST_MODEL_YEAR, LAST_MODEL_YEAR = 2010, 2029


@functools.lru_cache(maxsize=8)
def _model(year: int) -> Any:
    return GeoMag(base_year=year)


def declination_deg(point: GeoPoint, when: date, altitude_m: float | None = None) -> tuple[float, str]:
    """The magnetic declination (degrees, east positive) at ``point`` on ``when``, and the model that gave it
    ("WMM-2020"...). Raises ``ValueError`` for a date no shipped model reaches (see ``true_heading``)."""
    year = min(max(when.year, FIRST_MODEL_YEAR), LAST_MODEL_YEAR)
    model = _model(year)
    result = model.calculate(
        glat=point.lat,
        glon=point.lon,
        alt=(altitude_m or 0.0) / 1000.0,  # kilometres above the ellipsoid
        time=calculate_decimal_year(when),
        allow_date_outside_lifespan=year != when.year,
    )
    return float(result.d), str(model.model)


def photo_date(shot_time: datetime | None) -> date | None:
    """The UTC date of a capture time (a naive time is the camera's clock: its own date, close enough for a
    field that moves a tenth of a degree a year)."""
    if shot_time is None:
        return None
    if shot_time.tzinfo is not None:
        return shot_time.astimezone(timezone.utc).date()
    return shot_time.date()


def true_heading(
    heading_deg: float, point: GeoPoint, when: date | None, altitude_m: float | None = None
) -> tuple[float, float, list[str]]:
    """A magnetic heading as (true heading in [0, 360), declination applied, warnings).

    Without a capture date the declination of today is used, and said."""
    warnings = []
    if when is None:
        when = datetime.now(timezone.utc).date()
        warnings.append("magnetic heading without a capture date: today's declination used")
    elif not FIRST_MODEL_YEAR <= when.year <= LAST_MODEL_YEAR:
        warnings.append(
            f"magnetic heading from {when.year}: no World Magnetic Model covers it, the nearest one's "
            "declination used"
        )
    declination, _model_name = declination_deg(point, when, altitude_m)
    return (heading_deg + declination) % 360.0, declination, warnings
