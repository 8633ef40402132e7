"""The application layer: the user's photo library and everything a use case does with it.

``Library`` owns the loaded resources — the settings, the store, the catalog (one immutable value, re-read when
its fingerprint changes), the terrain (re-read when the registered tiles change) and the embedder (loaded on
first need) — and offers the use cases: index, build the catalog, search, browse, identify, similar, correct a
heading, add or fetch terrain, evaluate. ``cli.py`` and ``ui/`` call only this module and render what it
returns, so every path gives the same answer: one frame computation, one terrain, one catalog read per action.

Thread safety: a ``Library`` may serve every session of the UI server. The catalog and the terrain are
immutable values swapped whole under a lock; the embedder is loaded once under a lock; the store serialises its
own writes (docs/DESIGN.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peaklens.errors import BadInput

if TYPE_CHECKING:
    import numpy as np

    from peaklens.answers import (
        FrameView,
        Identification,
        PhotoAnswer,
        SearchAnswer,
        SimilarAnswer,
    )
    from peaklens.catalog_state import Catalog
    from peaklens.config import Settings
    from peaklens.dem import Dem
    from peaklens.embed.base import Embedder
    from peaklens.enrich import HeadingCorrection
    from peaklens.evaluate import EvalReport
    from peaklens.geo import Camera
    from peaklens.gpx import Geotagger
    from peaklens.imaging import LoadedPhoto
    from peaklens.index import IndexReport
    from peaklens.progress import RunEvents
    from peaklens.records import PhotoHit, SearchFilters
    from peaklens.registration import Registrar, Registration
    from peaklens.search import Result, Searcher
    from peaklens.sidecar import ExportReport
    from peaklens.store.base import PhotoStore

Say = Callable[[str], None]


def _quiet(_line: str) -> None:
    """Where messages go when the caller wants none."""


@dataclass(frozen=True)
class TerrainChange:
    """What registering terrain did: the tiles, and how many stored photos were placed again."""

    tiles: list[str]
    replaced: int


# --- small pieces the edges use as they are (parsing a typed value, decoding a thumbnail, map distance) ----
#: name → module, imported on first use: this module stays light, so `peaklens index` takes its lock before
#: numpy, the store or the model are even imported
_REEXPORTED = {
    "LoadedPhoto": "peaklens.imaging",
    "open_photo": "peaklens.imaging",
    "album_day_range": "peaklens.filters",
    "filters_from_ui": "peaklens.filters",
    "parse_bbox": "peaklens.filters",
    "haversine_km": "peaklens.geo",
    "nearest_km": "peaklens.geo",
}


def __getattr__(name: str) -> Any:
    if name in _REEXPORTED:
        import importlib

        return getattr(importlib.import_module(_REEXPORTED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- what the edges need before a library is opened (checks that cost nothing, and small tools) ---------
def check_model_settings(settings: Settings) -> None:
    """--model and --device checked before anything loads (one line when they cannot work here)."""
    from peaklens.embed.preflight import check_model_settings as check

    check(settings)


def parse_filters(
    bbox: str | None = None, time_from: str | None = None, time_to: str | None = None
) -> SearchFilters:
    """The area and date filters typed by a user (``--bbox``, ``--from``, ``--to``), checked."""
    from peaklens.filters import BBOX_HELP, build_filters

    if bbox is not None and not bbox.strip():
        raise BadInput(f"--bbox is empty: {BBOX_HELP}.")
    return build_filters(bbox=bbox, time_from=time_from, time_to=time_to)


def precision_decision(settings: Settings) -> dict[str, Any] | None:
    """What the CPU precision check decided for this model (int8 or fp32, with the measured agreement)."""
    from peaklens.embed.precision import precision_decision as decision

    return decision(settings)


def write_tiny_model(folder: Path, kind: str) -> Path:
    """A tiny randomly initialised SigLIP model (offline demos and tests; its vectors mean nothing)."""
    from peaklens.embed.tiny import build_tiny_model

    if kind not in ("siglip", "siglip2"):
        raise BadInput("--kind must be siglip or siglip2.")
    return build_tiny_model(folder, kind=kind)  # type: ignore[arg-type]


def run_index(settings: Settings, album: Path, **options: Any) -> IndexReport:
    """``peaklens index`` in the order that answers soonest: the index lock before anything heavy is even
    imported (a second run beside a running one is refused within a second), then the store, the run."""
    from peaklens.store.lock import index_lock

    with index_lock(settings):
        return Library.create(settings).index(album, **options)


def geotagger_for(settings: Settings) -> Geotagger | None:
    """The GPX geotagger the settings ask for (None without a track), every value checked now."""
    from peaklens.gpx import geotagger_from_settings

    return geotagger_from_settings(
        settings.gpx, settings.camera_tz, settings.camera_clock_offset, settings.gpx_max_gap_s
    )


def holds_a_photo(album: Path) -> bool:
    """Whether any photo file lies under ``album``; stops at the first, so it costs nothing on a real album
    and saves loading the model for a wrong folder."""
    import os

    from peaklens.scan import is_image_name

    for _folder, dirs, files in os.walk(album, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(is_image_name(name) for name in files):
            return True
    return False


def where(settings: Settings) -> str:
    """The index a message talks about: the data dir, or the index on its Elasticsearch server."""
    if settings.store == "embedded":
        return str(settings.data_dir)
    return f"'{settings.photos_index}' on {settings.es_url}"


class _Terrain:
    """The registered DEM tiles, re-read when the tile registry changes (``dem add`` in another process)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._key: tuple[int, int] | None = None
        self._dem: Dem | None = None
        self._lock = threading.Lock()

    def _registry_key(self) -> tuple[int, int]:
        from peaklens.dem import registry_path

        try:
            stat = registry_path(self.data_dir).stat()
        except OSError:
            return (0, 0)
        return (stat.st_mtime_ns, stat.st_size)

    def __call__(self) -> Dem | None:
        key = self._registry_key()
        with self._lock:
            if key != self._key:
                from peaklens.dem import load_dem

                self._dem = load_dem(self.data_dir) if key != (0, 0) else None
                self._key = key
            return self._dem


class Library:
    """One indexed album with its catalog, terrain and model; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        store: PhotoStore,
        *,
        embedder_factory: Callable[[Settings], Embedder] | None = None,
    ) -> None:
        from peaklens.catalog_state import CatalogSource

        self.settings = settings
        self.store = store
        self.catalog = CatalogSource(store)
        self.terrain = _Terrain(Path(settings.data_dir))
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._searcher: Searcher | None = None
        self._registrar_cache: Registrar | None = None
        self._lock = threading.Lock()

    # --- opening ---------------------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings, *, need_photos: bool = True) -> Library:
        """The library an index holds, or one line saying there is none. Never creates a store: a typo in
        --data-dir must not leave an empty folder behind and answer "no photos match"."""
        from peaklens.store.factory import open_store

        if settings.store == "embedded" and not Path(settings.data_dir).is_dir():
            raise BadInput(
                f"No index at {where(settings)}: run `peaklens index ALBUM` first (or check --data-dir)."
            )
        library = cls(settings, open_store(settings))
        if need_photos and library.store.count_photos() == 0:
            raise BadInput(
                f"The index at {where(settings)} holds no photos: run `peaklens index ALBUM` first."
            )
        return library

    @classmethod
    def create(cls, settings: Settings) -> Library:
        """A library to write to (indexing, a catalog build): the store is reached now, so a server that is
        down fails before the model loads."""
        from peaklens.store.factory import open_store

        store = open_store(settings)
        store.get_meta()
        return cls(settings, store)

    # --- resources -------------------------------------------------------------------------------------
    def embedder(self) -> Embedder:
        """The model, loaded the first time a use case needs it (browsing never does)."""
        with self._lock:
            if self._embedder is None:
                if self._embedder_factory is not None:
                    self._embedder = self._embedder_factory(self.settings)
                else:
                    from peaklens.embed.loader import load_embedder

                    self._embedder = load_embedder(self.settings)
            return self._embedder

    @property
    def model_loaded(self) -> bool:
        return self._embedder is not None

    def searcher(self) -> Searcher:
        from peaklens.search import Searcher

        embedder = self.embedder()
        with self._lock:
            if self._searcher is None:
                self._searcher = Searcher(
                    self.settings, self.store, embedder, catalog=self.catalog, terrain=self.terrain
                )
            return self._searcher

    def peaks(self) -> Catalog:
        """The catalog now (one read per fingerprint)."""
        return self.catalog()

    def album_root(self) -> Path | None:
        if self.settings.album:
            return Path(self.settings.album)
        held = self.store.get_meta().get("album_root")
        return Path(held) if held else None

    # --- photos on disk --------------------------------------------------------------------------------
    @staticmethod
    def load_photo(path: Path) -> LoadedPhoto:
        """A photo file given by the user, decoded, or one line saying why it cannot be used."""
        from peaklens.imaging import BadImage, open_photo

        if path.is_dir():
            raise BadInput(f"{path} is a folder, not a photo (to index a folder: `peaklens index {path}`).")
        if not path.exists():
            raise BadInput(f"Photo {path} does not exist.")
        try:
            return open_photo(path)
        except BadImage as exc:
            raise BadInput(f"Photo {path} cannot be used: {exc}") from None

    def load_upload(self, data: bytes, name: str = "That upload") -> LoadedPhoto:
        """An uploaded photo, decoded within the upload limit, or one line saying why it cannot be used."""
        from peaklens.imaging import BadImage, open_upload

        try:
            return open_upload(data, max_bytes=int(self.settings.max_upload_mb * 1024 * 1024), target=1280)
        except BadImage as exc:
            raise BadInput(f"{name} cannot be used: {exc}") from None

    # --- where the peaks stand -------------------------------------------------------------------------
    def frame(
        self, camera: Camera | None, hit: PhotoHit | None = None, catalog: Catalog | None = None
    ) -> FrameView | None:
        """Every catalog peak placed in the photo with the current terrain and the photo's stored heading
        correction; None without a camera position."""
        if camera is None:
            return None
        from peaklens.frame import frame_view

        peaks = (catalog or self.catalog()).peaks
        return frame_view(
            camera,
            peaks,
            self.terrain(),
            heading_offset_deg=hit.heading_offset_deg if hit is not None else None,
            heading_source=hit.heading_source if hit is not None else None,
        )

    def frame_of(self, hit: PhotoHit, catalog: Catalog | None = None) -> FrameView | None:
        """The frame of a stored photo (its camera as indexed, its stored correction)."""
        from peaklens.frame import camera_of_hit

        return self.frame(camera_of_hit(hit), hit, catalog)

    @staticmethod
    def camera_of(photo: LoadedPhoto) -> Camera | None:
        from peaklens.enrich import camera_of

        return camera_of(photo.meta, photo.width, photo.height)

    def _answer(self, result: Result, catalog: Catalog | None) -> PhotoAnswer:
        """The result as an answer; framed against ``catalog`` when one is given."""
        from peaklens.answers import PhotoAnswer

        return PhotoAnswer(
            hit=result.hit,
            rank_score=float(result.explain.get("rrf", result.hit.score)),
            visual_score=result.hit.score,
            confidence=result.confidence,
            explain=dict(result.explain),
            frame=self.frame_of(result.hit, catalog) if catalog is not None else None,
        )

    def _answers(self, results: Iterable[Result], with_frames: bool) -> list[PhotoAnswer]:
        catalog = self.catalog() if with_frames else None  # browsing reads no catalog
        return [self._answer(r, catalog) for r in results]

    # --- filters ---------------------------------------------------------------------------------------
    def resolve_peaks(
        self, filters: SearchFilters, peaks: Sequence[str] = (), in_frame: Sequence[str] = ()
    ) -> SearchFilters:
        """The filters with peak names (any alias, id, near-miss spelling) resolved against the catalog;
        an unknown name is one line naming the closest catalog peak."""
        if not peaks and not in_frame:
            return filters
        from peaklens.filters import build_filters

        names = build_filters(peaks=peaks, peaks_in_frame=in_frame, resolve_peak=self.catalog().resolve)
        return replace(filters, peaks=names.peaks, peaks_in_frame=names.peaks_in_frame)

    # --- use cases: reading ----------------------------------------------------------------------------
    def search(
        self,
        text: str,
        filters: SearchFilters | None = None,
        *,
        k: int | None = None,
        num_candidates: int | None = None,
        sort: str = "score",
        min_confidence: float | None = None,
        with_frames: bool = True,
    ) -> SearchAnswer:
        """Photos that match a text, best first (``Searcher.text``), each with its frame."""
        from peaklens.answers import SearchAnswer

        if sort not in ("score", "time"):
            raise BadInput(f"sort {sort!r}: use 'score' or 'time'.")
        results = self.searcher().text(
            text,
            filters,
            k=k,
            num_candidates=num_candidates,
            sort=sort,  # type: ignore[arg-type]
            min_confidence=min_confidence,
        )
        return SearchAnswer(
            self._answers(results, with_frames), results.dropped_below_confidence, results.min_confidence
        )

    def browse(self, filters: SearchFilters | None = None, limit: int = 60) -> list[PhotoAnswer]:
        """The album's photos under the filters, without a query (no model needed)."""
        from peaklens.search import Result

        return self._answers((Result(hit) for hit in self.store.list_photos(filters, limit=limit)), False)

    def count(self, filters: SearchFilters | None = None) -> int:
        """How many photos the filters keep."""
        return self.store.count_photos(filters)

    def facets(
        self, filters: SearchFilters | None = None, *, in_frame: bool = False
    ) -> list[tuple[str, int]]:
        """Peaks with their photo counts under the filters: predicted ones, or those in frame by geometry."""
        return self.store.peak_facets(filters, field="peaks_in_frame" if in_frame else "predicted_peaks")

    def image_vector(self, photo: LoadedPhoto) -> np.ndarray:
        """The photo's vector, to pass to several use cases about the same upload (embedded once)."""
        return self.searcher().image_vector(photo.image)

    def identify(
        self,
        photo: LoadedPhoto,
        *,
        use_geo: bool = True,
        k: int | None = None,
        vector: np.ndarray | None = None,
    ) -> Identification:
        """Which peak this is: the catalog ranked by look and, with GPS, by where the camera stood — the photo
        registered against the terrain first where it can be, exactly as indexing does — each peak placed."""
        vector = self.image_vector(photo) if vector is None else vector
        return self._identify_vector(vector, photo, use_geo, k)

    def _identify_vector(
        self, vector: np.ndarray, photo: LoadedPhoto, use_geo: bool, k: int | None
    ) -> Identification:
        from peaklens.answers import Identification, PeakAnswer
        from peaklens.search import IDENTIFY_K

        catalog = self.catalog()
        if not catalog:
            raise BadInput("The peaks catalog is empty: run `peaklens catalog build` first.")
        camera = self.camera_of(photo) if use_geo else None
        view, fit, camera, correction = self._placed(photo, camera, catalog)
        peaks = self.searcher().identify_vector(vector, k or IDENTIFY_K, camera, correction)
        return Identification(
            [PeakAnswer(p, view.by_id(p.id) if view is not None else None) for p in peaks],
            view,
            fit,
            heading_ref=photo.meta.heading_ref,
            declination_deg=photo.meta.declination_deg,
        )

    def _placed(
        self, photo: LoadedPhoto, camera: Camera | None, catalog: Catalog
    ) -> tuple[FrameView | None, Registration | None, Camera | None, HeadingCorrection | None]:
        """A photo from outside the store placed in its frame, registered against the terrain where the
        terrain covers it and the photo fixes the heading: (frame, the fit, the camera with its registered
        pitch and roll, the heading correction) — what indexing would store for it."""
        if camera is None:
            return None, None, None, None
        from peaklens.registration import place_photo, registered_camera

        terrain = self.terrain()
        view, fit = place_photo(photo.image, camera, catalog.peaks, terrain, self._registrar(terrain))
        return (view, fit, *registered_camera(camera, fit))

    def _registrar(self, terrain: Dem | None) -> Registrar | None:
        """One registrar per terrain: it keeps rendered panoramas between photos taken near each other."""
        if terrain is None:
            return None
        from peaklens.registration import Registrar

        with self._lock:
            if self._registrar_cache is None or self._registrar_cache.dem is not terrain:
                self._registrar_cache = Registrar(terrain)
            return self._registrar_cache

    def similar(
        self,
        photo: LoadedPhoto,
        *,
        k: int | None = None,
        use_geo: bool = True,
        filters: SearchFilters | None = None,
        vector: np.ndarray | None = None,
    ) -> SimilarAnswer:
        """Identify the photo's peak, then the user's photos predicted to show it, most similar first."""
        from peaklens.answers import SimilarAnswer
        from peaklens.search import SIMILAR_K

        searcher = self.searcher()
        vector = self.image_vector(photo) if vector is None else vector
        identification = self._identify_vector(vector, photo, use_geo, None)
        photos = searcher.photos_of_peak(vector, identification.peaks[0].name, k or SIMILAR_K, filters)
        return SimilarAnswer(identification, self._answers(photos, True))

    def looks_like(
        self,
        photo: LoadedPhoto,
        *,
        k: int | None = None,
        filters: SearchFilters | None = None,
        vector: np.ndarray | None = None,
    ) -> list[PhotoAnswer]:
        """Visually similar photos, whatever peak they show."""
        from peaklens.search import SIMILAR_K

        results = self.searcher().looks_like(photo.image, k=k or SIMILAR_K, filters=filters, vector=vector)
        return self._answers(results, True)

    def photo(self, photo_id: str) -> PhotoAnswer | None:
        """One stored photo with its frame (the lightbox)."""
        hit = self.store.get_photo(photo_id)
        if hit is None:
            return None
        from peaklens.search import Result

        return self._answer(Result(hit), self.catalog())

    # --- use cases: a heading correction ---------------------------------------------------------------
    def correct_heading(self, photo_id: str, peak_id: str, x: float, y: float | None = None) -> PhotoAnswer:
        """A user's click: ``peak_id``'s summit really stands at ``x`` (0..1 across the photo) and, when
        given, ``y`` (0..1 down it). One click fixes the heading and, with ``y``, the pitch; every other label
        moves with them, and the photo's peaks are predicted again with the new frame."""
        from peaklens import geo
        from peaklens.frame import aim_at, camera_of_hit, heading_offset_for

        hit, view = self._stored_frame(photo_id)
        offset = heading_offset_for(view, peak_id, x)  # checks x and the peak; exact for a level camera
        if y is not None and not 0.0 <= y <= 1.0:
            raise BadInput(f"A label height must be between 0 and 1 down the photo, not {y!r}.")
        pitch = None
        placed = view.by_id(peak_id)
        camera = camera_of_hit(hit)
        if (
            placed is not None
            and camera is not None
            and camera.aspect
            and view.compass_heading_deg is not None
        ):
            # the camera as stored (registered pitch and roll): x, and y when given, put the summit there
            off_axis, aimed_pitch = aim_at(
                placed.elevation_angle_deg,
                view.hfov_deg,
                camera.aspect,
                camera.pitch_deg or 0.0,
                camera.roll_deg or 0.0,
                x,
                y,
            )
            offset = geo.signed_angle_deg(view.compass_heading_deg, placed.bearing_deg - off_axis)
            pitch = aimed_pitch if y is not None else None
        return self._set_heading(hit, offset, "user", pitch)

    def reset_heading(self, photo_id: str) -> PhotoAnswer:
        """Back to the compass heading."""
        hit, _view = self._stored_frame(photo_id)
        return self._set_heading(hit, 0.0, "compass")

    def _stored_frame(self, photo_id: str) -> tuple[PhotoHit, FrameView]:
        hit = self.store.get_photo(photo_id)
        if hit is None:
            raise BadInput("That photo is no longer in the index (re-indexed or removed).")
        view = self.frame_of(hit)
        if view is None:
            raise BadInput(f"{hit.path} has no GPS position: there is no frame to correct.")
        return hit, view

    def _set_heading(
        self, hit: PhotoHit, offset: float, source: str, pitch: float | None = None
    ) -> PhotoAnswer:
        from peaklens.catalog_sync import current_calibration
        from peaklens.enrich import PeakPredictor
        from peaklens.frame import camera_of_hit
        from peaklens.records import PhotoUpdate
        from peaklens.search import Result

        catalog = self.catalog()
        if pitch is not None:  # the clicked summit's height fixes the pitch (roll as registered, else level)
            hit = replace(hit, extra={**hit.extra, "pitch_deg": round(pitch, 3)})
        elif source == "compass":  # back to the compass: the click's pitch goes too
            hit = replace(
                hit, extra={k: v for k, v in hit.extra.items() if k not in ("pitch_deg", "roll_deg")}
            )
        vector = self.store.get_photo_vector(hit.id)
        predictor = PeakPredictor(
            list(catalog.peaks),
            self.settings.top_k_peaks,
            self.settings.geo_weight,
            dem=self.terrain(),
            calibration=current_calibration(self.store),
        )
        camera = camera_of_hit(hit)
        update = PhotoUpdate(heading_offset_deg=offset, heading_source=source, extra=dict(hit.extra))
        if vector is not None and camera is not None:
            prediction = predictor.predict(vector[None, :], [camera], [(offset, source)])[0]
            update.predicted_peaks = prediction.names
            update.peak_scores = prediction.scores
            update.peaks_in_frame = list(prediction.in_frame)
            update.extra = {**hit.extra, **prediction.extra}
        report = self.store.update_photos({hit.id: update})
        if report.failed:
            raise BadInput(f"The correction was not saved: {report.failed.get(hit.id, 'unknown error')}")
        self.store.refresh()
        stored = self.store.get_photo(hit.id) or hit
        return self._answer(Result(stored), catalog)

    # --- use cases: writing ----------------------------------------------------------------------------
    def build_catalog(
        self, peaks_file: Path | None = None, refs_dir: Path | None = None, say: Say = _quiet
    ) -> int:
        """Replace the catalog (default peaks when no file) and predict the stored photos' peaks again."""
        from peaklens.catalog_sync import build_catalog

        if peaks_file is not None and not peaks_file.is_file():
            raise BadInput(f"Catalog file {peaks_file} does not exist or is not a file.")
        if refs_dir is not None and not refs_dir.is_dir():
            raise BadInput(f"Reference folder {refs_dir} does not exist or is not a folder.")
        return build_catalog(
            self.store, self.embedder(), self.settings, peaks_file=peaks_file, refs_dir=refs_dir, say=say
        )

    def add_terrain(self, paths: Sequence[Path], say: Say = _quiet) -> TerrainChange:
        """Register DEM tiles and place the stored photos again with them (frames, in-frame facets)."""
        from peaklens.dem import add_tiles

        for path in paths:
            if not path.is_file():
                raise BadInput(f"DEM tile {path} does not exist or is not a file.")
        names = add_tiles(Path(self.settings.data_dir), paths)
        return TerrainChange(names, self._replace_photos(say))

    def fetch_terrain(self, say: Say = _quiet) -> TerrainChange:
        """Download the SRTM tiles covering the album's photos and the catalog peaks they look at."""
        from peaklens.dem import fetch_tiles
        from peaklens.records import BBox

        points = [hit.gps for hit in self.store.list_photos(limit=self.store.count_photos()) if hit.gps]
        if not points:
            raise BadInput("No indexed photo has GPS: there is nothing to fetch terrain for.")
        points += [p.latlon for p in self.catalog().peaks if p.latlon is not None]
        lats, lons = [p.lat for p in points], [p.lon for p in points]
        names = fetch_tiles(Path(self.settings.data_dir), BBox(max(lats), min(lons), min(lats), max(lons)))
        return TerrainChange(names, self._replace_photos(say) if names else 0)

    def _replace_photos(self, say: Say) -> int:
        """Predict and place every stored photo again after a terrain change (under the index lock)."""
        from peaklens.index import replace_after_terrain_change
        from peaklens.store.lock import index_lock

        if self.store.count_photos() == 0:
            return 0
        with index_lock(self.settings):
            return replace_after_terrain_change(self.store, self.settings, say)

    def index(
        self,
        album: Path,
        *,
        replace: bool = False,
        events: RunEvents | None = None,
        started: float | None = None,
        geotagger: Geotagger | None = None,
    ) -> IndexReport:
        """Add, update and remove photos so the index matches the album on disk (``peaklens.index``), in the
        order that answers soonest: the store lock first (a second run is refused at once), the CPU
        precision check, the model, the run. ``started`` is when the command began: the summary counts it all;
        ``events`` hears the run's lines and progress (``peaklens.progress``)."""
        from peaklens.album_precision import choose_album_precision
        from peaklens.index import index_album, scan
        from peaklens.progress import QUIET
        from peaklens.store.lock import index_lock

        events = events or QUIET
        started = time.perf_counter() if started is None else started
        if not album.is_dir():
            raise BadInput(f"Album folder {album} does not exist or is not a folder.")
        with index_lock(self.settings):
            scanned = scan(album.resolve())  # one walk for the precision check and the run
            choose_album_precision(scanned[0], self.settings, say=events.say)
            return index_album(
                album,
                self.settings,
                self.embedder(),
                self.store,
                replace=replace,
                events=events,
                started=started,
                geotagger=geotagger,
                scanned=scanned,
            )

    def export_xmp(
        self, *, write: bool = False, predicted: bool = False, min_score: float = 0.0
    ) -> ExportReport:
        """Sidecars beside the photos with their peaks as keywords and the true heading (dry run unless
        ``write``); the photos themselves are never modified (``peaklens.sidecar``)."""
        from peaklens.sidecar import export_xmp

        return export_xmp(self.store, write=write, predicted=predicted, min_score=min_score)

    def evaluate(self, labels: Path) -> EvalReport:
        """Retrieval, identification or frame quality on a labels file (docs/EVALUATION.md)."""
        from peaklens.evaluate import run_eval

        if not labels.is_file():
            raise BadInput(f"Labels file {labels} does not exist or is not a file.")

        def register(photo: LoadedPhoto, camera: Camera) -> tuple[Camera | None, HeadingCorrection | None]:
            _view, _fit, registered, correction = self._placed(photo, camera, self.catalog())
            return registered, correction

        return run_eval(self.searcher(), labels, register)
