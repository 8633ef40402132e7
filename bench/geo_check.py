"""Hand check of the geo prior on the real trek photos: which catalog peaks does each photo's view cone hold?

For every photo with GPS this prints where it was taken, the compass heading, the horizontal field of view and
the catalog peaks in front of the camera (distance and bearing). ``HAND_LABELS`` holds what a person saw when
looking at some of the photos (docs/GEO.md); the summary compares those labels with the cone.

    .venv/bin/python -m bench.geo_check [--catalog PATH] [--photos DIR]   (prints markdown)

Terrain occlusion is not modelled: many peaks "in the cone" are hidden behind a nearer ridge.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from bench.common import TREK, table
from peaklens.catalog import CatalogPeak, load_catalog
from peaklens.exif import read_meta
from peaklens.geo import Camera, PeakView, geo_prior, horizontal_fov_deg
from peaklens.names import PeakNameIndex

#: peak ids (default catalog) clearly visible in the photo, from looking at it; () = no catalog peak in view.
#: Only photos where the peak could be told with confidence; "likely" ones are noted in docs/GEO.md.
HAND_LABELS: dict[str, tuple[str, ...]] = {
    # Deboche / Milinggo, facing Ama Dablam
    "IMG_2288.jpg": ("ama-dablam",),
    "IMG_2300.jpg": ("ama-dablam",),
    "IMG_2323.jpg": ("ama-dablam",),
    "IMG_2332.jpg": ("ama-dablam",),
    # above Dingboche (Nangkartshang slope)
    "IMG_2490.jpg": ("ama-dablam",),
    "IMG_2492.jpg": ("ama-dablam",),
    "IMG_2504.jpg": ("ama-dablam",),
    "IMG_2486.jpg": ("lhotse", "island-peak"),
    "IMG_2571.jpg": ("lhotse",),
    "IMG_2448.jpg": ("taboche", "cholatse"),
    "IMG_2577.jpg": ("taboche",),
    # Tengboche
    "IMG_2922.jpg": ("ama-dablam",),
    "IMG_2195.jpg": ("mount-everest", "lhotse", "nuptse"),
    "IMG_2197.jpg": ("mount-everest", "lhotse"),
    "IMG_2235.jpg": ("mount-everest", "lhotse", "nuptse"),
    "IMG_2250.jpg": ("mount-everest", "lhotse", "nuptse", "ama-dablam"),
    "IMG_2194.jpg": ("kongde-ri",),
    # Thukla / Dughla, Ama Dablam to the south-east
    "IMG_2853.jpg": ("ama-dablam",),
    "IMG_2865.jpg": ("ama-dablam",),
    "IMG_2877.jpg": ("ama-dablam",),
    "IMG_2887.jpg": ("ama-dablam",),
    "IMG_2879.jpg": ("ama-dablam",),
    "IMG_2885.jpg": ("ama-dablam",),
    "IMG_2886.jpg": ("ama-dablam",),
    "IMG_2656.jpg": ("taboche", "cholatse"),
    # trail above Dingboche towards Thukla
    "IMG_2609.jpg": ("lobuche-east",),
    "IMG_2604.jpg": ("lobuche-east",),
    # Lobuche / Gorak Shep
    "IMG_2647.jpg": ("pumori",),
    "IMG_2733.jpg": ("pumori",),
    "IMG_2738.jpg": ("pumori",),
    "IMG_2761.jpg": ("pumori",),
    "IMG_2844.jpg": ("pumori",),
    "IMG_2742.jpg": ("nuptse",),
    "IMG_2749.jpg": ("nuptse",),
    "IMG_2750.jpg": ("nuptse",),
    "IMG_2756.jpg": ("nuptse",),
    # Namche and the trail to Tengboche
    "IMG_1725.jpg": ("thamserku",),
    "IMG_1894.jpg": ("kongde-ri",),
    "IMG_1920.jpg": ("ama-dablam", "mount-everest", "lhotse", "nuptse"),
    "IMG_2056.jpg": ("ama-dablam", "mount-everest", "lhotse"),
    "IMG_2114.jpg": ("ama-dablam", "mount-everest", "lhotse"),
    "IMG_2378.jpg": ("lhotse", "nuptse"),
    # no catalog peak in the frame
    "IMG_1556.jpg": (),  # forested valley
    "IMG_2630.jpg": (),  # telephoto of a grassy slope
    "IMG_2506.jpg": (),  # rock peaks west of Dingboche (Arakam Tse? not in the default catalog)
    "IMG_2602.jpg": (),  # dark peak NNW of Dingboche (Lobuche West or Nirekha, not in the default catalog)
    "IMG_2640.jpg": (),  # Arakam Tse / Cholatse ridge seen end-on; Arakam Tse not in the default catalog
}


@dataclass
class PhotoView:
    file: str
    camera: Camera
    views: list[PeakView]

    def in_frame(self) -> list[PeakView]:
        """Visible and inside the frame as the compass puts it (no margin)."""
        if self.camera.heading_deg is None:
            return [v for v in self.views if v.visible]
        half = (self.camera.hfov_deg or 0.0) / 2
        return sorted(
            (
                v
                for v in self.views
                if v.visible and v.off_axis_deg is not None and abs(v.off_axis_deg) <= half
            ),
            key=lambda v: v.off_axis_deg or 0.0,
        )

    def in_cone(self) -> list[PeakView]:
        """Where the prior is 1: the frame plus the compass margin."""
        return sorted((v for v in self.views if v.in_view), key=lambda v: v.off_axis_deg or 0.0)


def photo_views(folder: Path, peaks: Sequence[CatalogPeak]) -> list[PhotoView]:
    geo_input = [(p.id, p.latlon, None if p.elev_m is None else float(p.elev_m)) for p in peaks]
    found = []
    for path in sorted(folder.glob("*.jp*g")):
        with Image.open(path) as image:
            meta = read_meta(image)
            width, height = image.size
        if meta.gps is None:
            continue
        if meta.orientation in (5, 6, 7, 8):  # shown rotated by 90°
            width, height = height, width
        hfov = horizontal_fov_deg(meta.focal_length_35mm, meta.focal_length_mm, width, height)
        camera = Camera(meta.gps, meta.altitude_m, meta.heading_deg, hfov)
        views = [v for v in geo_prior(camera, geo_input) if v is not None]
        found.append(PhotoView(path.name, camera, views))
    return found


def _peaks(views: Sequence[PeakView], names: dict[str, str]) -> str:
    return ", ".join(f"{names[v.peak_id]} {v.distance_km:.1f} km {v.bearing_deg:.0f}°" for v in views) or "—"


def _num(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def view_table(photos: Sequence[PhotoView], names: dict[str, str]) -> str:
    rows = []
    for photo in photos:
        cam = photo.camera
        frame = photo.in_frame()
        margin_only = [v for v in photo.in_cone() if v not in frame]
        rows.append(
            [
                photo.file,
                f"{cam.position.lat:.4f}, {cam.position.lon:.4f}",
                _num(cam.altitude_m),
                _num(cam.heading_deg),
                _num(cam.hfov_deg),
                _peaks(frame, names),
                _peaks(margin_only, names),
            ]
        )
    header = ["file", "lat, lon", "alt m", "heading°", "hfov°", "in frame (compass)", "+ in margin (prior 1)"]
    return table(header, rows)


def label_ids(peaks: Sequence[CatalogPeak]) -> dict[str, tuple[str, ...]]:
    """HAND_LABELS in the ids of ``peaks``: labels name default-catalog ids, other catalogs spell them apart
    ("kongde-ri" is "kwangde-ri" in the trek's peaks.yaml), so go through the names."""
    default_names = {p.id: p.names for p in load_catalog()[0]}
    index = PeakNameIndex((p.id, p.names) for p in peaks)

    def translate(label: str) -> str:
        for name in (*default_names.get(label, []), label):
            match = index.match(name)
            if match and match.score == 1.0:
                return match.peak_id
        return label

    return {file: tuple(translate(label) for label in labels) for file, labels in HAND_LABELS.items()}


def summary(photos: Sequence[PhotoView], peaks: Sequence[CatalogPeak]) -> str:
    labels = label_ids(peaks)
    catalog_size = len(peaks)
    by_file = {p.file: p for p in photos}
    labelled = [by_file[f] for f in labels if f in by_file]
    with_peaks = [p for p in labelled if labels[p.file]]
    seen = [(p, peak) for p in with_peaks for peak in labels[p.file]]
    frame = sum(peak in {v.peak_id for v in p.in_frame()} for p, peak in seen)
    cone = sum(peak in {v.peak_id for v in p.in_cone()} for p, peak in seen)
    photos_all_in_cone = sum(set(labels[p.file]) <= {v.peak_id for v in p.in_cone()} for p in with_peaks)
    extra = [len({v.peak_id for v in p.in_cone()} - set(labels[p.file])) for p in labelled]
    sizes = [len(p.in_cone()) for p in photos if p.camera.heading_deg is not None]
    lines = [
        f"- photos with GPS: {len(photos)}; with a heading: {len(sizes)}; catalog peaks: {catalog_size}",
        f"- peaks with prior 1 per photo (the cone incl. margin): median {statistics.median(sizes):.0f}, "
        f"max {max(sizes)}"
        if sizes
        else "- no photo has a heading",
        f"- hand-labelled photos: {len(labelled)} ({len(with_peaks)} with a catalog peak in view, "
        f"{len(labelled) - len(with_peaks)} without)",
        f"- labelled peaks in the frame by the compass: {frame}/{len(seen)}; in the cone incl. margin "
        f"(prior 1): {cone}/{len(seen)}; photos with every labelled peak at prior 1: "
        f"{photos_all_in_cone}/{len(with_peaks)}",
        f"- cone peaks not seen in the labelled photos (mostly hidden behind a nearer ridge): "
        f"{sum(extra)} over {len(labelled)} photos",
    ]
    margin_only = [
        f"{p.file}: {peak}"
        for p, peak in seen
        if peak in {v.peak_id for v in p.in_cone()} and peak not in {v.peak_id for v in p.in_frame()}
    ]
    if margin_only:
        lines.append("- labelled, in the cone only thanks to the margin: " + "; ".join(margin_only))
    missed = [f"{p.file}: {peak}" for p, peak in seen if peak not in {v.peak_id for v in p.in_cone()}]
    if missed:
        lines.append("- labelled but outside the cone: " + "; ".join(missed))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=TREK / "jpeg")
    parser.add_argument("--catalog", type=Path, default=None, help="peaks YAML (default: the packaged one)")
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        print(f"{args.photos} is not a folder of photos", file=sys.stderr)
        return 2
    peaks, warnings = load_catalog(args.catalog)
    for warning in warnings:
        print(f"note: {warning}", file=sys.stderr)
    names = {p.id: p.names[0] for p in peaks}
    photos = photo_views(args.photos, peaks)
    print(view_table(photos, names))
    print()
    print(summary(photos, peaks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
