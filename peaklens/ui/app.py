"""The peaklens page: search box and photo upload on top, filters in the left rail, the map, results in a grid.

This file only lays out widgets: every search, identification and placement goes through the application layer
(``peaklens.library.Library``), filters are built in ``peaklens.ui.rail``. Every failure becomes a readable
message.
Browsing needs only the store, so the first thumbnails appear before the model has loaded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import streamlit as st

from peaklens.answers import Identification, PhotoAnswer, SearchAnswer
from peaklens.errors import PeaklensError
from peaklens.library import LoadedPhoto
from peaklens.records import GeoPoint, PhotoHit, SearchFilters
from peaklens.ui import grid, labels, rail, viewer
from peaklens.ui import map as album_map
from peaklens.ui.auth import gate
from peaklens.ui.services import Services, current_settings, services

#: photos drawn on the map and used for the album's date range
ALBUM_LIMIT = 5000
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "heic", "heif"]


def located(hits: list[PhotoHit]) -> list[tuple[GeoPoint, str]]:
    return [(h.gps, h.path) for h in hits if h.gps is not None]


@dataclass
class Section:
    """One result grid, fetched before anything is drawn (so the map comes with the first paint)."""

    name: str
    heading: str
    results: list[PhotoAnswer]
    more: bool
    total: int
    scored: bool = True


def browse(svc: Services, filters: SearchFilters) -> list[Section]:
    library = svc.library
    results, more = grid.paged("browse", lambda n: library.browse(filters, limit=n))
    return [Section("browse", "Your photos", results, more, library.count(filters), scored=False)]


def text_search(svc: Services, query: str, choices: rail.Choices) -> list[Section]:
    library = svc.model()
    found: list[SearchAnswer] = []

    def fetch(n: int) -> list[PhotoAnswer]:
        found.append(
            library.search(
                query,
                choices.filters,
                k=n,
                num_candidates=choices.num_candidates,
                sort=choices.sort,
                with_frames=False,
            )
        )
        return found[-1].photos

    results, more = grid.paged("text", fetch)
    total = grid.text_total(library.count(choices.filters), found[-1], len(results), more)
    return [Section("text", f"Results for “{query}”", results, more, total)]


def identify(svc: Services, photo: LoadedPhoto, filters: SearchFilters) -> tuple[list[Section], Any]:
    """Your photos of the upload's peak and look-alikes, and a drawing of the upload's peaks with its labels."""
    library = svc.model()
    found: dict[str, Identification] = {}
    vector = library.image_vector(photo)  # embedded once for both sections

    def photos_of_peak(n: int) -> list[PhotoAnswer]:
        answer = library.similar(photo, k=n, filters=filters, vector=vector)
        found["identification"] = answer.identification
        return answer.photos

    first, more_first = grid.paged("identify", photos_of_peak)
    identification = found["identification"]
    peaks = identification.peaks
    similar, more_similar = grid.paged(
        "similar", lambda n: library.looks_like(photo, k=n, filters=filters, vector=vector)
    )
    of_peak = dataclasses.replace(filters, peaks=(peaks[0].name,))
    view = identification.frame

    def draw() -> None:
        left, right = st.columns([3, 2])
        with left:
            viewer.show_framed(photo.image, view, key="upload", shown_width=labels.UPLOAD_SHOWN_PX)
        right.markdown("**Which peak is this?**")
        right.caption(
            "Ordered by the score: the look and, with GPS, where the camera stood; the visual score beside it."
        )
        if view is not None:
            right.caption(
                f"Taken at {view.position.lat:.4f}, {view.position.lon:.4f}: peaks behind the camera count less."
            )
        for rank, peak in enumerate(peaks, start=1):
            visual = f" · visual {peak.visual_score:.4f}" if peak.rank_score != peak.visual_score else ""
            right.markdown(f"{rank}. **{peak.name}** — score {peak.rank_score:.4f}{visual}")

    sections = [
        Section("identify", f"Your photos of {peaks[0].name}", first, more_first, library.count(of_peak)),
        Section("similar", "Visually similar photos", similar, more_similar, library.count(filters)),
    ]
    return sections, draw


def read_upload(svc: Services, upload: Any, slot: Any) -> LoadedPhoto | None:
    """The uploaded photo, or None with one line beside the uploader saying why it cannot be used."""
    if upload is None:
        return None
    try:
        return svc.library.load_upload(upload.getvalue(), upload.name)
    except PeaklensError as exc:
        slot.error(str(exc))
        return None


def reset_paging_when_changed(query: str, upload: Any, filters: SearchFilters, sort: str) -> None:
    signature = hashlib.sha1(
        repr((query, getattr(upload, "file_id", None), filters, sort)).encode()
    ).hexdigest()
    if st.session_state.get("search::signature") != signature:
        st.session_state["search::signature"] = signature
        grid.reset_paging()


def page() -> None:
    st.set_page_config(page_title="peaklens", page_icon="▲", layout="wide")
    st.title("▲ peaklens")
    try:
        settings = current_settings()
        if not gate(settings):
            return
        svc = services(settings)
        library = svc.library
        if library.count() == 0:
            st.warning("The index is empty. Run `peaklens index ALBUM` first, then reload this page.")
            return
        album = [answer.hit for answer in library.browse(limit=ALBUM_LIMIT)]
        top_left, top_right = st.columns([3, 2])
        query = top_left.text_input(
            "Search", placeholder="Ama Dablam, prayer flags, a person in a blue jacket…", key="query"
        ).strip()
        upload = top_right.file_uploader(
            "Identify from photo",
            type=UPLOAD_TYPES,
            key="upload",
            max_upload_size=max(1, math.ceil(settings.max_upload_mb)),
        )
        photo = read_upload(svc, upload, top_right)
        days = rail.album_days(album)
        choices = rail.rail(svc, days, [p for p, _ in located(album)])
        rail.chips(choices.filters, days)
        reset_paging_when_changed(query, upload, choices.filters, choices.sort)
        map_slot = st.expander("Map", expanded=True)
        sections: list[Section] = []
        draw_upload = None
        if query:
            sections += text_search(svc, query, choices)
        if photo is not None:
            found, draw_upload = identify(svc, photo, choices.filters)
            sections += found
        if not query and photo is None:
            sections += browse(svc, choices.filters)
        # a photo in two sections is one dot
        shown = list({r.hit.id: r.hit for section in sections for r in section.results}.values())
        if query or photo is not None:
            framed = [p for p, _ in located(shown)]
        else:
            under = (
                album
                if choices.filters.is_empty()
                else [answer.hit for answer in library.browse(choices.filters, ALBUM_LIMIT)]
            )
            framed = [p for p, _ in located(under)]
        framed = framed or [p for p, _ in located(album)]  # nothing shown has a position: the album's
        with map_slot:
            peaks = [(p.latlon, p.name, p.elev_m) for p in library.peaks().peaks if p.latlon is not None]
            album_map.map_panel(located(album), located(shown), framed, peaks, choices.filters.bbox)
        for section in sections:
            if section.name == "identify" and draw_upload is not None:
                draw_upload()
            grid.grid(
                svc,
                section.name,
                section.heading,
                section.results,
                more=section.more,
                total=section.total,
                scored=section.scored,
            )
        grid.view_clicks()
        if st.session_state.get(grid.VIEWING):
            viewer.lightbox(svc)
    except PeaklensError as exc:
        st.error(str(exc))


page()
