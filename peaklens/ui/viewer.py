"""The lightbox: one photo full size with its date, place and peaks, previous/next, and peak labels.

Labels come from ``peaklens.frame`` for the photo's GPS, heading, altitude and stored heading correction.
Clicking the photo after picking a peak puts that peak's label where it was clicked: the heading correction
(``frame.heading_offset_for``) is stored for the photo and moves every other label with it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal

import streamlit as st
from PIL import Image

from peaklens import frame
from peaklens.dem import Dem, load_dem
from peaklens.enrich import camera_of
from peaklens.errors import PeaklensError
from peaklens.geo import Camera
from peaklens.imaging import BadImage, open_photo
from peaklens.records import PhotoHit, PhotoUpdate
from peaklens.search import Result
from peaklens.ui.files import resolve_in_album
from peaklens.ui.grid import VIEWING
from peaklens.ui.labels import DEFAULT_SHOWN_PX, correction_choices, draw_labels, heading_caption, label_text
from peaklens.ui.services import Services
from peaklens.ui.thumbs import VIEW_SIDE

LABELS_ON = "viewer::labels"


@st.cache_resource(show_spinner=False)
def _dem(key: str, data_dir: Path) -> Dem | None:
    return load_dem(data_dir)


def camera_for_file(path: Path) -> Camera | None:
    """The camera the file's EXIF describes (GPS, altitude, compass, field of view), or None without GPS."""
    photo = open_photo(path, target=64, min_side=64)
    return camera_of(photo.meta, photo.width, photo.height)


def frame_for(services: Services, camera: Camera, hit: PhotoHit | None = None) -> frame.FrameView:
    """Every catalog peak placed in the photo, with the photo's stored heading correction when it has one."""
    return frame.frame_view(
        camera,
        services.store.all_peaks(),
        _dem(services.key, services.settings.data_dir),
        heading_offset_deg=hit.heading_offset_deg if hit else None,
        heading_source=hit.heading_source if hit else None,
    )


def peaks_line(view: frame.FrameView) -> str:
    placed = view.in_frame()
    if not placed:
        return "No catalog peak is in frame."
    return "In frame: " + " · ".join("{} ({})".format(*label_text(p)) for p in placed)


def show_framed(
    image: Image.Image, view: frame.FrameView | None, *, key: str, shown_width: int | None = None
) -> Image.Image:
    """The photo with its labels (when switched on and placeable) and the heading they rest on; returns the
    picture as shown. With ``shown_width`` the photo is shown that many CSS pixels wide (at most its column's
    width) and its labels are sized for it."""
    width: int | Literal["stretch"] = "stretch" if shown_width is None else shown_width
    if view is None:
        st.image(image, width=width)
        st.caption("No GPS position: peak labels need where the photo was taken.")
        return image
    labels_on = st.toggle("Peak labels", value=True, key=f"{LABELS_ON}::{key}")
    placeable = labels_on and view.heading_deg is not None
    sized = DEFAULT_SHOWN_PX if shown_width is None else shown_width
    shown = draw_labels(image, view, shown_width=sized) if placeable else image
    st.image(shown, width=width)
    st.caption(heading_caption(view))
    if view.heading_deg is not None:
        st.markdown(peaks_line(view))
    return shown


def _close() -> None:
    st.session_state.pop(VIEWING, None)


def _step(delta: int, count: int) -> None:
    state = st.session_state.get(VIEWING)
    if state:
        st.session_state[VIEWING] = {**state, "index": (state["index"] + delta) % count}


@st.dialog("Photo", width="large", on_dismiss=_close)
def lightbox(services: Services) -> None:
    state = st.session_state.get(VIEWING) or {}
    results: list[Result] = st.session_state.get(f"results::{state.get('section')}") or []
    if not results:
        st.info("This photo is no longer in the results.")
        return
    index = min(int(state.get("index", 0)), len(results) - 1)
    hit = results[index].hit
    back, where, forward = st.columns([1, 4, 1])
    back.button("← Previous", key="viewer::prev", on_click=_step, args=(-1, len(results)), width="stretch")
    where.markdown(f"**{hit.path}** · {index + 1} of {len(results)}")
    forward.button("Next →", key="viewer::next", on_click=_step, args=(1, len(results)), width="stretch")
    root = services.album_root()
    try:
        if root is None:
            raise BadImage("the album folder is not known (run `peaklens index ALBUM`)")
        path = resolve_in_album(root, hit.path)
        image = Image.open(io.BytesIO(services.thumbs.jpeg(path, VIEW_SIDE)))
        camera = frame.camera_of_hit(hit) if hit.gps_source == "gpx" else camera_for_file(path)
    except (PeaklensError, OSError) as exc:
        st.error(f"{hit.path} cannot be shown: {exc}")
        return
    st.caption(details(hit))
    view = frame_for(services, camera, hit) if camera is not None else None
    correctable = camera is not None and view is not None and view.compass_heading_deg is not None
    if correctable and st.toggle("Correct the labels", key=f"viewer::correct::{hit.id}"):
        assert camera is not None and view is not None
        correction(services, hit, camera, view, image)
        return
    show_framed(image, view, key=hit.id)


def details(hit: PhotoHit) -> str:
    """Date (the camera's local time), place and peaks, in one line."""
    when = hit.local_time or hit.shot_time
    parts = [when.strftime("%A %d %B %Y, %H:%M") if when else "no capture time"]
    if hit.gps is not None:
        place = f"{hit.gps.lat:.5f}, {hit.gps.lon:.5f}"
        if hit.altitude_m is not None:
            place += f" · {hit.altitude_m:.0f} m"
        parts.append(place + (" (from the GPX track)" if hit.gps_source == "gpx" else ""))
    if hit.predicted_peaks:
        parts.append("looks like " + ", ".join(hit.predicted_peaks))
    return " · ".join(parts)


def correction(
    services: Services, hit: PhotoHit, camera: Camera, view: frame.FrameView, image: Image.Image
) -> None:
    """Pick a peak, click where it really is: the photo's heading is corrected and stored."""
    from streamlit_image_coordinates import streamlit_image_coordinates

    candidates = correction_choices(view)
    if not candidates:
        st.info("No catalog peak is near this photo's field of view.")
        return
    labelled = {p.peak_id for p in view.in_frame()}
    names = {
        p.peak_id: p.name if p.peak_id in labelled else f"{p.name} (no label: shown dim)" for p in candidates
    }
    chosen = st.selectbox(
        "Peak to move", list(names), format_func=names.__getitem__, key=f"viewer::move::{hit.id}"
    )
    st.caption("Click the photo where that peak really is: every label moves with it.")
    click = streamlit_image_coordinates(
        draw_labels(image, view, ghost=view.by_id(chosen)),
        key=f"viewer::click::{hit.id}",
        width="stretch",
        cursor="crosshair",
    )
    st.caption(heading_caption(view))
    st.markdown(peaks_line(view))
    seen = f"viewer::click_seen::{hit.id}"
    if click and click.get("unix_time") != st.session_state.get(seen) and click.get("width"):
        st.session_state[seen] = click.get("unix_time")
        store_correction(services, hit, camera, view, chosen, float(click["x"]) / float(click["width"]))
        st.rerun(scope="fragment")
    if view.heading_source == "user" and st.button(
        "Back to the compass heading", key=f"viewer::reset::{hit.id}"
    ):
        apply_heading(services, hit, camera, 0.0, "compass")
        st.rerun(scope="fragment")


def store_correction(
    services: Services, hit: PhotoHit, camera: Camera, view: frame.FrameView, peak_id: str, x: float
) -> None:
    try:
        offset = frame.heading_offset_for(view, peak_id, x)
    except PeaklensError as exc:
        st.error(str(exc))
        return
    apply_heading(services, hit, camera, offset, "user")


def apply_heading(services: Services, hit: PhotoHit, camera: Camera, offset: float, source: str) -> None:
    """Store the correction and the peaks it puts in frame; the shown hit follows at once."""
    corrected = frame.frame_view(
        camera,
        services.store.all_peaks(),
        _dem(services.key, services.settings.data_dir),
        heading_offset_deg=offset,
        heading_source=source,
    )
    in_frame = [p.name for p in corrected.in_frame()]
    report = services.store.update_photos(
        {hit.id: PhotoUpdate(heading_offset_deg=offset, heading_source=source, peaks_in_frame=in_frame)}
    )
    if report.failed:
        st.error(f"The correction was not saved: {report.failed.get(hit.id, 'unknown error')}")
        return
    services.store.refresh()
    hit.heading_offset_deg, hit.heading_source, hit.peaks_in_frame = offset, source, in_frame
