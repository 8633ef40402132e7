"""Indexing an album: scan → decode (threads) → embed (batches) → predict peaks → bulk write.

Re-runs are incremental: a photo whose size and mtime are unchanged is skipped, a changed one is re-embedded,
and the documents of photos that are gone are deleted. A photo that cannot be read is reported with its reason
and left out; everything else still goes in. Embedded photos are written in bulk requests of ``bulk_size``
documents, and at least every ``FLUSH_SECONDS``, so a killed run loses at most the documents not yet written
and the next run picks up where it stopped.

Predicted peaks depend on the catalog (peaks, prototypes, model) and the geo settings. Their fingerprint is kept
in the store's metadata; when it changes (another catalog, another geo weight, a DEM added), every stored
photo's peaks are predicted again from its stored vector — no re-embedding — so facets, ``--peak`` and
``similar`` never read names from an old catalog.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from peaklens.catalog import build_prototypes, load_catalog
from peaklens.config import Settings
from peaklens.dem import Dem
from peaklens.embed.base import Embedder
from peaklens.enrich import HeadingCorrection, PeakPredictor, camera_of
from peaklens.errors import BadInput
from peaklens.frame import camera_of_hit
from peaklens.geo import Camera
from peaklens.imaging import BadImage, LoadedPhoto, decode_many
from peaklens.records import FileSignature, PeakDoc, PhotoDoc, PhotoHit, PhotoUpdate
from peaklens.scan import AlbumFile, photo_id, scan_album
from peaklens.store.base import SCHEMA_VERSION, PhotoStore
from peaklens.store.lock import index_lock
from peaklens.store.upkeep import refresh_and_report

if TYPE_CHECKING:
    from peaklens.registration import Registrar


@dataclass
class IndexReport:
    """What a run did, for the closing summary and for tests."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    #: photo files the scan found (0: the folder holds no photos)
    found: int = 0
    #: photos whose stored peaks were predicted again because the catalog changed
    repredicted: int = 0
    #: photos registered against the terrain, and photos where registration gave up (DEM only)
    registered: int = 0
    registration_gave_up: int = 0
    #: (photo, warning) for EXIF values that were dropped as unusable
    exif_warnings: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    #: the embedding phase alone (what the progress bar's photos/s measures)
    embed_phase_seconds: float = 0.0
    #: where the time went: waiting for decoded photos, in the model, writing to the store
    decode_wait_seconds: float = 0.0
    embed_seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        phase = self.embed_phase_seconds
        rate = (
            f", {self.embedded / phase:.1f} photos/s while embedding" if self.embedded and phase > 0 else ""
        )
        warned = f", {len(self.exif_warnings)} EXIF warning(s)" if self.exif_warnings else ""
        if self.registered or self.registration_gave_up:
            warned += (
                f", registered against the terrain: {self.registered} "
                f"(compass kept for {self.registration_gave_up})"
            )
        return (
            f"added {self.added}, updated {self.updated}, removed {self.removed}, "
            f"skipped {self.unchanged} unchanged, failed {len(self.failed)}{warned} "
            f"({self.seconds:.1f} s in all{rate})"
        )


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} photos/s" if speed else "-- photos/s", style="cyan")


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
    _build_catalog_locked(store, embedder, settings, peaks_file=None, refs_dir=None, say=say)


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
    the stored photos' peaks again. Takes the index lock: a catalog cleared under a running ``index`` would
    leave its photos with peaks of no catalog."""
    with index_lock(settings):
        return _build_catalog_locked(
            store, embedder, settings, peaks_file=peaks_file, refs_dir=refs_dir, say=say
        )


def _build_catalog_locked(
    store: PhotoStore,
    embedder: Embedder,
    settings: Settings,
    *,
    peaks_file: Path | None,
    refs_dir: Path | None,
    say: Callable[[str], None],
) -> int:
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
    if refs_dir is not None:
        meta["catalog_refs"] = str(refs_dir.resolve())
    else:
        meta.pop("catalog_refs", None)
    store.set_meta(meta)
    refresh_predictions(store, settings, say)
    return len(report.written)


def _dem(settings: Settings) -> Dem | None:
    from peaklens.dem import load_dem

    return load_dem(Path(settings.data_dir))


def prediction_fingerprint(peaks: Sequence[PeakDoc], settings: Settings, dem: Dem | None) -> str:
    """What the stored predictions depend on: peak ids, positions and prototypes, the geo settings and the
    terrain. Vectors are hashed at float16 precision so a store's float rounding does not count as a change."""
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
        ).encode()
    )
    return digest.hexdigest()


def stored_correction(hit: PhotoHit) -> HeadingCorrection | None:
    """The heading correction stored for a photo (a registration or a user's drag), if any."""
    if hit.heading_offset_deg is None or hit.heading_source is None:
        return None
    return (hit.heading_offset_deg, hit.heading_source)


def replace_after_terrain_change(store: PhotoStore, settings: Settings) -> int:
    """Place every stored photo against the terrain registered now (frames, in-frame peaks and their facets
    and filters), at once after ``dem add`` / ``dem fetch``; how many photos were placed again (0 when the
    store holds none or its predictions already used these tiles).

    Photos of the album still on disk are registered against the new terrain first (a user's correction is
    kept); a photo that no longer registers keeps its previous correction."""
    dem = _dem(settings)
    meta = store.get_meta()
    if dem is not None and meta.get("predictions_fingerprint") != prediction_fingerprint(
        store.all_peaks(), settings, dem
    ):
        _register_stored(store, dem, meta.get("album_root"))
    return refresh_predictions(store, settings, lambda _: None, cause="terrain")


def _register_stored(store: PhotoStore, dem: Dem, album_root: object) -> None:
    """Register the stored photos with GPS and a compass against ``dem`` from their files in the album."""
    from peaklens.imaging import open_photo

    if not isinstance(album_root, str) or not Path(album_root).is_dir():
        return
    registrar = _registrar(dem)
    for batch in store.iter_photo_vectors():
        updates: dict[str, PhotoUpdate] = {}
        for hit, _ in batch:
            camera = camera_of_hit(hit)
            if camera is None or camera.heading_deg is None or hit.heading_source == "user":
                continue
            try:
                photo = open_photo(Path(album_root) / hit.path)
            except BadImage:
                continue
            camera = replace(camera, aspect=camera.aspect or photo.height / photo.width)
            fit = registrar.register(photo.image, camera)
            if fit is not None and fit.ok and fit.heading_offset_deg is not None:
                registered = replace(camera, pitch_deg=fit.pitch_deg, roll_deg=fit.roll_deg)
                updates[hit.id] = PhotoUpdate(
                    heading_offset_deg=fit.heading_offset_deg,
                    heading_source="registered",
                    extra={**hit.extra, **_camera_extra(registered)},
                )
        if updates:
            store.update_photos(updates)


def refresh_predictions(
    store: PhotoStore, settings: Settings, say: Callable[[str], None], *, cause: str = "catalog"
) -> int:
    """Predict every stored photo's peaks again from its stored vector when the catalog fingerprint changed.

    Returns how many photos were updated (0 when the predictions were current)."""
    peaks = store.all_peaks()
    dem = _dem(settings)
    fingerprint = prediction_fingerprint(peaks, settings, dem)
    meta = store.get_meta()
    if meta.get("predictions_fingerprint") == fingerprint:
        return 0
    count = 0
    if store.count_photos() > 0:
        predictor = PeakPredictor(peaks, settings.top_k_peaks, settings.geo_weight, dem=dem)
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
                say(f"[yellow]could not update the peaks of[/] {doc_id}: {reason}")
            count += len(result.written)
        refresh_and_report(store, say)
        say(f"The peaks {cause} changed: predicted the peaks of {count} stored photo(s) again.")
    meta = store.get_meta()
    meta["predictions_fingerprint"] = fingerprint
    store.set_meta(meta)
    return count


def _batches(
    decoded: Iterator[tuple[AlbumFile, LoadedPhoto | BadImage]],
    size: int,
    on_bad: Callable[[AlbumFile, str], None],
) -> Iterator[list[tuple[AlbumFile, LoadedPhoto]]]:
    batch: list[tuple[AlbumFile, LoadedPhoto]] = []
    for album_file, result in decoded:
        if isinstance(result, BadImage):
            on_bad(album_file, str(result))
            continue
        batch.append((album_file, result))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_album_owner(store: PhotoStore, album: Path, replace: bool) -> None:
    held = store.get_meta().get("album_root")
    if held and Path(held) != album and store.count_photos() > 0 and not replace:
        raise BadInput(
            f"This index holds the album at {held}. Pass --replace to index {album} in its place, "
            "or use another --data-dir / index name to keep both."
        )


def index_album(
    album: Path,
    settings: Settings,
    embedder: Embedder,
    store: PhotoStore,
    *,
    replace: bool = False,
    console: Console | None = None,
    show_progress: bool = True,
) -> IndexReport:
    """Bring the store in line with the album on disk; see the module docstring."""
    console = console or Console(stderr=True)
    started = time.perf_counter()
    if not album.exists():
        raise BadInput(f"Album folder {album} does not exist.")
    if not album.is_dir():
        raise BadInput(f"Album path {album} is not a folder.")
    album = album.resolve()
    with index_lock(settings):
        return _index_locked(album, settings, embedder, store, replace, console, show_progress, started)


def _index_locked(
    album: Path,
    settings: Settings,
    embedder: Embedder,
    store: PhotoStore,
    replace: bool,
    console: Console,
    show_progress: bool,
    started: float,
) -> IndexReport:
    say = console.print
    problems: list[tuple[str, str]] = []
    files = scan_album(album, problems)
    for rel_path, reason in problems:
        say(f"[yellow]skipped[/] {rel_path}: {reason}")
    store.ensure_indices(embedder.dim)
    _check_album_owner(store, album, replace)
    ensure_catalog(store, embedder, settings, say)

    meta = store.get_meta()
    model_changed = meta.get("model") not in (None, embedder.model_id)
    if model_changed:
        say(
            f"The index was built with {meta.get('model')}; re-embedding every photo with {embedder.model_id}."
        )
    meta.update(album_root=str(album), model=embedder.model_id, schema=str(SCHEMA_VERSION))
    store.set_meta(meta)

    report = IndexReport(failed=list(problems), found=len(files))
    report.repredicted = refresh_predictions(store, settings, say)
    stored = store.photo_signatures()
    current = {photo_id(f.rel_path): f for f in files}
    gone = [doc_id for doc_id in stored if doc_id not in current]
    if gone:
        report.removed = store.delete_photos(gone)

    todo: list[AlbumFile] = []
    for doc_id, album_file in current.items():
        old = stored.get(doc_id)
        if old and not model_changed and _same_file(old, album_file):
            report.unchanged += 1
        else:
            todo.append(album_file)

    dem = _dem(settings)
    predictor = PeakPredictor(store.all_peaks(), settings.top_k_peaks, settings.geo_weight, dem=dem)
    registrar = None if dem is None else _registrar(dem)

    def on_bad(album_file: AlbumFile, reason: str) -> None:
        report.failed.append((album_file.rel_path, reason))
        say(f"[yellow]skipped[/] {album_file.rel_path}: {reason}")

    progress = Progress(
        TextColumn("indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress or not todo,
        transient=False,
    )
    writer = _BulkWriter(
        store, stored, report, settings.bulk_size, lambda doc, why: on_bad(current[doc.id], why)
    )
    phase_started = time.perf_counter()
    decoded = decode_many(todo, target=embedder.image_size * 2, workers=settings.decode_workers)
    # Closed here, on every way out: left to the garbage collector, the decode pool's shutdown can run on one
    # of its own threads at exit ("cannot join current thread") after a store error.
    with progress, contextlib.closing(decoded):
        task = progress.add_task("index", total=len(todo))
        batches = _batches(decoded, settings.batch_size, on_bad)
        while True:
            wait_started = time.perf_counter()
            batch = next(batches, None)
            report.decode_wait_seconds += time.perf_counter() - wait_started
            if batch is None:
                break
            embed_started = time.perf_counter()
            vectors = embedder.embed_images([photo.image for _, photo in batch])
            report.embed_seconds += time.perf_counter() - embed_started
            cameras = [camera_of(photo.meta, photo.width, photo.height) for _, photo in batch]
            registered = [
                _registered(photo, camera, registrar, report)
                for (_, photo), camera in zip(batch, cameras, strict=True)
            ]
            cameras = [camera for camera, _ in registered]
            corrections = [correction for _, correction in registered]
            predictions = predictor.predict(vectors, cameras, corrections)
            for (album_file, photo), vector, prediction, camera, correction in zip(
                batch, vectors, predictions, cameras, corrections, strict=True
            ):
                report.exif_warnings.extend((album_file.rel_path, w) for w in photo.meta.warnings)
                doc = _photo_doc(
                    album_file, photo, vector, prediction.names, prediction.scores, prediction.extra
                )
                doc.peaks_in_frame = list(prediction.in_frame)
                if correction is not None:
                    doc.heading_offset_deg, doc.heading_source = correction
                if camera is not None:
                    doc.extra.update(_camera_extra(camera))
                writer.add(doc)
            writer.flush_if_due()
            progress.advance(task, len(batch))
        writer.flush()
    report.embed_phase_seconds = time.perf_counter() - phase_started
    if todo or gone:
        refresh_and_report(store, say)
    meta = store.get_meta()
    meta["predictions_fingerprint"] = prediction_fingerprint(store.all_peaks(), settings, dem)
    store.set_meta(meta)
    report.seconds = time.perf_counter() - started
    return report


def _registrar(dem: Dem) -> Registrar:
    from peaklens.registration import Registrar

    return Registrar(dem)


def _registered(
    photo: LoadedPhoto, camera: Camera | None, registrar: Registrar | None, report: IndexReport
) -> tuple[Camera | None, HeadingCorrection | None]:
    """The camera with the pitch and roll registered against the terrain, and the heading correction, where
    the photo fixes them (the reason is counted, not fatal, where it does not: no edge, another heading fits
    as well)."""
    if registrar is None or camera is None or camera.heading_deg is None:
        return camera, None
    if not registrar.dem.covers(camera.position.lat, camera.position.lon):
        return camera, None
    fit = registrar.register(photo.image, camera)
    if fit is None or not fit.ok or fit.heading_offset_deg is None:
        report.registration_gave_up += 1
        return camera, None
    report.registered += 1
    return replace(camera, pitch_deg=fit.pitch_deg, roll_deg=fit.roll_deg), (
        fit.heading_offset_deg,
        "registered",
    )


def _camera_extra(camera: Camera) -> dict[str, object]:
    """What re-placing the photo later needs besides its EXIF: field of view, aspect, registered attitude."""
    extra: dict[str, object] = {}
    for key, value in (
        ("hfov_deg", camera.hfov_deg),
        ("aspect", camera.aspect),
        ("pitch_deg", camera.pitch_deg),
        ("roll_deg", camera.roll_deg),
    ):
        if value is not None:
            extra[key] = round(value, 3)
    return extra


def _same_file(stored: FileSignature, current: AlbumFile) -> bool:
    """Size and mtime unchanged; mtime compared to 0.1 ms because a store may keep fewer float digits."""
    return stored.size == current.size and abs(stored.mtime - current.mtime) < 1e-4


def _photo_doc(
    album_file: AlbumFile,
    photo: LoadedPhoto,
    vector: object,
    names: list[str],
    scores: list[float],
    extra: dict[str, object],
) -> PhotoDoc:
    meta = photo.meta
    return PhotoDoc(
        id=photo_id(album_file.rel_path),
        path=album_file.rel_path,
        vector=vector,  # type: ignore[arg-type]
        predicted_peaks=names,
        peak_scores=scores,
        gps=meta.gps,
        altitude_m=meta.altitude_m,
        heading_deg=meta.heading_deg,
        shot_time=meta.shot_time,
        local_time=meta.local_time,
        time_source=meta.time_source,
        file_size=album_file.size,
        file_mtime=album_file.mtime,
        extra=extra,
    )


#: a bulk request goes out at least this often, so a slow model never holds many photos unwritten
FLUSH_SECONDS = 10.0


class _BulkWriter:
    """Collects documents into bulk requests of ``bulk_size``; a failed document is reported by id."""

    def __init__(
        self,
        store: PhotoStore,
        stored: Mapping[str, object],
        report: IndexReport,
        bulk_size: int,
        on_bad_id: Callable[[PhotoDoc, str], None],
    ) -> None:
        self.store, self.stored, self.report = store, stored, report
        self.bulk_size = max(1, bulk_size)
        self.on_bad_id = on_bad_id
        self.pending: list[PhotoDoc] = []
        self.last_flush = time.perf_counter()

    def add(self, doc: PhotoDoc) -> None:
        self.pending.append(doc)
        if len(self.pending) >= self.bulk_size:
            self._write(self.pending[: self.bulk_size])
            self.pending = self.pending[self.bulk_size :]

    def flush_if_due(self) -> None:
        if self.pending and time.perf_counter() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        while self.pending:
            chunk, self.pending = self.pending[: self.bulk_size], self.pending[self.bulk_size :]
            self._write(chunk)

    def _write(self, chunk: Sequence[PhotoDoc]) -> None:
        started = time.perf_counter()
        result = self.store.upsert_photos(chunk)
        by_id = {doc.id: doc for doc in chunk}
        for doc_id, reason in result.failed.items():
            self.on_bad_id(by_id[doc_id], f"not stored: {reason}")
        for doc_id in result.written:
            if doc_id in self.stored:
                self.report.updated += 1
            else:
                self.report.added += 1
        self.last_flush = time.perf_counter()
        self.report.write_seconds += self.last_flush - started


def choose_album_precision(album: Path, settings: Settings, say: Callable[[str], None]) -> str | None:
    """The first time a model runs on a CPU with ``precision: auto``, measure int8 against fp32 on up to 32 of
    this album's photos and the catalog's prompts, store the decision and say it (docs/PRECISION.md).

    Returns the precision chosen, or None when nothing needed deciding (explicit precision, a GPU, or a
    decision already stored)."""
    from peaklens.embed.precision import MAX_SAMPLE_IMAGES, choose_precision, precision_decision
    from peaklens.embed.prompts import PEAK_PROMPTS, prompts_for
    from peaklens.embed.runtime import on_cpu, resolve_runtime
    from peaklens.imaging import open_photo

    if settings.precision != "auto" or not on_cpu(settings):
        return None
    if precision_decision(settings, resolve_runtime(settings)) is not None:
        return None
    files = scan_album(album.resolve(), [])
    step = max(1, len(files) // MAX_SAMPLE_IMAGES)
    images = []
    for album_file in files[::step][:MAX_SAMPLE_IMAGES]:
        try:
            images.append(open_photo(album_file.abs_path, target=448).image)
        except BadImage:
            continue
    peaks, _warnings = load_catalog(None)
    prompts = {peak.id: prompts_for(peak.names, PEAK_PROMPTS) for peak in peaks}
    say(f"Measuring int8 against fp32 on {len(images)} of your photos (first use of this model on this CPU)…")
    decision = choose_precision(settings, images, prompts)
    say(f"precision: {decision.reason}")
    return decision.precision
