"""Where each catalog peak stands in a photo: its horizontal position x across the displayed frame.

Built on the geo prior (``peaklens.geo``): the same distance, bearing and apparent elevation, plus the
rectilinear projection of the bearing into the frame, ``x = 0.5 + tan(off_axis) / (2·tan(hfov/2))`` (0 = left
edge, 1 = right edge of the photo as displayed, i.e. after EXIF orientation). ``in_frame`` is strict: inside
the horizontal field of view, above the horizon, in range and not hidden by terrain (``peaklens.dem``). The
compass margin of the prior stays a ranking device and never puts a peak "in frame".

Only x is computed: the camera's pitch is unknown (phones do not record it), so a label's height in the
picture would be a guess; ``elevation_angle_deg`` is kept for the caller to show. The phone compass is the
weakest input (a few degrees off on the trek photos), hence ``x_span``: where the peak may be given the
heading's uncertainty. A heading correction (skyline fit or a user's drag, ``heading_offset_for``) moves
every label of the photo at once.
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
#: skyline fit lands within about a degree on clear photos, a user's drag within a few pixels
HEADING_UNCERTAINTY_DEG = {"compass": 8.0, "skyline": 1.5, "user": 0.5}
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


def _x_span(off_axis: float, hfov: float, uncertainty: float) -> tuple[float, float] | None:
    lo = max(off_axis - uncertainty, -_MAX_PROJECTED_DEG)
    hi = min(off_axis + uncertainty, _MAX_PROJECTED_DEG)
    x_lo, x_hi = x_of(lo, hfov), x_of(hi, hfov)
    if x_lo is None or x_hi is None or x_hi <= 0 or x_lo >= 1:
        return None  # the whole span is outside the frame
    return (min(max(x_lo, 0.0), 1.0), min(max(x_hi, 0.0), 1.0))


def _camera_altitude(camera: geo.Camera, dem: Dem | None) -> tuple[float | None, str | None]:
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

    ``heading_offset_deg`` (with ``heading_source`` "skyline" or "user") corrects the compass heading; without
    a DEM, or where it does not cover a line of sight, ``occluded`` is None ("terrain not checked").
    """
    altitude, altitude_source = _camera_altitude(camera, dem)
    heading, offset, source = _heading(camera, heading_offset_deg, heading_source)
    hfov = geo.field_of_view_deg(camera)
    placed = geo.Camera(camera.position, altitude, heading, hfov)
    located = [p for p in peaks if p.latlon is not None]
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
    uncertainty = HEADING_UNCERTAINTY_DEG.get(source or "", 0.0)
    placed_peaks = []
    for peak, occluded in zip(located, occlusion, strict=True):
        assert peak.latlon is not None
        elev = None if peak.elev_m is None else float(peak.elev_m)
        view = geo.view_of(placed, peak.id, peak.latlon, elev, occluded)
        off = view.off_axis_deg
        x = None if off is None else x_of(off, hfov)
        span = _x_span(off, hfov, uncertainty) if off is not None and source == "compass" else None
        placed_peaks.append(
            FramePeak(
                peak_id=peak.id,
                name=peak.names[0],
                elev_m=peak.elev_m,
                distance_km=view.distance_km,
                bearing_deg=view.bearing_deg,
                off_axis_deg=off,
                elevation_angle_deg=view.elevation_angle_deg,
                x=x,
                x_span=span,
                in_frame=x is not None and 0.0 < x < 1.0 and view.visible and not occluded,
                occluded=occluded,
                prior=view.prior,
                visible=view.visible,
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
    indexing worked out from its EXIF (kept in ``extra["hfov_deg"]``); None without GPS."""
    if hit.gps is None:
        return None
    hfov = hit.extra.get("hfov_deg")
    return geo.Camera(
        hit.gps, hit.altitude_m, hit.heading_deg, float(hfov) if isinstance(hfov, int | float) else None
    )
