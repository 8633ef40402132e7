"""Choosing int8 or fp32 on a CPU by measuring the user's own model on the user's own photos.

int8 is about twice as fast on a CPU, but whether it keeps the model's answers depends on the weights and on
the CPU's kernels (on AVX2 without VNNI plain signed int8 saturates and drifts badly). So the first time a
model is used with ``precision: auto`` on a CPU, a sample of the album's photos and the catalog's prompts is
embedded in both, and int8 is used only when the vectors agree, the predicted peaks stay the same, and it is
measurably faster (timed in turns with fp32, the median over batches). The
decision and its numbers are stored beside the exports; docs/PRECISION.md explains the thresholds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
from PIL import Image

from peaklens.config import Settings
from peaklens.embed.artifacts import decision_file, read_decision, write_json_atomically
from peaklens.embed.base import Embedder, l2_normalise
from peaklens.embed.runtime import on_cpu, resolve_runtime

#: at most this many photos and prompts are embedded twice for the decision
MAX_SAMPLE_IMAGES = 32
MAX_SAMPLE_PROMPTS = 96
#: photos per timed batch, and at least this many batches are timed in each precision (photos cycled)
SPEED_BATCH = 4
MIN_TIMED_BATCHES = 8
#: int8 is used only when it embeds photos at least this much faster than fp32 (median over the batches):
#: it never agrees with fp32 exactly, so a tie in speed is no reason to take it
MIN_SPEEDUP = 1.2
TOP_K = 3
#: prototypes whose fp32 scores for a photo are this close (cosine) are a tie: fp32's own order among them is
#: noise (re-encoding the JPEG moves scores by more), so int8 picking another of them is not a disagreement
TIE = 0.002


@dataclass(frozen=True)
class Thresholds:
    """int8 must reach every one of these against fp32 (reasons in docs/PRECISION.md)."""

    image_cos_mean: float = 0.995
    image_cos_min: float = 0.98
    text_cos_mean: float = 0.995
    text_cos_min: float = 0.98
    #: share of sample photos whose best prototype under int8 is fp32's best (or tied with it, see TIE)
    top1_agreement: float = 0.9
    #: share of int8's 3 best prototypes per photo that are among fp32's 3 best (or tied with its third)
    top3_agreement: float = 0.9


THRESHOLDS = Thresholds()


@dataclass
class PrecisionDecision:
    precision: str  # "int8" or "fp32"
    runtime: str
    model_id: str
    reason: str  # one line for `peaklens config`
    measured: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=lambda: asdict(THRESHOLDS))
    sample: dict[str, int] = field(default_factory=dict)
    decided_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _agreement(reference: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    cosines = np.sum(reference * other, axis=1)
    return float(cosines.mean()), float(cosines.min())


def _prototypes(vectors: np.ndarray, groups: Sequence[int]) -> np.ndarray:
    """One unit vector per group of consecutive prompt rows (the mean of its prompts)."""
    rows, start = [], 0
    for size in groups:
        rows.append(vectors[start : start + size].mean(axis=0))
        start += size
    return l2_normalise(np.stack(rows))


def _top_k(images: np.ndarray, prototypes: np.ndarray, k: int) -> np.ndarray:
    """Indices of each photo's ``k`` best prototypes, best first."""
    return np.argsort(-(images @ prototypes.T), axis=1, kind="stable")[:, :k]


def embed_in_turns(
    fp32: Embedder, int8: Embedder, images: Sequence[Image.Image]
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Both precisions' vectors of ``images`` and how fast each embedded them, measured fairly.

    One photo each first, untimed (sessions open and graphs are optimised on first use: timed, that made a
    healthy int8 read "0.5× as fast"). Then batches of ``SPEED_BATCH`` photos, each embedded by both in turn,
    the order swapped every batch, so load from other processes and clock changes hit both alike; with fewer
    than ``MIN_TIMED_BATCHES`` batches, the photos are cycled through for more timing. ``speedup`` is the median
    over batches of fp32's time over int8's (one slow batch does not decide)."""
    photos = list(images)
    if not photos:
        return np.zeros((0, fp32.dim)), np.zeros((0, int8.dim)), {}
    fp32.embed_images(photos[:1])
    int8.embed_images(photos[:1])
    batches = [photos[i : i + SPEED_BATCH] for i in range(0, len(photos), SPEED_BATCH)]
    cycled = photos * (SPEED_BATCH * MIN_TIMED_BATCHES // len(photos) + 1)
    batches += [
        cycled[i * SPEED_BATCH : (i + 1) * SPEED_BATCH] for i in range(MIN_TIMED_BATCHES - len(batches))
    ]
    kept = -(-len(photos) // SPEED_BATCH)  # the batches that hold the sample once, in order
    vectors: dict[str, list[np.ndarray]] = {"fp32": [], "int8": []}
    seconds: dict[str, list[float]] = {"fp32": [], "int8": []}
    for number, batch in enumerate(batches):
        turns = [("fp32", fp32), ("int8", int8)]
        for label, embedder in turns if number % 2 == 0 else turns[::-1]:
            started = time.perf_counter()
            embedded = embedder.embed_images(batch)
            seconds[label].append(time.perf_counter() - started)
            if number < kept:
                vectors[label].append(embedded)
    ratios = [slow / max(fast, 1e-9) for slow, fast in zip(seconds["fp32"], seconds["int8"], strict=True)]
    timing = {
        "fp32_image_seconds": sum(seconds["fp32"]),
        "int8_image_seconds": sum(seconds["int8"]),
        "speedup": float(statistics.median(ratios)),
        "timed_batches": float(len(batches)),
    }
    return np.concatenate(vectors["fp32"]), np.concatenate(vectors["int8"]), timing


def measure_agreement(
    fp32: Embedder,
    int8: Embedder,
    images: Sequence[Image.Image],
    prompts: Sequence[str] | Mapping[str, Sequence[str]],
) -> dict[str, float]:
    """Cosine agreement of both towers and agreement of the peaks predicted against prototypes built from the
    prompts in each precision. ``prompts`` is a flat list (each prompt a prototype) or name → its prompts."""
    if isinstance(prompts, Mapping):
        names = list(prompts)
        groups = [len(prompts[name]) for name in names]
        texts = [text for name in names for text in prompts[name]]
    else:
        texts = list(prompts)
        groups = [1] * len(texts)
    image32, image8, measured = embed_in_turns(fp32, int8, images)
    text32, text8 = fp32.embed_texts(texts), int8.embed_texts(texts)
    measured["image_cos_mean"], measured["image_cos_min"] = _agreement(image32, image8)
    measured["text_cos_mean"], measured["text_cos_min"] = _agreement(text32, text8)
    k = min(TOP_K, len(groups))
    scores32 = image32 @ _prototypes(text32, groups).T
    top8 = _top_k(image8, _prototypes(text8, groups), k)
    ranked32 = np.sort(scores32, axis=1)[:, ::-1]
    picked = np.take_along_axis(scores32, top8, axis=1)  # fp32's scores of int8's choices
    measured["top1_agreement"] = float(np.mean(picked[:, 0] >= ranked32[:, 0] - TIE))
    measured["top3_agreement"] = float(np.mean(picked >= ranked32[:, k - 1 : k] - TIE))
    return measured


def failed_checks(measured: Mapping[str, float], thresholds: Thresholds = THRESHOLDS) -> list[str]:
    """'name value < threshold' for every check int8 misses; empty when it passes."""
    return [
        f"{name} {measured[name]:.4f} < {limit}"
        for name, limit in asdict(thresholds).items()
        if measured[name] < limit
    ]


def decide(
    fp32: Embedder,
    int8: Embedder,
    images: Sequence[Image.Image],
    prompts: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    runtime: str,
    model_id: str,
) -> PrecisionDecision:
    """Measure and decide (no storing): int8 when every check passes."""
    measured = measure_agreement(fp32, int8, images, prompts)
    failed = failed_checks(measured)
    speed = measured["speedup"]
    timed = f"median of {measured['timed_batches']:.0f} batches timed in turns"
    if failed:
        precision, reason = "fp32", "fp32, because int8 disagrees with fp32: " + "; ".join(failed)
    elif speed < MIN_SPEEDUP:
        precision, reason = (
            "fp32",
            f"fp32, because int8 is not measurably faster: it agrees with fp32 on every check but embeds "
            f"photos {speed:.1f}× as fast ({timed}; int8 is used from {MIN_SPEEDUP:g}×)",
        )
    else:
        precision, reason = (
            "int8",
            f"int8, as it agrees with fp32 on every check and embeds photos {speed:.1f}× as fast ({timed})",
        )
    count = len(prompts) if not isinstance(prompts, Mapping) else sum(len(v) for v in prompts.values())
    return PrecisionDecision(
        precision=precision,
        runtime=runtime,
        model_id=model_id,
        reason=reason,
        measured={name: round(value, 6) for name, value in measured.items()},
        sample={"images": len(images), "prompts": count},
        decided_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def _sample_prompts(
    prompts: Sequence[str] | Mapping[str, Sequence[str]],
) -> Sequence[str] | Mapping[str, Sequence[str]]:
    if isinstance(prompts, Mapping):
        kept: dict[str, Sequence[str]] = {}
        for name, texts in prompts.items():
            if sum(len(v) for v in kept.values()) + len(texts) > MAX_SAMPLE_PROMPTS:
                break
            kept[name] = texts
        return kept
    return list(prompts)[:MAX_SAMPLE_PROMPTS]


def choose_precision(
    settings: Settings,
    sample_images: list[Image.Image],
    prompts: Sequence[str] | Mapping[str, Sequence[str]],
) -> PrecisionDecision:
    """The CPU precision for ``settings.model``: the stored decision when there is one, else measured on up to
    32 photos and 96 prompts (fp32 against int8 of the runtime in use) and stored. With an explicit
    ``--precision`` or on a GPU nothing is measured: the decision just says what will run."""
    from peaklens.embed.loader import build_embedder

    runtime = resolve_runtime(settings)
    if settings.precision != "auto" or not on_cpu(settings):
        chosen = settings.precision if settings.precision != "auto" else "fp16"
        return PrecisionDecision(chosen, runtime, settings.model, f"{chosen}: set explicitly or on a GPU")
    stored = precision_decision(settings, runtime)
    if stored is not None:
        known = PrecisionDecision.__dataclass_fields__
        return PrecisionDecision(**{name: value for name, value in stored.items() if name in known})
    images = sample_images[:MAX_SAMPLE_IMAGES]
    texts = _sample_prompts(prompts)
    if not images or not texts:
        return PrecisionDecision(
            "fp32", runtime, settings.model, "fp32: no sample photos or prompts to measure"
        )
    decision = decide(
        build_embedder(settings, runtime, "fp32"),
        build_embedder(settings, runtime, "int8"),
        images,
        texts,
        runtime=runtime,
        model_id=settings.model,
    )
    path = decision_file(settings, runtime)
    if path is not None:
        write_json_atomically(path, decision.to_json())
    return decision


def precision_decision(settings: Settings, runtime: str | None = None) -> dict[str, Any] | None:
    """The stored decision for this model (and runtime, default: the one these settings resolve to) as a
    dict for ``peaklens config``; None when none was measured yet or the weights are not on disk."""
    return read_decision(settings, runtime or resolve_runtime(settings))
