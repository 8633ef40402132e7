"""Indexing an album: scan → decode (threads) → embed (batches) → predict peaks → bulk write.

Re-runs are incremental: a photo whose size and mtime are unchanged is skipped, a changed one is re-embedded,
and the documents of photos that are gone are deleted. A photo that cannot be read is reported with its reason
and left out; everything else still goes in. Embedded photos are written in bulk requests of ``bulk_size``
documents, and at least every ``FLUSH_SECONDS``, so a killed run loses at most the documents not yet written
and the next run picks up where it stopped.

Before a run, the stored photos' peaks are brought in step with the catalog and the terrain
(``peaklens.catalog_sync``); the CPU precision is chosen on the album's own photos (``peaklens.album_precision``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from peaklens.catalog_sync import (
    calibrate_catalog,
    calibration_due,
    current_calibration,
    ensure_catalog,
    prediction_fingerprint,
    refresh_predictions,
    terrain_of,
)
from peaklens.config import Settings
from peaklens.dem import Dem
from peaklens.embed.base import Embedder
from peaklens.enrich import HeadingCorrection, PeakPredictor, camera_of
from peaklens.errors import BadInput
from peaklens.geo import Camera
from peaklens.gpx import Geotagger, GeotagReport, geotagger_from_settings
from peaklens.imaging import BadImage, LoadedPhoto, decode_many
from peaklens.progress import QUIET, RunEvents
from peaklens.records import FileSignature, PhotoDoc
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
    #: photos placed from a GPX track, and those it could not place (None without a track)
    geotag: GeotagReport | None = None
    geotag_max_gap_s: float = 0.0
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
        line = (
            f"added {self.added}, updated {self.updated}, removed {self.removed}, "
            f"skipped {self.unchanged} unchanged, failed {len(self.failed)}{warned} "
            f"({self.seconds:.1f} s in all{rate})"
        )
        if self.geotag is not None and (self.geotag.placed or self.geotag.unplaced):
            line += "\n" + self.geotag.summary(self.geotag_max_gap_s)
        return line


#: the album's photo files and the entries the scan could not use (path, reason)
AlbumScan = tuple[list[AlbumFile], list[tuple[str, str]]]


def scan(album: Path) -> AlbumScan:
    """One walk of the album, shared by the precision check and the run (a first run walked it thrice)."""
    problems: list[tuple[str, str]] = []
    return scan_album(album, problems), problems


def replace_after_terrain_change(store: PhotoStore, settings: Settings, say: Callable[[str], None]) -> int:
    """Place every stored photo against the terrain registered now (frames, in-frame peaks and their facets
    and filters), at once after ``dem add`` / ``dem fetch``; how many photos were placed again (0 when the
    store holds none or its predictions already used these tiles).

    Photos of the album still on disk are registered against the new terrain first (a user's correction is
    kept); a photo that no longer registers keeps its previous correction."""
    dem = terrain_of(settings)
    meta = store.get_meta()
    if dem is not None and meta.get("predictions_fingerprint") != prediction_fingerprint(
        store.all_peaks(), settings, dem, current_calibration(store)
    ):
        _register_stored(store, dem, meta.get("album_root"))
    return refresh_predictions(store, settings, say, cause="terrain")


def _register_stored(store: PhotoStore, dem: Dem, album_root: object) -> None:
    """Register the stored photos with GPS and a compass against ``dem`` from their files in the album."""
    from peaklens.frame import camera_of_hit
    from peaklens.imaging import open_photo
    from peaklens.records import PhotoUpdate
    from peaklens.registration import registered_camera

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
            registered, correction = registered_camera(camera, registrar.register(photo.image, camera))
            if correction is not None:
                offset, source = correction
                updates[hit.id] = PhotoUpdate(
                    heading_offset_deg=offset,
                    heading_source=source,
                    extra={**hit.extra, **_camera_extra(registered)},
                )
        if updates:
            store.update_photos(updates)


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
    events: RunEvents = QUIET,
    started: float | None = None,
    geotagger: Geotagger | None = None,
    scanned: AlbumScan | None = None,
) -> IndexReport:
    """Bring the store in line with the album on disk; see the module docstring. ``started`` (a
    ``time.perf_counter()`` value) is when the work began, for the summary's time; default: now. Photos without
    GPS are placed from the settings' GPX track (``geotagger``, built from the settings when not given)."""
    started = time.perf_counter() if started is None else started
    if not album.exists():
        raise BadInput(f"Album folder {album} does not exist.")
    if not album.is_dir():
        raise BadInput(f"Album path {album} is not a folder.")
    album = album.resolve()
    if geotagger is None:
        geotagger = geotagger_from_settings(
            settings.gpx, settings.camera_tz, settings.camera_clock_offset, settings.gpx_max_gap_s
        )
    with index_lock(settings):
        return _index_locked(album, settings, embedder, store, replace, events, started, geotagger, scanned)


def _index_locked(
    album: Path,
    settings: Settings,
    embedder: Embedder,
    store: PhotoStore,
    replace: bool,
    events: RunEvents,
    started: float,
    geotagger: Geotagger | None = None,
    scanned: AlbumScan | None = None,
) -> IndexReport:
    say = events.say
    files, problems = scanned if scanned is not None else scan(album)
    for rel_path, reason in problems:
        say(f"skipped {rel_path}: {reason}")
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

    replace_placed = _to_place_again(store, geotagger)
    todo: list[AlbumFile] = []
    for doc_id, album_file in current.items():
        old = stored.get(doc_id)
        if old and not model_changed and _same_file(old, album_file) and doc_id not in replace_placed:
            report.unchanged += 1
        else:
            todo.append(album_file)
    if geotagger is not None:
        report.geotag, report.geotag_max_gap_s = geotagger.report, geotagger.max_gap_s

    dem = terrain_of(settings)
    predictor = PeakPredictor(
        store.all_peaks(),
        settings.top_k_peaks,
        settings.geo_weight,
        dem=dem,
        calibration=current_calibration(store),
    )
    registrar = None if dem is None else _registrar(dem)

    def on_bad(album_file: AlbumFile, reason: str) -> None:
        report.failed.append((album_file.rel_path, reason))
        say(f"skipped {album_file.rel_path}: {reason}")

    writer = _BulkWriter(
        store, stored, report, settings.bulk_size, lambda doc, why: on_bad(current[doc.id], why)
    )
    phase_started = time.perf_counter()
    decoded = decode_many(todo, target=embedder.image_size * 2, workers=settings.decode_workers)
    # Closed here, on every way out: left to the garbage collector, the decode pool's shutdown can run on one
    # of its own threads at exit ("cannot join current thread") after a store error.
    events.start(len(todo))
    try:
        with contextlib.closing(decoded):
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
                if geotagger is not None:
                    for album_file, photo in batch:
                        geotagger.place(photo.meta, album_file.rel_path)
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
                events.advance(len(batch))
            writer.flush()
    finally:
        events.finish()
    report.embed_phase_seconds = time.perf_counter() - phase_started
    if todo or gone:
        refresh_and_report(store, say)
    if geotagger is not None:
        meta = store.get_meta()
        meta[GEOTAG_FINGERPRINT] = geotagger.fingerprint()
        store.set_meta(meta)
    if calibration_due(store):  # the album has grown enough to calibrate the blended prototypes (again)
        calibrate_catalog(store, say)
        report.repredicted += refresh_predictions(store, settings, say)
    else:
        meta = store.get_meta()
        meta["predictions_fingerprint"] = prediction_fingerprint(
            store.all_peaks(), settings, dem, current_calibration(store)
        )
        store.set_meta(meta)
    report.seconds = time.perf_counter() - started
    return report


GEOTAG_FINGERPRINT = "geotag_fingerprint"


def _to_place_again(store: PhotoStore, geotagger: Geotagger | None) -> set[str]:
    """Stored photos without an EXIF position, when the track or the time settings changed since they were
    indexed: they are read again so the new track can place them (a run without a track keeps what an
    earlier track placed)."""
    if geotagger is None or store.get_meta().get(GEOTAG_FINGERPRINT) == geotagger.fingerprint():
        return set()
    return {
        hit.id
        for batch in store.iter_photo_vectors(1000)
        for hit, _ in batch
        if hit.gps is None or hit.gps_source == "gpx"
    }


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
    from peaklens.registration import registered_camera

    registered, correction = registered_camera(camera, registrar.register(photo.image, camera))
    if correction is None:
        report.registration_gave_up += 1
    else:
        report.registered += 1
    return registered, correction


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
        gps_source=meta.gps_source,
        heading_ref=meta.heading_ref,
        declination_deg=meta.declination_deg,
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
