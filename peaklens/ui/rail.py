"""The left rail (peak facets, area, dates, sort) and the active-filter chips with "Clear all".

Facet counts are for the current filters: each facet counts photos matching every *other* active filter, so
ticking a peak never hides its neighbours' counts. Dates default to the album's own days and a single picked
day filters that day; a day is the photo's local calendar day (``SearchFilters.day_from``/``day_to``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

import streamlit as st

from peaklens.errors import BadInput
from peaklens.library import album_day_range, filters_from_ui
from peaklens.records import BBox, GeoPoint, PhotoHit, SearchFilters
from peaklens.ui.map_layout import presets_with_photos
from peaklens.ui.services import Services

GEO_PRESETS: dict[str, BBox | None] = {
    "Anywhere": None,
    "Khumbu valley": BBox(28.10, 86.55, 27.65, 87.10),
    "Everest Base Camp area": BBox(28.03, 86.78, 27.95, 86.90),
    "Namche – Tengboche": BBox(27.86, 86.68, 27.78, 86.80),
}
FACET_FIELDS = {"What the model sees": "predicted_peaks", "In frame (GPS + compass)": "peaks_in_frame"}
#: what a chip calls each kind of peak filter
CHIP_KIND = {"predicted_peaks": "model", "peaks_in_frame": "in frame"}
FACET_FIELD = "facet_field"
AREA_BOX = "area::box"
AREA_PRESET = "area::preset"
DATES = "dates"
SortKey = Literal["score", "time"]


@dataclass
class Choices:
    filters: SearchFilters
    sort: SortKey
    num_candidates: int


def album_days(photos: Sequence[PhotoHit]) -> tuple[date, date] | None:
    """The first and last local calendar day in the album (what the date picker opens on)."""
    return album_day_range(photos)


def days_label(picked: object) -> str:
    """The date picker's button: the days picked ("Capture days: 2023-10-24 – 2023-11-04", one day alone)."""
    days = [d for d in (picked if isinstance(picked, (tuple, list)) else (picked,)) if isinstance(d, date)]
    if not days:
        return "Capture days: any"
    first, last = min(days), max(days)
    return f"Capture days: {first}" if first == last else f"Capture days: {first} – {last}"


def _peak_key(field: str, name: str) -> str:
    return f"peak::{field}::{name}"


def selected_peaks(field: str) -> tuple[str, ...]:
    prefix = f"peak::{field}::"
    return tuple(
        sorted(str(k)[len(prefix) :] for k, v in st.session_state.items() if str(k).startswith(prefix) and v)
    )


def area_box() -> BBox | None:
    box = st.session_state.get(AREA_BOX)
    if box is not None:
        return box  # type: ignore[no-any-return]
    return GEO_PRESETS.get(str(st.session_state.get(AREA_PRESET, "Anywhere")))


def current_filters(days: tuple[date, date] | None) -> SearchFilters:
    """The filters the widgets hold, built by the core (``filters_from_ui``): the UI keeps no date rules."""
    try:
        return filters_from_ui(
            st.session_state.get(DATES),
            area_box(),
            selected_peaks("predicted_peaks"),
            selected_peaks("peaks_in_frame"),
            album_days=days,
        )
    except BadInput as exc:
        st.warning(str(exc))
        return filters_from_ui(
            st.session_state.get(DATES),
            None,
            selected_peaks("predicted_peaks"),
            selected_peaks("peaks_in_frame"),
            album_days=days,
        )


def _clear_area() -> None:
    st.session_state[AREA_BOX] = None


def _switch_facets() -> None:
    """The peak filter follows the facets shown: ticks of the kind no longer shown are dropped, so no chip
    stays active without a ticked box."""
    shown = FACET_FIELDS[str(st.session_state.get(FACET_FIELD))]
    for key in [
        k
        for k in st.session_state
        if str(k).startswith("peak::") and not str(k).startswith(f"peak::{shown}::")
    ]:
        st.session_state[key] = False


def presets(photos: Sequence[GeoPoint]) -> list[str]:
    """The area presets offered: those where the album has photos."""
    return list(presets_with_photos(GEO_PRESETS, photos))


def rail(services: Services, days: tuple[date, date] | None, photos: Sequence[GeoPoint] = ()) -> Choices:
    bar = st.sidebar
    bar.header("Peaks")
    label = bar.radio(
        "Peaks by", list(FACET_FIELDS), key=FACET_FIELD, horizontal=True, on_change=_switch_facets
    )
    field = FACET_FIELDS[str(label)]
    filters = current_filters(days)
    others = replace(filters, peaks=()) if field == "predicted_peaks" else replace(filters, peaks_in_frame=())
    counts = dict(services.library.facets(others, in_frame=field == "peaks_in_frame"))
    for name in selected_peaks(field):
        counts.setdefault(name, 0)
    if not counts:
        bar.caption("No peaks for these filters yet.")
    for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        bar.checkbox(f"{name} ({count})", key=_peak_key(field, name))

    bar.header("Where")
    offered = presets(photos)
    if st.session_state.get(AREA_PRESET) not in offered:
        st.session_state[AREA_PRESET] = offered[0]
    bar.selectbox("Area", offered, key=AREA_PRESET, on_change=_clear_area)
    if st.session_state.get(AREA_BOX) is not None:
        box = st.session_state[AREA_BOX]
        bar.caption(f"Box on the map: {box.top:.3f}N {box.left:.3f}E – {box.bottom:.3f}N {box.right:.3f}E")
    else:
        bar.caption("Or draw a box on the map.")

    bar.header("When")
    if days is None:
        bar.caption("No photo has a capture time.")
    else:
        if DATES not in st.session_state:
            st.session_state[DATES] = days  # the album's own days, not today
        # in a popover, whose button names the days: Streamlit's date picker (a fifth of a megabyte of script)
        # loads when it is opened, not with the first paint
        picker = bar.popover(days_label(st.session_state[DATES]), key="dates::open", width="stretch")
        picker.date_input(
            "Capture days (local)",
            min_value=days[0],
            max_value=days[1],
            key=DATES,
            help="Pick one day, or a first and a last day.",
        )
    sort = bar.radio("Sort by", ["score", "capture time"], horizontal=True, key="sort")
    with bar.popover("Advanced", width="stretch"):  # loads its widget's script when opened
        candidates = int(
            st.number_input(
                "Photos compared per query",
                1,
                10000,
                services.settings.num_candidates,
                key="num_candidates",
                help="How many of the nearest photos a query weighs before keeping the best (more: slower, "
                "rarely better).",
            )
        )
    return Choices(current_filters(days), "time" if sort == "capture time" else "score", candidates)


# --- chips -------------------------------------------------------------------------------------------------
def _untick(key: str) -> None:
    st.session_state[key] = False


def _reset_area() -> None:
    st.session_state[AREA_BOX] = None
    st.session_state[AREA_PRESET] = "Anywhere"


def _reset_dates(days: tuple[date, date] | None) -> None:
    st.session_state[DATES] = days


def _clear_all(days: tuple[date, date] | None) -> None:
    for key in [k for k in st.session_state if str(k).startswith("peak::")]:
        st.session_state[key] = False
    _reset_area()
    _reset_dates(days)


def chips(filters: SearchFilters, days: tuple[date, date] | None) -> None:
    """One removable chip per active filter, and "Clear all"."""
    if filters.is_empty():
        return
    row = st.container(horizontal=True)
    for field, names in (("predicted_peaks", filters.peaks), ("peaks_in_frame", filters.peaks_in_frame)):
        for name in names:
            row.button(
                f"✕ {name} ({CHIP_KIND[field]})",
                key=f"chip::{field}::{name}",
                on_click=_untick,
                args=(_peak_key(field, name),),
            )
    if filters.bbox is not None:
        row.button("✕ Area", key="chip::area", on_click=_reset_area)
    if filters.day_from is not None:
        span = (
            f"{filters.day_from}"
            if filters.day_from == filters.day_to
            else f"{filters.day_from} – {filters.day_to}"
        )
        row.button(f"✕ {span}", key="chip::dates", on_click=_reset_dates, args=(days,))
    row.button("Clear all", key="chip::all", on_click=_clear_all, args=(days,), type="primary")
