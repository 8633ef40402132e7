"""Issue 9, point 4b, in a real browser: a user puts one peak's label where the peak really is.

In the "View" lightbox the user turns on "Correct the labels", picks a peak and clicks the photo where it
stands. The heading correction must be stored for the photo (in the embedded store and in Elasticsearch), every
other label must move with it, and "Back to the compass heading" must undo it. Expected values come from the
photo's EXIF (exiftool) and the catalog's coordinates with this file's own spherical geometry, never from
``peaklens.geo``/``peaklens.frame``; the labels are checked on the very picture the browser shows.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from peaklens.config import Settings
from peaklens.records import PhotoHit
from peaklens.store.factory import open_store
from tests.conftest import REPO, copy_trek_photos, peaklens_env
from tests.ui.browser_support import CARD, READY_MS, running_ui, settled, shoot

pytestmark = pytest.mark.browser

#: a trek photo looking east down the Khumbu: six catalog peaks in frame with its compass heading
PHOTO = "IMG_1752.jpg"
MOVED_PEAK = "Ama Dablam"
#: where the user clicks, as a share of the photo's width (Ama Dablam's compass label is near 0.17)
CLICK_AT = 0.35
#: and as a share of its height
CLICK_HEIGHT = 0.7
#: the peak whose label is followed to check that every other label moves too
WATCHED_PEAK = "Makalu"
#: the 35 mm frame's diagonal, which "35 mm equivalent" focal lengths are defined by (CIPA DC-008)
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)
#: how the label chooser marks a peak that has no label of its own
DIM_SUFFIX = " (no label: shown dim)"
#: a leader line drawn by the labels: opaque yellow (255, 214, 0) over the photo, which has none of it
LEADER_MIN_PIXELS = 30


@dataclass(frozen=True)
class Shot:
    """What the photo's EXIF says, read by exiftool."""

    lat: float
    lon: float
    compass_deg: float
    hfov_deg: float
    altitude_m: float
    #: displayed height / width
    aspect: float


@dataclass(frozen=True)
class CorrectedAlbum:
    album: Path
    env: dict[str, str]
    settings: Settings


def exif_shot(path: Path) -> Shot:
    tags = json.loads(
        subprocess.run(
            ["exiftool", "-n", "-j", "-GPSLatitude", "-GPSLongitude", "-GPSImgDirection", "-GPSAltitude",
             "-FocalLengthIn35mmFormat", "-ImageWidth", "-ImageHeight", "-Orientation", str(path)],
            check=True, capture_output=True, text=True,
        ).stdout
    )[0]  # fmt: skip
    width, height = tags["ImageWidth"], tags["ImageHeight"]
    if tags.get("Orientation", 1) in (5, 6, 7, 8):  # shown rotated a quarter turn
        width, height = height, width
    across_mm = FULL_FRAME_DIAGONAL_MM * width / math.hypot(width, height)
    hfov = 2 * math.degrees(math.atan(across_mm / (2 * tags["FocalLengthIn35mmFormat"])))
    return Shot(
        tags["GPSLatitude"],
        tags["GPSLongitude"],
        tags["GPSImgDirection"],
        hfov,
        tags["GPSAltitude"],
        height / width,
    )


def unit_vector(lat: float, lon: float) -> np.ndarray:
    la, lo = math.radians(lat), math.radians(lon)
    return np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])


def bearing_deg(lat: float, lon: float, to_lat: float, to_lon: float) -> float:
    """Initial great-circle bearing, from the local east/north plane on the unit sphere."""
    here, there = unit_vector(lat, lon), unit_vector(to_lat, to_lon)
    east = np.cross([0.0, 0.0, 1.0], here)
    east /= np.linalg.norm(east)
    north = np.cross(here, east)
    return math.degrees(math.atan2(float(there @ east), float(there @ north))) % 360.0


def turn_deg(from_deg: float, to_deg: float) -> float:
    return (to_deg - from_deg + 180.0) % 360.0 - 180.0


def x_across(off_axis_deg: float, hfov_deg: float) -> float:
    """Rectilinear projection: 0 is the left edge, 1 the right edge."""
    return 0.5 + math.tan(math.radians(off_axis_deg)) / (2 * math.tan(math.radians(hfov_deg / 2)))


def catalog_bearings(shot: Shot) -> dict[str, float]:
    """Display name -> bearing from the camera, for every peak of the catalog the index used."""
    peaks = yaml.safe_load((REPO / "peaklens" / "data" / "peaks.yaml").read_text(encoding="utf-8"))
    return {p["names"][0]: bearing_deg(shot.lat, shot.lon, p["lat"], p["lon"]) for p in peaks}


def catalog_elevations(shot: Shot) -> dict[str, float]:
    """Display name -> the summit's angle above the camera's horizontal: a sphere of the effective radius
    (refraction coefficient 0.13), the published heights (no terrain tiles in this album)."""
    radius = 6_371_000.0 / (1 - 0.13)
    here = unit_vector(shot.lat, shot.lon)
    out = {}
    for p in yaml.safe_load((REPO / "peaklens" / "data" / "peaks.yaml").read_text(encoding="utf-8")):
        central = math.acos(min(1.0, float(here @ unit_vector(p["lat"], p["lon"]))))
        central *= 6_371_000.0 / radius  # the same ground distance on the larger sphere
        r_cam, r_peak = radius + shot.altitude_m, radius + p["elev_m"]
        out[p["names"][0]] = math.degrees(
            math.atan2(r_peak * math.cos(central) - r_cam, r_peak * math.sin(central))
        )
    return out


def aimed(bearing: float, elevation: float, shot: Shot, x: float, y: float) -> tuple[float, float]:
    """The heading and pitch (no roll) that show a summit at (x, y): the ray through that pixel in camera
    coordinates is (u, v, 1); a pitch turns about the camera's x axis, so its x component fixes the angle off
    axis, sin a = u / (|ray| cos e), and its height the pitch, v cos p + sin p = |ray| sin e."""
    half = math.tan(math.radians(shot.hfov_deg / 2))
    u, v = (2 * x - 1) * half, (1 - 2 * y) * half * shot.aspect
    length = math.sqrt(u * u + v * v + 1)
    e = math.radians(elevation)
    off_axis = math.degrees(math.asin(u / (length * math.cos(e))))
    pitch = math.asin(length * math.sin(e) / math.hypot(1, v)) - math.atan2(v, 1)
    return bearing - off_axis, math.degrees(pitch)


def x_pitched(off_axis_deg: float, elevation_deg: float, pitch_deg: float, hfov_deg: float) -> float:
    """x of a direction in a camera pitched up by ``pitch_deg`` (rectilinear, no roll)."""
    a, e, p = (math.radians(v) for v in (off_axis_deg, elevation_deg, pitch_deg))
    forward = math.sin(e) * math.sin(p) + math.cos(e) * math.cos(a) * math.cos(p)
    return 0.5 + math.cos(e) * math.sin(a) / forward / (2 * math.tan(math.radians(hfov_deg / 2)))


def peaks_across_pitched(
    bearings: dict[str, float], elevations: dict[str, float], heading: float, pitch: float, hfov: float
) -> dict[str, float]:
    """Peaks strictly inside the width of a pitched camera's picture and their x, left to right."""
    across = {
        name: x_pitched(turn_deg(heading, b), elevations[name], pitch, hfov)
        for name, b in bearings.items()
        if abs(turn_deg(heading, b)) < 90
    }
    return dict(sorted(((n, x) for n, x in across.items() if 0 < x < 1), key=lambda item: item[1]))


def peaks_across(bearings: dict[str, float], heading: float, hfov: float) -> dict[str, float]:
    """Peaks strictly inside the horizontal field of view and their x, left to right."""
    inside = {name: turn_deg(heading, b) for name, b in bearings.items()}
    return {
        name: x_across(off, hfov)
        for name, off in sorted(inside.items(), key=lambda item: item[1])
        if abs(off) < hfov / 2
    }


def stored_photo(settings: Settings) -> PhotoHit:
    store = open_store(settings)
    try:
        return next(hit for hit in store.list_photos(limit=100) if hit.path == PHOTO)
    finally:
        store.close()


def leader_pixels(picture: Image.Image, x: float) -> int:
    """How many label-yellow pixels the columns within 3 px of share x hold (a leader line is ~2 px wide)."""
    rgb = np.asarray(picture.convert("RGB")).astype(int)
    yellow = (rgb[..., 0] >= 215) & (rgb[..., 1] >= 175) & (rgb[..., 2] <= 70)
    centre = round(x * rgb.shape[1])
    return int(yellow[:, max(0, centre - 3) : centre + 4].sum(axis=0).max())


def in_frame_line(dialog: Any) -> list[str]:
    """The peak names of the "In frame: Name (distance · elevation) · …" line, in order."""
    line = dialog.get_by_text("In frame:").inner_text().removeprefix("In frame: ")
    return re.findall(r"(?:^|\) · )([^()]+?) \(", line)


def assert_corrected_caption(dialog: Any, offset_deg: float, heading_deg: float) -> None:
    """The caption names the user's correction, its size and the heading it gives, to the digits shown."""
    caption = dialog.get_by_text("from your correction").inner_text()
    shown_offset = re.search(r"compass corrected by ([+-]\d+\.\d)°", caption)
    shown_heading = re.search(r"^Heading (\d+)°", caption)
    assert shown_offset and shown_heading, caption
    assert float(shown_offset.group(1)) == pytest.approx(offset_deg, abs=0.051)
    assert abs(turn_deg(float(shown_heading.group(1)), heading_deg)) <= 0.51
    assert "(±0.5°)" in caption


def shown_picture(image: Any) -> Image.Image:
    """The picture the click component shows (a data: URL)."""
    return shown_picture_of(image.get_attribute("src"))


def shown_picture_of(src: str | None) -> Image.Image:
    assert src and src.startswith("data:image/"), src
    return Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")


# The browser side runs on the embedded store only: the stores' update of a corrected heading is contract-tested
# on both (tests/store), and a second browser run doubled the exposure to a slow component load on a busy box.
@pytest.fixture(params=["embedded"])
def corrected_album(
    request: pytest.FixtureRequest, tmp_path: Path, tiny_siglip: Path
) -> Iterator[CorrectedAlbum]:
    """Six real trek photos (GPS, compass heading) indexed on a fresh store of either kind."""

    from peaklens.embed.loader import load_embedder
    from peaklens.index import index_album

    album = copy_trek_photos(tmp_path / "album", 6)
    assert (album / PHOTO).is_file()
    env = peaklens_env(tiny_siglip, tmp_path)
    if request.param == "embedded":
        settings = Settings(model=str(tiny_siglip), data_dir=tmp_path / "store", store="embedded")
    else:
        suffix = uuid.uuid4().hex[:8]
        settings = Settings(
            model=str(tiny_siglip),
            store="elasticsearch",
            es_url=request.getfixturevalue("noida_url"),
            photos_index=f"correction-{suffix}",
            peaks_index=f"correction-peaks-{suffix}",
        )
        env |= {
            "PEAKLENS_STORE": "elasticsearch",
            "PEAKLENS_ES_URL": settings.es_url,
            "PEAKLENS_PHOTOS_INDEX": settings.photos_index,
            "PEAKLENS_PEAKS_INDEX": settings.peaks_index,
        }
    store = open_store(settings)
    index_album(album, settings, load_embedder(settings), store)
    store.close()
    yield CorrectedAlbum(album, env, settings)


def test_clicking_where_a_peak_is_corrects_the_heading_of_the_photo(
    corrected_album: CorrectedAlbum,
    tmp_path: Path,
    cpu_hog: None,
    browser_page: Callable[[str], Any],
) -> None:
    from playwright.sync_api import expect

    shot = exif_shot(corrected_album.album / PHOTO)
    bearings = catalog_bearings(shot)
    compass_x = peaks_across(bearings, shot.compass_deg, shot.hfov_deg)
    assert len(compass_x) >= 2 and MOVED_PEAK in compass_x and WATCHED_PEAK in compass_x
    before = stored_photo(corrected_album.settings)
    assert before.heading_source != "user"

    with running_ui(corrected_album.album, corrected_album.env, tmp_path / "ui.log") as url:
        page = browser_page(url)
        page.set_viewport_size({"width": 1000, "height": 1850})  # the whole lightbox fits the screenshot
        expect(page.get_by_text("Your photos", exact=True)).to_be_visible(timeout=READY_MS)
        settled(page)
        card = page.locator(CARD, has_text=PHOTO).first
        card.get_by_role("button", name="View").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("from the phone's compass")).to_be_visible(timeout=READY_MS)
        settled(page)
        assert in_frame_line(dialog) == list(compass_x)

        dialog.get_by_text("Correct the labels").click()
        expect(dialog.get_by_text("Peak to move")).to_be_visible(timeout=READY_MS)
        settled(page)
        chooser = dialog.get_by_role("combobox", name="Peak to move")
        image = dialog.frame_locator("iframe").first.locator("#image")
        expect(image).to_have_attribute("src", re.compile("^data:image/"), timeout=READY_MS)
        labelled_src = image.get_attribute("src") or ""

        # the peaks labelled on the photo come first, left to right; any other is shown dim where it would be
        chooser.click()
        options = [o.inner_text().strip() for o in page.get_by_role("option").all()]
        assert options[: len(compass_x)] == list(compass_x)
        others = options[len(compass_x) :]
        assert others and all(o.endswith(DIM_SUFFIX) for o in others)
        other = others[0].removesuffix(DIM_SUFFIX)
        page.get_by_role("option", name=others[0], exact=True).click()
        expect(image).not_to_have_attribute("src", labelled_src, timeout=READY_MS)
        settled(page)
        plain, dim = shown_picture_of(labelled_src), shown_picture(image)
        across = x_across(turn_deg(shot.compass_deg, bearings[other]), shot.hfov_deg)
        changed_columns = np.flatnonzero(
            (np.abs(np.asarray(plain, dtype=int) - np.asarray(dim, dtype=int)).sum(axis=2) > 30).any(axis=0)
        )
        where = min(max(across, 0.0), 1.0) * plain.width
        assert changed_columns.size and changed_columns.min() - 5 <= where <= changed_columns.max() + 5

        chooser.click()
        page.get_by_role("option", name=MOVED_PEAK, exact=True).click()
        expect(chooser).to_have_value(MOVED_PEAK, timeout=READY_MS)
        settled(page)

        component = dialog.locator("iframe").first
        expect(image).to_have_attribute(
            "src", labelled_src, timeout=READY_MS
        )  # a labelled peak: no dim label
        page.wait_for_function(
            "frame => frame.getBoundingClientRect().height > 100", arg=component.element_handle()
        )
        picture = shown_picture(image)
        for name, x in compass_x.items():  # every compass label hangs where the geometry puts it
            assert leader_pixels(picture, x) >= LEADER_MIN_PIXELS, (name, x)

        # the click: record what the browser reports to the page (offsetX and the shown width)
        image.evaluate(
            "img => img.addEventListener('click', e => "
            "{ window.__click = [e.offsetX, img.width, e.offsetY, img.height]; })"
        )
        box = image.bounding_box()
        assert box is not None
        width = image.evaluate("img => img.width")
        compass_src = image.get_attribute("src") or ""
        # one click fixes the heading and, from its height, the pitch: clicked low on the picture, the summits
        # stand below the label rows, so every label's leader runs down to its summit
        image.click(position={"x": round(CLICK_AT * width), "y": box["height"] * CLICK_HEIGHT})
        clicked_px, shown_width, clicked_py, shown_height = image.evaluate("() => window.__click")
        clicked_x, clicked_y = clicked_px / shown_width, clicked_py / shown_height
        assert abs(clicked_x - CLICK_AT) < 0.01

        expect(dialog.get_by_text("from your correction")).to_be_visible(timeout=READY_MS)
        settled(page)

        # independently: the heading (and pitch) that put the peak's summit where it was clicked, as a turn
        # from the compass
        elevations = catalog_elevations(shot)
        corrected_heading, corrected_pitch = aimed(
            bearings[MOVED_PEAK], elevations[MOVED_PEAK], shot, clicked_x, clicked_y
        )
        expected_offset = turn_deg(shot.compass_deg, corrected_heading)
        assert 3.0 < abs(expected_offset) < 10.0  # a real move, not a no-op
        assert_corrected_caption(dialog, expected_offset, corrected_heading)

        stored = stored_photo(corrected_album.settings)
        assert stored.heading_source == "user"

        assert isinstance(stored.extra.get("pitch_deg"), float), "the click's height fixed the pitch"
        assert stored.extra["pitch_deg"] == pytest.approx(corrected_pitch, abs=0.01)
        assert stored.heading_offset_deg == pytest.approx(expected_offset, abs=1e-3)
        across = peaks_across_pitched(bearings, elevations, corrected_heading, corrected_pitch, shot.hfov_deg)
        # across the picture by the heading alone; the pitch the click's height fixed may put a near peak's
        # summit above the top, so the stored in-frame peaks are those of them that are also inside vertically
        assert MOVED_PEAK in stored.peaks_in_frame and set(stored.peaks_in_frame) <= set(across)
        corrected_x = {name: across[name] for name in stored.peaks_in_frame}
        assert set(across) != set(compass_x)  # the correction changed which peaks are across the frame
        assert in_frame_line(dialog) == stored.peaks_in_frame

        # every label moved: the picked one to the click, the others by the same turn
        expect(image).not_to_have_attribute("src", compass_src, timeout=READY_MS)
        picture = shown_picture(image)
        # the clicked peak's leader runs down to where it was clicked (a peak whose summit stands higher than
        # its label row has the label over the summit and no leader, so only the clicked one is checked here)
        assert leader_pixels(picture, corrected_x[MOVED_PEAK]) >= LEADER_MIN_PIXELS
        assert corrected_x[MOVED_PEAK] == pytest.approx(clicked_x, abs=1e-6)
        old, new = compass_x[WATCHED_PEAK], corrected_x[WATCHED_PEAK]
        assert abs(new - old) > 0.05
        assert all(abs(x - old) * picture.width > 8 for x in corrected_x.values())
        assert leader_pixels(picture, old) < 5  # nothing left where the watched compass label was
        dialog.get_by_role("button", name="← Previous").scroll_into_view_if_needed()
        shoot(page, "label-correction.png")

        # a new visit shows the stored correction without being asked to correct anything
        page.reload()
        expect(page.get_by_text("Your photos", exact=True)).to_be_visible(timeout=READY_MS)
        settled(page)
        page.locator(CARD, has_text=PHOTO).first.get_by_role("button", name="View").click()
        expect(dialog.get_by_text("from your correction")).to_be_visible(timeout=READY_MS)
        settled(page)
        assert_corrected_caption(dialog, expected_offset, corrected_heading)
        assert in_frame_line(dialog) == list(corrected_x)

        # back to the compass: the correction is gone from the store and from the page
        dialog.get_by_text("Correct the labels").click()
        dialog.get_by_role("button", name="Back to the compass heading").click()
        expect(dialog.get_by_text("from the phone's compass")).to_be_visible(timeout=READY_MS)
        settled(page)
        expect(dialog.get_by_role("button", name="Back to the compass heading")).to_have_count(0)
        assert in_frame_line(dialog) == list(compass_x)
        for name, x in compass_x.items():
            assert leader_pixels(shown_picture(image), x) >= LEADER_MIN_PIXELS, (name, x)
        reset = stored_photo(corrected_album.settings)
        assert reset.heading_source in (None, "compass")
        assert not reset.heading_offset_deg
        assert reset.peaks_in_frame == list(compass_x)
        assert page.locator("[data-testid='stException']").count() == 0
