"""Result grids: even rows of cropped thumbnails, the scores a result really has, paging, and "View".

Every widget key carries the grid's section name, so one photo shown in two grids (an upload's "Your photos of
X" and "Visually similar photos") never collides.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from peaklens.answers import PhotoAnswer, SearchAnswer
from peaklens.errors import PeaklensError
from peaklens.ui.files import resolve_in_album
from peaklens.ui.services import Services
from peaklens.ui.thumbs import CARD_ASPECT, THUMB_SIDE

GRID_COLUMNS = 4
PAGE_SIZE = 24
VIEWING = "viewer::open"


def shown_key(section: str) -> str:
    return f"shown::{section}"


def wanted(section: str) -> int:
    """How many results the section shows now (one page more per "Show more")."""
    return int(st.session_state.get(shown_key(section), PAGE_SIZE))


def reset_paging() -> None:
    for key in [k for k in st.session_state if str(k).startswith("shown::")]:
        del st.session_state[key]


def count_caption(shown: int, total: int) -> str:
    """Where the page is among the photos the filters let through: "1–24 of 95 photos"."""
    total = max(total, shown)  # a photo indexed since the count was taken
    noun = "photo" if total == 1 else "photos"
    if shown == 0:
        return f"0 of {total} {noun}"
    return f"1 of {total} {noun}" if shown == 1 else f"1–{shown} of {total} {noun}"


def text_total(under_filters: int, results: SearchAnswer, shown: int, more: bool) -> int:
    """How many photos a text query can show: every photo under the filters, less those below the confidence
    cut (the search judged them all when the filters let through no more than its candidate window)."""
    if not more:
        return shown
    return max(shown + 1, under_filters - (results.dropped_below_confidence if results.min_confidence else 0))


def thumbnail(services: Services, rel_path: str) -> bytes | None:
    root = services.album_root()
    if root is None:
        return None
    try:
        return services.thumbs.jpeg(resolve_in_album(root, rel_path), THUMB_SIDE, CARD_ASPECT)
    except (PeaklensError, OSError):
        return None


def score_line(result: PhotoAnswer, scored: bool) -> str | None:
    """Only the scores a result has: none when browsing; the score the list is ordered by, and the visual
    score beside it where they differ (a query naming a peak is ordered by the fused score), as the CLI."""
    if not scored:
        return None
    parts = [f"score **{result.rank_score:.4f}**"]
    if result.rank_score != result.visual_score:
        parts.append(f"visual {result.visual_score:.4f}")
    if result.confidence is not None:
        parts.append(f"confidence {result.confidence:.0%}")
    return " · ".join(parts)


def peak_badges(result: PhotoAnswer) -> str:
    views = result.hit.extra.get("peak_views") if isinstance(result.hit.extra, dict) else None
    badges = []
    for name in result.hit.predicted_peaks:
        detail = ""
        if isinstance(views, dict) and isinstance(views.get(name), dict):
            view = views[name]
            detail = f" · {view.get('distance_km', 0):.1f} km"
        badges.append(f":blue-badge[▲ {name}{detail}]")
    return " ".join(badges)


def open_viewer(section: str, index: int) -> None:
    st.session_state[VIEWING] = {"section": section, "index": index}


def card(services: Services, section: str, result: PhotoAnswer, index: int, scored: bool) -> None:
    hit = result.hit
    image = thumbnail(services, hit.path)
    if image:
        st.image(image, width="stretch")
    else:
        st.warning(f"{hit.path}: file not available")
    line = score_line(result, scored)
    if line:
        st.markdown(line)
    if hit.predicted_peaks:
        st.markdown(peak_badges(result))
    when = hit.local_time or hit.shot_time
    st.caption(f"{hit.path} · {when.strftime('%Y-%m-%d %H:%M') if when else 'no capture time'}")
    st.button("View", key=f"view::{section}::{hit.id}", on_click=open_viewer, args=(section, index))


def grid(
    services: Services,
    section: str,
    heading: str,
    results: list[PhotoAnswer],
    *,
    more: bool,
    total: int,
    scored: bool = True,
    empty_hint: str = "No photos match. Try other words, or widen the filters (peaks, area, dates).",
) -> None:
    """``results`` in rows of ``GRID_COLUMNS`` under how many there are in all (``total``); ``more`` says
    whether another page exists."""
    st.session_state[f"results::{section}"] = results
    st.subheader(heading)
    if not results:
        st.info(empty_hint)
        return
    st.caption(count_caption(len(results), total if more else len(results)))
    for start in range(0, len(results), GRID_COLUMNS):
        columns = st.columns(GRID_COLUMNS)
        for offset, result in enumerate(results[start : start + GRID_COLUMNS]):
            with columns[offset]:
                card(services, section, result, start + offset, scored)
    if more:
        st.button(
            "Show more",
            key=f"more::{section}",
            on_click=_more,
            args=(section,),
        )


def _more(section: str) -> None:
    st.session_state[shown_key(section)] = wanted(section) + PAGE_SIZE


def paged(section: str, fetch: Callable[[int], list[PhotoAnswer]]) -> tuple[list[PhotoAnswer], bool]:
    """Fetch one more than the page holds: the extra one says whether "Show more" is needed."""
    count = wanted(section)
    found = fetch(count + 1)
    return found[:count], len(found) > count
