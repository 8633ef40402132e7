"""Predicted peaks on the trek album with and without reference photos (issue 18, item 13).

    python -m bench.refs_calibration --model tiny          # the tiny random test model
    python -m bench.refs_calibration --model random-base   # the default's full-size config, random weights

The 100 trek JPEGs are embedded once (torch, fp32, CPU); the default catalog's prototypes are built from text
only, then blended with ../shared/trek/refs (Ama Dablam, Pumori, Mount Everest have reference photos). For
each variant the table counts the photos whose best peak (top-1) is each peak and the photos whose 3
predicted peaks include it, visual ranking only (geo weight 0: what the prototypes alone do) and with the
default geo prior (what a user sees). Variants: text only; blended as the catalog did before calibration;
blended and calibrated against the album (``catalog.calibrate_prototypes``); and, for comparison, the
alternative not chosen: every peak (text-only ones too) standardised to one mean and spread on the album.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from bench.common import TREK, table
from bench.random_model import model_source

REF_PEAKS = ("Ama Dablam", "Pumori", "Mount Everest")


def _embedder(model: str, root: Path):  # type: ignore[no-untyped-def]
    from peaklens.config import Settings
    from peaklens.embed.loader import load_embedder

    if model == "tiny":
        from peaklens.embed.tiny import build_tiny_model

        model = str(build_tiny_model(root / "tiny", kind="siglip"))
    settings = Settings(
        model=model_source(model),
        device="cpu",
        runtime="torch",
        precision="fp32",
        data_dir=root / "store",
        batch_size=8,
    )
    return load_embedder(settings)


def _album(embedder) -> tuple[np.ndarray, list]:  # type: ignore[no-untyped-def]
    from peaklens.enrich import camera_of
    from peaklens.imaging import open_photo

    photos = sorted((TREK / "jpeg").glob("*.jpg"))
    vectors, cameras = [], []
    for start in range(0, len(photos), 8):
        loaded = [open_photo(p, target=embedder.image_size * 2) for p in photos[start : start + 8]]
        vectors.append(embedder.embed_images([photo.image for photo in loaded]))
        cameras += [camera_of(photo.meta, photo.width, photo.height) for photo in loaded]
    return np.concatenate(vectors), cameras


def _counts(peaks, vectors, cameras, geo_weight, calibration) -> tuple[Counter[str], Counter[str]]:  # type: ignore[no-untyped-def]
    from peaklens.enrich import PeakPredictor

    predictor = PeakPredictor(peaks, 3, geo_weight, calibration=calibration)
    predictions = predictor.predict(vectors, cameras if geo_weight > 0 else None)
    return Counter(p.names[0] for p in predictions), Counter(n for p in predictions for n in p.names)


def _standardise_all(peaks, vectors) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    """The alternative not chosen: every peak's scores to one mean and spread (the text prototypes' average)."""
    text = np.stack([vectors @ p.text_vector for p in peaks])
    mean, spread = float(text.mean(axis=1).mean()), float(text.std(axis=1).mean())
    calibration = {}
    for peak in peaks:
        scores = vectors @ peak.vector
        scale = spread / float(scores.std())
        calibration[peak.id] = (scale, mean - scale * float(scores.mean()))
    return calibration


def _correlations(peaks, vectors) -> str:  # type: ignore[no-untyped-def]
    """How much the peaks' scores move together across the photos (Pearson r, mean over pairs): why calibrated
    blended peaks still win more often than text-only ones on a random model."""
    text = [vectors @ p.text_vector for p in peaks if p.name not in REF_PEAKS]
    image = [vectors @ p.vector for p in peaks if p.name in REF_PEAKS]

    def mean_r(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
        return float(np.mean([np.corrcoef(a, b)[0, 1] for a, b in pairs]))

    among_text = mean_r([(a, b) for i, a in enumerate(text) for b in text[i + 1 :]])
    blended_text = mean_r([(a, b) for a in image for b in text])
    return (
        f"score correlation across photos: text-only peaks with each other r = {among_text:.2f}; "
        f"blended peaks with text-only ones r = {blended_text:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="tiny or random-base")
    args = parser.parse_args()
    from peaklens.catalog import build_prototypes, calibrate_prototypes, load_catalog

    with tempfile.TemporaryDirectory() as scratch:
        embedder = _embedder(args.model, Path(scratch))
        vectors, cameras = _album(embedder)
        catalog, _ = load_catalog(None)
        text_only = build_prototypes(embedder, catalog)
        blended = build_prototypes(embedder, catalog, refs_dir=TREK / "refs")
    calibration = calibrate_prototypes(blended, vectors)
    variants = {
        "text only": (text_only, None),
        "refs, uncalibrated": (blended, None),
        "refs, calibrated": (blended, calibration),
        "refs, every peak standardised": (blended, _standardise_all(blended, vectors)),
    }
    print(f"model {args.model}: {len(vectors)} trek photos, {len(catalog)} catalog peaks, refs for "
          f"{', '.join(REF_PEAKS)}; calibration (scale, shift): "
          + ", ".join(f"{k} ({a:.3f}, {b:+.3f})" for k, (a, b) in sorted(calibration.items())))  # fmt: skip
    print(_correlations(blended, vectors))
    for geo_weight in (0.0, 0.5):
        counts = {name: _counts(p, vectors, cameras, geo_weight, c) for name, (p, c) in variants.items()}
        names = sorted(
            {n for top1, top3 in counts.values() for n in (*top1, *top3)},
            key=lambda n: (-counts["refs, uncalibrated"][1][n], -counts["text only"][1][n], n),
        )
        rows = [
            [f"**{n}**" if n in REF_PEAKS else n]
            + [f"{counts[v][0][n]} / {counts[v][1][n]}" for v in variants]
            for n in names[:15]
        ]
        ref_top1 = [sum(counts[v][0][n] for n in REF_PEAKS) for v in variants]
        rows.append(["*top-1 is a peak with refs*"] + [f"{c} of {len(vectors)}" for c in ref_top1])
        print(f"\ngeo weight {geo_weight} — photos whose top-1 / top-3 holds the peak (15 most frequent)\n")
        print(table(["peak", *variants], rows))


if __name__ == "__main__":
    main()
