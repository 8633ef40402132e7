"""Heading refinement: register the photo's skyline against the skyline the DEM predicts, as PeakFinder does.

A phone compass is a few degrees off (the trek photos: up to ~10°), which at telephoto fields of view moves a
label across half the frame. The ridge line against the sky is a fingerprint of the direction: render it from
the DEM for every heading within ±15° of the compass and keep the heading whose rendered profile has the
photo's shape.

The camera's pitch and roll are unknown (phones do not record them), so the fit is on shape only: both
profiles are compared after removing their median vertical offset (a pitch moves the whole skyline up or down;
small pitches are close to a pure shift). The field of view fixes the vertical scale.

The detector is plain image processing: the sky colour is taken from the top rows, and each column's skyline is
the first row, from the top, where the colour leaves the sky's for good. It is meant for clear photos and says
why when it gives up: no uniform sky at the top (clouds, terrain to the edge), too few columns with a boundary,
low contrast, a terrain skyline too flat to fix a direction, or a photo skyline that matches no heading
(clouds on the ridges, a foreground hill, a camera pointing down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from peaklens import geo
from peaklens.dem import Dem
from peaklens.frame import EYE_HEIGHT_M
from peaklens.records import GeoPoint

#: how far from the compass heading the search goes, each way
SEARCH_DEG = 15.0
#: the photo is analysed at this width (a skyline needs no more)
WORK_WIDTH = 480
#: rows at the top whose colour defines "sky"
SKY_BAND = 0.04
#: a column must leave the sky colour for this many rows in a row to count as terrain
RUN_ROWS = 4
#: the fraction of columns that must have a boundary / match the fitted skyline within the tolerance
MIN_COLUMNS = 0.5
MIN_SCORE = 0.6
#: a column matches when within this fraction of the image height of the rendered skyline
MATCH_TOLERANCE = 0.015
#: the rendered skyline looks this far (km); farther terrain rarely forms the skyline
RENDER_RANGE_KM = 120.0


@dataclass(frozen=True)
class SkylineFit:
    """The heading correction found (``offset_deg``, add it to the compass) or why there is none (``reason``).

    ``score`` is the share of skyline columns within MATCH_TOLERANCE of the rendered skyline at the best
    heading; ``columns`` how many photo columns had a skyline.
    """

    offset_deg: float | None
    score: float
    reason: str | None = None
    columns: int = 0
    residual_px: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "offset_deg": None if self.offset_deg is None else round(self.offset_deg, 2),
            "score": round(self.score, 3),
            "reason": self.reason,
            "columns": self.columns,
            "residual_px": None if self.residual_px is None else round(self.residual_px, 2),
        }


def detect_skyline(image: Image.Image, width: int = WORK_WIDTH) -> tuple[np.ndarray, str | None]:
    """Per column of the image scaled to ``width``: the skyline row (NaN where none) and why it failed."""
    scale = width / image.width
    small = image.convert("RGB").resize(
        (width, max(8, round(image.height * scale))), Image.Resampling.BILINEAR
    )
    pixels = np.asarray(small.filter(ImageFilter.GaussianBlur(1)), dtype=np.float64)
    height = pixels.shape[0]
    band = max(2, round(height * SKY_BAND))
    top = pixels[:band]
    sky = np.median(top.reshape(-1, 3), axis=0)
    noise = float(np.median(np.linalg.norm(top - sky, axis=2)))
    rows_nan = np.full(width, np.nan)
    if noise > 12.0:
        return rows_nan, "no clear sky at the top of the photo (clouds, or terrain up to the edge)"
    # the sky brightens towards the horizon: follow its colour down each column, and call terrain the first
    # row that stays away from the colour just above it for RUN_ROWS rows
    threshold = max(30.0, 6.0 * noise)
    reference = np.broadcast_to(sky, (width, 3)).copy()
    rows = np.full(width, np.nan)
    run_start = np.zeros(width, dtype=int)
    run_length = np.zeros(width, dtype=int)
    for y in range(band, height):
        open_ = np.isnan(rows)
        if not open_.any():
            break
        off = np.linalg.norm(pixels[y] - reference, axis=1) > threshold
        run_length = np.where(off, run_length + 1, 0)
        run_start = np.where(off & (run_length == 1), y, run_start)
        done = open_ & (run_length >= RUN_ROWS)
        rows[done] = run_start[done]
        still_sky = open_ & ~off
        reference[still_sky] = 0.8 * reference[still_sky] + 0.2 * pixels[y][still_sky]
    distance = np.linalg.norm(pixels - sky, axis=2)
    usable = np.isfinite(rows)
    if usable.mean() < MIN_COLUMNS:
        return rows_nan, f"a sky/terrain boundary in only {usable.mean():.0%} of the columns"
    cols = np.nonzero(usable)[0]
    below = np.minimum(rows[cols].astype(int) + RUN_ROWS, height - 1)
    contrast = float(np.median(distance[below, cols]))
    if contrast < 1.5 * threshold:
        return rows_nan, f"low contrast between sky and terrain ({contrast:.0f} < {1.5 * threshold:.0f})"
    return rows, None


def render_skyline(
    dem: Dem, position: GeoPoint, altitude: float, azimuths_deg: np.ndarray, range_km: float = RENDER_RANGE_KM
) -> np.ndarray:
    """The highest apparent elevation angle (degrees) of the terrain along each azimuth; NaN where uncovered.

    Same earth model as the prior and the occlusion test (``geo.elevation_angles_deg``).
    """
    distances_km = np.geomspace(0.1, range_km, 700)
    lat1, lon1 = math.radians(position.lat), math.radians(position.lon)
    bearing = np.radians(azimuths_deg)[:, None]
    delta = distances_km[None, :] / geo.EARTH_RADIUS_KM
    lat2 = np.arcsin(np.sin(lat1) * np.cos(delta) + np.cos(lat1) * np.sin(delta) * np.cos(bearing))
    lon2 = lon1 + np.arctan2(
        np.sin(bearing) * np.sin(delta) * np.cos(lat1), np.cos(delta) - np.sin(lat1) * np.sin(lat2)
    )
    heights, _ = dem.heights(np.degrees(lat2).ravel(), np.degrees(lon2).ravel())
    heights = heights.reshape(lat2.shape)
    angles = geo.elevation_angles_deg(np.broadcast_to(distances_km, heights.shape), altitude, heights)
    angles = np.where(np.isfinite(heights), angles, -np.inf)
    best = angles.max(axis=1)
    return np.where(np.isfinite(best), best, np.nan)


def refine_heading(
    image: Image.Image,
    camera: geo.Camera,
    dem: Dem,
    *,
    search_deg: float = SEARCH_DEG,
    step_deg: float = 0.05,
) -> SkylineFit | None:
    """Fit the compass correction that aligns the photo's skyline with the DEM's; None without a heading.

    ``image`` is the photo as displayed (EXIF orientation applied, as ``imaging.open_photo`` gives it) and
    ``camera`` its GPS, altitude, compass heading and field of view (``enrich.camera_of``).
    """
    if camera.heading_deg is None or not math.isfinite(camera.heading_deg):
        return None
    if not dem.covers(camera.position.lat, camera.position.lon):
        return SkylineFit(None, 0.0, "the camera is outside the DEM")
    ground = dem.ground_m(camera.position.lat, camera.position.lon)
    altitude = camera.altitude_m
    if ground is not None and (altitude is None or altitude < ground):
        altitude = ground + EYE_HEIGHT_M
    if altitude is None:
        return SkylineFit(None, 0.0, "no camera altitude (no GPS altitude and a DEM void under the camera)")
    rows, reason = detect_skyline(image)
    if reason is not None:
        return SkylineFit(None, 0.0, reason)
    hfov = geo.field_of_view_deg(camera)
    if not 0 < hfov < 170:
        return SkylineFit(None, 0.0, f"a {hfov:.0f}° field of view is not a rectilinear photo")
    width = rows.size
    height = round(image.height * width / image.width)
    focal_px = width / (2 * math.tan(math.radians(hfov / 2)))
    x = (np.arange(width) + 0.5) / width
    alpha = np.degrees(np.arctan((x - 0.5) * 2 * math.tan(math.radians(hfov / 2))))
    # rectilinear, no pitch: row = H/2 - f·tan(e)/cos(α)  ->  the photo's tan(e) up to a shift (pitch)
    photo_tan = (height / 2 - rows) * np.cos(np.radians(alpha)) / focal_px
    step = min(0.1, hfov / width)
    lo = camera.heading_deg - search_deg + alpha.min() - 1
    hi = camera.heading_deg + search_deg + alpha.max() + 1
    azimuths = np.arange(lo, hi + step, step)
    rendered = render_skyline(dem, camera.position, altitude, azimuths % 360.0)
    offsets = np.arange(-search_deg, search_deg + step_deg / 2, step_deg)
    where = camera.heading_deg + offsets[:, None] + alpha[None, :]
    dem_tan = np.tan(np.radians(np.interp(where, azimuths, rendered, left=np.nan, right=np.nan)))
    usable = np.isfinite(photo_tan)[None, :] & np.isfinite(dem_tan)
    diff = np.where(usable, photo_tan[None, :] - dem_tan, np.nan)
    diff -= np.nanmedian(diff, axis=1, keepdims=True)
    tolerance = MATCH_TOLERANCE * height / focal_px
    cost = np.nanmean(np.minimum(np.abs(diff), 3 * tolerance), axis=1)
    best = int(np.nanargmin(cost))
    columns = int(usable[best].sum())
    spread = float(np.nanstd(dem_tan[best]))
    if spread * focal_px < 3.0:
        return SkylineFit(None, 0.0, "the terrain skyline is too flat here to fix a direction", columns)
    score = float(np.nanmean(np.abs(diff[best][usable[best]]) <= tolerance))
    residual = float(np.nanmedian(np.abs(diff[best]))) * focal_px
    offset = float(offsets[best])
    if 0 < best < len(offsets) - 1:  # parabola through the neighbours: sub-step precision
        a, b, c = cost[best - 1], cost[best], cost[best + 1]
        curvature = a - 2 * b + c
        if curvature > 0:
            offset += 0.5 * (a - c) / curvature * step_deg
    if score < MIN_SCORE:
        return SkylineFit(
            None,
            score,
            "the photo's skyline matches no heading (clouds, a foreground hill, a tilted camera?)",
            columns,
            residual,
        )
    if best in (0, len(offsets) - 1):
        return SkylineFit(
            None, score, f"the best match is at the edge of the ±{search_deg:.0f}° search", columns, residual
        )
    return SkylineFit(float(offset), score, None, columns, residual)
