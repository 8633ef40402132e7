"""Parsing what a user types as a filter (bbox, dates, peak names) into ``SearchFilters``.

Every bad value becomes a ``BadInput`` whose message says what was expected; nothing else escapes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timezone

from peaklens.errors import BadInput
from peaklens.records import BBox, SearchFilters

BBOX_HELP = "expected TOP,LEFT,BOTTOM,RIGHT in decimal degrees, e.g. 28.1,86.6,27.7,87.0"


def parse_bbox(text: str | None) -> BBox | None:
    if text is None or not str(text).strip():
        return None
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise BadInput(f"Bounding box {text!r}: {BBOX_HELP}.")
    try:
        top, left, bottom, right = (float(p) for p in parts)
    except ValueError:
        raise BadInput(f"Bounding box {text!r}: {BBOX_HELP}.") from None
    if not all(math.isfinite(v) for v in (top, left, bottom, right)):
        raise BadInput(f"Bounding box {text!r}: values must be finite numbers.")
    if not (-90 <= bottom <= top <= 90):
        raise BadInput(f"Bounding box {text!r}: need -90 <= BOTTOM <= TOP <= 90 (top is the northern edge).")
    if not (-180 <= left <= 180 and -180 <= right <= 180):
        raise BadInput(f"Bounding box {text!r}: longitudes must be within -180..180.")
    return BBox(top, left, bottom, right)


def parse_time(text: str | None, *, end_of_day: bool = False) -> datetime | None:
    """An ISO date or date-time; a bare date means the whole day (start, or end when ``end_of_day``).

    Times without an offset are taken as UTC, like Elasticsearch does.
    """
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip()
    try:
        if len(raw) <= 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time.max if end_of_day else time.min)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
    except (ValueError, OverflowError):
        raise BadInput(
            f"Date {raw!r}: expected YYYY-MM-DD or an ISO date-time like 2023-10-21T07:30+05:45."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def build_filters(
    *,
    bbox: str | None = None,
    time_from: str | None = None,
    time_to: str | None = None,
    peaks: Iterable[str] = (),
    resolve_peak: Callable[[str], str | None] | None = None,
) -> SearchFilters:
    """SearchFilters from user text; ``resolve_peak`` maps any alias to the stored display name."""
    start = parse_time(time_from)
    end = parse_time(time_to, end_of_day=True)
    if start and end and start > end:
        raise BadInput(f"Date range is empty: --from {time_from} is after --to {time_to}.")
    resolved: list[str] = []
    for name in peaks:
        if not str(name).strip():
            continue
        canonical = resolve_peak(name) if resolve_peak else name
        if canonical is None:
            raise BadInput(f"Unknown peak {name!r}: `peaklens peaks` lists the peaks in your album.")
        if canonical not in resolved:
            resolved.append(canonical)
    return SearchFilters(bbox=parse_bbox(bbox), time_from=start, time_to=end, peaks=tuple(resolved))


def utc(moment: datetime) -> datetime:
    """Aware UTC; naive values are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
