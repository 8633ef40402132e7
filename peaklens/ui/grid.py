"""Result grids: even rows of cropped thumbnails, the scores a result really has, paging, and "View".

The cards are one HTML block (``peaklens.ui.cards``: one element painted at once instead of ~120); a click on
a card's picture or "View" comes back through a small component (``view_clicks``) and opens the lightbox.

Every widget key carries the grid's section name, so one photo shown in two grids (an upload's "Your photos of
X" and "Visually similar photos") never collides.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit import runtime

from peaklens.answers import PhotoAnswer, SearchAnswer
from peaklens.errors import PeaklensError
from peaklens.ui.cards import card_of, grid_html
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


def picture_url(jpeg: bytes | None, section: str, index: int) -> str | None:
    """Where the browser fetches a card's thumbnail: Streamlit's media endpoint, as ``st.image`` serves its
    pictures (the grid's HTML stays small and only the pictures inside the window are fetched), relative to the
    page so that a base URL path is kept; a data URI where no server runs (AppTest)."""
    if jpeg is None:
        return None
    if runtime.exists():
        url = runtime.get_instance().media_file_mgr.add(
            jpeg, "image/jpeg", f"peaklens.card.{section}.{index}"
        )
        return url.lstrip("/")
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def open_viewer(section: str, index: int) -> None:
    st.session_state[VIEWING] = {"section": section, "index": index}


#: a click on a card's picture or its "View" button goes back as [section, index] (the cards are HTML, not
#: widgets); the listener is on the document, so it serves whichever grids the page shows now
_JS = """
export default function(component) {
  window.__peaklensViewTrigger = component.setTriggerValue;  // the newest instance answers
  if (window.__peaklensViewBound) return;
  window.__peaklensViewBound = true;
  document.addEventListener('click', (e) => {
    const opener = e.target.closest && e.target.closest('.peaklens-card [data-view]');
    if (!opener) return;
    const card = opener.closest('.peaklens-card');
    window.__peaklensViewTrigger('view', [card.dataset.section, Number(card.dataset.index)]);
  });
}
"""
VIEW_KEY = "grid::view"


@functools.cache
def _view_component() -> Any:
    """The component, registered once per server process."""
    return st.components.v2.component("peaklens.grid_view", js=_JS)


def view_clicks() -> None:
    """Mount the listener for the cards' "View" (once per page, before the lightbox is drawn): a click opens
    that photo in this run."""
    result = _view_component()(key=VIEW_KEY, on_view_change=lambda: None, width="content", height=1)
    clicked = getattr(result, "view", None)
    if isinstance(clicked, (list, tuple)) and len(clicked) == 2:
        section, index = clicked
        if isinstance(section, str) and isinstance(index, (int, float)):
            open_viewer(section, int(index))


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
    cards = [
        card_of(result, picture_url(thumbnail(services, result.hit.path), section, index), scored)
        for index, result in enumerate(results)
    ]
    st.html(grid_html(cards, section, GRID_COLUMNS, CARD_ASPECT))
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
