"""The command line. Global options (model, store, …) go before the command and override config and env.

Every user-facing failure is a ``PeaklensError`` printed as one line on stderr with exit code 1; usage errors
exit 2, Ctrl-C 130, and an ``index`` run that finished with some photos it could not index exits 3. This
module only parses and renders: every argument is checked before the store and the model load (a typo answers
at once), and the heavy imports (torch, transformers, lancedb) happen inside the commands that need them, so
``--help``, ``config`` and bad arguments stay instant.
"""

from __future__ import annotations

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
    from peaklens.answers import FramePeak, FrameView, PeakAnswer, PhotoAnswer
    from peaklens.config import Settings
    from peaklens.library import Library, LoadedPhoto, TerrainChange
    from peaklens.records import SearchFilters

# rich_markup_mode=None: click's plain help, where a flag is shown as a flag (typer's rich help prints
# `--explain <bool>` as if it took a value)
_TYPER = {"rich_markup_mode": None, "no_args_is_help": True}
app = typer.Typer(add_completion=False, help="Search a photo album by meaning (SigLIP-2).", **_TYPER)  # type: ignore[arg-type]
catalog_app = typer.Typer(help="The peaks catalog.", **_TYPER)  # type: ignore[arg-type]
dem_app = typer.Typer(help="Terrain (DEM tiles) for occlusion: which peaks a ridge hides.", **_TYPER)  # type: ignore[arg-type]
dev_app = typer.Typer(help="Developer tools (tiny offline test models).", **_TYPER)  # type: ignore[arg-type]
export_app = typer.Typer(help="Hand what peaklens found to your photo manager.", **_TYPER)  # type: ignore[arg-type]
app.add_typer(catalog_app, name="catalog")
app.add_typer(dem_app, name="dem")
app.add_typer(dev_app, name="dev")
app.add_typer(export_app, name="export")

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
    from peaklens.library import check_model_settings

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
    from peaklens.config import Settings

    given = locals()
    # every option named like a setting overrides it (the list of settings is Settings' own, never repeated)
    overrides = {name: given[name] for name in Settings.model_fields if name in given}
    ctx.obj = Context(config, {k: v for k, v in overrides.items() if v is not None}, verbose)
    from peaklens.config import unknown_environment

    for line in unknown_environment():
        err.print(f"warning: {line}", markup=False, highlight=False)


# --- opening things, after the arguments are checked ----------------------------------------------------------
def _library(settings: Settings, *, need_photos: bool = True) -> Library:
    from peaklens.library import Library

    return Library.open(settings, need_photos=need_photos)


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
    from peaklens.library import holds_a_photo

    return holds_a_photo(album)


def _load_photo(path: Path) -> LoadedPhoto:
    from peaklens.library import Library

    return Library.load_photo(path)


# --- messages ------------------------------------------------------------------------------------------------
def _say(line: str) -> None:
    """A progress or warning line from the core: plain text (paths may hold brackets), to stderr."""
    err.print(line, markup=False, highlight=False)


class _IndexProgress:
    """The index run's events as a person sees them: plain lines on stderr (a path's brackets are text, never
    markup) and a progress bar with the photos/s while embedding."""

    def __init__(self, shown: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.shown = shown
        self.bar = Progress(
            TextColumn("indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}", style="cyan"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self.task: Any = None

    def __enter__(self) -> _IndexProgress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.finish()

    def say(self, line: str) -> None:
        _say(line)

    def start(self, total: int) -> None:
        if self.shown and total:
            self.bar.start()
            self.task = self.bar.add_task("index", total=total, rate="-- photos/s")

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, count)
            speed = self.bar.tasks[0].speed
            self.bar.update(self.task, rate=f"{speed:.1f} photos/s" if speed else "-- photos/s")

    def finish(self) -> None:
        if self.task is not None:
            self.bar.stop()
            self.task = None


def _terrain_line(head: str, change: TerrainChange) -> str:
    """One line for a terrain change: the tiles, and how many stored photos were placed again."""
    return f"{head}; placed {change.replaced} stored photo(s) again with the terrain."


# --- rendering ---------------------------------------------------------------------------------------------
def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _fmt_gps(gps: Any) -> str:
    return f"{gps.lat:.5f},{gps.lon:.5f}" if gps else "-"


def _fmt_table_time(moment: Any) -> str:
    """A shot time for the table, to the second (--json keeps the sub-second digits)."""
    return moment.replace(microsecond=0).isoformat() if moment else "-"


def _print_results(answers: list[PhotoAnswer], *, explain: bool = False) -> None:
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("#", "score", "visual", "conf", "path", "predicted peaks", "in frame", "gps", "shot time"):
        # short values of a fixed form stay on one line; the path and the names fold when space runs out
        table.add_column(
            column, overflow="fold", no_wrap=column not in ("path", "predicted peaks", "in frame")
        )
    if explain:
        table.add_column("explain", overflow="fold")
    for rank, answer in enumerate(answers, start=1):
        hit = answer.hit
        row = [
            str(rank),
            f"{answer.rank_score:.4f}",
            f"{answer.visual_score:.4f}",
            "-" if answer.confidence is None else f"{answer.confidence:.1%}",
            escape(hit.path),
            ", ".join(hit.predicted_peaks),
            ", ".join(hit.peaks_in_frame or []) or "-",
            _fmt_gps(hit.gps) + (" gpx" if hit.gps_source == "gpx" else ""),
            _fmt_table_time(hit.shot_time),
        ]
        if explain:
            row.append(" ".join(f"{k}={v:.4g}" for k, v in answer.explain.items()))
        table.add_row(*row)
    out.print(table)


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
    if placed.x is not None and -0.5 < placed.x < 1.5:
        parts.append(f"x {placed.x:.2f}, " + ("height unknown" if placed.y is None else f"y {placed.y:.2f}"))
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


def _peak_line(rank: int, peak: PeakAnswer) -> str:
    line = f"{rank}. {peak.name}  score {peak.rank_score:.4f}"
    if peak.peak.fused_score is not None:
        line += f" (visual {peak.visual_score:.4f})"
    if peak.placed is not None:
        line += "  · " + _geometry(peak.placed)
    return line


# --- argument checks (no store, no model) --------------------------------------------------------------------
def _date_filters(bbox: str | None, time_from: str | None, time_to: str | None) -> SearchFilters:
    from peaklens.library import parse_filters

    return parse_filters(bbox, time_from, time_to)


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
    from peaklens.library import Library

    if peaks is not None and not peaks.is_file():
        raise BadInput(f"Catalog file {peaks} does not exist or is not a file.")
    if refs is not None and not refs.is_dir():
        raise BadInput(f"Reference folder {refs} does not exist or is not a folder.")
    settings = _model_settings(_ctx(ctx))
    library = Library.create(settings)
    count = library.build_catalog(peaks, refs, say=_say)
    out.print(f"Catalog built: {count} peaks in '{settings.peaks_index}' ({library.embedder().model_id}).")


@app.command()
def index(
    ctx: typer.Context,
    album: Path = typer.Argument(..., help="Album folder (searched recursively)."),
    replace: bool = flag("Replace an index that holds another album.", "--replace"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    verbose: bool = flag("List every unusable EXIF value (also a global option).", "--verbose", "-v"),
    gpx: list[Path] = typer.Option(
        [],
        "--gpx",
        metavar="FILE",
        help="GPX track placing photos without GPS by capture time (repeatable; also a setting).",
    ),
    camera_tz: str | None = typer.Option(
        None,
        "--camera-tz",
        help="Zone of the camera clock when photos lack OffsetTimeOriginal (Asia/Kathmandu, +05:45).",
    ),
    camera_clock_offset: str | None = typer.Option(
        None, "--camera-clock-offset", help="How far the camera clock was ahead of the true time, ±HH:MM:SS."
    ),
    gpx_max_gap: float | None = typer.Option(
        None, "--gpx-max-gap", help="Longest gap between track points to interpolate across, seconds (1800)."
    ),
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
    settings = _model_settings(
        context,
        gpx=gpx or None,
        camera_tz=camera_tz,
        camera_clock_offset=camera_clock_offset,
        gpx_max_gap_s=gpx_max_gap,
    )
    from peaklens.library import geotagger_for, run_index

    if (camera_tz or camera_clock_offset) and not settings.gpx:
        raise BadInput("--camera-tz and --camera-clock-offset place photos from a track: give it with --gpx.")
    geotagger = geotagger_for(settings)  # a bad track or zone answers before the model loads
    try:
        with _IndexProgress(progress) as events:
            report = run_index(
                settings, album, replace=replace, events=events, started=started, geotagger=geotagger
            )
    except KeyboardInterrupt:
        raise Interrupted(INDEX_INTERRUPTED) from None
    warnings = list(getattr(report, "exif_warnings", []) or [])
    if verbose or context.verbose:
        for path, warning in warnings:
            err.print(f"[yellow]exif[/] {escape(path)}: {escape(warning)}", highlight=False)
        for path, reason in report.geotag.not_placed() if report.geotag is not None else []:
            err.print(f"[yellow]gpx[/] {escape(path)}: {escape(reason)}", highlight=False)
    out.print(report.summary(), markup=False, highlight=False)
    if warnings and not (verbose or context.verbose):
        out.print(
            f"{len(warnings)} EXIF warning(s): `peaklens index --verbose {album}` lists them.",
            markup=False,
            highlight=False,
        )
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
    library = _library(settings)
    filters = library.resolve_peaks(filters, peak, in_frame)
    answer = library.search(text, filters, sort=sort, min_confidence=min_confidence, with_frames=as_json)
    results = answer.photos
    dropped = answer.dropped_below_confidence
    cut = answer.min_confidence
    if as_json:
        _print_json([r.to_json(explain) for r in results])
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
    answer = _library(settings, need_photos=False).identify(loaded, use_geo=geo)
    if as_json:
        _print_json({"photo": str(photo), **answer.to_json()})
        return
    if answer.frame is not None:
        out.print(_camera_line(answer.frame), highlight=False, markup=False)
    fit = answer.registration
    if fit is not None and not fit.ok:
        out.print(
            f"Not registered against the terrain: {fit.reason}; the compass places the labels.",
            highlight=False,
            markup=False,
        )
    for rank, peak in enumerate(answer.peaks, start=1):
        out.print(_peak_line(rank, peak), highlight=False, markup=False)


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
    result = _library(settings).similar(loaded, k=k, use_geo=geo)
    if as_json:
        _print_json({"photo": str(photo), **result.to_json()})
        return
    peaks = result.identification.peaks
    out.print("Peaks: " + ", ".join(f"{p.name} ({p.rank_score:.4f})" for p in peaks), markup=False)
    out.print(f"Photos predicted to show {result.peak.name}:", markup=False)
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
    facets = _library(_ctx(ctx).settings(), need_photos=False).facets(in_frame=in_frame)
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


@export_app.command("xmp")
def export_xmp(
    ctx: typer.Context,
    write: bool = flag("Write the sidecars (without it: list what would be written).", "--write"),
    predicted: bool = flag("Add the peaks the model predicts, not only those in the frame.", "--predicted"),
    min_score: float = typer.Option(
        0.0, "--min-score", help="With --predicted: the lowest peak score (as identify shows it) to add."
    ),
    as_json: bool = flag("Machine-readable output.", "--json"),
) -> None:
    """XMP sidecars (IMG.jpg.xmp) with the peaks as keywords and the true heading; photos are never modified."""
    report = _library(_ctx(ctx).settings()).export_xmp(write=write, predicted=predicted, min_score=min_score)
    if as_json:
        _print_json(
            {
                "written": write,
                "sidecars": [
                    {**plan.to_json(), "failed": report.failed.get(plan.sidecar)} for plan in report.plans
                ],
                "without_peaks": report.without_peaks,
                "missing_photos": report.missing_photos,
            }
        )
        return
    for plan in report.plans:
        failed = report.failed.get(plan.sidecar)
        line = plan.describe() if failed is None else f"{plan.sidecar.name}: not written ({failed})"
        out.print(escape(line), highlight=False)
    for path in report.missing_photos:
        err.print(
            f"[yellow]missing[/] {escape(path)}: the photo is not in the album any more", highlight=False
        )
    merged = sum(plan.merge for plan in report.plans)
    counts = f"{len(report.plans)} sidecar(s) ({merged} merged into existing ones)"
    tail = f"; {report.without_peaks} photo(s) without peaks get none."
    if not write:
        out.print(f"Would write {counts}{tail} Run with --write to write them.")
    else:
        out.print(f"Wrote {len(report.written)} of {counts}{tail}")
    if report.failed:
        raise BadInput(f"{len(report.failed)} sidecar(s) could not be written; each is listed above.")


@dem_app.command("add")
def dem_add(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="SRTM .hgt(.gz/.zip) or GeoTIFF tiles."),
) -> None:
    """Register DEM tiles you downloaded: occlusion is checked wherever they cover the line of sight."""
    from peaklens.library import Library

    for path in paths:
        if not path.is_file():
            raise BadInput(f"DEM tile {path} does not exist or is not a file.")
    settings = _ctx(ctx).settings()
    change = Library.create(settings).add_terrain(paths, say=_say)
    out.print(_terrain_line(f"Registered {len(change.tiles)} DEM tile(s): {', '.join(change.tiles)}", change))


@dem_app.command("fetch")
def dem_fetch(ctx: typer.Context) -> None:
    """Download the SRTM tiles covering the album's photos and the catalog peaks they look at."""
    change = _library(_ctx(ctx).settings()).fetch_terrain(say=_say)
    names = change.tiles
    head = f"Fetched {len(names)} DEM tile(s)" + (f": {', '.join(names)}" if names else " (all were there)")
    out.print(_terrain_line(head, change))


def _precision_decision(settings: Settings) -> dict[str, Any] | None:
    """What the CPU precision check decided for this model (int8 or fp32, with the measured agreement)."""
    from peaklens.library import precision_decision

    return precision_decision(settings)


@app.command("config")
def show_config(ctx: typer.Context, as_json: bool = flag("Machine-readable output.", "--json")) -> None:
    """The settings in force (file < env < flags), each with where it came from; secrets are masked."""
    from peaklens.config import config_file_path, setting_sources, using_config_file

    context = _ctx(ctx)
    settings = context.settings()
    shown = settings.public_dict()
    sources = setting_sources(context.overrides, context.config_file)
    decision = _precision_decision(settings)
    with using_config_file(context.config_file):
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
    if not labels.is_file():
        raise BadInput(f"Labels file {labels} does not exist or is not a file.")
    report = _library(_model_settings(_ctx(ctx)), need_photos=False).evaluate(labels)
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
    from peaklens.library import write_tiny_model

    path = write_tiny_model(folder, kind)
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
