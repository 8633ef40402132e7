"""The command line. Global options (model, store, …) go before the command and override config and env.

Every user-facing failure is a ``PeaklensError`` printed as one line on stderr with exit code 1; usage errors
exit 2, Ctrl-C 130, and an ``index`` run that finished with some photos it could not index exits 3. This
module only parses and renders: every argument is checked before the store and the model load (a typo answers
at once), and the heavy imports (torch, transformers, lancedb) happen inside the commands that need them, so
``--help``, ``config`` and bad arguments stay instant.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from peaklens.errors import BadInput, PeaklensError

if TYPE_CHECKING:
    from peaklens.config import Settings
    from peaklens.dem import Dem
    from peaklens.frame import FramePeak, FrameView
    from peaklens.geo import Camera
    from peaklens.records import PeakDoc, PeakHit, SearchFilters
    from peaklens.search import Result, Searcher
    from peaklens.store.base import PhotoStore

# rich_markup_mode=None: click's plain help, where a flag is shown as a flag (typer's rich help prints
# `--explain <bool>` as if it took a value)
_TYPER = {"rich_markup_mode": None, "no_args_is_help": True}
app = typer.Typer(add_completion=False, help="Search a photo album by meaning (SigLIP-2).", **_TYPER)  # type: ignore[arg-type]
catalog_app = typer.Typer(help="The peaks catalog.", **_TYPER)  # type: ignore[arg-type]
dem_app = typer.Typer(help="Terrain (DEM tiles) for occlusion: which peaks a ridge hides.", **_TYPER)  # type: ignore[arg-type]
dev_app = typer.Typer(help="Developer tools (tiny offline test models).", **_TYPER)  # type: ignore[arg-type]
app.add_typer(catalog_app, name="catalog")
app.add_typer(dem_app, name="dem")
app.add_typer(dev_app, name="dev")

# piped output gets wide tables instead of 80-column wrapping
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

#: `peaklens index` finished, but some photos could not be indexed (each is listed): a script can tell
INDEX_SOME_FAILED = 3
INDEX_INTERRUPTED = "interrupted: photos written so far are kept; run the same command again to resume."


class Interrupted(Exception):
    """Ctrl-C, carrying the line that tells the user what was kept."""


def flag(help: str, *names: str) -> Any:
    """A boolean option that takes no value (``--json``, not ``--json true``)."""
    return typer.Option(False, *names, help=help)


@dataclass
class Context:
    config_file: Path | None
    overrides: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False

    def settings(self, **more: Any) -> Settings:
        from peaklens.config import load_settings

        return load_settings(self.config_file, **{**self.overrides, **more})


def _ctx(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


def _model_settings(context: Context, **more: Any) -> Settings:
    """The settings of a command that loads the model, with --model and --device checked first (at once)."""
    from peaklens.embed.preflight import check_model_settings

    settings = context.settings(**more)
    check_model_settings(settings)
    return settings


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", help="YAML config file."),
    model: str | None = typer.Option(None, help="Model id or local folder."),
    device: str | None = typer.Option(None, help="auto, cpu, cuda…"),
    precision: str | None = typer.Option(None, help="auto, fp32, fp16, bf16, int8."),
    runtime: str | None = typer.Option(None, help="auto, torch or onnx (ONNX Runtime, CPU)."),
    batch_size: int | None = typer.Option(None, help="Photos per model call."),
    store: str | None = typer.Option(None, help="embedded or elasticsearch."),
    data_dir: Path | None = typer.Option(None, help="Folder of the embedded store."),
    es_url: str | None = typer.Option(None, help="Elasticsearch URL."),
    photos_index: str | None = typer.Option(None, help="Name of the photos index."),
    peaks_index: str | None = typer.Option(None, help="Name of the peaks catalog index."),
    top_k_peaks: int | None = typer.Option(None, help="Predicted peaks stored per photo."),
    alpha_text: float | None = typer.Option(None, help="Text weight of peak prototypes (0..1)."),
    anti_concept_weight: float | None = typer.Option(None, help="Weight of the anti-concept."),
    geo_weight: float | None = typer.Option(None, help="Weight of the geo prior (0 = visual only)."),
    hnsw_m: int | None = typer.Option(None, help="HNSW m (index creation)."),
    ef_construction: int | None = typer.Option(None, help="HNSW ef_construction (index creation)."),
    verbose: bool = flag("List every warning (e.g. unusable EXIF values while indexing).", "--verbose", "-v"),
) -> None:
    overrides = {
        "model": model,
        "device": device,
        "precision": precision,
        "runtime": runtime,
        "batch_size": batch_size,
        "store": store,
        "data_dir": data_dir,
        "es_url": es_url,
        "photos_index": photos_index,
        "peaks_index": peaks_index,
        "top_k_peaks": top_k_peaks,
        "alpha_text": alpha_text,
        "anti_concept_weight": anti_concept_weight,
        "geo_weight": geo_weight,
        "hnsw_m": hnsw_m,
        "ef_construction": ef_construction,
    }
    ctx.obj = Context(config, {k: v for k, v in overrides.items() if v is not None}, verbose)


# --- opening things, after the arguments are checked ----------------------------------------------------------
def _where(settings: Settings) -> str:
    if settings.store == "embedded":
        return str(settings.data_dir)
    return f"'{settings.photos_index}' on {settings.es_url}"


def _open_index(settings: Settings, *, need_photos: bool = True) -> PhotoStore:
    """The store that holds an index, or one line saying there is none. Never creates a store: a typo in
    --data-dir must not leave an empty folder behind and answer "no photos match"."""
    from peaklens.store.factory import open_store

    if settings.store == "embedded" and not Path(settings.data_dir).is_dir():
        raise BadInput(
            f"No index at {_where(settings)}: run `peaklens index ALBUM` first (or check --data-dir)."
        )
    store = open_store(settings)
    if need_photos and store.count_photos() == 0:
        raise BadInput(f"The index at {_where(settings)} holds no photos: run `peaklens index ALBUM` first.")
    return store


def _searcher(settings: Settings, store: PhotoStore) -> Searcher:
    from peaklens.embed.loader import load_embedder
    from peaklens.search import Searcher

    return Searcher(settings, store, load_embedder(settings))


def _peak_resolver(store: PhotoStore) -> Any:
    """Alias → catalog display name, from the store alone (no model needed to reject an unknown --peak)."""
    from peaklens.names import PeakNameIndex

    return PeakNameIndex((p.id, p.names) for p in store.all_peaks()).resolve


def _check_photo(path: Path) -> None:
    if path.is_dir():
        raise BadInput(f"{path} is a folder, not a photo (to index a folder: `peaklens index {path}`).")
    if not path.exists():
        raise BadInput(f"Photo {path} does not exist.")


PHOTO_KINDS = "jpg, png, webp, tiff, heic"


def _process_age() -> float:
    """Seconds since this process started (Linux's /proc; 0 elsewhere), so that a run's "in all" time counts
    the start-up too, as the person waiting for it does."""
    import os

    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def _holds_a_photo(album: Path) -> bool:
    """Whether any photo file lies under ``album``; stops at the first, so it costs nothing on a real album
    and saves loading the model for a wrong folder."""
    import os

    from peaklens.scan import is_image_name

    for _folder, dirs, files in os.walk(album, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(is_image_name(name) for name in files):
            return True
    return False


def _load_photo(path: Path) -> Any:
    from peaklens.imaging import BadImage, open_photo

    _check_photo(path)
    try:
        return open_photo(path)
    except BadImage as exc:
        raise BadInput(f"Photo {path} cannot be used: {exc}") from None


def _camera(loaded: Any, use_geo: bool) -> Camera | None:
    from peaklens.enrich import camera_of

    return camera_of(loaded.meta, loaded.width, loaded.height) if use_geo else None


def _frame(
    settings: Settings, camera: Camera | None, peaks: list[PeakDoc], hit: Any = None
) -> FrameView | None:
    """Where every catalog peak stands in the photo (terrain checked when DEM tiles are registered); a stored
    photo (``hit``) brings its heading correction."""
    if camera is None:
        return None
    from peaklens.frame import frame_view

    return frame_view(
        camera,
        peaks,
        _dem(settings),
        heading_offset_deg=getattr(hit, "heading_offset_deg", None),
        heading_source=getattr(hit, "heading_source", None),
    )


_dems: dict[str, Dem | None] = {}


def _dem(settings: Settings) -> Dem | None:
    from peaklens.dem import load_dem

    key = str(settings.data_dir)
    if key not in _dems:
        _dems[key] = load_dem(Path(settings.data_dir))
    return _dems[key]


def _hit_camera(hit: Any) -> Camera | None:
    """The camera a stored photo describes (position, altitude, compass, field of view); None without GPS."""
    from peaklens.frame import camera_of_hit

    return camera_of_hit(hit)


# --- rendering -----------------------------------------------------------------------------------------------
def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _fmt_gps(gps: Any) -> str:
    return f"{gps.lat:.5f},{gps.lon:.5f}" if gps else "-"


def _fmt_time(moment: Any) -> str:
    return moment.isoformat() if moment else "-"


def _fmt_table_time(moment: Any) -> str:
    """A shot time for the table, to the second (--json keeps the sub-second digits)."""
    return moment.replace(microsecond=0).isoformat() if moment else "-"


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def ordering_score(result: Result) -> float:
    """The score the list is ordered by: the fused (RRF) score for a query naming a peak, else the visual one."""
    return float(result.explain.get("rrf", result.hit.score))


def result_json(result: Result, explain: bool = False, frame: FrameView | None = None) -> dict[str, Any]:
    hit = result.hit
    data: dict[str, Any] = {
        "path": hit.path,
        "score": round(ordering_score(result), 6),
        "visual_score": round(hit.score, 6),
        "confidence": _round(result.confidence),
        "predicted_peaks": hit.predicted_peaks,
        "peaks_in_frame": list(getattr(hit, "peaks_in_frame", []) or []),
        "gps": {"lat": hit.gps.lat, "lon": hit.gps.lon} if hit.gps else None,
        "altitude_m": hit.altitude_m,
        "heading_deg": hit.heading_deg,
        "shot_time": _fmt_time(hit.shot_time) if hit.shot_time else None,
        "frame": frame.to_json() if frame is not None else None,
    }
    if explain and result.explain:
        data["explain"] = {k: round(v, 6) for k, v in result.explain.items()}
    return data


def _print_results(results: list[Result], *, explain: bool = False) -> None:
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("#", "score", "visual", "conf", "path", "predicted peaks", "in frame", "gps", "shot time"):
        # short values of a fixed form stay on one line; the path and the names fold when space runs out
        table.add_column(
            column, overflow="fold", no_wrap=column not in ("path", "predicted peaks", "in frame")
        )
    if explain:
        table.add_column("explain", overflow="fold")
    for rank, result in enumerate(results, start=1):
        hit = result.hit
        row = [
            str(rank),
            f"{ordering_score(result):.4f}",
            f"{hit.score:.4f}",
            "-" if result.confidence is None else f"{result.confidence:.1%}",
            hit.path,
            ", ".join(hit.predicted_peaks),
            ", ".join(getattr(hit, "peaks_in_frame", []) or []) or "-",
            _fmt_gps(hit.gps),
            _fmt_table_time(hit.shot_time),
        ]
        if explain:
            row.append(" ".join(f"{k}={v:.4g}" for k, v in result.explain.items()))
        table.add_row(*row)
    out.print(table)


def _peak_scores(peak: PeakHit) -> tuple[float, float | None]:
    """(the score the peaks are ordered by, the visual score when it differs)."""
    fused = getattr(peak, "fused_score", None)
    return (peak.score, None) if fused is None else (fused, peak.score)


def _peak_json(peak: PeakHit, placed: FramePeak | None) -> dict[str, Any]:
    score, visual = _peak_scores(peak)
    data: dict[str, Any] = {
        "id": peak.id,
        "name": peak.name,
        "score": round(score, 6),
        "visual_score": round(peak.score if visual is None else visual, 6),
        "elev_m": peak.elev_m,
    }
    geometry = placed.to_json() if placed is not None else {}
    for key in ("distance_km", "bearing_deg", "off_axis_deg", "elevation_angle_deg", "x", "x_span"):
        data[key] = geometry.get(key)
    data["in_frame"] = geometry.get("in_frame")
    data["occluded"] = geometry.get("occluded")
    return data


def _camera_json(view: FrameView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    shown = view.to_json()
    shown.pop("peaks", None)
    return shown


def _camera_line(view: FrameView) -> str:
    where = f"Taken at {view.position.lat:.5f},{view.position.lon:.5f}"
    if view.altitude_m is not None:
        where += f", {view.altitude_m:.0f} m ({view.altitude_source})"
    if view.heading_deg is not None:
        where += (
            f", facing {view.heading_deg:.0f}° ({view.heading_source} ±{view.heading_uncertainty_deg:g}°)"
        )
    else:
        where += ", no compass heading"
    return (
        where
        + f"; field of view {view.hfov_deg:.0f}°; terrain {'checked' if view.terrain_checked else 'not checked'}"
    )


def _geometry(placed: FramePeak) -> str:
    parts = [f"{placed.distance_km:.1f} km", f"bearing {placed.bearing_deg:.0f}°"]
    if placed.off_axis_deg is not None:
        parts.append(_off_axis(placed.off_axis_deg))
    parts.append(f"{placed.elevation_angle_deg:.1f}° up")
    if placed.in_frame:
        parts.append("in frame")
    else:
        # every reason that holds: a peak 24° off axis in a 16° frame behind a ridge is both
        outside = placed.off_axis_deg is not None and not (placed.x is not None and 0.0 < placed.x < 1.0)
        reasons = [
            ("outside the frame", outside),
            ("hidden by terrain", bool(placed.occluded)),
            ("below the horizon or out of range", not placed.visible),
        ]
        held = [reason for reason, holds in reasons if holds]
        if held:
            parts.append(" and ".join(held))
    if placed.occluded is None:
        parts.append("terrain not checked")
    return " · ".join(parts)


def _off_axis(degrees: float) -> str:
    """Whole degrees left or right; "at the centre" when that would read 0° (never "0° left of centre")."""
    shown = f"{abs(degrees):.0f}"
    if shown == "0":
        return "at the centre"
    return f"{shown}° {'right' if degrees > 0 else 'left'} of centre"


def _peak_line(rank: int, peak: PeakHit, placed: FramePeak | None) -> str:
    score, visual = _peak_scores(peak)
    line = f"{rank}. {peak.name}  score {score:.4f}"
    if visual is not None:
        line += f" (visual {visual:.4f})"
    if placed is not None:
        line += "  · " + _geometry(placed)
    return line


# --- argument checks (no store, no model) --------------------------------------------------------------------
def _date_filters(bbox: str | None, time_from: str | None, time_to: str | None) -> SearchFilters:
    from peaklens.filters import BBOX_HELP, build_filters

    if bbox is not None and not bbox.strip():
        raise BadInput(f"--bbox is empty: {BBOX_HELP}.")
    return build_filters(bbox=bbox, time_from=time_from, time_to=time_to)


def _peak_filters(
    filters: SearchFilters, store: PhotoStore, peaks: list[str], in_frame: list[str]
) -> SearchFilters:
    """The bbox/date filters plus peak names resolved against the store's catalog."""
    from peaklens.filters import build_filters

    if not peaks and not in_frame:
        return filters
    names = build_filters(peaks=peaks, peaks_in_frame=in_frame, resolve_peak=_peak_resolver(store))
    return dataclasses.replace(filters, peaks=names.peaks, peaks_in_frame=names.peaks_in_frame)


# --- commands ------------------------------------------------------------------------------------------------
@catalog_app.command("build")
def catalog_build(
    ctx: typer.Context,
    peaks: Path | None = typer.Option(
        None, "--peaks", help="YAML catalog (default: the packaged EBC peaks)."
    ),
    refs: Path | None = typer.Option(
        None, "--refs", help="Folder of reference photos, one subfolder per peak."
    ),
) -> None:
    """Build the peaks_catalog index: one prototype vector per peak."""
    from peaklens.embed.loader import load_embedder
    from peaklens.index import build_catalog
    from peaklens.store.factory import open_store

    if peaks is not None and not peaks.is_file():
        raise BadInput(f"Catalog file {peaks} does not exist or is not a file.")
    if refs is not None and not refs.is_dir():
        raise BadInput(f"Reference folder {refs} does not exist or is not a folder.")
    settings = _model_settings(_ctx(ctx))
    store = open_store(settings)
    store.get_meta()  # a store that cannot be reached fails here, before the model loads
    embedder = load_embedder(settings)
    count = build_catalog(store, embedder, settings, peaks_file=peaks, refs_dir=refs, say=err.print)
    out.print(f"Catalog built: {count} peaks in '{settings.peaks_index}' ({embedder.model_id}).")


@app.command()
def index(
    ctx: typer.Context,
    album: Path = typer.Argument(..., help="Album folder (searched recursively)."),
    replace: bool = flag("Replace an index that holds another album.", "--replace"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    verbose: bool = flag("List every unusable EXIF value (also a global option).", "--verbose", "-v"),
) -> None:
    """Index (or update) an album: new and changed photos are embedded, gone ones removed.

    Exit code 0: every photo is in the index; 3: the run finished but some photos could not be indexed (each
    is listed with its reason); 1: an error stopped the run."""
    started = time.perf_counter() - _process_age()
    if not album.exists():
        raise BadInput(f"Album folder {album} does not exist.")
    if not album.is_dir():
        raise BadInput(f"Album path {album} is not a folder.")
    if not _holds_a_photo(album):
        raise BadInput(f"No photos found in {album} ({PHOTO_KINDS}; searched recursively).")
    context = _ctx(ctx)
    settings = _model_settings(context)
    from peaklens.store.lock import index_lock

    try:
        # the lock before the heavy imports: a second run beside a running one is refused within a second
        with index_lock(settings):
            from peaklens.index import run_index

            report = run_index(
                album, settings, replace=replace, console=err, show_progress=progress, started=started
            )
    except KeyboardInterrupt:
        raise Interrupted(INDEX_INTERRUPTED) from None
    warnings = list(getattr(report, "exif_warnings", []) or [])
    if verbose or context.verbose:
        for path, warning in warnings:
            err.print(f"[yellow]exif[/] {escape(path)}: {escape(warning)}", highlight=False)
    out.print(report.summary())
    if warnings and not (verbose or context.verbose):
        out.print(f"{len(warnings)} EXIF warning(s): `peaklens index --verbose {album}` lists them.")
    if report.failed:
        out.print(
            f"{len(report.failed)} photo(s) could not be indexed; each is listed above with its reason."
        )
        raise typer.Exit(INDEX_SOME_FAILED)


@app.command()
def search(
    ctx: typer.Context,
    text: str = typer.Argument(..., help="What to look for, in any language."),
    k: int | None = typer.Option(None, "--k", min=1, max=10000, help="How many photos."),
    num_candidates: int | None = typer.Option(
        None, "--num-candidates", min=1, max=10000, help="kNN candidates per shard."
    ),
    bbox: str | None = typer.Option(None, "--bbox", help="TOP,LEFT,BOTTOM,RIGHT in degrees."),
    time_from: str | None = typer.Option(None, "--from", help="Earliest capture date (YYYY-MM-DD or ISO)."),
    time_to: str | None = typer.Option(None, "--to", help="Latest capture date (inclusive)."),
    peak: list[str] = typer.Option(
        [], "--peak", help="Only photos predicted to show this peak (repeatable: any)."
    ),
    in_frame: list[str] = typer.Option(
        [],
        "--in-frame",
        help="Only photos whose frame holds this peak by geometry (GPS + heading; repeatable).",
    ),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0, help="Drop hits below this confidence (0..1)."
    ),
    sort: str = typer.Option("score", "--sort", help="score or time."),
    explain: bool = flag("Show the parts of each score.", "--explain"),
    as_json: bool = flag("Machine-readable output (with each photo's peak geometry).", "--json"),
) -> None:
    """Photos that match a text, best first."""
    if sort not in ("score", "time"):
        raise BadInput(f"--sort {sort!r}: use 'score' or 'time'.")
    if not text.strip():
        raise BadInput('Type something to search for, e.g. "prayer flags" or "Ama Dablam".')
    filters = _date_filters(bbox, time_from, time_to)
    settings = _model_settings(
        _ctx(ctx),
        **({"k": k} if k else {}),
        **({"num_candidates": num_candidates} if num_candidates else {}),
    )
    store = _open_index(settings)
    filters = _peak_filters(filters, store, peak, in_frame)
    searcher = _searcher(settings, store)
    results = searcher.text(text, filters, sort=sort, min_confidence=min_confidence)  # type: ignore[arg-type]
    dropped = int(getattr(results, "dropped_below_confidence", 0) or 0)
    cut = settings.min_confidence if min_confidence is None else min_confidence
    if as_json:
        peaks = store.all_peaks()
        _print_json(
            [result_json(r, explain, _frame(settings, _hit_camera(r.hit), peaks, r.hit)) for r in results]
        )
    elif results:
        _print_results(results, explain=explain)
    elif dropped:
        out.print(
            f"No photos left: --min-confidence {cut:g} dropped all {dropped} match(es); "
            "lower it (confidence is SigLIP's match probability, often small)."
        )
    else:
        out.print("No photos match. Widen the filters (bounding box, dates, peaks) or try other words.")
    if dropped and (results or as_json):
        err.print(f"{dropped} more match(es) below --min-confidence {cut:g} not shown.")


@app.command()
def identify(
    ctx: typer.Context,
    photo: Path = typer.Argument(..., help="A photo (jpg, png, heic…)."),
    geo: bool = typer.Option(True, "--geo/--no-geo", help="Use the photo's GPS and compass heading."),
    as_json: bool = flag("Machine-readable output (with each peak's geometry).", "--json"),
) -> None:
    """Which peak is this? The top 3 catalog peaks with scores and where they stand in the frame."""
    loaded = _load_photo(photo)
    settings = _model_settings(_ctx(ctx))
    store = _open_index(settings, need_photos=False)
    searcher = _searcher(settings, store)
    camera = _camera(loaded, geo)
    peaks = searcher.identify(loaded.image, camera=camera)
    view = _frame(settings, camera, store.all_peaks())
    placed = [view.by_id(p.id) if view is not None else None for p in peaks]
    if as_json:
        _print_json(
            {
                "photo": str(photo),
                "camera": _camera_json(view),
                "peaks": [_peak_json(p, where) for p, where in zip(peaks, placed, strict=True)],
            }
        )
        return
    if view is not None:
        out.print(_camera_line(view), highlight=False)
    for rank, (peak, where) in enumerate(zip(peaks, placed, strict=True), start=1):
        out.print(_peak_line(rank, peak, where), highlight=False)


@app.command()
def similar(
    ctx: typer.Context,
    photo: Path = typer.Argument(..., help="A photo (jpg, png, heic…)."),
    k: int = typer.Option(30, "--k", min=1, max=10000, help="How many photos."),
    geo: bool = typer.Option(True, "--geo/--no-geo", help="Use the photo's GPS and compass heading."),
    as_json: bool = flag("Machine-readable output.", "--json"),
) -> None:
    """Identify the peak in a photo, then find your photos of that peak, most similar first."""
    loaded = _load_photo(photo)
    settings = _model_settings(_ctx(ctx))
    store = _open_index(settings)
    searcher = _searcher(settings, store)
    result = searcher.similar(loaded.image, k=k, camera=_camera(loaded, geo))
    if as_json:
        _print_json(
            {
                "peaks": [_peak_json(p, None) for p in result.peaks],
                "photos": [result_json(r) for r in result.photos],
            }
        )
        return
    out.print("Peaks: " + ", ".join(f"{p.name} ({_peak_scores(p)[0]:.4f})" for p in result.peaks))
    out.print(f"Photos predicted to show {result.peaks[0].name}:")
    if result.photos:
        _print_results(result.photos)
    else:
        out.print("None yet.")


@app.command()
def peaks(
    ctx: typer.Context,
    in_frame: bool = flag(
        "Count peaks inside the frame by geometry instead of predicted ones.", "--in-frame"
    ),
    as_json: bool = flag("Machine-readable output.", "--json"),
) -> None:
    """Every predicted peak with its photo count."""
    store = _open_index(_ctx(ctx).settings(), need_photos=False)
    facets = store.peak_facets(field="peaks_in_frame" if in_frame else "predicted_peaks")
    if as_json:
        _print_json([{"peak": name, "photos": count} for name, count in facets])
        return
    if not facets:
        out.print(
            "No photo has a peak in its frame (needs GPS and a compass heading)."
            if in_frame
            else "No photos indexed yet: run `peaklens index ALBUM`."
        )
    for name, count in facets:
        out.print(f"{count:6d}  {name}")


@dem_app.command("add")
def dem_add(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="SRTM .hgt(.gz/.zip) or GeoTIFF tiles."),
) -> None:
    """Register DEM tiles you downloaded: occlusion is checked wherever they cover the line of sight."""
    from peaklens.dem import add_tiles

    for path in paths:
        if not path.is_file():
            raise BadInput(f"DEM tile {path} does not exist or is not a file.")
    settings = _ctx(ctx).settings()
    names = add_tiles(Path(settings.data_dir), paths)
    out.print(f"Registered {len(names)} DEM tile(s): {', '.join(names)}.")


@dem_app.command("fetch")
def dem_fetch(ctx: typer.Context) -> None:
    """Download the SRTM tiles covering the album's photos and the catalog peaks they look at."""
    from peaklens.dem import fetch_tiles
    from peaklens.records import BBox

    settings = _ctx(ctx).settings()
    store = _open_index(settings)
    points = [hit.gps for hit in store.list_photos(limit=store.count_photos()) if hit.gps is not None]
    if not points:
        raise BadInput("No indexed photo has GPS: there is nothing to fetch terrain for.")
    points += [p.latlon for p in store.all_peaks() if p.latlon is not None]
    lats, lons = [p.lat for p in points], [p.lon for p in points]
    names = fetch_tiles(Path(settings.data_dir), BBox(max(lats), min(lons), min(lats), max(lons)))
    out.print(
        f"Fetched {len(names)} DEM tile(s)" + (f": {', '.join(names)}." if names else " (all were there).")
    )


def _precision_decision(settings: Settings) -> dict[str, Any] | None:
    """What the CPU precision check decided for this model (int8 or fp32, with the measured agreement)."""
    from peaklens.embed.precision import precision_decision

    return precision_decision(settings)


@app.command("config")
def show_config(ctx: typer.Context, as_json: bool = flag("Machine-readable output.", "--json")) -> None:
    """The settings in force (file < env < flags), each with where it came from; secrets are masked."""
    from peaklens.config import config_file_path, setting_sources

    context = _ctx(ctx)
    settings = context.settings()
    shown = settings.public_dict()
    sources = setting_sources(context.overrides)
    decision = _precision_decision(settings)
    source = config_file_path()
    if as_json:
        _print_json(
            {
                **shown,
                "config_file": str(source) if source else None,
                "sources": sources,
                "precision_decision": decision,
            }
        )
        return
    out.print(f"config file: {source if source else '(none)'}", highlight=False)
    for name, value in shown.items():
        out.print(f"{name} = {value}  ({sources[name]})", highlight=False)
    if decision:
        out.print(
            "precision decision: " + ", ".join(f"{k}={v}" for k, v in decision.items()), highlight=False
        )
    else:
        out.print("precision decision: none yet (made on the first CPU run of this model)", highlight=False)


@app.command()
def ui(
    ctx: typer.Context,
    album: Path | None = typer.Option(None, "--album", help="Album root (default: the one the index holds)."),
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on; any but loopback needs PEAKLENS_UI_PASSWORD."
    ),
) -> None:
    """Start the Streamlit UI (on 127.0.0.1 unless --host) over the same search functions as the CLI."""
    from peaklens.ui.launch import launch

    context = _ctx(ctx)
    if album is not None and not album.is_dir():
        raise BadInput(f"Album folder {album} does not exist or is not a folder.")
    settings = _model_settings(context, **({"album": album.resolve()} if album else {}))
    raise SystemExit(launch(settings, context.config_file, host=host, port=port))


@app.command("eval")
def evaluate(
    ctx: typer.Context,
    labels: Path = typer.Argument(..., help="Labels YAML (see docs/EVALUATION.md)."),
    as_json: bool = flag("Machine-readable output.", "--json"),
) -> None:
    """Retrieval quality on labelled queries (through the same search path as `search`), identification
    accuracy, or peak positions in the frame (a labels file of marked summits)."""
    from peaklens.evaluate import run_eval

    if not labels.is_file():
        raise BadInput(f"Labels file {labels} does not exist or is not a file.")
    settings = _model_settings(_ctx(ctx))
    store = _open_index(settings, need_photos=False)
    report = run_eval(_searcher(settings, store), labels)
    if as_json:
        _print_json(report.to_json())
        return
    out.print(report.table(), markup=False)


@dev_app.command("tiny-model")
def tiny_model(
    folder: Path = typer.Argument(..., help="Where to write the model."),
    kind: str = typer.Option("siglip", help="siglip (like the default) or siglip2 (NaFlex)."),
) -> None:
    """Write a tiny randomly initialised SigLIP model (offline demos and tests; its vectors mean nothing)."""
    from peaklens.embed.tiny import build_tiny_model

    if kind not in ("siglip", "siglip2"):
        raise BadInput("--kind must be siglip or siglip2.")
    path = build_tiny_model(folder, kind=kind)  # type: ignore[arg-type]
    out.print(f"Tiny {kind} model written to {path} (random weights: for demos and tests only).")


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except PeaklensError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except Interrupted as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        err.print("interrupted.", highlight=False)
        raise SystemExit(130) from None
    except typer.Abort:
        raise SystemExit(1) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.TyperException as exc:  # usage errors (missing argument, bad option) in non-standalone mode
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        raise SystemExit(getattr(exc, "exit_code", 2)) from None
    # typer returns the exit code instead of raising: 130 after Ctrl-C outside `index`, a command's typer.Exit
    if code == 130:
        err.print("interrupted.", highlight=False)
    if isinstance(code, int) and code:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
