"""Indexing an album: scan → decode (threads) → embed (batches) → predict peaks → bulk write.

Re-runs are incremental: a photo whose size and mtime are unchanged is skipped, a changed one is re-embedded,
and the documents of photos that are gone are deleted. A photo that cannot be read is reported with its reason
and left out; everything else still goes in. Each batch is written as soon as it is embedded, so a killed run
loses at most the batch in flight and the next run picks up where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
from peaklens.embed.base import Embedder
from peaklens.enrich import PeakPredictor, camera_of
from peaklens.errors import BadInput
from peaklens.imaging import BadImage, LoadedPhoto, decode_many
from peaklens.records import FileSignature, PhotoDoc
from peaklens.scan import AlbumFile, photo_id, scan_album
from peaklens.store.base import SCHEMA_VERSION, PhotoStore
from peaklens.store.lock import index_lock


@dataclass
class IndexReport:
    """What a run did, for the closing summary and for tests."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    #: where the time went: waiting for decoded photos, in the model, writing to the store
    decode_wait_seconds: float = 0.0
    embed_seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        rate = f", {self.embedded / self.seconds:.1f} photos/s" if self.embedded and self.seconds > 0 else ""
        return (
            f"added {self.added}, updated {self.updated}, removed {self.removed}, "
            f"skipped {self.unchanged} unchanged, failed {len(self.failed)} ({self.seconds:.1f} s{rate})"
        )


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} photos/s" if speed else "-- photos/s", style="cyan")


def ensure_catalog(
    store: PhotoStore, embedder: Embedder, settings: Settings, say: Callable[[str], None]
) -> None:
    """Build the default catalog when the store has none, or one made with another model."""
    meta = store.get_meta()
    if store.all_peaks() and meta.get("catalog_model") == embedder.model_id:
        return
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
    """Replace the catalog with prototypes built from ``peaks_file`` (default catalog when None)."""
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
    store.refresh()
    meta = store.get_meta()
    meta["catalog_model"] = embedder.model_id
    store.set_meta(meta)
    return len(report.written)


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

    report = IndexReport(failed=list(problems))
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

    predictor = PeakPredictor(store.all_peaks(), settings.top_k_peaks, settings.geo_weight)

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
            predictions = predictor.predict(vectors, cameras)
            docs = [
                _photo_doc(album_file, photo, vector, prediction.names, prediction.scores, prediction.extra)
                for (album_file, photo), vector, prediction in zip(batch, vectors, predictions, strict=True)
            ]
            write_started = time.perf_counter()
            _write(
                store,
                docs,
                stored,
                report,
                on_bad_id=lambda doc, why: on_bad(current[doc.id], why),
                bulk_size=settings.bulk_size,
            )
            report.write_seconds += time.perf_counter() - write_started
            progress.advance(task, len(batch))
    store.refresh()
    report.seconds = time.perf_counter() - started
    return report


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
        file_size=album_file.size,
        file_mtime=album_file.mtime,
        extra=extra,
    )


_writes_done = 0


def _maybe_die_mid_write(store: PhotoStore, chunk: Sequence[PhotoDoc]) -> None:
    """Fault injection for the reliability tests: ``PEAKLENS_FAULT_KILL_IN_WRITE=N`` writes half of the
    N-th bulk write, then SIGKILLs this process, as a power cut in the middle of a bulk request would."""
    global _writes_done
    _writes_done += 1
    target = os.environ.get("PEAKLENS_FAULT_KILL_IN_WRITE")
    if target and target.isdigit() and _writes_done == int(target):
        store.upsert_photos(chunk[: max(1, len(chunk) // 2)])
        os.kill(os.getpid(), signal.SIGKILL)


def _write(
    store: PhotoStore,
    docs: Sequence[PhotoDoc],
    stored: Mapping[str, object],
    report: IndexReport,
    *,
    on_bad_id: Callable[[PhotoDoc, str], None],
    bulk_size: int,
) -> None:
    for start in range(0, len(docs), bulk_size):
        chunk = docs[start : start + bulk_size]
        _maybe_die_mid_write(store, chunk)
        result = store.upsert_photos(chunk)
        by_id = {doc.id: doc for doc in chunk}
        for doc_id, reason in result.failed.items():
            on_bad_id(by_id[doc_id], f"not stored: {reason}")
        for doc_id in result.written:
            if doc_id in stored:
                report.updated += 1
            else:
                report.added += 1
