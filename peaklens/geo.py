"""Where was the camera, and which peaks could it see? A geo prior for peak identification.

Look-alike peaks are the main error of purely visual identification. A photo's GPS position, altitude and
compass heading (GPSImgDirection) say which catalog peaks were in front of the camera; peaks behind it, far
beyond the horizon or out of range are down-weighted. Coarse by design: terrain occlusion (a nearer ridge
hiding a peak) is not modelled, so a peak "in view" here may still be hidden behind a ridge.

The fused ranking score of a peak for one photo is ``visual_cos + geo_weight * GEO_SCALE * ln(prior)``:
geo_weight = 0 gives exactly the visual ranking; a peak with prior 1 keeps its visual score; a peak behind the
camera (prior = PRIOR_FLOOR) needs a visual lead of about geo_weight * 0.15 in cosine to stay ahead — larger
than the usual gap between look-alike peaks, smaller than the gap between a clear match and a wrong one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from peaklens.records import GeoPoint

EARTH_RADIUS_KM = 6371.0088
#: standard atmospheric refraction coefficient: light bends so the effective earth radius is R / (1 - k)
REFRACTION_K = 0.13
#: beyond this distance a peak is not considered visible (haze), whatever its height
MAX_RANGE_KM = 200.0
#: a peak whose top appears more than this far below the camera's horizontal is treated as hidden
MIN_ELEVATION_ANGLE_DEG = -3.0
#: horizontal field of view assumed when heading is known but the focal length is not (phone main camera)
DEFAULT_HFOV_DEG = 65.0
#: tolerance added on each side of the view cone, for compass error (phone compasses are off by 5-15°)
CONE_MARGIN_DEG = 12.0
#: how fast the prior falls outside the cone (Gaussian sigma, degrees)
FALLOFF_SIGMA_DEG = 20.0
#: the prior of a peak behind the camera, below the horizon or out of range
PRIOR_FLOOR = 0.05
#: scale of ln(prior) in cosine units: ln(0.05) * 0.05 ≈ -0.15
GEO_SCALE = 0.05
#: crop factor assumed when only the real FocalLength is known: recent phone main cameras are 3.5-6 (the trek
#: iPhone: 6.86 mm = 24 mm equivalent); most photos carry FocalLengthIn35mmFilm and never need it
PHONE_CROP_FACTOR = 4.0


@dataclass(frozen=True)
class Camera:
    position: GeoPoint
    altitude_m: float | None = None
    heading_deg: float | None = None
    hfov_deg: float | None = None


@dataclass(frozen=True)
class PeakView:
    peak_id: str
    distance_km: float
    bearing_deg: float
    off_axis_deg: float | None
    elevation_angle_deg: float
    visible: bool
    in_view: bool
    prior: float


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def initial_bearing_deg(a: GeoPoint, b: GeoPoint) -> float:
    """Compass bearing from a to b, clockwise from north, in [0, 360)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlon = math.radians(b.lon - a.lon)
    x = math.sin(dlon) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    bearing = math.degrees(math.atan2(x, y)) % 360.0
    return 0.0 if bearing >= 360.0 else bearing


def signed_angle_deg(from_deg: float, to_deg: float) -> float:
    """The turn from one compass direction to another, in (-180, 180]."""
    diff = (to_deg - from_deg + 180.0) % 360.0 - 180.0
    return 180.0 if diff == -180.0 else diff


def horizontal_fov_deg(
    focal_35mm: float | None, focal_mm: float | None, width: int, height: int
) -> float | None:
    """Horizontal field of view of the photo as framed (portrait photos see the 24 mm side across)."""
    equivalent = focal_35mm if focal_35mm and focal_35mm > 0 else None
    if equivalent is None and focal_mm and focal_mm > 0:
        equivalent = focal_mm * PHONE_CROP_FACTOR
    if equivalent is None:
        return None
    across = 24.0 if 0 < width < height else 36.0
    return math.degrees(2 * math.atan(across / (2 * equivalent)))


def elevation_angle_deg(distance_km: float, camera_alt_m: float | None, peak_elev_m: float | None) -> float:
    """Apparent angle of the summit above the camera's horizontal, with earth curvature and refraction."""
    if peak_elev_m is None:
        return 0.0
    distance_m = max(distance_km * 1000.0, 1.0)
    effective_radius_m = EARTH_RADIUS_KM * 1000.0 / (1.0 - REFRACTION_K)
    drop = distance_m**2 / (2 * effective_radius_m)
    rise = peak_elev_m - drop - (camera_alt_m or 0.0)
    return math.degrees(math.atan2(rise, distance_m))


def _cone_prior(off_axis: float, hfov: float) -> float:
    outside = abs(off_axis) - (hfov / 2 + CONE_MARGIN_DEG)
    if outside <= 0:
        return 1.0
    return PRIOR_FLOOR + (1.0 - PRIOR_FLOOR) * math.exp(-0.5 * (outside / FALLOFF_SIGMA_DEG) ** 2)


def view_of(camera: Camera, peak_id: str, peak_pos: GeoPoint, peak_elev_m: float | None) -> PeakView:
    distance = haversine_km(camera.position, peak_pos)
    bearing = initial_bearing_deg(camera.position, peak_pos)
    elevation = elevation_angle_deg(distance, camera.altitude_m, peak_elev_m)
    visible = distance <= MAX_RANGE_KM and elevation >= MIN_ELEVATION_ANGLE_DEG
    off_axis = None if camera.heading_deg is None else signed_angle_deg(camera.heading_deg, bearing)
    if not visible:
        prior = PRIOR_FLOOR
    elif off_axis is None:
        prior = 1.0
    else:
        prior = _cone_prior(off_axis, camera.hfov_deg or DEFAULT_HFOV_DEG)
    in_view = visible and (off_axis is None or abs(off_axis) <= (camera.hfov_deg or DEFAULT_HFOV_DEG) / 2)
    return PeakView(peak_id, distance, bearing, off_axis, elevation, visible, in_view, prior)


def geo_prior(
    camera: Camera, peaks: Sequence[tuple[str, GeoPoint | None, float | None]]
) -> list[PeakView | None]:
    """One view per peak (None for a peak without coordinates)."""
    return [None if pos is None else view_of(camera, peak_id, pos, elev) for peak_id, pos, elev in peaks]


def combine(visual_cos: np.ndarray, priors: np.ndarray, geo_weight: float) -> np.ndarray:
    """Fused score per peak: visual_cos + geo_weight * GEO_SCALE * ln(prior) (see the module docstring)."""
    visual = np.asarray(visual_cos, dtype=np.float64)
    if geo_weight <= 0:
        return visual
    safe = np.clip(np.asarray(priors, dtype=np.float64), PRIOR_FLOOR, 1.0)
    return visual + geo_weight * GEO_SCALE * np.log(safe)
