"""How well the frame geometry matches real photos: label x and y errors and in-frame precision/recall.

A labels file (``eval/trek_labels.yaml``, format in docs/GEO-LABELS.md) holds, per photo, the x (and
optionally y) of every summit a person saw (fractions of the displayed width and height), the catalog peaks the
old view cone put in front of the camera that the photo does not show (``not_visible``), and the ones they could
not decide (``unsure``).

Scores, so a geometry change is measured on real photos rather than argued, for three heading sources:

- **compass**: the EXIF compass; no pitch, so no label height (y unknown);
- **registered**: ``registration.Registrar`` against the DEM (the compass where it gives up); its pitch and roll
  give each label a y; ``made_worse`` lists the photos whose mean |x error| the fit raised by more than
  WORSE_BY, ``registered_photos`` of ``registration_tried`` says how often it fitted;
- **one click**: the photo's most confident mark is "dragged" into place (``frame.heading_offset_for``; with a
  marked y, ``frame.aim_at`` fixes the pitch too, x and y solved together) and only the OTHER marked
  peaks of that photo are scored;

and for each: |x error| median and p90 over every marked peak, |y error| over the marks that carry a ``y``
(fraction of the displayed height from the top), and in-frame precision and recall against the marks — also for
the old rule (the view cone with its 12° compass margin and no terrain, as ``geo.PeakView.in_view`` was before
the frame geometry). A claim on a marked peak is right, a claim on a ``not_visible`` peak is wrong, a claim on an
``unsure`` or unlisted peak is not judged (counted apart); recall is the share of marked peaks claimed.

p90 is numpy's default percentile (linear between the two nearest order statistics).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from peaklens import geo
from peaklens.dem import Dem
from peaklens.enrich import camera_of
from peaklens.errors import BadInput
from peaklens.frame import FramePeak, FrameView, aim_at, frame_view, heading_offset_for
from peaklens.imaging import BadImage, open_photo
from peaklens.names import normalise_name
from peaklens.records import PeakDoc

if TYPE_CHECKING:
    from peaklens.registration import Registration

#: confidence words of a mark, weakest first; the "dragged" mark of a photo is its most confident one
CONFIDENCES = ("low", "medium", "high")
#: what a labels file may say stands between the camera and the summits (eval/trek_labels.yaml's header)
CONDITIONS = ("clear", "cloud", "haze", "foreground", "night")
#: a photo "shows a ridge against the sky" (issue 16's goal counts registration among those) where terrain meets
#: open sky over at least this share of its width, as the marker judged it (`skyline:` in the labels)
RIDGE_SHARE = 0.25
#: the compass margin of the old view cone, kept here as the named baseline ("before the frame geometry")
OLD_CONE_MARGIN_DEG = 12.0

RULE_OLD = "before: view cone (hfov/2 + 12°, no terrain)"
RULE_NEW = "after: in_frame, compass heading"
RULE_NEW_USER = "after: in_frame, one label dragged (other peaks)"
RULE_REGISTERED = "after: in_frame, registered against the terrain"
#: a registered photo is "made worse" when its mean |x error| grows by more than this (the issue's bound)
WORSE_BY = 0.02


@dataclass(frozen=True)
class MarkedPeak:
    """A summit a person saw: its catalog id, where it is across the photo, and how sure they were."""

    peak_id: str
    x: float
    confidence: str
    note: str = ""
    #: the summit's height, fraction of the displayed height from the top; None where not marked
    y: float | None = None


@dataclass(frozen=True)
class PhotoLabels:
    photo: Path
    marks: tuple[MarkedPeak, ...]
    not_visible: frozenset[str]
    unsure: frozenset[str]
    note: str = ""
    #: what stands between the camera and the summits (CONDITIONS), as the marker judged it
    conditions: frozenset[str] = frozenset()
    #: the share of the width where terrain meets open sky, as the marker judged it; None where not judged
    skyline: float | None = None

    def dragged(self) -> MarkedPeak | None:
        """The mark a user would drag: the most confident one, the first listed among equals."""
        if not self.marks:
            return None
        return max(self.marks, key=lambda m: (CONFIDENCES.index(m.confidence), -self.marks.index(m)))


@dataclass(frozen=True)
class XErrorStats:
    """|x error| (fraction of the frame width) over ``n`` marked peaks; ``unplaced``: peaks with no x (behind
    the camera or no heading), left out of the statistics."""

    n: int
    median: float | None
    p90: float | None
    unplaced: int = 0


@dataclass(frozen=True)
class InFrameStats:
    rule: str
    marked: int  # marked peaks scored
    found: int  # of those, claimed in frame
    true_claims: int  # claims on marked peaks
    false_claims: int  # claims on not_visible peaks
    unjudged_claims: int  # claims on unsure or unlisted peaks

    @property
    def precision(self) -> float | None:
        judged = self.true_claims + self.false_claims
        return self.true_claims / judged if judged else None

    @property
    def recall(self) -> float | None:
        return self.found / self.marked if self.marked else None


@dataclass(frozen=True)
class PhotoResult:
    """One photo's numbers, for the per-photo table: x errors by peak id, and each rule's claimed ids."""

    photo: str
    compass_errors: dict[str, float]
    dragged: str | None
    heading_offset_deg: float | None
    user_errors: dict[str, float]
    claims: dict[str, list[str]]
    registered_errors: dict[str, float] = field(default_factory=dict)
    registered_offset_deg: float | None = None
    registration_reason: str | None = None


@dataclass
class FrameEvalReport:
    photos: int
    marked: int
    min_confidence: str
    compass: XErrorStats
    user: XErrorStats
    in_frame: list[InFrameStats]
    per_photo: list[PhotoResult] = field(default_factory=list)
    registered: XErrorStats = field(default_factory=lambda: XErrorStats(0, None, None))
    #: |y error| (fraction of the displayed height) by mode, over the marks that have a y
    y_errors: dict[str, XErrorStats] = field(default_factory=dict)
    #: photos the registration accepted, of those it was tried on (with a DEM under the camera)
    registered_photos: int = 0
    registration_tried: int = 0
    #: registered photos whose mean |x error| grew by more than WORSE_BY over the compass
    made_worse: list[str] = field(default_factory=list)
    #: per condition of the labels file: (photos registered, photos the registration was tried on)
    registered_by_condition: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: (photos registered, photos tried) among those showing a ridge against the sky (skyline >= RIDGE_SHARE);
    #: None where no photo of the labels has a `skyline` share
    registered_with_ridge: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        def stats(s: XErrorStats) -> dict[str, Any]:
            return {"n": s.n, "median": s.median, "p90": s.p90, "unplaced": s.unplaced}

        return {
            "photos": self.photos,
            "marked_peaks": self.marked,
            "min_confidence": self.min_confidence,
            "registered_photos": self.registered_photos,
            "registration_tried": self.registration_tried,
            "made_worse": self.made_worse,
            "registered_by_condition": {
                c: {"registered": done, "tried": tried}
                for c, (done, tried) in self.registered_by_condition.items()
            },
            "registered_with_ridge": None
            if self.registered_with_ridge is None
            else {"registered": self.registered_with_ridge[0], "tried": self.registered_with_ridge[1]},
            "y_error": {mode: stats(s) for mode, s in self.y_errors.items()},
            "x_error": {
                "compass": stats(self.compass),
                "registered": stats(self.registered),
                "user_corrected": stats(self.user),
            },
            "in_frame": [
                {
                    "rule": s.rule,
                    "precision": s.precision,
                    "recall": s.recall,
                    "marked": s.marked,
                    "found": s.found,
                    "true_claims": s.true_claims,
                    "false_claims": s.false_claims,
                    "unjudged_claims": s.unjudged_claims,
                }
                for s in self.in_frame
            ],
        }


# --- the labels file -----------------------------------------------------------------------------------------
def _name_index(peaks: Sequence[PeakDoc]) -> dict[str, str]:
    index: dict[str, str] = {}
    for peak in peaks:
        for alias in (peak.id, *peak.names):
            index.setdefault(normalise_name(alias), peak.id)
    return index


def load_frame_labels(path: Path, peaks: Sequence[PeakDoc]) -> list[PhotoLabels]:
    """Parse and check a frame labels file; every problem is one ``BadInput`` line naming the entry.

    Peak names are catalog ids or any of their names (case, spaces and accents ignored, no typo tolerance: a
    label must say exactly which peak). Photo paths are relative to the labels file.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"Frame labels file {path} does not exist.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInput(f"Frame labels file {path} is not valid YAML: {exc}") from None
    entries = raw.get("photos") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise BadInput(f"Frame labels file {path} needs a non-empty `photos:` list.")
    index = _name_index(peaks)
    return [_photo_labels(entry, n, path, index) for n, entry in enumerate(entries, start=1)]


def _photo_labels(entry: Any, n: int, path: Path, index: dict[str, str]) -> PhotoLabels:
    where = f"Frame labels file {path}, photo entry {n}"
    if not isinstance(entry, dict) or not isinstance(entry.get("photo"), str):
        raise BadInput(f"{where}: needs `photo: PATH` (relative to the labels file).")
    photo = (path.parent / entry["photo"]).resolve()
    where = f"Frame labels file {path}, {entry['photo']}"
    if not photo.is_file():
        raise BadInput(f"{where}: the photo does not exist ({photo}).")

    def peak_id(name: Any) -> str:
        found = index.get(normalise_name(name)) if isinstance(name, str) else None
        if found is None:
            raise BadInput(f"{where}: peak {name!r} is not in the catalog.")
        return found

    def id_list(key: str) -> list[str]:
        value = entry.get(key) or []
        if not isinstance(value, list):
            raise BadInput(f"{where}: `{key}` must be a list of peak names.")
        return [peak_id(v) for v in value]

    raw_marks = entry.get("peaks") or []
    if not isinstance(raw_marks, list):
        raise BadInput(f"{where}: `peaks` must be a list of {{peak, x, confidence}}.")
    marks = [_mark(m, where, peak_id) for m in raw_marks]
    not_visible, unsure = id_list("not_visible"), id_list("unsure")
    listed = [m.peak_id for m in marks] + not_visible + unsure
    twice = sorted({p for p in listed if listed.count(p) > 1})
    if twice:
        raise BadInput(f"{where}: {', '.join(twice)} listed more than once (marked, not_visible, unsure).")
    note = entry.get("note")
    conditions = entry.get("conditions") or []
    if not isinstance(conditions, list) or not all(c in CONDITIONS for c in conditions):
        raise BadInput(
            f"{where}: `conditions` must be a list of {', '.join(CONDITIONS)}, not {conditions!r}."
        )
    skyline = entry.get("skyline")
    if skyline is not None and (
        isinstance(skyline, bool) or not isinstance(skyline, int | float) or not 0.0 <= skyline <= 1.0
    ):
        raise BadInput(f"{where}: `skyline` must be a share of the width from 0 to 1, not {skyline!r}.")
    return PhotoLabels(
        photo,
        tuple(marks),
        frozenset(not_visible),
        frozenset(unsure),
        note if isinstance(note, str) else "",
        frozenset(conditions),
        None if skyline is None else float(skyline),
    )


def _mark(raw: Any, where: str, peak_id: Callable[[Any], str]) -> MarkedPeak:
    if not isinstance(raw, dict):
        raise BadInput(
            f"{where}: each of `peaks` must be {{peak: NAME, x: 0..1, confidence: high|medium|low}}."
        )
    pid = peak_id(raw.get("peak"))
    x = raw.get("x")
    if isinstance(x, bool) or not isinstance(x, int | float) or not (math.isfinite(x) and 0.0 <= x <= 1.0):
        raise BadInput(f"{where}: x of {raw.get('peak')!r} must be a number from 0 to 1, not {x!r}.")
    confidence = raw.get("confidence", "high")
    if confidence not in CONFIDENCES:
        raise BadInput(f"{where}: confidence of {raw.get('peak')!r} must be high, medium or low.")
    y = raw.get("y")
    if y is not None and (
        isinstance(y, bool) or not isinstance(y, int | float) or not (math.isfinite(y) and 0.0 <= y <= 1.0)
    ):
        raise BadInput(
            f"{where}: y of {raw.get('peak')!r} must be a number from 0 to 1 (from the top), not {y!r}."
        )
    note = raw.get("note")
    return MarkedPeak(
        pid, float(x), confidence, note if isinstance(note, str) else "", None if y is None else float(y)
    )


# --- scoring --------------------------------------------------------------------------------------------------
def x_error_stats(errors: Sequence[float | None]) -> XErrorStats:
    """Median and p90 of the |x errors| that exist; None entries count as unplaced."""
    values = [e for e in errors if e is not None]
    unplaced = len(errors) - len(values)
    if not values:
        return XErrorStats(0, None, None, unplaced)
    arr = np.abs(np.asarray(values, dtype=np.float64))
    return XErrorStats(len(values), float(np.median(arr)), float(np.percentile(arr, 90)), unplaced)


def old_cone_claims(view: FrameView, camera: geo.Camera) -> set[str]:
    """The old "in view" rule, the baseline: visible (range, horizon) and |off axis| <= hfov/2 + 12°, no
    terrain; without a heading every visible peak counts."""
    claimed = set()
    for peak in view.peaks:
        elev = None if peak.elev_m is None else float(peak.elev_m)
        visible = peak.distance_km <= geo.MAX_RANGE_KM and not geo.beyond_horizon(
            peak.distance_km, camera.altitude_m, elev
        )
        off = peak.off_axis_deg
        if visible and (off is None or abs(off) <= view.hfov_deg / 2 + OLD_CONE_MARGIN_DEG):
            claimed.add(peak.peak_id)
    return claimed


def _error(peak: FramePeak | None, mark: MarkedPeak) -> float | None:
    return None if peak is None or peak.x is None else abs(peak.x - mark.x)


def _y_error(peak: FramePeak | None, mark: MarkedPeak) -> float | None:
    """|y error| where the mark has a y; None (unplaced) where the frame has no height for the peak."""
    return None if peak is None or peak.y is None or mark.y is None else abs(peak.y - mark.y)


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


Register = Callable[[Path, geo.Camera], "Registration | None"]


def registration_by_terrain(dem: Dem) -> Register:
    """Register each labelled photo against ``dem`` as indexing does (one Registrar: panoramas reused)."""
    from peaklens.registration import Registrar

    registrar = Registrar(dem)

    def register(photo: Path, camera: geo.Camera) -> Registration | None:
        try:
            loaded = open_photo(photo)
        except BadImage as exc:
            raise BadInput(f"Labelled photo {photo} cannot be used: {exc}") from None
        return registrar.register(loaded.image, camera)

    return register


@dataclass
class _Tally:
    marked: int = 0
    found: int = 0
    true_claims: int = 0
    false_claims: int = 0
    unjudged: int = 0

    def add(self, labels: PhotoLabels, claimed: set[str], leave_out: str | None = None) -> None:
        marked = {m.peak_id for m in labels.marks} - {leave_out}
        claimed = claimed - {leave_out}
        self.marked += len(marked)
        self.found += len(marked & claimed)
        self.true_claims += len(claimed & marked)
        self.false_claims += len(claimed & labels.not_visible)
        self.unjudged += len(claimed - marked - labels.not_visible)

    def stats(self, rule: str) -> InFrameStats:
        return InFrameStats(rule, self.marked, self.found, self.true_claims, self.false_claims, self.unjudged)


def camera_for(photo: Path) -> geo.Camera:
    """The camera of a labelled photo, from its EXIF (orientation-corrected size for the field of view)."""
    try:
        loaded = open_photo(photo)
    except BadImage as exc:
        raise BadInput(f"Labelled photo {photo} cannot be used: {exc}") from None
    camera = camera_of(loaded.meta, loaded.width, loaded.height)
    if camera is None:
        raise BadInput(f"Labelled photo {photo} has no GPS position: it cannot be placed.")
    return camera


def evaluate_frames(
    labels: Sequence[PhotoLabels],
    peaks: Sequence[PeakDoc],
    dem: Dem | None = None,
    *,
    min_confidence: str = "low",
    cameras: Callable[[Path], geo.Camera] = camera_for,
    register: Register | None = None,
) -> FrameEvalReport:
    """Score the frame geometry against marked photos (see the module docstring for every number).

    ``min_confidence`` drops weaker marks from the x errors and recall (they still decide nothing else);
    ``cameras`` turns a photo path into its camera (EXIF by default); ``register`` registers a photo against
    the terrain (by default ``registration_by_terrain(dem)`` where there is a DEM, none without).
    """
    if min_confidence not in CONFIDENCES:
        raise BadInput(f"min_confidence must be one of {', '.join(CONFIDENCES)}, not {min_confidence!r}.")
    if register is None and dem is not None:
        register = registration_by_terrain(dem)
    floor = CONFIDENCES.index(min_confidence)
    compass_errors: list[float | None] = []
    registered_errors: list[float | None] = []
    user_errors: list[float | None] = []
    y_errors: dict[str, list[float | None]] = {"compass": [], "registered": [], "one click": []}
    tallies = {
        RULE_OLD: _Tally(),
        RULE_NEW: _Tally(),
        RULE_REGISTERED: _Tally(),
        RULE_NEW_USER: _Tally(),
    }
    results = []
    tried = accepted = 0
    by_condition: dict[str, tuple[int, int]] = {}
    with_ridge = (0, 0)
    worse: list[str] = []
    for photo in labels:
        kept = tuple(m for m in photo.marks if CONFIDENCES.index(m.confidence) >= floor)
        scored = replace(photo, marks=kept)
        camera = cameras(photo.photo)
        view = frame_view(camera, peaks, dem)
        compass = {m.peak_id: _error(view.by_id(m.peak_id), m) for m in kept}
        compass_errors += compass.values()
        y_errors["compass"] += [_y_error(view.by_id(m.peak_id), m) for m in kept if m.y is not None]
        claims = {RULE_OLD: old_cone_claims(view, camera), RULE_NEW: {p.peak_id for p in view.in_frame()}}
        tallies[RULE_OLD].add(scored, claims[RULE_OLD])
        tallies[RULE_NEW].add(scored, claims[RULE_NEW])
        # registered against the terrain (the compass where the fit gives up)
        fit = register(photo.photo, camera) if register is not None and view.heading_deg is not None else None
        registered_view = view
        if fit is not None:
            tried += 1
            for condition in photo.conditions:
                done, seen = by_condition.get(condition, (0, 0))
                by_condition[condition] = (done + fit.ok, seen + 1)
            if photo.skyline is not None and photo.skyline >= RIDGE_SHARE:
                with_ridge = (with_ridge[0] + fit.ok, with_ridge[1] + 1)
        if fit is not None and fit.ok:
            accepted += 1
            registered_view = frame_view(
                replace(camera, pitch_deg=fit.pitch_deg, roll_deg=fit.roll_deg),
                peaks,
                dem,
                heading_offset_deg=fit.heading_offset_deg,
                heading_source="registered",
            )
        registered = {m.peak_id: _error(registered_view.by_id(m.peak_id), m) for m in kept}
        registered_errors += registered.values()
        y_errors["registered"] += [
            _y_error(registered_view.by_id(m.peak_id), m) for m in kept if m.y is not None
        ]
        before, after = _mean(list(compass.values())), _mean(list(registered.values()))
        if before is not None and after is not None and after > before + WORSE_BY:
            worse.append(photo.photo.name)
        claims[RULE_REGISTERED] = {p.peak_id for p in registered_view.in_frame()}
        tallies[RULE_REGISTERED].add(scored, claims[RULE_REGISTERED])
        # one click: the most confident mark dragged into place (x fixes the heading, y the pitch)
        drag = photo.dragged()
        offset: float | None = None
        user: dict[str, float | None] = {}
        if drag is not None and view.heading_deg is not None and view.by_id(drag.peak_id) is not None:
            offset = heading_offset_for(view, drag.peak_id, drag.x)
            clicked = camera
            dragged = view.by_id(drag.peak_id)
            if drag.y is not None and camera.aspect and dragged is not None:
                # as Library.correct_heading: x and y solved together on the exact projection
                off, pitch = aim_at(
                    dragged.elevation_angle_deg, view.hfov_deg, camera.aspect, 0.0, 0.0, drag.x, drag.y
                )
                offset = geo.signed_angle_deg(view.compass_heading_deg or 0.0, dragged.bearing_deg - off)
                clicked = replace(camera, pitch_deg=pitch, roll_deg=0.0)
            corrected = frame_view(clicked, peaks, dem, heading_offset_deg=offset, heading_source="user")
            user = {m.peak_id: _error(corrected.by_id(m.peak_id), m) for m in kept if m != drag}
            user_errors += user.values()
            y_errors["one click"] += [
                _y_error(corrected.by_id(m.peak_id), m) for m in kept if m != drag and m.y is not None
            ]
            claims[RULE_NEW_USER] = {p.peak_id for p in corrected.in_frame()}
            tallies[RULE_NEW_USER].add(scored, claims[RULE_NEW_USER], leave_out=drag.peak_id)
        results.append(
            PhotoResult(
                photo.photo.name,
                {k: v for k, v in compass.items() if v is not None},
                None if drag is None else drag.peak_id,
                offset,
                {k: v for k, v in user.items() if v is not None},
                {rule: sorted(ids) for rule, ids in claims.items()},
                {k: v for k, v in registered.items() if v is not None},
                None if fit is None else fit.heading_offset_deg,
                None if fit is None else fit.reason,
            )
        )
    return FrameEvalReport(
        photos=len(labels),
        marked=sum(len(p.marks) for p in labels),
        min_confidence=min_confidence,
        compass=x_error_stats(compass_errors),
        user=x_error_stats(user_errors),
        in_frame=[t.stats(rule) for rule, t in tallies.items()],
        per_photo=results,
        registered=x_error_stats(registered_errors),
        y_errors={mode: x_error_stats(errors) for mode, errors in y_errors.items()},
        registered_photos=accepted,
        registration_tried=tried,
        made_worse=worse,
        registered_by_condition={c: by_condition[c] for c in CONDITIONS if c in by_condition},
        registered_with_ridge=with_ridge if any(p.skyline is not None for p in labels) else None,
    )


# --- text ----------------------------------------------------------------------------------------------------
def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_frame_report(report: FrameEvalReport) -> str:
    """Markdown tables: label errors by heading source (compass, registered, one click) and in-frame
    precision/recall by rule."""
    lines = [
        f"Frame geometry on {report.photos} marked photos ({report.marked} marked peaks; marks of confidence "
        f">= {report.min_confidence} scored)",
        "",
        f"Registered against the terrain: {report.registered_photos} of {report.registration_tried} photos "
        f"tried; fits that made a photo worse by > {WORSE_BY}: {len(report.made_worse)}"
        + (f" ({', '.join(report.made_worse)})" if report.made_worse else "")
        + (
            "; by the labels' conditions: "
            + ", ".join(f"{c} {done} of {seen}" for c, (done, seen) in report.registered_by_condition.items())
            if report.registered_by_condition
            else ""
        )
        + (
            f"; of the photos that show a ridge against the sky (over >= {RIDGE_SHARE:g} of the width): "
            f"{report.registered_with_ridge[0]} of {report.registered_with_ridge[1]}"
            if report.registered_with_ridge is not None
            else ""
        ),
        "",
        "| labels placed by | peaks scored | median abs x error | p90 abs x error | no x "
        "| y marks scored | median abs y error | p90 abs y error | no y |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, stats, mode in (
        ("compass only", report.compass, "compass"),
        ("registered (compass where the fit gives up)", report.registered, "registered"),
        ("one label dragged (other peaks)", report.user, "one click"),
    ):
        y = report.y_errors.get(mode, XErrorStats(0, None, None))
        lines.append(
            f"| {name} | {stats.n} | {_num(stats.median)} | {_num(stats.p90)} | {stats.unplaced} "
            f"| {y.n} | {_num(y.median)} | {_num(y.p90)} | {y.unplaced} |"
        )
    lines += [
        "",
        "| in-frame rule | precision | recall | right claims | wrong claims | unjudged claims | marked peaks |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in report.in_frame:
        lines.append(
            f"| {s.rule} | {_num(s.precision)} | {_num(s.recall)} | {s.true_claims} | {s.false_claims} | "
            f"{s.unjudged_claims} | {s.marked} |"
        )
    return "\n".join(lines)


def format_per_photo(report: FrameEvalReport, names: dict[str, str]) -> str:
    """One row per photo: compass |x error| per peak, the dragged peak and the others' errors after it."""

    def errs(errors: dict[str, float]) -> str:
        return ", ".join(f"{names.get(k, k)} {v:.3f}" for k, v in errors.items()) or "—"

    lines = [
        "| photo | abs x error, compass | registered (offset or why not) | abs x error, registered "
        "| dragged (offset) | abs x error after the drag |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.per_photo:
        drag = (
            "—"
            if r.dragged is None
            else f"{names.get(r.dragged, r.dragged)} ({_num(r.heading_offset_deg, 1)}°)"
        )
        fit = (
            f"{r.registered_offset_deg:+.1f}°"
            if r.registered_offset_deg is not None
            else (r.registration_reason or "—")
        )
        lines.append(
            f"| {r.photo} | {errs(r.compass_errors)} | {fit} | {errs(r.registered_errors)} | {drag} "
            f"| {errs(r.user_errors)} |"
        )
    return "\n".join(lines)
