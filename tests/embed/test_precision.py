"""The CPU precision gate: int8 only when it agrees with fp32 on the user's photos and prompts."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peaklens.config import Settings
from peaklens.embed import loader
from peaklens.embed.base import Embedder, l2_normalise
from peaklens.embed.loader import load_embedder
from peaklens.embed.precision import (
    MIN_SPEEDUP,
    MIN_TIMED_BATCHES,
    choose_precision,
    failed_checks,
    measure_agreement,
    precision_decision,
)
from peaklens.embed.prompts import PEAK_PROMPTS, prompts_for

TREK = Path(__file__).resolve().parents[3] / "shared" / "trek" / "jpeg"
PEAKS = ["Ama Dablam", "Everest", "Lhotse", "Nuptse", "Pumori", "Makalu", "Cho Oyu", "Thamserku"]


def _settings(folder: Path, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(model=str(folder), device="cpu", precision="auto", data_dir=data_dir)
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _photos(count: int = 12) -> list[Image.Image]:
    photos = []
    for path in sorted(TREK.glob("*.jpg"))[:count]:
        with Image.open(path) as image:
            image.draft("RGB", (448, 448))
            photos.append(image.convert("RGB"))
    return photos


def _prompts() -> dict[str, list[str]]:
    return {name: prompts_for([name], PEAK_PROMPTS) for name in PEAKS}


class _Fixed:
    """An embedder whose vectors are given: for hand-computed agreement numbers."""

    model_id, dim, logit_scale, logit_bias, image_size = "fixed", 2, 10.0, -10.0, 224

    def __init__(self, images: list[list[float]], texts: list[list[float]]) -> None:
        self.images, self.texts = l2_normalise(np.array(images)), l2_normalise(np.array(texts))

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.images[: len(images)]

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.texts[: len(texts)]


def test_agreement_numbers_by_hand() -> None:
    # prototypes at 0°, 90°, 180° and 270°; fp32 photos at 10° and 100°; "int8" moves the second to 170°
    angles = [0, 90, 180, 270]
    texts = [[np.cos(np.radians(a)), np.sin(np.radians(a))] for a in angles]
    fp32 = _Fixed(
        [
            [np.cos(np.radians(10)), np.sin(np.radians(10))],
            [np.cos(np.radians(100)), np.sin(np.radians(100))],
        ],
        texts,
    )
    int8 = _Fixed(
        [
            [np.cos(np.radians(10)), np.sin(np.radians(10))],
            [np.cos(np.radians(170)), np.sin(np.radians(170))],
        ],
        texts,
    )
    photos = [Image.new("RGB", (8, 8))] * 2
    measured = measure_agreement(fp32, int8, photos, ["a", "b", "c", "d"])
    assert measured["image_cos_mean"] == pytest.approx((1 + np.cos(np.radians(70))) / 2)
    assert measured["image_cos_min"] == pytest.approx(np.cos(np.radians(70)))
    assert measured["text_cos_mean"] == pytest.approx(1.0) and measured["text_cos_min"] == pytest.approx(1.0)
    # photo 1: top-3 {0°, 90°, 270°} both times; photo 2: fp32 {90°, 180°, 0°}, int8 {180°, 90°, 270°}
    assert measured["top1_agreement"] == pytest.approx(0.5)
    assert measured["top3_agreement"] == pytest.approx((3 / 3 + 2 / 3) / 2)
    # grouped prompts: one prototype per name (the mean of its prompts)
    grouped = measure_agreement(fp32, int8, photos, {"east": ["a", "b"], "west": ["c", "d"]})
    assert grouped["top1_agreement"] == pytest.approx(0.5)  # 45° vs 225°: photo 2 moves from east to west


def test_failed_checks_name_every_miss() -> None:
    good = dict(
        image_cos_mean=0.999,
        image_cos_min=0.99,
        text_cos_mean=0.999,
        text_cos_min=0.99,
        top1_agreement=1.0,
        top3_agreement=0.95,
    )
    assert failed_checks(good) == []
    bad = {**good, "image_cos_min": 0.95, "top1_agreement": 0.875}
    assert failed_checks(bad) == ["image_cos_min 0.9500 < 0.98", "top1_agreement 0.8750 < 0.9"]


class _Slowed:
    """The real embedder taking longer from outside: ``factor`` times its own time for each call (so the
    ratio holds however loaded the machine is), plus ``first_call`` seconds once (what opening a session and
    optimising its graph costs on first use)."""

    def __init__(self, inner: Embedder, factor: float = 1.0, first_call: float = 0.0) -> None:
        self.inner, self.factor, self.first_call = inner, factor, first_call

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        started = time.perf_counter()
        vectors = self.inner.embed_images(images)
        time.sleep(self.first_call + (self.factor - 1) * (time.perf_counter() - started))
        self.first_call = 0.0
        return vectors

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_texts(texts)


def _slowing(monkeypatch: pytest.MonkeyPatch, **slow: dict[str, float]) -> None:
    """Build embedders as the loader does, each precision named in ``slow`` wrapped in ``_Slowed``."""
    real = loader.build_embedder

    def build(settings: Settings, runtime: str, precision: str) -> Embedder:
        embedder = real(settings, runtime, precision)
        return _Slowed(embedder, **slow[precision]) if precision in slow else embedder  # type: ignore[return-value]

    monkeypatch.setattr(loader, "build_embedder", build)


@pytest.mark.parametrize("kind", ["siglip", "siglip2"])
def test_good_int8_is_chosen_stored_and_used(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(request.getfixturevalue(f"tiny_{kind}"), tmp_path)
    assert precision_decision(settings) is None
    assert load_embedder(settings).precision == "fp32"  # type: ignore[attr-defined]
    # the tiny model is too small for int8 to pay; a full-size fp32 costs ~3× int8 (docs/PRECISION.md)
    _slowing(monkeypatch, fp32={"factor": 3.0})
    decision = choose_precision(settings, _photos(), _prompts())
    assert decision.precision == "int8", decision.reason
    assert decision.reason.startswith("int8, as it agrees with fp32 on every check and embeds photos ")
    assert decision.measured["speedup"] >= MIN_SPEEDUP
    assert decision.runtime == "onnx" and decision.sample == {"images": 12, "prompts": 24}
    stored = precision_decision(settings)
    assert stored is not None and stored["precision"] == "int8" and stored["measured"] == decision.measured
    assert stored["measured"]["image_cos_min"] >= 0.98 and stored["measured"]["top1_agreement"] >= 0.9
    monkeypatch.undo()
    assert load_embedder(settings).precision == "int8"  # type: ignore[attr-defined]
    assert load_embedder(_settings(Path(settings.model), tmp_path, precision="fp32")).precision == "fp32"  # type: ignore[attr-defined]
    again = choose_precision(settings, [], [])  # stored: nothing is measured again
    assert again.measured == decision.measured


class _Drifting:
    """A bad int8 variant: the real int8 embedder with its photo vectors pushed off by a fixed random
    direction (what a saturating int8 kernel does to them)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id, self.dim = inner.model_id, inner.dim
        self.logit_scale, self.logit_bias, self.image_size = (
            inner.logit_scale,
            inner.logit_bias,
            inner.image_size,
        )
        self.noise = np.random.default_rng(0).normal(size=(64, inner.dim)).astype(np.float32)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        vectors = self.inner.embed_images(images)
        return l2_normalise(vectors + 0.5 * l2_normalise(self.noise[: len(vectors)]))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_texts(texts)


def test_bad_int8_is_refused(tiny_siglip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = loader.build_embedder

    def build(settings: Settings, runtime: str, precision: str) -> Embedder:
        embedder = real(settings, runtime, precision)
        return _Drifting(embedder) if precision == "int8" else embedder

    monkeypatch.setattr(loader, "build_embedder", build)
    settings = _settings(tiny_siglip, tmp_path)
    decision = choose_precision(settings, _photos(), _prompts())
    assert decision.precision == "fp32"
    assert decision.reason.startswith("fp32, because int8 disagrees with fp32: image_cos_mean ")
    assert "image_cos_min" in decision.reason and "text_cos" not in decision.reason
    assert precision_decision(settings)["precision"] == "fp32"  # type: ignore[index]
    assert load_embedder(settings).precision == "fp32"  # type: ignore[attr-defined]
    # --precision int8 still overrides the decision
    assert isinstance(load_embedder(_settings(tiny_siglip, tmp_path, precision="int8")), _Drifting)


def test_int8_that_is_not_measurably_faster_is_not_chosen(
    tiny_siglip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18: "int8 agrees with fp32 on every check and embeds photos 0.5× as fast" kept int8."""
    _slowing(monkeypatch, int8={"factor": 3.0})
    settings = _settings(tiny_siglip, tmp_path)
    decision = choose_precision(settings, _photos(), _prompts())
    assert decision.precision == "fp32", decision.reason
    assert decision.reason.startswith("fp32, because int8 is not measurably faster: ")
    assert decision.measured["speedup"] < 1.0 and decision.measured["top1_agreement"] >= 0.9
    shown = re.search(r"embeds photos (\d+\.\d)× as fast", decision.reason)
    assert shown and float(shown.group(1)) == round(decision.measured["speedup"], 1)
    assert precision_decision(settings)["precision"] == "fp32"  # type: ignore[index]
    monkeypatch.undo()
    assert load_embedder(settings).precision == "fp32"  # type: ignore[attr-defined]


def test_first_use_costs_and_few_photos_do_not_decide_the_speed(
    tiny_siglip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """int8's first call opens its session (slow, once); an album of 3 photos still times 8 batches in turns."""
    _slowing(monkeypatch, fp32={"factor": 3.0}, int8={"first_call": 2.0})
    decision = choose_precision(_settings(tiny_siglip, tmp_path), _photos(3), _prompts())
    assert decision.precision == "int8", decision.reason
    assert decision.measured["timed_batches"] >= MIN_TIMED_BATCHES
    assert decision.measured["speedup"] >= MIN_SPEEDUP
