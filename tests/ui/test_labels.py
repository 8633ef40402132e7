"""Peak labels on the picture itself: their size on screen, the leader ending on the summit where its height in
the picture is known, the peaks offered for a correction and the dim label of one without a label. Checked on
the drawn pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from peaklens.frame import FramePeak, FrameView
from peaklens.records import GeoPoint
from peaklens.ui.labels import correction_choices, draw_labels

GREY = (90, 110, 130)


@dataclass(frozen=True)
class SummitPeak(FramePeak):
    """A placed peak that also knows its summit's height in the picture (as the frame model may say)."""

    y: float | None = None


def peak(
    peak_id: str, x: float | None, *, in_frame: bool = True, y: float | None = None, **kw: object
) -> FramePeak:
    fields = dict(
        peak_id=peak_id, name=peak_id.title(), elev_m=6000, distance_km=12.0, bearing_deg=90.0,
        off_axis_deg=0.0, elevation_angle_deg=3.0, x=x, x_span=None, in_frame=in_frame, occluded=False,
    )  # fmt: skip
    fields.update(kw)
    return SummitPeak(**fields, y=y)  # type: ignore[arg-type]


def view(*peaks: FramePeak) -> FrameView:
    return FrameView(
        position=GeoPoint(27.8, 86.7), altitude_m=4000.0, altitude_source="gps", compass_heading_deg=90.0,
        heading_offset_deg=0.0, heading_source="compass", heading_deg=90.0, heading_uncertainty_deg=8.0,
        hfov_deg=60.0, terrain_checked=True, peaks=list(peaks),
    )  # fmt: skip


def photo(width: int, height: int) -> Image.Image:
    return Image.new("RGB", (width, height), GREY)


def changed(before: Image.Image, after: Image.Image) -> np.ndarray:
    return np.abs(np.asarray(before, dtype=int) - np.asarray(after, dtype=int)).sum(axis=2) > 30


def yellow_rows(picture: Image.Image, x: float) -> np.ndarray:
    rgb = np.asarray(picture, dtype=int)
    column = rgb[:, round(x * picture.width) - 1 : round(x * picture.width) + 2]
    is_yellow = (column[..., 0] >= 215) & (column[..., 1] >= 175) & (column[..., 2] <= 70)
    return np.flatnonzero(is_yellow.any(axis=1))


def label_box_height(picture: Image.Image) -> int:
    """Rows of the (dark) label box drawn over the grey photo."""
    dark = (np.asarray(picture, dtype=int).sum(axis=2) < 150).any(axis=1)
    rows = np.flatnonzero(dark)
    return int(rows.max() - rows.min() + 1)


def test_labels_on_a_1024_px_upload_read_at_the_size_shown() -> None:
    image = photo(1024, 768)
    drawn = draw_labels(image, view(peak("ama dablam", 0.5)), shown_width=640)
    on_screen = label_box_height(drawn) * 640 / 1024
    assert on_screen >= 2 * 15  # two lines of at least 15 CSS pixels
    # the same label on a photo twice as large, shown as wide, is as large on screen
    large = draw_labels(photo(2048, 1536), view(peak("ama dablam", 0.5)), shown_width=640)
    assert label_box_height(large) * 640 / 2048 == pytest.approx(on_screen, abs=3)


def test_the_leader_ends_on_the_summit_where_its_height_is_known() -> None:
    image = photo(1200, 900)
    drawn = draw_labels(image, view(peak("pumori", 0.3, y=0.8), peak("lhotse", 0.7)))
    rows = yellow_rows(drawn, 0.3)
    assert rows.size and abs(rows.max() - 0.8 * 900) <= 2
    unknown = yellow_rows(drawn, 0.7)  # no height known: it stops under the labels, well above
    assert unknown.size and unknown.max() < 0.5 * 900


def test_a_summit_in_the_label_row_gets_its_label_below_and_a_leader_up_to_it() -> None:
    """A summit near the top edge (y 0.02) would sit under its own label: the label hangs below it instead,
    and the leader runs from the summit down to the label; the summit itself is not covered."""
    image = photo(1200, 900)
    drawn = draw_labels(image, view(peak("pumori", 0.5, y=0.02)))
    rows = yellow_rows(drawn, 0.5)
    assert rows.size and abs(rows.min() - 0.02 * 900) <= 2  # the leader starts on the summit
    dark = np.flatnonzero((np.asarray(drawn, dtype=int).sum(axis=2) < 150).any(axis=1))
    assert dark.min() > 0.02 * 900 + 10  # the box is below the summit
    assert rows.max() >= dark.min() - 2  # and the leader reaches it


def test_the_correction_lists_the_labelled_peaks_first() -> None:
    frame = view(
        peak("a", 0.6),
        peak("b", 0.2),
        peak("c", 1.3, in_frame=False),  # outside the frame, near it
        peak("d", 0.55, in_frame=False, occluded=True),  # hidden by terrain: no label
        peak("e", 3.0, in_frame=False),  # far outside: not offered
        peak("f", 0.4, in_frame=False, visible=False),  # below the horizon: not offered
    )
    assert [p.peak_id for p in correction_choices(frame)] == ["b", "a", "d", "c"]


def test_a_peak_without_a_label_is_shown_dim_where_it_would_be() -> None:
    image = photo(1200, 900)
    hidden = peak("d", 0.55, in_frame=False, occluded=True)
    frame = view(peak("a", 0.2), hidden)
    plain = draw_labels(image, frame)
    ghost = draw_labels(image, frame, ghost=hidden)
    diff = changed(plain, ghost)
    columns = np.flatnonzero(diff.any(axis=0))
    assert columns.size and columns.min() < 0.55 * 1200 < columns.max()  # drawn around its x
    assert not diff[:, : int(0.35 * 1200)].any()  # nothing moved elsewhere
    pixels = np.asarray(ghost, dtype=int)[diff]
    assert pixels.max() < 235  # dim: no pure white text


def test_a_peak_outside_the_frame_is_shown_dim_at_the_edge_it_lies_beyond() -> None:
    image = photo(1200, 900)
    outside = peak("c", 1.3, in_frame=False)
    frame = view(peak("a", 0.2), outside)
    diff = changed(draw_labels(image, frame), draw_labels(image, frame, ghost=outside))
    columns = np.flatnonzero(diff.any(axis=0))
    assert columns.size and columns.max() >= 1190 and columns.min() > 0.6 * 1200
