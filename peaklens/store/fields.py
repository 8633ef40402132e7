"""Values both stores derive the same way from a photo, so their answers agree."""

from __future__ import annotations

from datetime import date, datetime, timezone

from peaklens.errors import BadInput
from peaklens.records import PhotoDoc

#: the keyword-list fields ``peak_facets`` can count
FACET_FIELDS = ("predicted_peaks", "peaks_in_frame")


def local_date(doc: PhotoDoc) -> date | None:
    """The calendar day the camera showed (``local_day`` of the document's times)."""
    return local_day(doc.local_time, doc.shot_time, doc.time_source)


def local_day(
    local_time: datetime | None, shot_time: datetime | None, time_source: str | None
) -> date | None:
    """The calendar day the camera showed: ``local_time``'s date, else ``shot_time``'s own wall-clock date
    (an aware shot_time keeps the camera's offset; a naive one is the camera's clock). A UTC reading alone
    (the GPS clock, an XMP date ending in "Z": aware UTC without ``local_time``) is not the camera's day: such
    a photo has no local day (it still matches instants)."""
    if local_time is not None:
        return local_time.date()
    if (
        shot_time is None
        or time_source == "GPS"
        or (shot_time.tzinfo is not None and not shot_time.utcoffset())
    ):
        return None
    return shot_time.date()


def wall_clock(moment: datetime | None) -> datetime | None:
    """A naive wall-clock time (an aware value keeps its own clock reading, without the zone)."""
    return moment.replace(tzinfo=None) if moment is not None else None


def newest_first(shot_time: datetime | None, path: str) -> tuple[bool, float, str]:
    """Sort key of ``list_photos``: by the UTC instant (a naive time counts as UTC, never the server's
    zone), photos without a time last, ties by path."""
    if shot_time is None:
        return (True, 0.0, path)
    instant = shot_time if shot_time.tzinfo is not None else shot_time.replace(tzinfo=timezone.utc)
    return (False, -instant.timestamp(), path)


def check_facet_field(field: str) -> None:
    if field not in FACET_FIELDS:
        raise BadInput(f"Facet field {field!r}: expected one of {', '.join(FACET_FIELDS)}.")
