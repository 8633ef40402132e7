"""The peaklens page: search box and photo upload on top, filters in the left rail, the map, results in a grid.

This file only lays out widgets: searching goes through ``peaklens.search.Searcher``, peak placement through
``peaklens.frame``, filters are built in ``peaklens.ui.rail``. Every failure becomes a readable message.
Browsing needs only the store, so the first thumbnails appear before the model has loaded.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import streamlit as st

from peaklens.errors import PeaklensError
from peaklens.records import GeoPoint, PhotoHit, SearchFilters
from peaklens.search import Result
from peaklens.ui import grid, rail, viewer
from peaklens.ui import map as album_map
from peaklens.ui.auth import gate
from peaklens.ui.services import Services, current_settings, services

#: photos drawn on the map and used for the album's date range
ALBUM_LIMIT = 5000
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "heic", "heif"]


def located(hits: list[PhotoHit]) -> list[tuple[GeoPoint, str]]:
    return [(h.gps, h.path) for h in hits if h.gps is not None]


def browse(svc: Services, filters: SearchFilters) -> list[Result]:
    results, more = grid.paged(
        "browse", lambda n: [Result(hit) for hit in svc.store.list_photos(filters, limit=n)]
    )
    grid.grid(svc, "browse", "Your photos", results, more=more, scored=False)
    return results


def text_search(svc: Services, query: str, choices: rail.Choices) -> list[Result]:
    searcher = svc.searcher()
    results, more = grid.paged(
        "text",
        lambda n: list(
            searcher.text(
                query, choices.filters, k=n, num_candidates=choices.num_candidates, sort=choices.sort
            )
        ),
    )
    grid.grid(svc, "text", f"Results for “{query}”", results, more=more)
    return results


def identify(svc: Services, upload: Any, filters: SearchFilters) -> list[Result]:
    """The upload's peak, its labels when it has GPS + compass, then your photos of that peak and look-alikes."""
    from peaklens.enrich import camera_of
    from peaklens.imaging import BadImage, open_upload

    try:
        photo = open_upload(
            upload.getvalue(), max_bytes=int(svc.settings.max_upload_mb * 1024 * 1024), target=1280
        )
    except BadImage as exc:
        st.error(f"That upload cannot be used: {exc}")
        return []
    searcher = svc.searcher()
    camera = camera_of(photo.meta, photo.width, photo.height)
    found: dict[str, Any] = {}

    vector = searcher.image_vector(photo.image)  # embedded once for both sections

    def photos_of_peak(n: int) -> list[Result]:
        answer = searcher.similar(photo.image, k=n, filters=filters, camera=camera, vector=vector)
        found["peaks"] = answer.peaks
        return answer.photos

    first, more_first = grid.paged("identify", photos_of_peak)
    peaks = found["peaks"]
    left, right = st.columns([3, 2])
    with left:
        viewer.show_framed(
            photo.image, viewer.frame_for(svc, camera) if camera is not None else None, key="upload"
        )
    right.markdown("**Which peak is this?**")
    right.caption(
        "Ranked by look and, with GPS, by where the camera stood (the score); the look alone beside it."
    )
    if camera is not None:
        right.caption(
            f"Taken at {camera.position.lat:.4f}, {camera.position.lon:.4f}: peaks behind the camera count less."
        )
    for rank, peak in enumerate(peaks, start=1):
        visual = f" · look {peak.score:.4f}" if peak.fused_score is not None else ""
        right.markdown(f"{rank}. **{peak.name}** — score {peak.rank_score:.4f}{visual}")
    grid.grid(svc, "identify", f"Your photos of {peaks[0].name}", first, more=more_first)
    similar, more_similar = grid.paged(
        "similar", lambda n: searcher.looks_like(photo.image, k=n, filters=filters, vector=vector)
    )
    grid.grid(svc, "similar", "Visually similar photos", similar, more=more_similar)
    return first + similar


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
        if svc.store.count_photos() == 0:
            st.warning("The index is empty. Run `peaklens index ALBUM` first, then reload this page.")
            return
        album = svc.store.list_photos(limit=ALBUM_LIMIT)
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
        days = rail.album_days(album)
        choices = rail.rail(svc, days)
        rail.chips(choices.filters, days)
        reset_paging_when_changed(query, upload, choices.filters, choices.sort)
        map_slot = st.expander("Map", expanded=True)
        shown: list[Result] = []
        if query:
            shown += text_search(svc, query, choices)
        if upload is not None:
            shown += identify(svc, upload, choices.filters)
        if not query and upload is None:
            shown += browse(svc, choices.filters)
        with map_slot:
            peaks = [(p.latlon, p.name) for p in svc.store.all_peaks() if p.latlon is not None]
            album_map.map_panel(located(album), located([r.hit for r in shown]), peaks, choices.filters.bbox)
        if st.session_state.get(grid.VIEWING):
            viewer.lightbox(svc)
    except PeaklensError as exc:
        st.error(str(exc))


page()
