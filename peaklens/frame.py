"""Where each catalog peak stands in a photo: its horizontal position x across the displayed frame.

Built on the geo prior (``peaklens.geo``): the same distance, bearing and apparent elevation, plus the
rectilinear projection of the bearing into the frame, ``x = 0.5 + tan(off_axis) / (2·tan(hfov/2))`` (0 = left
edge, 1 = right edge of the photo as displayed, i.e. after EXIF orientation). ``in_frame`` is strict: inside
the horizontal field of view, above the horizon, in range and not hidden by terrain (``peaklens.dem``). The
compass margin of the prior stays a ranking device and never puts a peak "in frame".

A label's height ``y`` (0 = top, 1 = bottom of the photo as displayed) needs the camera's pitch, which phones
do not record: it comes from registering the photo against the terrain (``peaklens.registration``) or from a
user's click (``pitch_for``). Without one, ``y`` is None — "height unknown" — rather than a guess from a level
camera (the trek photos were held up to ~15° off level, a third of a frame's height at 120 mm; docs/GEO.md).
With a pitch (and roll), x and y are the full rectilinear projection of the summit's direction.

The phone compass is the weakest input (a few degrees off on the trek photos), hence ``x_span``: where the
peak may be given the heading's uncertainty. A heading correction (registration or a user's drag,
``heading_offset_for``) moves every label of the photo at once.

A camera farther than the prior's range (``geo.MAX_RANGE_KM``) from every catalog peak is beyond the catalog's
reach: its frame holds no peaks at all (no distances of thousands of km, ``beyond_reach``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from peaklens import geo
from peaklens.dem import Dem
from peaklens.errors import BadInput
from peaklens.records import GeoPoint, PhotoHit

#: eye height of a photographer standing on the ground, used when the DEM gives the camera's altitude
EYE_HEIGHT_M = 1.7
#: how far (degrees) the heading may be off, by source: the trek photos' compass was off by up to ~10°, a
#: registration lands within about half a degree (docs/GEO.md), a user's drag within a few pixels; "skyline" is
#: the fit of stores indexed before registration replaced it
HEADING_UNCERTAINTY_DEG = {"compass": 8.0, "registered": 0.5, "skyline": 1.5, "user": 0.5}
#: beyond this angle off axis a rectilinear projection has no x (the point is behind the image plane)
_MAX_PROJECTED_DEG = 89.999


class CatalogEntry(Protocol):
    """What placing a peak needs: a ``PeakDoc`` from the store or a ``CatalogPeak`` from peaks.yaml."""

    @property
    def id(self) -> str: ...
    @property
    def names(self) -> list[str]: ...
    @property
    def latlon(self) -> GeoPoint | None: ...
    @property
    def elev_m(self) -> int | None: ...


@dataclass(frozen=True)
class FramePeak:
    """One catalog peak as placed in one photo; ``prior`` is the geo prior used for ranking."""

    peak_id: str
    name: str
    elev_m: int | None
    distance_km: float
    bearing_deg: float
    off_axis_deg: float | None
    elevation_angle_deg: float
    x: float | None
    x_span: tuple[float, float] | None
    in_frame: bool
    occluded: bool | None
    prior: float = 1.0
    visible: bool = True
    y: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "peak_id": self.peak_id,
            "name": self.name,
            "elev_m": self.elev_m,
            "distance_km": round(self.distance_km, 2),
            "bearing_deg": round(self.bearing_deg, 1),
            "off_axis_deg": None if self.off_axis_deg is None else round(self.off_axis_deg, 2),
            "elevation_angle_deg": round(self.elevation_angle_deg, 2),
            "x": None if self.x is None else round(self.x, 4),
            "y": None if self.y is None else round(self.y, 4),
            "x_span": None if self.x_span is None else [round(v, 4) for v in self.x_span],
            "in_frame": self.in_frame,
            "occluded": self.occluded,
        }


@dataclass(frozen=True)
class FrameView:
    """Every catalog peak placed in one photo, with the camera inputs that placed them."""

    position: GeoPoint
    altitude_m: float | None
    altitude_source: str | None
    compass_heading_deg: float | None
    heading_offset_deg: float
    heading_source: str | None
    heading_deg: float | None
    heading_uncertainty_deg: float
    hfov_deg: float
    terrain_checked: bool
    peaks: list[FramePeak]
    pitch_deg: float | None = None
    roll_deg: float | None = None
    aspect: float | None = None
    beyond_reach: bool = False

    def in_frame(self) -> list[FramePeak]:
        """The peaks inside the frame, left to right."""
        return sorted((p for p in self.peaks if p.in_frame), key=lambda p: p.x if p.x is not None else 0.0)

    def by_id(self, peak_id: str) -> FramePeak | None:
        return next((p for p in self.peaks if p.peak_id == peak_id), None)

    def to_json(self) -> dict[str, object]:
        return {
            "position": {"lat": self.position.lat, "lon": self.position.lon},
            "altitude_m": None if self.altitude_m is None else round(self.altitude_m, 1),
            "altitude_source": self.altitude_source,
            "compass_heading_deg": self.compass_heading_deg,
            "heading_offset_deg": round(self.heading_offset_deg, 2),
            "heading_source": self.heading_source,
            "heading_deg": None if self.heading_deg is None else round(self.heading_deg, 2),
            "heading_uncertainty_deg": self.heading_uncertainty_deg,
            "hfov_deg": round(self.hfov_deg, 2),
            "terrain_checked": self.terrain_checked,
            "terrain": "checked" if self.terrain_checked else "not checked",
            "pitch_deg": None if self.pitch_deg is None else round(self.pitch_deg, 2),
            "roll_deg": None if self.roll_deg is None else round(self.roll_deg, 2),
            "label_height": "unknown" if self.pitch_deg is None else "projected",
            "beyond_reach": self.beyond_reach,
            "peaks": [p.to_json() for p in self.peaks],
        }


def x_of(off_axis_deg: float, hfov_deg: float) -> float | None:
    """Rectilinear position across the frame (0 left, 1 right); None behind the image plane or for hfov >= 180."""
    if abs(off_axis_deg) > _MAX_PROJECTED_DEG or not 0 < hfov_deg < 180:
        return None
    return 0.5 + math.tan(math.radians(off_axis_deg)) / (2 * math.tan(math.radians(hfov_deg / 2)))


def off_axis_of(x: float, hfov_deg: float) -> float:
    """The inverse of ``x_of``: the angle off axis that projects to x."""
    return math.degrees(math.atan((x - 0.5) * 2 * math.tan(math.radians(hfov_deg / 2))))


def rotate_to_camera(
    alpha_rad: np.ndarray, elev_rad: np.ndarray, pitch_deg: float, roll_deg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Camera coordinates (x right, y up, z forward) of directions at azimuth ``alpha`` off the heading and
    elevation ``elev``, for a camera pitched up by ``pitch_deg`` and rolled clockwise by ``roll_deg``."""
    x = np.cos(elev_rad) * np.sin(alpha_rad)
    y = np.sin(elev_rad)
    z = np.cos(elev_rad) * np.cos(alpha_rad)
    p, r = math.radians(pitch_deg), math.radians(roll_deg)
    y1 = y * math.cos(p) - z * math.sin(p)
    z1 = y * math.sin(p) + z * math.cos(p)
    if r == 0.0:  # a level camera (most of them): the same values without two passes over the grid
        return x, y1, z1
    x2 = x * math.cos(r) - y1 * math.sin(r)
    y2 = x * math.sin(r) + y1 * math.cos(r)
    return x2, y2, z1


def project_many(
    off_axis_deg: np.ndarray,
    elevation_deg: np.ndarray,
    hfov_deg: float,
    aspect: float,
    pitch_deg: float,
    roll_deg: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) arrays of directions in a rectilinear photo (0..1 across, 0..1 down); NaN behind the camera."""
    x3, y3, z3 = rotate_to_camera(np.radians(off_axis_deg), np.radians(elevation_deg), pitch_deg, roll_deg)
    half = math.tan(math.radians(hfov_deg / 2))
    ahead = np.where(z3 > 1e-9, z3, np.nan)
    return 0.5 + x3 / ahead / (2 * half), 0.5 - y3 / ahead / (2 * half * aspect)


def project(
    off_axis_deg: float,
    elevation_deg: float,
    hfov_deg: float,
    aspect: float,
    pitch_deg: float,
    roll_deg: float,
) -> tuple[float | None, float | None]:
    """(x, y) of a direction in a rectilinear photo (0..1 across, 0..1 down); None behind the camera."""
    if not 0 < hfov_deg < 180 or aspect <= 0:
        return None, None
    x, y = project_many(
        np.array([off_axis_deg]), np.array([elevation_deg]), hfov_deg, aspect, pitch_deg, roll_deg
    )
    if not (math.isfinite(x[0]) and math.isfinite(y[0])):
        return None, None
    return float(x[0]), float(y[0])


def pitch_for(off_axis_deg: float, elevation_deg: float, hfov_deg: float, aspect: float, y: float) -> float:
    """The pitch (degrees, no roll) that puts a direction at height ``y``: what a user's click on a summit fixes."""
    e, a = math.radians(elevation_deg), math.radians(off_axis_deg)
    in_plane = math.atan2(math.sin(e), math.cos(e) * math.cos(a))
    t = (0.5 - y) * 2 * math.tan(math.radians(hfov_deg / 2)) * aspect
    return math.degrees(in_plane - math.atan(t))


def aim_at(
    elevation_deg: float,
    hfov_deg: float,
    aspect: float,
    pitch_deg: float,
    roll_deg: float,
    x: float,
    y: float | None = None,
) -> tuple[float, float]:
    """The angle off axis (degrees) and the pitch that put a direction of ``elevation_deg`` at ``x`` and, when
    given, ``y`` in a camera of that roll (the pitch stays without ``y``): what a click on a summit fixes.

    With no roll the two are ``off_axis_of`` and ``pitch_for``; a rolled camera couples them, so a few Newton
    steps on the exact projection follow from there.
    """
    off = off_axis_of(x, hfov_deg)
    pitch = pitch_for(off, elevation_deg, hfov_deg, aspect, y) if y is not None else pitch_deg
    h = 1e-4
    for _ in range(20):
        px, py = project(off, elevation_deg, hfov_deg, aspect, pitch, roll_deg)
        if px is None or py is None:
            break
        rx, ry = px - x, (py - y) if y is not None else 0.0
        if abs(rx) < 1e-9 and abs(ry) < 1e-9:
            break
        ax, ay = project(off + h, elevation_deg, hfov_deg, aspect, pitch, roll_deg)
        if ax is None or ay is None:
            break
        if y is None:
            dx = (ax - px) / h
            if dx == 0:
                break
            off -= rx / dx
            continue
        bx, by = project(off, elevation_deg, hfov_deg, aspect, pitch + h, roll_deg)
        if bx is None or by is None:
            break
        j11, j12, j21, j22 = (ax - px) / h, (bx - px) / h, (ay - py) / h, (by - py) / h
        det = j11 * j22 - j12 * j21
        if det == 0:
            break
        off -= (j22 * rx - j12 * ry) / det
        pitch -= (-j21 * rx + j11 * ry) / det
    return off, pitch


def _x_span(off_axis: float, hfov: float, uncertainty: float) -> tuple[float, float] | None:
    lo = max(off_axis - uncertainty, -_MAX_PROJECTED_DEG)
    hi = min(off_axis + uncertainty, _MAX_PROJECTED_DEG)
    x_lo, x_hi = x_of(lo, hfov), x_of(hi, hfov)
    if x_lo is None or x_hi is None or x_hi <= 0 or x_lo >= 1:
        return None  # the whole span is outside the frame
    return (min(max(x_lo, 0.0), 1.0), min(max(x_hi, 0.0), 1.0))


def camera_altitude(camera: geo.Camera, dem: Dem | None) -> tuple[float | None, str | None]:
    """GPS altitude, or the DEM ground plus eye height when GPS has none or puts the camera underground."""
    ground = dem.ground_m(camera.position.lat, camera.position.lon) if dem is not None else None
    gps = camera.altitude_m if camera.altitude_m is not None and math.isfinite(camera.altitude_m) else None
    if ground is not None and (gps is None or gps < ground):
        return ground + EYE_HEIGHT_M, "dem"
    return gps, None if gps is None else "gps"


def _heading(
    camera: geo.Camera, offset: float | None, source: str | None
) -> tuple[float | None, float, str | None]:
    compass = (
        camera.heading_deg if camera.heading_deg is not None and math.isfinite(camera.heading_deg) else None
    )
    if compass is None:
        return None, 0.0, None
    if offset is None or not math.isfinite(offset) or source in (None, "compass"):
        return compass, 0.0, "compass"
    return (compass + offset) % 360.0, offset, source


def frame_view(
    camera: geo.Camera,
    peaks: Sequence[CatalogEntry],
    dem: Dem | None = None,
    *,
    heading_offset_deg: float | None = None,
    heading_source: str | None = None,
) -> FrameView:
    """Place every catalog peak with coordinates in the photo seen by ``camera``, nearest first.

    ``heading_offset_deg`` (with ``heading_source`` "registered" or "user") corrects the compass heading; without
    a DEM, or where it does not cover a line of sight, ``occluded`` is None ("terrain not checked").
    """
    altitude, altitude_source = camera_altitude(camera, dem)
    heading, offset, source = _heading(camera, heading_offset_deg, heading_source)
    hfov = geo.field_of_view_deg(camera)
    placed = geo.Camera(camera.position, altitude, heading, hfov)
    located = [p for p in peaks if p.latlon is not None]
    attitude = (
        (camera.pitch_deg, camera.roll_deg or 0.0, camera.aspect)
        if camera.pitch_deg is not None and camera.aspect and heading is not None
        else None
    )
    beyond = bool(located) and all(
        p.latlon is not None and geo.haversine_km(camera.position, p.latlon) > geo.MAX_RANGE_KM
        for p in located
    )
    if beyond:
        located = []
    occlusion: list[bool | None] = [None] * len(located)
    if dem is not None and altitude is not None and located:
        sight = dem.line_of_sight(
            camera.position,
            altitude,
            np.array([p.latlon.lat for p in located if p.latlon is not None]),
            np.array([p.latlon.lon for p in located if p.latlon is not None]),
            np.array([np.nan if p.elev_m is None else float(p.elev_m) for p in located]),
        )
        occlusion = [bool(b) if c else None for b, c in zip(sight.blocked, sight.checked, strict=True)]
        # where the summit stands in the picture: at the terrain's own summit height, as registration fitted
        # the camera to that terrain (the published height where the DEM has none)
        summits = dem.summits_m(
            np.array([p.latlon.lat for p in located if p.latlon is not None]),
            np.array([p.latlon.lon for p in located if p.latlon is not None]),
        )
        shown_elev = [None if not math.isfinite(h) else float(h) for h in summits]
    else:
        shown_elev = [None] * len(located)
    uncertainty = HEADING_UNCERTAINTY_DEG.get(source or "", 0.0)
    placed_peaks = []
    for peak, occluded, terrain_elev in zip(located, occlusion, shown_elev, strict=True):
        assert peak.latlon is not None
        elev = None if peak.elev_m is None else float(peak.elev_m)
        view = geo.view_of(placed, peak.id, peak.latlon, elev, occluded)
        elevation_angle = view.elevation_angle_deg
        if terrain_elev is not None:
            elevation_angle = geo.elevation_angle_deg(view.distance_km, altitude, terrain_elev)
        off = view.off_axis_deg
        y: float | None = None
        if off is not None and attitude is not None:
            pitch, roll, aspect = attitude
            x, y = project(off, elevation_angle, hfov, aspect, pitch, roll)
        else:
            x = None if off is None else x_of(off, hfov)
        span = _x_span(off, hfov, uncertainty) if off is not None and source == "compass" else None
        inside = x is not None and 0.0 < x < 1.0 and (y is None or 0.0 < y < 1.0)
        placed_peaks.append(
            FramePeak(
                peak_id=peak.id,
                name=peak.names[0],
                elev_m=peak.elev_m,
                distance_km=view.distance_km,
                bearing_deg=view.bearing_deg,
                off_axis_deg=off,
                elevation_angle_deg=elevation_angle,
                x=x,
                x_span=span,
                in_frame=inside and view.visible and not occluded,
                occluded=occluded,
                prior=view.prior,
                visible=view.visible,
                y=y,
            )
        )
    placed_peaks.sort(key=lambda p: p.distance_km)
    return FrameView(
        position=camera.position,
        altitude_m=altitude,
        altitude_source=altitude_source,
        compass_heading_deg=camera.heading_deg if source is not None else None,
        heading_offset_deg=offset,
        heading_source=source,
        heading_deg=heading,
        heading_uncertainty_deg=uncertainty,
        hfov_deg=hfov,
        terrain_checked=any(o is not None for o in occlusion),
        peaks=placed_peaks,
        pitch_deg=None if attitude is None else attitude[0],
        roll_deg=None if attitude is None else attitude[1],
        aspect=camera.aspect,
        beyond_reach=beyond,
    )


def heading_offset_for(view: FrameView, peak_id: str, x: float) -> float:
    """The compass correction (degrees, clockwise positive) that puts ``peak_id``'s label at ``x``.

    This is what a user's drag of one label stores for the photo; every other label moves with it.
    """
    if view.compass_heading_deg is None:
        raise BadInput("This photo has no compass heading to correct.")
    if not (math.isfinite(x) and 0.0 <= x <= 1.0):
        raise BadInput(f"A label position must be between 0 and 1 across the photo, not {x!r}.")
    peak = view.by_id(peak_id)
    if peak is None:
        raise BadInput(
            f"Unknown peak {peak_id!r} for this photo (not in the catalog or without coordinates)."
        )
    wanted_heading = peak.bearing_deg - off_axis_of(x, view.hfov_deg)
    return geo.signed_angle_deg(view.compass_heading_deg, wanted_heading)


def camera_of_hit(hit: PhotoHit) -> geo.Camera | None:
    """The camera a stored photo was taken with: position, altitude, compass heading and the field of view
    indexing worked out from its EXIF (kept in ``extra["hfov_deg"]``), its displayed height / width
    (``extra["aspect"]``) and the pitch and roll registration found (``extra["pitch_deg"]``, ``["roll_deg"]``);
    None without GPS."""
    if hit.gps is None:
        return None

    def number(key: str) -> float | None:
        value = hit.extra.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    return geo.Camera(
        hit.gps,
        hit.altitude_m,
        hit.heading_deg,
        number("hfov_deg"),
        pitch_deg=number("pitch_deg"),
        roll_deg=number("roll_deg"),
        aspect=number("aspect"),
    )
