"""What registering photos against the terrain costs: per photo, over an album, and in the indexing rate.

Two measurements in one run, on the real trek photos (../shared/trek/jpeg, those with GPS and a compass
heading) and the real SRTM tiles (../shared/dem, read in place):

1. ``Registrar.register`` over the album in file order, one Registrar (panoramas reused for photos within
   ``registration.REUSE_M``, sectors rendered as photos need them): the mean per photo (what an album pays,
   panorama renders included), median and p90, how many panoramas were rendered and how many photos
   registered; and the mean CPU time of this process per photo (the shared test machine runs other jobs: CPU
   time is what registration costs whatever the load; wall time is what it took beside them).
2. ``index_album`` on the same photos into two fresh stores, one without a DEM and one with the tiles registered
   (``add_tiles``), the same tiny random model (torch fp32), after a warm-up run: photos/s while embedding,
   and the time the DEM adds per photo. The tiny model embeds in ~1 ms, so the with/without ratio here is not
   the full-size model's; the last row projects it for a model embedding at ``--model-rate`` photos/s (the
   full-size SigLIP-2 on the machine issue 16 measured: ~17/s) by adding the measured per-photo DEM CPU cost
   to its time.

    .venv/bin/python -m bench.registration_speed [--model-rate 17]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import SHARED, TREK, Section, percentile, table
from peaklens.config import load_settings
from peaklens.dem import Dem, add_tiles, read_hgt
from peaklens.embed.loader import load_embedder
from peaklens.embed.tiny import build_tiny_model
from peaklens.enrich import camera_of
from peaklens.imaging import open_photo
from peaklens.index import index_album
from peaklens.registration import Registrar
from peaklens.store.factory import open_store

DEM_DIR = SHARED / "dem"


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


def _index(album: Path, data_dir: Path, model: Path, with_dem: bool) -> tuple[int, float, float]:
    """(photos embedded, wall seconds of the embedding phase, CPU seconds of this process for the run)."""
    settings = load_settings(
        model=str(model), data_dir=data_dir, store="embedded", runtime="torch", precision="fp32"
    )
    if with_dem:
        add_tiles(data_dir, sorted(DEM_DIR.glob("*.hgt")))
    embedder = load_embedder(settings)
    store = open_store(settings)
    started_cpu = time.process_time()
    report = index_album(album, settings, embedder, store)
    return report.embedded, report.embed_phase_seconds, time.process_time() - started_cpu


def indexing_rows(model_rate: float) -> list[list[object]]:
    """Indexing rate without and with the DEM, same photos, same model, one run; the DEM's cost per photo in
    wall time and in CPU time (the CPU difference is what the DEM costs whatever else the machine runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        album = root / "album"
        album.mkdir()
        for path in _photos():
            shutil.copyfile(path, album / path.name)
        model = build_tiny_model(root / "model")
        # a first run pays the process's one-time costs (imports, the model's first calls, the store's set-up),
        # which would otherwise be charged to the run without the DEM and hide part of what the DEM costs
        _index(album, root / "warm-up", model, with_dem=False)
        photos, without, cpu_without = _index(album, root / "plain", model, with_dem=False)
        _, with_dem, cpu_with = _index(album, root / "dem", model, with_dem=True)
    added = (with_dem - without) / photos
    added_cpu = (cpu_with - cpu_without) / photos
    full = 1 / model_rate
    return [
        ["tiny model, no DEM", photos, f"{photos / without:.1f}", "—", "—"],
        [
            "tiny model, DEM (registration + occlusion)",
            photos,
            f"{photos / with_dem:.1f}",
            f"{added * 1000:.1f}",
            f"{added_cpu * 1000:.1f}",
        ],
        [
            f"projected: a {model_rate:g} photos/s model with the DEM (CPU cost added)",
            photos,
            f"{1 / (full + added_cpu):.1f} ({full / (full + added_cpu):.0%} of {model_rate:g})",
            "—",
            f"{added_cpu * 1000:.1f}",
        ],
    ]


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


def run(model_rate: float = 17.0) -> Section:
    reg_rows, _ = registration_rows()
    body = (
        "Registration against ../shared/dem, trek photos with GPS and a compass heading:\n\n"
        + table(REGISTRATION_HEADER, reg_rows)
        + "\n\nIndexing the same photos without and with the DEM (one run):\n\n"
        + table(INDEX_HEADER, indexing_rows(model_rate))
    )
    return Section("Registration against the terrain", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-rate", type=float, default=17.0)
    args = parser.parse_args()
    print(run(args.model_rate).body)


if __name__ == "__main__":
    main()
