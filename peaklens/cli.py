"""The command line. Global options (model, store, …) go before the command and override config and env.

Every user-facing failure is a ``PeaklensError`` printed as one line on stderr with exit code 1.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from peaklens.config import Settings, load_settings
from peaklens.errors import BadInput, PeaklensError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Search a photo album by meaning (SigLIP-2)."
)
catalog_app = typer.Typer(no_args_is_help=True, help="The peaks catalog.")
dev_app = typer.Typer(no_args_is_help=True, help="Developer tools (tiny offline test models).")
app.add_typer(catalog_app, name="catalog")
app.add_typer(dev_app, name="dev")

# piped output gets wide tables instead of 80-column wrapping
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class Context:
    config_file: Path | None
    overrides: dict[str, Any] = field(default_factory=dict)

    def settings(self, **more: Any) -> Settings:
        return load_settings(self.config_file, **{**self.overrides, **more})


def _ctx(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", help="YAML config file."),
    model: str | None = typer.Option(None, help="Model id or local folder."),
    device: str | None = typer.Option(None, help="auto, cpu, cuda…"),
    precision: str | None = typer.Option(None, help="auto, fp32, fp16, bf16, int8."),
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
) -> None:
    overrides = {
        "model": model,
        "device": device,
        "precision": precision,
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
    ctx.obj = Context(config, {k: v for k, v in overrides.items() if v is not None})


# --- helpers -----------------------------------------------------------------------------------------
def _open(settings: Settings) -> tuple[Any, Any]:
    """Embedder and store, loaded lazily so `peaklens config` stays instant."""
    from peaklens.embed.loader import load_embedder
    from peaklens.store.factory import open_store

    embedder = load_embedder(settings)
    return embedder, open_store(settings)


def _searcher(settings: Settings) -> Any:
    from peaklens.search import Searcher

    embedder, store = _open(settings)
    return Searcher(settings, store, embedder)


def _load_photo(path: Path) -> Any:
    from peaklens.imaging import BadImage, open_photo

    if not path.is_file():
        raise BadInput(f"Photo {path} does not exist.")
    try:
        return open_photo(path)
    except BadImage as exc:
        raise BadInput(f"Photo {path} cannot be used: {exc}") from None


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _fmt_gps(gps: Any) -> str:
    return f"{gps.lat:.5f},{gps.lon:.5f}" if gps else "-"


def _fmt_time(moment: Any) -> str:
    return moment.isoformat() if moment else "-"


def result_json(result: Any, explain: bool = False) -> dict[str, Any]:
    hit = result.hit
    data: dict[str, Any] = {
        "path": hit.path,
        "score": round(hit.score, 6),
        "confidence": None if result.confidence is None else round(result.confidence, 6),
        "predicted_peaks": hit.predicted_peaks,
        "gps": {"lat": hit.gps.lat, "lon": hit.gps.lon} if hit.gps else None,
        "shot_time": _fmt_time(hit.shot_time) if hit.shot_time else None,
    }
    if explain and result.explain:
        data["explain"] = {k: round(v, 6) for k, v in result.explain.items()}
    return data


def _print_results(results: list[Any], *, explain: bool = False) -> None:
    if not results:
        out.print("No photos match. Widen the filters (bounding box, dates, peaks) or try other words.")
        return
    table = Table(show_lines=False)
    for column in ("#", "score", "conf", "path", "predicted peaks", "gps", "shot time"):
        table.add_column(column, overflow="fold")
    if explain:
        table.add_column("explain", overflow="fold")
    for rank, result in enumerate(results, start=1):
        hit = result.hit
        row = [
            str(rank),
            f"{hit.score:.4f}",
            "-" if result.confidence is None else f"{result.confidence:.1%}",
            hit.path,
            ", ".join(hit.predicted_peaks),
            _fmt_gps(hit.gps),
            _fmt_time(hit.shot_time),
        ]
        if explain:
            row.append(" ".join(f"{k}={v:.4g}" for k, v in result.explain.items()))
        table.add_row(*row)
    out.print(table)


def _peaks_json(peaks: list[Any]) -> list[dict[str, Any]]:
    return [{"id": p.id, "name": p.name, "score": round(p.score, 6)} for p in peaks]


# --- commands ----------------------------------------------------------------------------------------
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
    from peaklens.index import build_catalog

    settings = _ctx(ctx).settings()
    embedder, store = _open(settings)
    count = build_catalog(store, embedder, settings, peaks_file=peaks, refs_dir=refs, say=err.print)
    out.print(f"Catalog built: {count} peaks in '{settings.peaks_index}' ({embedder.model_id}).")


@app.command()
def index(
    ctx: typer.Context,
    album: Path = typer.Argument(..., help="Album folder (searched recursively)."),
    replace: bool = typer.Option(False, help="Replace an index that holds another album."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Index (or update) an album: new and changed photos are embedded, gone ones removed."""
    from peaklens.index import index_album

    settings = _ctx(ctx).settings()
    if not album.exists():
        raise BadInput(f"Album folder {album} does not exist.")
    if not album.is_dir():
        raise BadInput(f"Album path {album} is not a folder.")
    embedder, store = _open(settings)
    report = index_album(
        album, settings, embedder, store, replace=replace, console=err, show_progress=progress
    )
    out.print(report.summary())
    if report.failed:
        out.print(
            f"{len(report.failed)} photo(s) could not be indexed; each is listed above with its reason."
        )


@app.command()
def search(
    ctx: typer.Context,
    text: str = typer.Argument(..., help="What to look for, in any language."),
    k: int | None = typer.Option(None, "--k", help="How many photos."),
    num_candidates: int | None = typer.Option(None, "--num-candidates", help="kNN candidates per shard."),
    bbox: str | None = typer.Option(None, "--bbox", help="TOP,LEFT,BOTTOM,RIGHT in degrees."),
    time_from: str | None = typer.Option(None, "--from", help="Earliest capture date (YYYY-MM-DD or ISO)."),
    time_to: str | None = typer.Option(None, "--to", help="Latest capture date (inclusive)."),
    peak: list[str] = typer.Option(
        [], "--peak", help="Only photos predicted to show this peak (repeatable: any)."
    ),
    min_confidence: float | None = typer.Option(None, "--min-confidence", help="Drop hits below (0..1)."),
    sort: str = typer.Option("score", "--sort", help="score or time."),
    explain: bool = typer.Option(False, "--explain", help="Show the parts of each score."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Photos that match a text, best first."""
    from peaklens.filters import build_filters

    if sort not in ("score", "time"):
        raise BadInput(f"--sort {sort!r}: use 'score' or 'time'.")
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise BadInput("--min-confidence must be between 0 and 1.")
    settings = _ctx(ctx).settings(
        **({"k": k} if k else {}), **({"num_candidates": num_candidates} if num_candidates else {})
    )
    searcher = _searcher(settings)
    filters = build_filters(
        bbox=bbox, time_from=time_from, time_to=time_to, peaks=peak, resolve_peak=searcher.resolve_peak
    )
    results = searcher.text(text, filters, sort=sort, min_confidence=min_confidence)  # type: ignore[arg-type]
    if as_json:
        _print_json([result_json(r, explain) for r in results])
    else:
        _print_results(results, explain=explain)


def _camera(loaded: Any, use_geo: bool) -> Any:
    from peaklens.enrich import camera_of

    return camera_of(loaded.meta, loaded.width, loaded.height) if use_geo else None


def _peak_line(rank: int, peak: Any, camera: Any) -> str:
    line = f"{rank}. {peak.name}  score {peak.score:.4f}"
    if camera is not None and peak.latlon is not None:
        from peaklens.geo import view_of

        view = view_of(camera, peak.id, peak.latlon, peak.elev_m)
        line += f"  · {view.distance_km:.1f} km · bearing {view.bearing_deg:.0f}°" + (
            "" if view.in_view else " (outside the camera's view)"
        )
    return line


@app.command()
def identify(
    ctx: typer.Context,
    photo: Path = typer.Argument(..., help="A photo (jpg, png, heic…)."),
    geo: bool = typer.Option(True, help="Use the photo's GPS and compass heading (when it has them)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Which peak is this? The top 3 catalog peaks with scores."""
    loaded = _load_photo(photo)
    searcher = _searcher(_ctx(ctx).settings())
    camera = _camera(loaded, geo)
    peaks = searcher.identify(loaded.image, camera=camera)
    if as_json:
        _print_json(_peaks_json(peaks))
        return
    if camera is not None:
        out.print(
            f"Taken at {camera.position.lat:.5f},{camera.position.lon:.5f}"
            + (f", facing {camera.heading_deg:.0f}°" if camera.heading_deg is not None else "")
        )
    for rank, peak in enumerate(peaks, start=1):
        out.print(_peak_line(rank, peak, camera))


@app.command()
def similar(
    ctx: typer.Context,
    photo: Path = typer.Argument(..., help="A photo (jpg, png, heic…)."),
    k: int = typer.Option(30, "--k", help="How many photos."),
    geo: bool = typer.Option(True, help="Use the photo's GPS and compass heading (when it has them)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Identify the peak in a photo, then find your photos of that peak, most similar first."""
    loaded = _load_photo(photo)
    searcher = _searcher(_ctx(ctx).settings())
    result = searcher.similar(loaded.image, k=k, camera=_camera(loaded, geo))
    if as_json:
        _print_json({"peaks": _peaks_json(result.peaks), "photos": [result_json(r) for r in result.photos]})
        return
    out.print("Peaks: " + ", ".join(f"{p.name} ({p.score:.4f})" for p in result.peaks))
    out.print(f"Photos predicted to show {result.peaks[0].name}:")
    _print_results(result.photos)


@app.command()
def peaks(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every predicted peak with its photo count."""
    from peaklens.store.factory import open_store

    settings = _ctx(ctx).settings()
    facets = open_store(settings).peak_facets()
    if as_json:
        _print_json([{"peak": name, "photos": count} for name, count in facets])
        return
    if not facets:
        out.print("No photos indexed yet: run `peaklens index ALBUM`.")
    for name, count in facets:
        out.print(f"{count:6d}  {name}")


@app.command("config")
def show_config(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """The settings in force (file < env < flags); secrets are masked."""
    from peaklens.config import config_file_path

    settings = _ctx(ctx).settings()
    shown = settings.public_dict()
    if as_json:
        _print_json(shown)
        return
    source = config_file_path()
    out.print(f"config file: {source if source else '(none)'}")
    for name, value in shown.items():
        out.print(f"{name} = {value}")


@app.command()
def ui(
    ctx: typer.Context,
    album: Path | None = typer.Option(None, "--album", help="Album root (default: the one the index holds)."),
    port: int = typer.Option(8501, "--port", help="Port on 127.0.0.1."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
) -> None:
    """Start the Streamlit UI on 127.0.0.1 over the same search functions as the CLI."""
    from peaklens.ui.launch import launch

    context = _ctx(ctx)
    if album is not None and not album.is_dir():
        raise BadInput(f"Album folder {album} does not exist or is not a folder.")
    settings = context.settings(**({"album": album.resolve()} if album else {}))
    raise SystemExit(launch(settings, context.config_file, host=host, port=port))


@app.command("eval")
def evaluate(
    ctx: typer.Context,
    labels: Path = typer.Argument(..., help="Labels YAML (see docs/EVALUATION.md)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Retrieval quality on labelled queries, with and without the prompt ensemble and anti-concept."""
    from peaklens.embed.prompts import text_query_vector
    from peaklens.evaluate import Variant, format_table, identification_accuracy, load_labels, score_text

    settings = _ctx(ctx).settings()
    searcher = _searcher(settings)
    store = searcher.store
    paths = [hit.path for hit in store.list_photos(limit=max(1, store.count_photos()))]
    parsed = load_labels(labels, paths)
    if parsed.queries and not paths:
        raise BadInput("The index is empty: run `peaklens index ALBUM` first.")

    def rank(text: str, variant: Variant) -> list[str]:
        embed_text, is_peak = searcher.query_plan(text, searcher.query_names_peak(text))
        vector = text_query_vector(
            searcher.embedder,
            embed_text,
            is_peak=is_peak,
            anti_concept_weight=settings.anti_concept_weight if variant.anti_concept else 0.0,
            use_ensemble=variant.use_ensemble,
        )
        return [hit.path for hit in store.knn_photos(vector, 10, settings.num_candidates)]

    text_scores = score_text(parsed, rank) if parsed.queries else []
    identify_scores = {}
    if parsed.identify:
        visual, with_geo = [], []
        for photo, peak in parsed.identify:
            loaded = _load_photo(photo)
            vector = searcher.image_vector(loaded.image)
            visual.append((peak, [p.name for p in searcher.identify_vector(vector)]))
            camera = _camera(loaded, True)
            with_geo.append((peak, [p.name for p in searcher.identify_vector(vector, camera=camera)]))
        identify_scores["visual"] = identification_accuracy(visual)
        identify_scores[f"visual + geo prior (weight {settings.geo_weight})"] = identification_accuracy(
            with_geo
        )
    if as_json:
        _print_json(
            {
                "text": [
                    {"variant": s.variant, "queries": s.queries, "recall": s.recall, "mrr": s.mrr}
                    for s in text_scores
                ],
                "identify": {k: {"top1": v[0], "top3": v[1]} for k, v in identify_scores.items()},
            }
        )
        return
    out.print(format_table(text_scores, identify_scores), markup=False)


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
        app(standalone_mode=False)
    except PeaklensError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted: photos written so far are kept; run the same command again to resume.")
        raise SystemExit(130) from None
    except (typer.Abort, typer.Exit) as exc:
        raise SystemExit(getattr(exc, "exit_code", 1)) from None
    except typer.TyperException as exc:  # usage errors (missing argument, bad option) in non-standalone mode
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        raise SystemExit(getattr(exc, "exit_code", 2)) from None


if __name__ == "__main__":
    main()
