"""Keeping the catalog and the stored photos' peaks in step: building the catalog, calibrating blended
prototypes against the album, and predicting every stored photo's peaks again when what they depend on changed.

Predicted peaks depend on the catalog (peaks, prototypes, model, calibration), the geo settings and the terrain.
Their fingerprint is kept in the store's metadata; when it changes, every stored photo's peaks are predicted
again from its stored vector — no re-embedding — so facets, ``--peak`` and ``similar`` never read names from an
old catalog. Every catalog build also writes a new ``catalog_fingerprint`` stamp, by which a running UI sees it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from peaklens.catalog import (
    CALIBRATION_META,
    CALIBRATION_PHOTOS,
    MIN_CALIBRATION_PHOTOS,
    Calibration,
    build_prototypes,
    calibrate_prototypes,
    calibration_json,
    is_blended,
    load_catalog,
    stored_calibration,
)
from peaklens.catalog_state import FINGERPRINT_KEY
from peaklens.config import Settings
from peaklens.dem import Dem
from peaklens.embed.base import Embedder
from peaklens.enrich import HeadingCorrection, PeakPredictor
from peaklens.errors import BadInput
from peaklens.frame import camera_of_hit
from peaklens.records import PeakDoc, PhotoHit, PhotoUpdate
from peaklens.store.base import PhotoStore
from peaklens.store.lock import index_lock
from peaklens.store.upkeep import refresh_and_report

DEFAULT_CATALOG = "default"


def ensure_catalog(
    store: PhotoStore, embedder: Embedder, settings: Settings, say: Callable[[str], None]
) -> None:
    """Build the default catalog when the store has none. A catalog made with another model is rebuilt only
    when it was the default one: a custom catalog is never swapped for the default behind the user's back."""
    meta = store.get_meta()
    if store.all_peaks():
        if meta.get("catalog_model") == embedder.model_id:
            return
        source = meta.get("catalog_source", DEFAULT_CATALOG)
        if source != DEFAULT_CATALOG:
            refs = meta.get("catalog_refs")
            raise BadInput(
                f"The peaks catalog was built from {source} with {meta.get('catalog_model')}, and this run "
                f"uses {embedder.model_id}: rebuild it for this model with "
                f"`peaklens catalog build --peaks {source}" + (f" --refs {refs}`" if refs else "`") + "."
            )
    say("Building the peaks catalog (default peaks, text prompts) for this model…")
    build_catalog(store, embedder, settings, peaks_file=None, refs_dir=None, say=say)


def build_catalog(
    store: PhotoStore,
    embedder: Embedder,
    settings: Settings,
    *,
    peaks_file: Path | None,
    refs_dir: Path | None,
    say: Callable[[str], None],
) -> int:
    """Replace the catalog with prototypes built from ``peaks_file`` (default catalog when None), then predict
    the stored photos' peaks again. Under the index lock (re-entrant: an index run that builds the default
    catalog holds it already): a catalog cleared under a running ``index`` would leave its photos with peaks
    of no catalog."""
    with index_lock(settings):
        if refs_dir is not None and not refs_dir.is_dir():
            raise BadInput(f"Reference folder {refs_dir} does not exist or is not a folder.")
        peaks, warnings = load_catalog(peaks_file)
        for line in warnings:
            say(line)
        docs = build_prototypes(
            embedder,
            peaks,
            refs_dir=refs_dir,
            alpha_text=settings.alpha_text,
            anti_concept_weight=settings.anti_concept_weight,
            report=say,
        )
        store.ensure_indices(embedder.dim)
        store.clear_peaks()
        report = store.upsert_peaks(docs)
        for peak_id, reason in report.failed.items():
            say(f"could not store peak {peak_id}: {reason}")
        refresh_and_report(store, say)
        meta = store.get_meta()
        meta["catalog_model"] = embedder.model_id
        meta["catalog_source"] = str(peaks_file.resolve()) if peaks_file is not None else DEFAULT_CATALOG
        meta["catalog_anti_concept_weight"] = repr(float(settings.anti_concept_weight))
        # a new catalog: every open library reads it at its next action
        meta[FINGERPRINT_KEY] = uuid.uuid4().hex
        if refs_dir is not None:
            meta["catalog_refs"] = str(refs_dir.resolve())
        else:
            meta.pop("catalog_refs", None)
        store.set_meta(meta)
        calibrate_catalog(store, say)
        refresh_predictions(store, settings, say)
        return len(report.written)


def calibrate_catalog(store: PhotoStore, say: Callable[[str], None]) -> None:
    """Calibrate the catalog's prototypes blended with reference photos against the stored photos
    (``catalog.calibrate_prototypes``, docs/CATALOG.md) and keep the result in the store's metadata, where
    every prediction reads it. Reads at most ``CALIBRATION_PHOTOS`` stored vectors."""
    peaks = store.all_peaks()
    meta = store.get_meta()
    if not any(is_blended(peak) for peak in peaks):
        if meta.pop(CALIBRATION_META, None) is not None:
            store.set_meta(meta)
        return
    vectors: list[np.ndarray] = []
    if store.count_photos() > 0:
        for batch in store.iter_photo_vectors(1000):
            vectors += [vector for _, vector in batch]
            if len(vectors) >= CALIBRATION_PHOTOS:
                break
    album = np.stack(vectors[:CALIBRATION_PHOTOS]) if vectors else np.zeros((0, 1), dtype=np.float32)
    calibration = calibrate_prototypes(peaks, album)
    meta[CALIBRATION_META] = calibration_json(calibration, len(album))
    store.set_meta(meta)
    if calibration:
        say(
            f"Calibrated the {len(calibration)} peak(s) with reference photos against {len(album)} of your "
            "photos, so they compete with the text-only peaks on one scale."
        )
    else:
        say(
            f"The peaks with reference photos are calibrated once the album holds {MIN_CALIBRATION_PHOTOS} "
            "photos (at the end of the next `peaklens index`)."
        )


def calibration_due(store: PhotoStore) -> bool:
    """Whether the blended prototypes should be calibrated again: never calibrated on enough photos, or the
    album has doubled since (a calibration on 10 photos says little about 1,000)."""
    if not any(is_blended(peak) for peak in store.all_peaks()):
        return False
    _calibration, photos = stored_calibration(store.get_meta())
    now = store.count_photos()
    if now < MIN_CALIBRATION_PHOTOS:
        return False
    return photos < MIN_CALIBRATION_PHOTOS or now >= 2 * photos


def current_calibration(store: PhotoStore) -> Calibration:
    """The calibration every prediction uses (empty: every prototype on its own cosine scale)."""
    return stored_calibration(store.get_meta())[0]


def terrain_of(settings: Settings) -> Dem | None:
    from peaklens.dem import load_dem

    return load_dem(Path(settings.data_dir))


def prediction_fingerprint(
    peaks: Sequence[PeakDoc], settings: Settings, dem: Dem | None, calibration: Calibration | None = None
) -> str:
    """What the stored predictions depend on: peak ids, positions and prototypes with their calibration, the
    geo settings and the terrain. Vectors are hashed at float16 precision so a store's float rounding does not
    count as a change."""
    digest = hashlib.sha1()
    for peak in sorted(peaks, key=lambda p: p.id):
        position = (peak.latlon.lat, peak.latlon.lon) if peak.latlon else None
        digest.update(json.dumps([peak.id, peak.names[0], position, peak.elev_m]).encode())
        digest.update(np.asarray(peak.vector, dtype=np.float16).tobytes())
    digest.update(
        json.dumps(
            [
                settings.top_k_peaks,
                round(settings.geo_weight, 6),
                [t.describe() for t in dem.tiles] if dem is not None else None,
            ]
            + (
                [sorted((k, round(a, 6), round(b, 6)) for k, (a, b) in calibration.items())]
                if calibration
                else []
            )
        ).encode()
    )
    return digest.hexdigest()


def stored_correction(hit: PhotoHit) -> HeadingCorrection | None:
    """The heading correction stored for a photo (a registration or a user's click), if any."""
    if hit.heading_offset_deg is None or hit.heading_source is None:
        return None
    return (hit.heading_offset_deg, hit.heading_source)


def refresh_predictions(
    store: PhotoStore, settings: Settings, say: Callable[[str], None], *, cause: str = "peaks catalog"
) -> int:
    """Predict every stored photo's peaks again from its stored vector when the catalog fingerprint changed.

    Returns how many photos were updated (0 when the predictions were current)."""
    peaks = store.all_peaks()
    dem = terrain_of(settings)
    calibration = current_calibration(store)
    fingerprint = prediction_fingerprint(peaks, settings, dem, calibration)
    meta = store.get_meta()
    if meta.get("predictions_fingerprint") == fingerprint:
        return 0
    count = 0
    if store.count_photos() > 0:
        predictor = PeakPredictor(
            peaks, settings.top_k_peaks, settings.geo_weight, dem=dem, calibration=calibration
        )
        for batch in store.iter_photo_vectors(max(settings.bulk_size, 1)):
            vectors = np.stack([vector for _, vector in batch])
            cameras = [camera_of_hit(hit) for hit, _ in batch]
            corrections = [stored_correction(hit) for hit, _ in batch]
            predictions = predictor.predict(vectors, cameras, corrections)
            updates = {
                hit.id: PhotoUpdate(
                    predicted_peaks=prediction.names,
                    peak_scores=prediction.scores,
                    peaks_in_frame=list(prediction.in_frame),
                    extra={**hit.extra, **prediction.extra},
                )
                for (hit, _), prediction in zip(batch, predictions, strict=True)
            }
            result = store.update_photos(updates)
            for doc_id, reason in result.failed.items():
                say(f"could not update the peaks of {doc_id}: {reason}")
            count += len(result.written)
        refresh_and_report(store, say)
        say(f"The {cause} changed: predicted the peaks of {count} stored photo(s) again.")
    meta = store.get_meta()
    meta["predictions_fingerprint"] = fingerprint
    store.set_meta(meta)
    return count
