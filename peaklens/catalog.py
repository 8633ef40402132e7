"""The peaks catalog: a YAML list of peaks turned into one prototype vector per peak.

Prototype = normalise(alpha * text + (1 - alpha) * image), where text is the prompt ensemble over every name
minus the anti-concept, and image is the normalised mean of up to 3 reference photos found in
``<refs>/<id>/`` (or the slug of the first name). Without reference photos the text vector is used alone.

A blended prototype scores every photo far higher than a text-only one does (a photo is much closer to other
photos than to any text), so it is calibrated against the album (``calibrate_prototypes``): its cosine is
mapped onto the mean and spread its own text prototype has on the album's photos. docs/CATALOG.md has the
measurements behind this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from peaklens.embed.base import Embedder, l2_normalise
from peaklens.embed.prompts import PEAK_PROMPTS, ensemble_vector, prompts_for
from peaklens.errors import BadInput
from peaklens.records import GeoPoint, PeakDoc
from peaklens.scan import IMAGE_EXTENSIONS

MAX_REFERENCE_IMAGES = 3
#: a calibration needs this many album photos (fewer give no usable spread); it reads at most CALIBRATION_PHOTOS
MIN_CALIBRATION_PHOTOS = 8
CALIBRATION_PHOTOS = 5000
#: the store metadata key holding the calibration: {"photos": N, "peaks": {peak id: [scale, shift]}}
CALIBRATION_META = "peak_calibration"
#: (scale, shift) of one peak: its calibrated score is scale * cosine + shift
Calibration = Mapping[str, tuple[float, float]]


@dataclass
class CatalogPeak:
    id: str
    names: list[str]
    latlon: GeoPoint | None = None
    elev_m: int | None = None
    warnings: list[str] = field(default_factory=list)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def default_catalog_path() -> Path:
    return Path(str(resources.files("peaklens") / "data" / "peaks.yaml"))


def load_catalog(path: Path | None = None) -> tuple[list[CatalogPeak], list[str]]:
    """Peaks from a YAML file (the packaged default when ``path`` is None), plus warnings to show.

    Accepts ``lat``/``lon`` or ``latlon: {lat, lon}``. A repeated id keeps its first entry and gains the other
    entry's names (the trek's peaks.yaml lists Ama Dablam twice), with a warning.
    """
    path = path or default_catalog_path()
    if not path.is_file():
        raise BadInput(f"Peaks catalog {path} does not exist.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInput(f"Peaks catalog {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise BadInput(
            f"Peaks catalog {path} must be a non-empty list of peaks (id, names, lat, lon, elev_m)."
        )
    peaks: dict[str, CatalogPeak] = {}
    warnings: list[str] = []
    for position, entry in enumerate(raw, start=1):
        peak = _parse_peak(entry, position, path)
        if peak.id in peaks:
            kept = peaks[peak.id]
            kept.names.extend(n for n in peak.names if n not in kept.names)
            warnings.append(
                f"{path.name}: peak id '{peak.id}' appears again (entry {position}); kept the first."
            )
            continue
        peaks[peak.id] = peak
    return list(peaks.values()), warnings


def _parse_peak(entry: Any, position: int, path: Path) -> CatalogPeak:
    where = f"Peaks catalog {path}, entry {position}"
    if not isinstance(entry, dict):
        raise BadInput(f"{where}: expected a mapping with id and names.")
    names = entry.get("names") or ([entry["name"]] if entry.get("name") else [])
    if isinstance(names, str):
        names = [names]
    names = [str(n).strip() for n in names if str(n).strip()]
    if not names:
        raise BadInput(f"{where}: a peak needs at least one name.")
    peak_id = str(entry.get("id") or slugify(names[0])).strip()
    lat, lon = entry.get("lat"), entry.get("lon")
    if isinstance(entry.get("latlon"), dict):
        lat, lon = entry["latlon"].get("lat"), entry["latlon"].get("lon")
    latlon = None
    if lat is not None and lon is not None:
        try:
            latlon = GeoPoint(float(lat), float(lon))
        except (TypeError, ValueError):
            raise BadInput(f"{where} ({peak_id}): lat/lon must be numbers.") from None
        if not (-90 <= latlon.lat <= 90 and -180 <= latlon.lon <= 180):
            raise BadInput(f"{where} ({peak_id}): lat/lon out of range.")
    elev = entry.get("elev_m")
    try:
        elev_m = int(elev) if elev is not None else None
    except (TypeError, ValueError):
        raise BadInput(f"{where} ({peak_id}): elev_m must be a number.") from None
    return CatalogPeak(peak_id, names, latlon, elev_m)


def reference_images(refs_dir: Path | None, peak: CatalogPeak) -> list[Path]:
    """Up to 3 reference photos (sorted) from ``refs/<id>``, ``refs/<slug>`` or ``refs/<slug_with_underscores>``."""
    return reference_candidates(refs_dir, peak)[:MAX_REFERENCE_IMAGES]


def reference_candidates(refs_dir: Path | None, peak: CatalogPeak) -> list[Path]:
    """Every reference photo of a peak (sorted), before the cap."""
    if refs_dir is None:
        return []
    slug = slugify(peak.names[0])
    for folder_name in dict.fromkeys([peak.id, slug, slug.replace("-", "_"), peak.id.replace("-", "_")]):
        folder = refs_dir / folder_name
        if folder.is_dir():
            files = sorted(
                p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
            )
            return files
    return []


def build_prototypes(
    embedder: Embedder,
    peaks: list[CatalogPeak],
    *,
    refs_dir: Path | None = None,
    alpha_text: float = 0.5,
    anti_concept_weight: float = 0.25,
    load_image: Callable[[Path], Any] | None = None,
    report: Callable[[str], None] = lambda line: None,
) -> list[PeakDoc]:
    """One PeakDoc per peak with its blended prototype; unreadable reference photos are reported and skipped."""
    from peaklens.imaging import BadImage, open_photo

    alpha = min(1.0, max(0.0, alpha_text))
    opener = load_image or (lambda p: open_photo(p, target=embedder.image_size * 2).image)
    docs: list[PeakDoc] = []
    for peak in peaks:
        text_vec = ensemble_vector(embedder, prompts_for(peak.names, PEAK_PROMPTS), anti_concept_weight)
        images = []
        candidates = reference_candidates(refs_dir, peak)
        for ref in candidates[:MAX_REFERENCE_IMAGES]:
            try:
                images.append(opener(ref))
            except BadImage as exc:
                report(f"skipped reference photo {ref}: {exc}")
        vector = text_vec
        if images and alpha < 1.0:
            image_vec = l2_normalise(embedder.embed_images(images).mean(axis=0))
            vector = l2_normalise(alpha * text_vec + (1.0 - alpha) * image_vec)
        if images:
            capped = (
                f" (the first {MAX_REFERENCE_IMAGES} of {len(candidates)} by name; at most "
                f"{MAX_REFERENCE_IMAGES} are used)"
                if len(candidates) > MAX_REFERENCE_IMAGES
                else ""
            )
            report(f"{peak.names[0]}: blended {len(images)} reference photo(s){capped}")
        docs.append(
            PeakDoc(
                id=peak.id,
                names=list(peak.names),
                vector=np.asarray(vector),
                latlon=peak.latlon,
                elev_m=peak.elev_m,
                text_vector=np.asarray(text_vec),
            )
        )
    return docs


def is_blended(peak: PeakDoc) -> bool:
    """Whether the prototype mixes reference photos into the text (it differs from the text prototype)."""
    if peak.text_vector is None:
        return False
    return not np.allclose(np.asarray(peak.vector), np.asarray(peak.text_vector), atol=1e-5)


def calibrate_prototypes(peaks: Sequence[PeakDoc], album: np.ndarray) -> dict[str, tuple[float, float]]:
    """(scale, shift) per blended peak, so that ``scale * cos(photo, prototype) + shift`` has, over the album's
    photos, the mean and standard deviation that ``cos(photo, its text prototype)`` has.

    The reference photos still decide which photos score high for their peak (the order of a peak's scores is
    kept), but no longer lift the peak above the text-only ones on every photo. Text-only peaks need none
    (their calibration is the identity); too few photos (``MIN_CALIBRATION_PHOTOS``) calibrate nothing."""
    vectors = np.asarray(album, dtype=np.float32)
    if len(vectors) < MIN_CALIBRATION_PHOTOS:
        return {}
    calibration: dict[str, tuple[float, float]] = {}
    for peak in peaks:
        if not is_blended(peak):
            continue
        blended = vectors @ np.asarray(peak.vector, dtype=np.float32)
        text = vectors @ np.asarray(peak.text_vector, dtype=np.float32)
        spread = float(blended.std())
        if spread < 1e-9:
            continue
        scale = float(text.std()) / spread
        calibration[peak.id] = (scale, float(text.mean()) - scale * float(blended.mean()))
    return calibration


def calibration_json(calibration: Calibration, photos: int) -> str:
    """The calibration as stored in the store's metadata (``CALIBRATION_META``)."""
    peaks = {peak_id: [round(a, 8), round(b, 8)] for peak_id, (a, b) in sorted(calibration.items())}
    return json.dumps({"photos": photos, "peaks": peaks})


def stored_calibration(meta: Mapping[str, str]) -> tuple[dict[str, tuple[float, float]], int]:
    """(the calibration, how many photos it was computed from) from the store's metadata; ({}, 0) if none."""
    try:
        data = json.loads(meta.get(CALIBRATION_META) or "{}")
        peaks = {str(k): (float(v[0]), float(v[1])) for k, v in dict(data.get("peaks", {})).items()}
        return peaks, int(data.get("photos", 0))
    except (TypeError, ValueError, IndexError, AttributeError):
        return {}, 0
