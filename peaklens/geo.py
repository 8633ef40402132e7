"""Where was the camera, and which peaks could it see? A geo prior for peak identification.

Look-alike peaks are the main error of purely visual identification. A photo's GPS position, altitude and
compass heading (GPSImgDirection) say which catalog peaks were in front of the camera; peaks behind it, beyond
the horizon, out of range or hidden by terrain are down-weighted. Terrain occlusion needs a DEM and is decided by
``peaklens.dem`` (the caller passes the verdict in); without one a peak "in view" may still be hidden behind a
ridge — on the trek photos that is the commonest false "in view" (docs/GEO.md). The frame geometry built on
these views (label positions) is ``peaklens.frame``.

The fused ranking score of a peak for one photo is ``visual_cos + geo_weight * GEO_SCALE * ln(prior)``
(``combine``): geo_weight = 0 gives exactly the visual ranking; a peak with prior 1 keeps its visual score; a
peak behind the camera (prior = PRIOR_FLOOR) needs a visual lead of geo_weight * 0.15 in cosine to stay ahead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from peaklens.records import GeoPoint

#: mean earth radius (IUGG)
EARTH_RADIUS_KM = 6371.0088
#: standard terrestrial refraction coefficient: rays bend with the earth, as if its radius were R / (1 - k)
REFRACTION_K = 0.13
#: beyond this distance a peak counts as not visible (haze), whatever its height
MAX_RANGE_KM = 250.0
#: field of view assumed when the heading is known but the focal length is not (phone main camera, between
#: its portrait ~50° and landscape ~70°)
DEFAULT_HFOV_DEG = 65.0
#: added on each side of the view cone for compass and catalog-coordinate error: on the trek photos the
#: subject sat up to ~10° from where the compass put it (docs/GEO.md)
CONE_MARGIN_DEG = 12.0
#: how fast the prior falls outside the cone (Gaussian sigma, degrees): 0.64 at 20° past the margin, 0.2 at 40°
FALLOFF_SIGMA_DEG = 20.0
#: the prior of a peak behind the camera, below the horizon or out of range
PRIOR_FLOOR = 0.05
#: cosine units per nat of prior: at geo_weight 1 the floor costs ln(0.05) * 0.05 ≈ -0.15 in cosine
GEO_SCALE = 0.05
#: diagonal of the 36 x 24 mm frame; the "35 mm equivalent" focal length is defined by the diagonal (CIPA DC-008)
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)


@dataclass(frozen=True)
class Camera:
    """Where a photo was taken and where the camera pointed; every field but the position is optional.

    ``pitch_deg`` (up positive) and ``roll_deg`` (clockwise positive) come only from registering the photo
    against the terrain (phones do not record them); ``aspect`` is the displayed height / width.
    """

    position: GeoPoint
    altitude_m: float | None = None
    heading_deg: float | None = None
    hfov_deg: float | None = None
    pitch_deg: float | None = None
    roll_deg: float | None = None
    aspect: float | None = None


@dataclass(frozen=True)
class PeakView:
    """One peak as seen from one camera.

    ``off_axis_deg`` is the signed turn from the heading to the peak (None without heading); ``visible`` means
    within range and above the geometric horizon; ``occluded`` is the DEM's verdict (None = terrain not
    checked). ``in_view`` means visible, not occluded and strictly inside the horizontal field of view — the
    compass margin only keeps the prior at 1 for ranking, it never makes a peak "in view". Without a heading
    nothing rules a visible peak out, so it counts as in view.
    """

    peak_id: str
    distance_km: float
    bearing_deg: float
    off_axis_deg: float | None
    elevation_angle_deg: float
    visible: bool
    prior: float
    in_view: bool = False
    occluded: bool | None = None


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance on the mean-radius sphere (error < 0.5 % against the ellipsoid)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest_km(points: Sequence[GeoPoint], others: Sequence[GeoPoint]) -> list[float]:
    """Each point's ``haversine_km`` to the nearest of ``others`` (infinite without any), every pair at once: a
    catalog by an album is ~15,000 pairs, which the map weighs on every page run."""
    if not others or not points:
        return [math.inf] * len(points)
    lat1, lon1 = np.radians([[p.lat] for p in points]), np.radians([[p.lon] for p in points])
    lat2, lon2 = np.radians([p.lat for p in others]), np.radians([p.lon for p in others])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return [float(d) for d in km.min(axis=1)]


def initial_bearing_deg(a: GeoPoint, b: GeoPoint) -> float:
    """Compass bearing from a towards b, clockwise from true north, in [0, 360) (0 when a == b)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlon = math.radians(b.lon - a.lon)
    x = math.sin(dlon) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    bearing = math.degrees(math.atan2(x, y)) % 360.0
    return 0.0 if bearing >= 360.0 else bearing  # -1e-17 % 360 rounds to 360.0


def signed_angle_deg(from_deg: float, to_deg: float) -> float:
    """The turn from one compass direction to another, in (-180, 180]; positive is clockwise."""
    diff = (to_deg - from_deg + 180.0) % 360.0 - 180.0
    return 180.0 if diff <= -180.0 else diff


def horizontal_fov_deg(
    focal_35mm: float | None, focal_mm: float | None, width: int, height: int
) -> float | None:
    """Horizontal field of view of the photo as displayed (width/height after EXIF orientation).

    The 35 mm-equivalent focal length matches the 43.3 mm diagonal of the 36 x 24 frame, so the horizontal
    side is the diagonal's share along the photo's width: 36 mm for a 3:2 landscape, 26 mm for a 3:4 portrait.
    With only the real focal length there is no answer (None, and the caller uses ``DEFAULT_HFOV_DEG``): the
    sensor size is unknown, and on the trek iPhone the same 6.86 mm lens is written as 24 mm or, digitally
    cropped, 48 mm equivalent — any fixed crop factor would be wrong by 2x.
    """
    del focal_mm  # accepted for the caller's convenience; see above for why it is not used
    if focal_35mm is None or not math.isfinite(focal_35mm) or focal_35mm <= 0:
        return None
    w, h = (width, height) if width > 0 and height > 0 else (3, 2)
    across = FULL_FRAME_DIAGONAL_MM * w / math.hypot(w, h)
    return math.degrees(2 * math.atan(across / (2 * focal_35mm)))


def effective_radius_m() -> float:
    """Earth radius with refraction folded in: sight lines are straight on a sphere of this radius."""
    return EARTH_RADIUS_KM * 1000.0 / (1.0 - REFRACTION_K)


def elevation_angle_deg(distance_km: float, camera_alt_m: float | None, peak_elev_m: float | None) -> float:
    """Apparent angle of the summit above the camera's horizontal, with earth curvature and refraction.

    Exact on a sphere of the effective radius; an unknown camera altitude counts as sea level, an unknown peak
    elevation as the camera's own.
    """
    radius = effective_radius_m()
    h_cam = camera_alt_m or 0.0
    h_peak = h_cam if peak_elev_m is None else peak_elev_m
    central = distance_km * 1000.0 / radius
    r_cam, r_peak = radius + h_cam, radius + h_peak
    return math.degrees(math.atan2(r_peak * math.cos(central) - r_cam, r_peak * math.sin(central)))


def elevation_angles_deg(distance_km: np.ndarray, camera_alt_m: float, heights_m: np.ndarray) -> np.ndarray:
    """``elevation_angle_deg`` for arrays of points (terrain samples): the same sphere of effective radius."""
    radius = effective_radius_m()
    central = np.asarray(distance_km, dtype=np.float64) * 1000.0 / radius
    heights = np.asarray(heights_m, dtype=np.float64)
    # in place (a terrain panorama passes ~20k points), the same operations as the formula written out
    r_peak = np.add(radius, heights, out=np.empty(np.broadcast_shapes(central.shape, heights.shape)))
    across = r_peak * np.sin(central)
    r_peak *= np.cos(central)
    r_peak -= radius + camera_alt_m
    angles = np.arctan2(r_peak, across, out=r_peak)
    angles *= 180.0 / math.pi  # as np.degrees computes it, ten times quicker
    return angles


def beyond_horizon(distance_km: float, camera_alt_m: float | None, peak_elev_m: float | None) -> bool:
    """True when the earth's bulge hides the summit: farther than the two horizon distances added up."""
    radius = effective_radius_m()
    h_cam = max(camera_alt_m or 0.0, 0.0)
    h_peak = max(h_cam if peak_elev_m is None else peak_elev_m, 0.0)
    reach = math.acos(radius / (radius + h_cam)) + math.acos(radius / (radius + h_peak))
    return distance_km * 1000.0 / radius > reach


def _cone_prior(off_axis: float, hfov: float) -> float:
    outside = abs(off_axis) - (hfov / 2 + CONE_MARGIN_DEG)
    if outside <= 0:
        return 1.0
    return PRIOR_FLOOR + (1.0 - PRIOR_FLOOR) * math.exp(-0.5 * (outside / FALLOFF_SIGMA_DEG) ** 2)


def field_of_view_deg(camera: Camera) -> float:
    """The camera's horizontal field of view, or the phone default when unknown or nonsense."""
    return camera.hfov_deg if camera.hfov_deg and 0 < camera.hfov_deg <= 360 else DEFAULT_HFOV_DEG


def view_of(
    camera: Camera,
    peak_id: str,
    peak_pos: GeoPoint,
    peak_elev_m: float | None,
    occluded: bool | None = None,
) -> PeakView:
    """Distance, bearing, apparent height and prior of one peak from one camera.

    Prior: PRIOR_FLOOR when not visible or occluded by terrain; 1.0 when visible and there is no heading; with
    a heading, 1.0 inside the cone (|off axis| <= hfov / 2 + CONE_MARGIN_DEG), then a Gaussian fall to
    PRIOR_FLOOR behind the camera. ``occluded`` is the DEM's line-of-sight verdict (None = not checked).
    """
    distance = haversine_km(camera.position, peak_pos)
    bearing = initial_bearing_deg(camera.position, peak_pos)
    elevation = elevation_angle_deg(distance, camera.altitude_m, peak_elev_m)
    visible = distance <= MAX_RANGE_KM and not beyond_horizon(distance, camera.altitude_m, peak_elev_m)
    heading = camera.heading_deg
    off_axis = None if heading is None or not math.isfinite(heading) else signed_angle_deg(heading, bearing)
    hfov = field_of_view_deg(camera)
    if not visible or occluded:
        prior = PRIOR_FLOOR
    elif off_axis is None:
        prior = 1.0
    else:
        prior = _cone_prior(off_axis, hfov)
    in_view = visible and not occluded and (off_axis is None or abs(off_axis) < hfov / 2)
    return PeakView(peak_id, distance, bearing, off_axis, elevation, visible, prior, in_view, occluded)


def geo_prior(
    camera: Camera, peaks: Sequence[tuple[str, GeoPoint | None, float | None]]
) -> list[PeakView | None]:
    """One view per (id, position, elevation), in the same order; None for a peak without coordinates."""
    return [None if pos is None else view_of(camera, peak_id, pos, elev) for peak_id, pos, elev in peaks]


def describe(name: str, view: PeakView) -> str:
    """The line the UI shows for a predicted peak: 'Ama Dablam · 7.4 km · bearing 112°'."""
    return f"{name} · {view.distance_km:.1f} km · bearing {view.bearing_deg:.0f}°"


def combine(visual_cos: np.ndarray, priors: np.ndarray, geo_weight: float) -> np.ndarray:
    """Fused ranking score per peak for ONE photo: ``visual_cos + geo_weight * GEO_SCALE * ln(prior)``.

    A log-linear (product-of-experts) fusion rather than a convex blend: it adds a per-peak offset, so the
    ranking is monotone in the visual score, equal priors keep the visual order, and weight 0 returns the
    visual scores unchanged. A convex blend of a cosine (spread ~0.05 between peaks) with a prior in [0, 1]
    would let the prior swamp the image. Priors are clipped to [PRIOR_FLOOR, 1]; NaN counts as 1 (no opinion).
    """
    if not math.isfinite(geo_weight) or geo_weight < 0:
        raise ValueError(f"geo_weight must be a finite number >= 0, not {geo_weight!r}")
    visual = np.asarray(visual_cos, dtype=np.float64)
    if geo_weight == 0:
        return visual
    prior = np.asarray(priors, dtype=np.float64)
    if prior.shape != visual.shape:
        raise ValueError(f"visual scores of shape {visual.shape} but priors of shape {prior.shape}")
    safe = np.clip(np.nan_to_num(prior, nan=1.0), PRIOR_FLOOR, 1.0)
    return visual + geo_weight * GEO_SCALE * np.log(safe)
