"""The peaklens page: search box and photo upload on top, filters in the left rail, results in a grid.

All searching goes through ``peaklens.search.Searcher`` (the CLI's functions); this file only lays out widgets.
Every failure becomes a readable message on the page.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import streamlit as st

from peaklens.config import Settings, load_settings
from peaklens.errors import PeaklensError
from peaklens.records import BBox, SearchFilters
from peaklens.search import Result, Searcher

GEO_PRESETS: dict[str, BBox | None] = {
    "Anywhere": None,
    "Khumbu valley": BBox(28.10, 86.55, 27.65, 87.10),
    "Everest Base Camp area": BBox(28.03, 86.78, 27.95, 86.90),
    "Namche – Tengboche": BBox(27.86, 86.68, 27.78, 86.80),
    "Custom box": None,
}
GRID_COLUMNS = 4


@st.cache_resource(show_spinner="Loading the model and the index…")
def services(settings_json: str) -> Searcher:
    """One embedder and store per distinct settings, shared by every session of this server."""
    from peaklens.embed.loader import load_embedder
    from peaklens.store.factory import open_store

    settings = Settings.model_validate_json(settings_json)
    return Searcher(settings, open_store(settings), load_embedder(settings))


def album_root(searcher: Searcher) -> Path | None:
    if searcher.settings.album:
        return Path(searcher.settings.album)
    held = searcher.store.get_meta().get("album_root")
    return Path(held) if held else None


def thumbnail(searcher: Searcher, rel_path: str, side: int) -> bytes | None:
    from peaklens.ui.files import resolve_in_album
    from peaklens.ui.thumbs import cached_jpeg

    root = album_root(searcher)
    if root is None:
        return None
    try:
        return cached_jpeg(resolve_in_album(root, rel_path), searcher.settings.data_dir / "thumbs", side)
    except (PeaklensError, OSError):
        return None


# --- left rail ------------------------------------------------------------------------------------------
def sidebar_filters(searcher: Searcher) -> tuple[SearchFilters, str, int, int]:
    bar = st.sidebar
    bar.header("Peaks")
    facets = searcher.facets()
    chosen: list[str] = []
    if not facets:
        bar.caption("No predicted peaks yet.")
    for name, count in facets:
        if bar.checkbox(f"{name} ({count})", key=f"peak::{name}"):
            chosen.append(name)

    bar.header("Where")
    preset = bar.selectbox("Area", list(GEO_PRESETS), key="geo_preset")
    bbox = GEO_PRESETS[preset]
    if preset == "Custom box":
        top = bar.number_input("North (top)", -90.0, 90.0, 28.1, format="%.4f")
        bottom = bar.number_input("South (bottom)", -90.0, 90.0, 27.7, format="%.4f")
        left = bar.number_input("West (left)", -180.0, 180.0, 86.5, format="%.4f")
        right = bar.number_input("East (right)", -180.0, 180.0, 87.1, format="%.4f")
        if bottom <= top:
            bbox = BBox(top, left, bottom, right)
        else:
            bar.warning("The southern edge is north of the northern edge; the box is ignored.")
    mini_map(searcher, bbox)

    bar.header("When")
    dates = bar.date_input("Capture dates", value=[], key="dates")
    time_from = time_to = None
    if isinstance(dates, (list, tuple)) and len(dates) == 2:
        time_from = datetime.combine(dates[0], time.min, tzinfo=timezone.utc)
        time_to = datetime.combine(dates[1], time.max, tzinfo=timezone.utc)
    elif isinstance(dates, date):
        time_from = datetime.combine(dates, time.min, tzinfo=timezone.utc)

    sort = bar.radio("Sort by", ["score", "capture time"], horizontal=True, key="sort")
    with bar.expander("Advanced"):
        k = int(st.number_input("k (photos)", 1, 1000, min(searcher.settings.k, 1000), key="k"))
        candidates = int(
            st.number_input(
                "num_candidates", 1, 10000, searcher.settings.num_candidates, key="num_candidates"
            )
        )
    filters = SearchFilters(bbox=bbox, time_from=time_from, time_to=time_to, peaks=tuple(chosen))
    return filters, ("time" if sort == "capture time" else "score"), k, candidates


def mini_map(searcher: Searcher, bbox: BBox | None) -> None:
    """Photos as green dots, catalog peaks as red triangles, the active box outlined."""
    import pydeck as pdk

    photos: list[dict[str, Any]] = [
        {"lat": h.gps.lat, "lon": h.gps.lon, "label": h.path}
        for h in searcher.store.list_photos(limit=2000)
        if h.gps is not None
    ]
    peaks = [
        {"lat": p.latlon.lat, "lon": p.latlon.lon, "label": p.name, "icon": "▲"}
        for p in searcher.store.all_peaks()
        if p.latlon is not None
    ]
    layers = [
        pdk.Layer(
            "ScatterplotLayer",
            photos,
            get_position="[lon, lat]",
            get_fill_color=[30, 170, 60],
            get_radius=120,
            radius_min_pixels=3,
        ),
        pdk.Layer(
            "TextLayer",
            peaks,
            get_position="[lon, lat]",
            get_text="icon",
            get_color=[210, 30, 30],
            get_size=16,
        ),
    ]
    if bbox is not None:
        ring = [
            [bbox.left, bbox.top],
            [bbox.right, bbox.top],
            [bbox.right, bbox.bottom],
            [bbox.left, bbox.bottom],
            [bbox.left, bbox.top],
        ]
        layers.append(
            pdk.Layer(
                "PathLayer", [{"path": ring}], get_path="path", get_color=[40, 90, 220], width_min_pixels=2
            )
        )
    centre = (
        (27.93, 86.8)
        if not photos
        else (sum(p["lat"] for p in photos) / len(photos), sum(p["lon"] for p in photos) / len(photos))
    )
    st.sidebar.pydeck_chart(
        pdk.Deck(
            layers=layers,
            initial_view_state=pdk.ViewState(latitude=centre[0], longitude=centre[1], zoom=8),
            map_style=None,
            tooltip={"text": "{label}"},
        ),
        height=220,
    )


# --- results ---------------------------------------------------------------------------------------------
def peak_badges(result: Result) -> str:
    views = result.hit.extra.get("peak_views") if isinstance(result.hit.extra, dict) else None
    badges = []
    for name in result.hit.predicted_peaks:
        detail = ""
        if isinstance(views, dict) and isinstance(views.get(name), dict):
            view = views[name]
            detail = f" · {view.get('distance_km', 0):.1f} km · {view.get('bearing_deg', 0):.0f}°"
        badges.append(f":blue-badge[▲ {name}{detail}]")
    return " ".join(badges)


def card(searcher: Searcher, result: Result, index: int) -> None:
    hit = result.hit
    image = thumbnail(searcher, hit.path, 384)
    if image:
        st.image(image, use_container_width=True)
    else:
        st.warning(f"{hit.path}: file not available")
    score = f"score **{hit.score:.4f}**"
    if result.confidence is not None:
        score += f" · confidence {result.confidence:.0%}"
    st.markdown(score)
    if hit.predicted_peaks:
        st.markdown(peak_badges(result))
    st.caption(f"{hit.path} · {hit.shot_time.isoformat(sep=' ') if hit.shot_time else 'no capture time'}")
    if st.button("View", key=f"view::{index}::{hit.id}"):
        full_view(searcher, hit.path)


@st.dialog("Photo", width="large")
def full_view(searcher: Searcher, rel_path: str) -> None:
    data = thumbnail(searcher, rel_path, 2048)
    if data:
        st.image(data, caption=rel_path)
    else:
        st.error(f"{rel_path} cannot be shown.")


def grid(searcher: Searcher, results: list[Result], heading: str) -> None:
    st.subheader(heading)
    if not results:
        st.info("No photos match. Try other words, or widen the filters (peaks, area, dates).")
        return
    st.caption(f"{len(results)} photo(s)")
    for start in range(0, len(results), GRID_COLUMNS):
        columns = st.columns(GRID_COLUMNS)
        for offset, result in enumerate(results[start : start + GRID_COLUMNS]):
            with columns[offset]:
                card(searcher, result, start + offset)
    located = [{"lat": r.hit.gps.lat, "lon": r.hit.gps.lon} for r in results if r.hit.gps is not None]
    if located:
        st.markdown("**Where these were taken**")
        st.map(located, size=40, color="#1e9e3c")


def identify_panel(searcher: Searcher, upload: Any, filters: SearchFilters, k: int) -> None:
    from peaklens.imaging import BadImage, open_upload

    try:
        photo = open_upload(upload.getvalue(), max_bytes=int(searcher.settings.max_upload_mb * 1024 * 1024))
    except BadImage as exc:
        st.error(f"That upload cannot be used: {exc}")
        return
    from peaklens.enrich import camera_of

    camera = camera_of(photo.meta, photo.width, photo.height)
    result = searcher.similar(photo.image, k=k, filters=filters, camera=camera)
    left, right = st.columns([1, 3])
    left.image(photo.image, caption=upload.name)
    right.markdown("**Which peak is this?**")
    if camera is not None:
        right.caption(
            f"Taken at {camera.position.lat:.4f}, {camera.position.lon:.4f}: peaks behind the camera count less."
        )
    for rank, peak in enumerate(result.peaks, start=1):
        right.markdown(f"{rank}. **{peak.name}** — score {peak.score:.4f}")
    grid(searcher, result.photos, f"Your photos of {result.peaks[0].name}")
    grid(searcher, searcher.looks_like(photo.image, k=k, filters=filters), "Visually similar photos")


def page() -> None:
    st.set_page_config(page_title="peaklens", page_icon="▲", layout="wide")
    st.title("▲ peaklens")
    try:
        searcher = services(load_settings().model_dump_json())
        if searcher.store.count_photos() == 0:
            st.warning("The index is empty. Run `peaklens index ALBUM` first, then reload this page.")
            return
        top_left, top_right = st.columns([3, 2])
        query = top_left.text_input(
            "Search", placeholder="Ama Dablam, prayer flags, a person in a blue jacket…", key="query"
        )
        upload = top_right.file_uploader(
            "Identify from photo", type=["jpg", "jpeg", "png", "webp", "heic", "heif"], key="upload"
        )
        filters, sort, k, candidates = sidebar_filters(searcher)
        if upload is not None:
            identify_panel(searcher, upload, filters, k)
        elif query.strip():
            results = searcher.text(query, filters, k=k, num_candidates=candidates, sort=sort)  # type: ignore[arg-type]
            grid(searcher, results, f"Results for “{query.strip()}”")
        else:
            browse = [Result(hit) for hit in searcher.store.list_photos(filters, limit=k)]
            grid(searcher, browse, "Your photos")
    except PeaklensError as exc:
        st.error(str(exc))


page()
