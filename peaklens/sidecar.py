"""XMP sidecars: what peaklens found, next to each photo, for digiKam, darktable, Immich and Lightroom.

For every stored photo with peaks, a sidecar ``IMG_1234.jpg.xmp`` (the photo's full name plus ``.xmp``:
digiKam's default, darktable's convention and the name Immich looks for first) gets

- the peaks as keywords: ``dc:subject`` ("Ama Dablam"), ``lr:hierarchicalSubject`` ("Peaks|Ama Dablam",
  Lightroom's hierarchy) and ``digiKam:TagsList`` ("Peaks/Ama Dablam", which Immich reads first too);
- the heading the labels rest on: ``exif:GPSImgDirection`` against true north (a magnetic compass turned
  with the World Magnetic Model, plus a skyline or user correction), ``exif:GPSImgDirectionRef`` "T";
- for a photo placed from a GPX track, that position (``exif:GPSLatitude``/``GPSLongitude``).

Peaks are the ones geometry puts in the frame by default; predicted ones (what the model sees) are added on
request above a score cut. Where only ``IMG_1234.xmp`` exists (Lightroom's and Capture One's naming) and no
other photo shares that stem, that sidecar is the one merged into.

Writing is exiftool's: the reference XMP writer, which keeps every other namespace and property of an
existing sidecar as it is (another tool's tags, Lightroom's develop settings) and adds a keyword only when it
is not there yet (``-TAG-=V -TAG+=V``). Python's XMP writers either wrap a C library the system must provide
(python-xmp-toolkit needs Exempi) or rewrite the packet through their own model (pyexiv2), and Immich itself
reads sidecars through exiftool. Only sidecar paths are ever passed to it: a photo is never modified. One
exiftool process writes every sidecar (``-@`` argument file with ``-execute`` per sidecar), then one reads
them all back to confirm each holds its keywords.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from peaklens.errors import BadInput
from peaklens.records import GeoPoint, PhotoHit
from peaklens.store.base import PhotoStore

SIDECAR_SUFFIX = ".xmp"
#: the parent keyword of every peak, in Lightroom's ("|") and digiKam's ("/") hierarchies
PEAKS_PARENT = "Peaks"
EXIFTOOL_MISSING = (
    "exiftool is needed to write XMP sidecars and is not installed "
    "(Debian/Ubuntu: apt-get install libimage-exiftool-perl; macOS: brew install exiftool)."
)


@dataclass(frozen=True)
class SidecarPlan:
    """One sidecar to write: which photo, where, what goes in, and whether it merges into an existing one."""

    photo: str
    sidecar: Path
    peaks: list[str]
    heading_deg: float | None = None
    position: GeoPoint | None = None
    merge: bool = False

    def keywords(self) -> tuple[list[str], list[str], list[str]]:
        """dc:subject, lr:hierarchicalSubject and digiKam:TagsList values."""
        return (
            list(self.peaks),
            [f"{PEAKS_PARENT}|{peak}" for peak in self.peaks],
            [f"{PEAKS_PARENT}/{peak}" for peak in self.peaks],
        )

    def to_json(self) -> dict[str, object]:
        return {
            "photo": self.photo,
            "sidecar": str(self.sidecar),
            "merge": self.merge,
            "peaks": self.peaks,
            "heading_deg": None if self.heading_deg is None else round(self.heading_deg, 2),
            "gps": None if self.position is None else {"lat": self.position.lat, "lon": self.position.lon},
        }

    def describe(self) -> str:
        what = ", ".join(self.peaks)
        if self.heading_deg is not None:
            what += f" · heading {self.heading_deg:.0f}°"
        if self.position is not None:
            what += f" · GPS {self.position.lat:.5f},{self.position.lon:.5f} (GPX)"
        return f"{self.sidecar.name} ({'merge' if self.merge else 'new'}): {what}"


@dataclass
class ExportReport:
    """What an export planned or wrote; ``failed`` maps a sidecar to exiftool's reason."""

    plans: list[SidecarPlan] = field(default_factory=list)
    without_peaks: int = 0
    missing_photos: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)


def sidecar_for(photo: Path, stems: Counter[Path]) -> Path:
    """``photo.jpg.xmp``, unless only ``photo.xmp`` exists and ``stems`` (photo paths without suffix, counted)
    shows no other photo of that stem (a RAW+JPEG pair shares ``photo.xmp``: never guess which one owns it)."""
    full = photo.with_name(photo.name + SIDECAR_SUFFIX)
    short = photo.with_suffix(SIDECAR_SUFFIX)
    if not full.exists() and short.exists() and stems[photo.with_suffix("")] == 1:
        return short
    return full


def peaks_for(hit: PhotoHit, *, predicted: bool, min_score: float) -> list[str]:
    """In-frame peaks (geometry), then, when asked, predicted peaks whose score reaches ``min_score``."""
    peaks = list(hit.peaks_in_frame)
    if predicted:
        for name, score in zip(hit.predicted_peaks, hit.peak_scores, strict=False):
            if score >= min_score and name not in peaks:
                peaks.append(name)
    return peaks


def corrected_heading(hit: PhotoHit) -> float | None:
    """The heading the labels rest on: true north (a magnetic one was turned at indexing) plus the stored
    skyline or user correction."""
    if hit.heading_deg is None:
        return None
    return (hit.heading_deg + (hit.heading_offset_deg or 0.0)) % 360.0


def plan_sidecars(
    hits: Iterable[PhotoHit], album: Path, *, predicted: bool = False, min_score: float = 0.0
) -> ExportReport:
    """What an export would write, photo by photo (sorted by path); photos without peaks get nothing."""
    hits = sorted(hits, key=lambda h: h.path)
    stems = Counter((album / hit.path).with_suffix("") for hit in hits)
    report = ExportReport()
    for hit in hits:
        peaks = peaks_for(hit, predicted=predicted, min_score=min_score)
        if not peaks:
            report.without_peaks += 1
            continue
        photo = album / hit.path
        if not photo.is_file():
            report.missing_photos.append(hit.path)
            continue
        sidecar = sidecar_for(photo, stems)
        report.plans.append(
            SidecarPlan(
                photo=hit.path,
                sidecar=sidecar,
                peaks=peaks,
                heading_deg=corrected_heading(hit),
                position=hit.gps if hit.gps_source == "gpx" else None,
                merge=sidecar.exists(),
            )
        )
    return report


def exiftool_args(plan: SidecarPlan) -> list[str]:
    """exiftool arguments that merge ``plan`` into its sidecar (created when missing) and nothing else."""
    args: list[str] = []
    for tag, values in zip(
        ("XMP-dc:Subject", "XMP-lr:HierarchicalSubject", "XMP-digiKam:TagsList"), plan.keywords(), strict=True
    ):
        for value in values:
            args += [f"-{tag}-={value}", f"-{tag}+={value}"]  # added once, whatever was there
    if plan.heading_deg is not None:
        args += [f"-XMP-exif:GPSImgDirection={plan.heading_deg:.2f}", "-XMP-exif:GPSImgDirectionRef#=T"]
    if plan.position is not None:
        args += [
            f"-XMP-exif:GPSLatitude={plan.position.lat:.7f}",
            f"-XMP-exif:GPSLongitude={plan.position.lon:.7f}",
        ]
    return [*args, "-overwrite_original", str(plan.sidecar)]


def find_exiftool() -> str:
    tool = shutil.which("exiftool")
    if tool is None:
        raise BadInput(EXIFTOOL_MISSING)
    return tool


def write_sidecars(report: ExportReport, exiftool: str | None = None) -> ExportReport:
    """Write every planned sidecar with one exiftool run, then read them back: a sidecar that does not hold
    its keywords afterwards is failed with exiftool's message."""
    if not report.plans:
        return report
    tool = exiftool or find_exiftool()
    for plan in report.plans:
        if plan.sidecar.suffix.lower() != SIDECAR_SUFFIX:  # a photo must never be handed to the writer
            raise BadInput(f"Refusing to write {plan.sidecar}: not an .xmp sidecar.")
    with tempfile.NamedTemporaryFile("w", suffix=".args", encoding="utf-8", delete=False) as handle:
        for plan in report.plans:
            handle.write("\n".join([*exiftool_args(plan), "-execute"]) + "\n")
        argfile = Path(handle.name)
    try:
        done = subprocess.run(
            [tool, "-charset", "filename=utf8", "-@", str(argfile)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        argfile.unlink(missing_ok=True)
    errors = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    held = read_keywords([plan.sidecar for plan in report.plans if plan.sidecar.exists()], tool)
    for plan in report.plans:
        subjects = held.get(plan.sidecar, [])
        if all(peak in subjects for peak in plan.peaks):
            report.written.append(plan.sidecar)
        else:
            reason = next(
                (e for e in errors if plan.sidecar.name in e), errors[0] if errors else "not written"
            )
            report.failed[plan.sidecar] = reason
    return report


def read_keywords(sidecars: list[Path], exiftool: str | None = None) -> dict[Path, list[str]]:
    """``dc:subject`` of each sidecar as exiftool reads it."""
    if not sidecars:
        return {}
    tool = exiftool or find_exiftool()
    done = subprocess.run(
        [tool, "-j", "-XMP-dc:Subject", *(str(s) for s in sidecars)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        rows = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return {}
    found = {}
    for row in rows:
        subject = row.get("Subject", [])
        found[Path(row["SourceFile"])] = [
            str(s) for s in (subject if isinstance(subject, list) else [subject])
        ]
    return found


def stored_photos(store: PhotoStore) -> list[PhotoHit]:
    """Every stored photo (no vector search, no model)."""
    return [hit for batch in store.iter_photo_vectors(1000) for hit, _ in batch]


def export_xmp(
    store: PhotoStore, *, write: bool, predicted: bool = False, min_score: float = 0.0
) -> ExportReport:
    """The ``export xmp`` use case: plan a sidecar per stored photo with peaks, and write them when asked."""
    if not 0.0 <= min_score <= 1.0:
        raise BadInput(f"--min-score {min_score:g} is not a score between 0 and 1.")
    root = store.get_meta().get("album_root")
    if not root:
        raise BadInput("The index does not know its album folder: run `peaklens index ALBUM` first.")
    album = Path(root)
    if not album.is_dir():
        raise BadInput(f"The album folder {album} is not there any more (moved? index it again).")
    if write:
        find_exiftool()  # before anything is planned: a missing writer is one line, at once
    report = plan_sidecars(stored_photos(store), album, predicted=predicted, min_score=min_score)
    return write_sidecars(report) if write else report
