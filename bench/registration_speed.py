"""What registering photos against the terrain costs: per photo, over an album, and in the indexing rate.

Two measurements in one run, on the real trek photos (../shared/trek/jpeg, those with GPS and a compass
heading) and the real SRTM tiles (../shared/dem, read in place):

1. ``Registrar.register`` over the album in file order, one Registrar (panoramas reused for photos within
   ``registration.REUSE_M``, sectors rendered as photos need them): the mean per photo (what an album pays,
   panorama renders included), median and p90, how many panoramas were rendered and how many photos
   registered; and the mean CPU time of this process per photo (the shared test machine runs other jobs: CPU
   time is what registration costs whatever the load; wall time is what it took beside them).
2. ``index_album`` on the same photos into two fresh stores, one without a DEM and one with the tiles registered
   (``add_tiles``), after a warm-up run, twice: with the tiny random model (torch fp32; it embeds in ~1 ms, so
   its rows show the DEM's own cost) and with ``--model`` at the default settings (runtime and precision
   chosen as ``peaklens index`` chooses them; default ``random-base``, the full-size default architecture with
   random weights): photos/s while embedding, the share of the rate without the DEM that is kept, and the time
   the DEM adds per photo, wall and CPU.

    .venv/bin/python -m bench.registration_speed [--model random-base]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import SHARED, TREK, Section, percentile, table
from bench.index_speed import Variant, bench_settings, prepare_model
from bench.random_model import NAME
from peaklens.catalog import load_catalog
from peaklens.config import Settings, load_settings
from peaklens.dem import Dem, add_tiles, read_hgt
from peaklens.embed.loader import load_embedder
from peaklens.embed.prompts import PEAK_PROMPTS, prompts_for
from peaklens.embed.tiny import build_tiny_model
from peaklens.enrich import camera_of
from peaklens.imaging import open_photo
from peaklens.index import index_album
from peaklens.registration import Registrar
from peaklens.store.factory import open_store

DEM_DIR = SHARED / "dem"
#: the fresh store of each indexing run, in their order
RUNS = ("warm-up", "plain", "dem")
NAME_MEANS = "random weights of the full-size default config: the real model's cost, meaningless vectors"


def _photos() -> list[Path]:
    return sorted((TREK / "jpeg").glob("*.jpg"))


def registration_rows() -> tuple[list[list[object]], int]:
    """Per-photo registration cost over the trek album (decoding excluded: indexing decodes anyway)."""
    dem = Dem([read_hgt(p.name, p.read_bytes()) for p in sorted(DEM_DIR.glob("*.hgt"))])
    registrar = Registrar(dem)
    times: list[float] = []
    cpu: list[float] = []
    registered = 0
    for path in _photos():
        loaded = open_photo(path)
        camera = camera_of(loaded.meta, loaded.width, loaded.height)
        if camera is None or camera.heading_deg is None:
            continue
        started, started_cpu = time.perf_counter(), time.process_time()
        fit = registrar.register(loaded.image, camera)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        registered += fit is not None and fit.ok
    ms = [t * 1000 for t in times]
    rows: list[list[object]] = [
        [
            len(ms),
            registered,
            registrar.rendered,
            f"{statistics.fmean(ms):.1f}",
            f"{statistics.median(ms):.1f}",
            f"{percentile(ms, 90):.1f}",
            f"{sum(ms) / 1000:.2f}",
            f"{statistics.fmean(cpu) * 1000:.1f}",
        ]
    ]
    return rows, len(ms)


def _index(album: Path, settings: Settings, with_dem: bool) -> tuple[int, float, float]:
    """(photos embedded, wall seconds of the embedding phase, CPU seconds of this process for the run)."""
    if with_dem:
        add_tiles(settings.data_dir, sorted(DEM_DIR.glob("*.hgt")))
    embedder = load_embedder(settings)
    store = open_store(settings)
    started_cpu = time.process_time()
    report = index_album(album, settings, embedder, store)
    return report.embedded, report.embed_phase_seconds, time.process_time() - started_cpu


def _without_and_with_dem(label: str, album: Path, stores: dict[str, Settings]) -> list[list[object]]:
    """Two rows: the album indexed into a fresh store without the DEM, then into one with it, after a warm-up
    run (a first run pays the process's one-time costs: imports, the model's first calls, the store's set-up,
    which would otherwise be charged to the run without the DEM and hide part of what the DEM costs)."""
    _index(album, stores["warm-up"], with_dem=False)
    photos, without, cpu_without = _index(album, stores["plain"], with_dem=False)
    _, with_dem, cpu_with = _index(album, stores["dem"], with_dem=True)
    added = (with_dem - without) / photos
    added_cpu = (cpu_with - cpu_without) / photos
    return [
        [f"{label}, no DEM", photos, f"{photos / without:.1f}", "—", "—"],
        [
            f"{label}, DEM (registration + occlusion)",
            photos,
            f"{photos / with_dem:.1f} ({without / with_dem:.0%} of the rate without)",
            f"{added * 1000:.1f}",
            f"{added_cpu * 1000:.1f}",
        ],
    ]


def indexing_rows(model: str) -> list[list[object]]:
    """Indexing rates without and with the DEM, same photos, one run: the tiny model (the DEM's own cost, the
    model's is ~1 ms) and ``model`` at the default settings (runtime and precision chosen as ``peaklens index``
    chooses them; set-up, ONNX export and the precision measurement off the clock)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        album = root / "album"
        album.mkdir()
        for path in _photos():
            shutil.copyfile(path, album / path.name)
        tiny_model = build_tiny_model(root / "model")
        tiny = {
            name: load_settings(
                model=str(tiny_model),
                data_dir=root / f"tiny-{name}",
                store="embedded",
                runtime="torch",
                precision="fp32",
            )
            for name in RUNS
        }
        sample = [open_photo(path, target=448).image for path in _photos()[:32]]
        peaks, _ = load_catalog()
        prompts = {peak.id: prompts_for(peak.names, PEAK_PROMPTS) for peak in peaks}
        default = Variant("default", "auto", "auto", 16)
        full = {name: bench_settings(model, default, root / f"full-{name}") for name in RUNS}
        chosen = {name: prepare_model(settings, sample, prompts)[:2] for name, settings in full.items()}
        runtime, precision = chosen["plain"]
        return _without_and_with_dem("tiny model", album, tiny) + _without_and_with_dem(
            f"model {model}, default settings ({runtime} {precision})", album, full
        )


REGISTRATION_HEADER = [
    "photos",
    "registered",
    "panoramas rendered",
    "ms/photo: mean (album)",
    "median",
    "p90",
    "total s",
    "CPU ms/photo: mean",
]
INDEX_HEADER = ["indexing", "photos", "photos/s while embedding", "DEM wall ms/photo", "DEM CPU ms/photo"]


def run(model: str = NAME) -> Section:
    reg_rows, _ = registration_rows()
    body = (
        "Registration against ../shared/dem, trek photos with GPS and a compass heading:\n\n"
        + table(REGISTRATION_HEADER, reg_rows)
        + "\n\nIndexing the same photos without and with the DEM (one run; "
        + f"`{NAME}` is {NAME_MEANS}):\n\n"
        + table(INDEX_HEADER, indexing_rows(model))
    )
    return Section("Registration against the terrain", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=NAME, help=f"a model folder or name ({NAME}: {NAME_MEANS})")
    args = parser.parse_args()
    print(run(args.model).body)


if __name__ == "__main__":
    main()
