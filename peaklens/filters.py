"""Parsing what a user types or picks as a filter (bbox, dates, peak names) into ``SearchFilters``.

Every bad value becomes a ``BadInput`` whose message says what was expected; nothing else escapes.

Dates mean what a person means by them:

* a bare date (``--from 2023-10-21``, a day picked in the UI) is the photo's own LOCAL calendar day:
  ``day_from``/``day_to``, compared with the camera's wall clock (``local_time``), the way photo apps group
  by day. A sunrise shot at 05:50 in Nepal (00:05 UTC) is a photo "of 21 October" wherever the album is
  searched from.
* a date-time with an offset (``2023-10-21T07:30+05:45``, ``...Z``) is an instant: ``time_from``/``time_to``,
  compared with ``shot_time``.
* a date-time without an offset is refused with a message asking for either: taken as UTC (as before) it is
  hours off for a trek in Nepal, and taken as the camera's wall clock it is no instant at all.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone

from peaklens.errors import BadInput
from peaklens.records import BBox, PhotoHit, SearchFilters, utc
from peaklens.store.fields import local_day

BBOX_HELP = "expected TOP,LEFT,BOTTOM,RIGHT in decimal degrees, e.g. 28.1,86.6,27.7,87.0"
DATE_HELP = (
    "expected YYYY-MM-DD (a calendar day, in the photo's local time) "
    "or a date-time with its offset like 2023-10-21T07:30+05:45 (Z for UTC)"
)
_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[Tt ])")
# A local calendar day spans these instants somewhere on Earth: it starts first at UTC+14 and ends last at
# UTC-12. Only an instant outside that span makes a mixed day/instant range certainly empty.
_FIRST_ZONE, _LAST_ZONE = timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))


def check_bbox(box: BBox, shown: str | None = None) -> BBox:
    """``box`` if it is a real area; ``shown`` is how the user wrote it, for the message."""
    top, left, bottom, right = box.top, box.left, box.bottom, box.right
    label = f"Bounding box {shown or f'{top:g},{left:g},{bottom:g},{right:g}'!r}"
    if not all(math.isfinite(v) for v in (top, left, bottom, right)):
        raise BadInput(f"{label}: values must be finite numbers.")
    if not (-90 <= bottom <= top <= 90):
        raise BadInput(f"{label}: need -90 <= BOTTOM <= TOP <= 90 (top is the northern edge).")
    if not (-180 <= left <= 180 and -180 <= right <= 180):
        raise BadInput(f"{label}: longitudes must be within -180..180.")
    if left > right and not left > 0 > right:
        raise BadInput(
            f"{label}: LEFT {left:g} is east of RIGHT {right:g}; give the western edge first "
            "(only a box across the 180° meridian has LEFT > 0 > RIGHT, e.g. 10,170,-10,-170)."
        )
    return box


def parse_bbox(text: str | None) -> BBox | None:
    """TOP,LEFT,BOTTOM,RIGHT; None when the option was not given, an error when it was given empty."""
    if text is None:
        return None
    if not str(text).strip():
        raise BadInput(f"Bounding box is empty: {BBOX_HELP}.")
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise BadInput(f"Bounding box {text!r}: {BBOX_HELP}.")
    try:
        top, left, bottom, right = (float(p) for p in parts)
    except ValueError:
        raise BadInput(f"Bounding box {text!r}: {BBOX_HELP}.") from None
    return check_bbox(BBox(top, left, bottom, right), str(text))


def parse_when(text: str | None) -> date | datetime | None:
    """A bare date (a local calendar day) as ``date``, a date-time with an offset as an aware ``datetime``."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip()
    try:
        if _BARE_DATE.match(raw):
            return date.fromisoformat(raw)
        moment = datetime.fromisoformat(
            raw.replace("Z", "+00:00").replace("z", "+00:00").replace(" ", "T", 1)
        )
    except (ValueError, OverflowError):
        raise BadInput(f"Date {raw!r}: {_no_such_day(raw) or DATE_HELP}.") from None
    if moment.tzinfo is None:
        raise BadInput(f"Date {raw!r} has no UTC offset: {DATE_HELP}.")
    try:
        utc(moment)
    except OverflowError:
        raise BadInput(f"Date {raw!r} is out of range: {DATE_HELP}.") from None
    return moment


def _no_such_day(raw: str) -> str | None:
    """For text written as a date whose month or day does not exist (2023-11-31, 2023-13-01): what is wrong
    with it, since repeating the expected format would send the user looking for a typo in the form."""
    written = _DATE_PREFIX.match(raw)
    if written is None:
        return None
    year, month, day = (int(part) for part in written.groups())
    if year < 1:
        return None
    if not 1 <= month <= 12:
        return "no such month (months run from 01 to 12)"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"no such day ({calendar.month_name[month]} {year} has days 01 to {days})"
    return None


def _certainly_empty(start: date | datetime, end: date | datetime) -> bool:
    """Whether no photo can fall between ``start`` and ``end`` (each a local day or an instant)."""
    if isinstance(start, datetime) and isinstance(end, datetime):
        return start > end
    if isinstance(start, datetime):  # from an instant to the end of a local day
        return end < date.max and start >= datetime.combine(end + timedelta(days=1), time.min, _LAST_ZONE)
    if isinstance(end, datetime):  # from the start of a local day to an instant
        return end < datetime.combine(start, time.min, _FIRST_ZONE)
    return start > end


def _unique(names: Iterable[str], resolve: Callable[[str], str | None] | None) -> tuple[str, ...]:
    resolved: list[str] = []
    for name in names:
        if not str(name).strip():
            continue
        canonical = resolve(name) if resolve else name
        if canonical is None:
            raise BadInput(f"Unknown peak {name!r}: `peaklens peaks` lists the peaks in your album.")
        if canonical not in resolved:
            resolved.append(canonical)
    return tuple(resolved)


def build_filters(
    *,
    bbox: str | None = None,
    time_from: str | None = None,
    time_to: str | None = None,
    peaks: Iterable[str] = (),
    peaks_in_frame: Iterable[str] = (),
    resolve_peak: Callable[[str], str | None] | None = None,
) -> SearchFilters:
    """SearchFilters from the CLI's text; ``resolve_peak`` maps any alias to the stored display name."""
    start, end = parse_when(time_from), parse_when(time_to)
    if start is not None and end is not None and _certainly_empty(start, end):
        raise BadInput(f"Date range is empty: --from {time_from} is after --to {time_to}.")
    return SearchFilters(
        bbox=parse_bbox(bbox),
        time_from=start if isinstance(start, datetime) else None,
        time_to=end if isinstance(end, datetime) else None,
        day_from=None if isinstance(start, datetime) else start,
        day_to=None if isinstance(end, datetime) else end,
        peaks=_unique(peaks, resolve_peak),
        peaks_in_frame=_unique(peaks_in_frame, resolve_peak),
    )


def filters_from_ui(
    days: Sequence[date] | date | None = None,
    bbox: BBox | None = None,
    peaks: Iterable[str] = (),
    peaks_in_frame: Iterable[str] = (),
    *,
    album_days: tuple[date, date] | None = None,
) -> SearchFilters:
    """SearchFilters from what the UI's widgets hold, so the UI keeps no date or geo rules of its own.

    ``days`` is Streamlit's ``date_input`` value: a date, or (), (first,) while a range is being picked, or
    (first, last). One picked day means that local day; a range covers its local days, both ends included.
    A pick that covers ``album_days`` (the album's first and last day, where the picker opens) is no date
    filter, so undated photos stay in until the user narrows the range. Peak names come from the store's
    facets and are used as they are.
    """
    picked = [days] if isinstance(days, date) else list(days or ())
    local_days = [d.date() if isinstance(d, datetime) else d for d in picked]
    first, last = (min(local_days), max(local_days)) if local_days else (None, None)
    if first and last and album_days and first <= album_days[0] and last >= album_days[1]:
        first = last = None
    return SearchFilters(
        bbox=check_bbox(bbox) if bbox is not None else None,
        day_from=first,
        day_to=last,
        peaks=_unique(peaks, None),
        peaks_in_frame=_unique(peaks_in_frame, None),
    )


def album_day_range(photos: Iterable[PhotoHit]) -> tuple[date, date] | None:
    """The first and last local calendar day among photos (where a date picker opens). A time from the GPS
    clock alone is UTC and has no local day, as in the stores."""
    days = []
    for hit in photos:
        day = local_day(hit.local_time, hit.shot_time, hit.time_source)
        if day is not None:
            days.append(day)
    return (min(days), max(days)) if days else None
