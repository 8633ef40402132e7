"""The lightbox: one photo full size with its date, place and peaks, previous/next, and peak labels.

Labels come from the application layer's frame of the photo (GPS, heading, altitude, the registered or corrected
heading, the terrain). Clicking the photo after picking a peak puts that peak's summit where it was clicked:
``Library.correct_heading`` stores the heading (and, from the click's height, the pitch) and predicts the
photo's peaks again; every other label moves with it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Literal

import streamlit as st
from PIL import Image

from peaklens.answers import FrameView, PhotoAnswer
from peaklens.errors import PeaklensError
from peaklens.records import PhotoHit
from peaklens.ui.files import resolve_in_album
from peaklens.ui.grid import VIEWING
from peaklens.ui.labels import DEFAULT_SHOWN_PX, correction_choices, draw_labels, heading_caption, label_text
from peaklens.ui.services import Services
from peaklens.ui.thumbs import VIEW_SIDE

LABELS_ON = "viewer::labels"


def peaks_line(view: FrameView) -> str:
    placed = view.in_frame()
    if not placed:
        return "No catalog peak is in frame."
    return "In frame: " + " · ".join("{} ({})".format(*label_text(p)) for p in placed)


def show_framed(
    image: Image.Image, view: FrameView | None, *, key: str, shown_width: int | None = None
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
    results: list[PhotoAnswer] = st.session_state.get(f"results::{state.get('section')}") or []
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
            raise PeaklensError("the album folder is not known (run `peaklens index ALBUM`)")
        path = resolve_in_album(root, hit.path)
        image = Image.open(io.BytesIO(services.thumbs.jpeg(path, VIEW_SIDE)))
    except (PeaklensError, OSError) as exc:
        st.error(f"{hit.path} cannot be shown: {exc}")
        return
    # the stored photo as it is now (a correction in another session, a re-index), framed by the library
    current = services.library.photo(hit.id)
    if current is None:
        st.info("This photo is no longer in the index.")
        return
    hit, view = current.hit, current.frame
    st.caption(details(hit))
    correctable = view is not None and view.compass_heading_deg is not None
    if correctable and st.toggle("Correct the labels", key=f"viewer::correct::{hit.id}"):
        assert view is not None
        correction(services, hit, view, image)
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


def correction(services: Services, hit: PhotoHit, view: FrameView, image: Image.Image) -> None:
    """Pick a peak, click where its summit really is: the photo's heading (and pitch) is corrected and stored."""
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
    st.caption("Click the photo where that peak's summit really is: every label moves with it.")
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
        x = float(click["x"]) / float(click["width"])
        y = float(click["y"]) / float(click["height"]) if click.get("height") else None
        _apply(lambda: services.library.correct_heading(hit.id, chosen, x, y))
        st.rerun(scope="fragment")
    if view.heading_source == "user" and st.button(
        "Back to the compass heading", key=f"viewer::reset::{hit.id}"
    ):
        _apply(lambda: services.library.reset_heading(hit.id))
        st.rerun(scope="fragment")


def _apply(change: Callable[[], PhotoAnswer]) -> None:
    """Store a correction through the library; a problem is one line on the page."""
    try:
        change()
    except PeaklensError as exc:
        st.error(str(exc))
