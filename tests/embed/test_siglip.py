"""SiglipEmbedder (the torch runtime) on tiny random models of both architectures, loaded through the production
path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peaklens.config import Settings
from peaklens.embed.base import Embedder
from peaklens.embed.loader import load_embedder
from peaklens.embed.siglip import SiglipEmbedder
from peaklens.embed.tiny import build_tiny_model
from peaklens.errors import PeaklensError

ALBUM = Path(__file__).resolve().parents[3] / "shared" / "album"
KINDS = ["siglip", "siglip2"]
ARCHITECTURE = {"siglip": "SiglipModel", "siglip2": "Siglip2Model"}


def _settings(folder: Path, **overrides: object) -> Settings:
    """Explicit everything, so no PEAKLENS_* variable or config file changes what is tested."""
    values: dict[str, object] = dict(
        model=str(folder), device="cpu", precision="fp32", runtime="torch", batch_size=16
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def folder(kind: str, request: pytest.FixtureRequest) -> Path:
    return Path(request.getfixturevalue(f"tiny_{kind}"))


@pytest.fixture
def embedder(folder: Path) -> SiglipEmbedder:
    loaded = load_embedder(_settings(folder))
    assert isinstance(loaded, SiglipEmbedder)
    return loaded


def _photo(width: int, height: int, seed: int, mode: str = "RGB") -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels).convert(mode)


def _photos() -> list[Image.Image]:
    return [
        _photo(320, 240, 1),
        _photo(240, 320, 2),
        _photo(900, 150, 3),
        _photo(64, 64, 4),
        _photo(500, 500, 5),
    ]


def test_automodel_gives_the_architecture(embedder: SiglipEmbedder, kind: str) -> None:
    assert type(embedder.model).__name__ == ARCHITECTURE[kind]
    assert isinstance(embedder, Embedder)


def test_attributes(embedder: SiglipEmbedder, kind: str) -> None:
    assert embedder.dim == 64
    assert embedder.logit_scale == pytest.approx(10.0, rel=1e-5)  # exp(log 10), set by build_tiny_model
    assert embedder.logit_bias == pytest.approx(-10.0)
    # NaFlex: 256 patches of 16² px cover a 256 px square; the fixed model is 224.
    assert embedder.image_size == (224 if kind == "siglip" else 256)


def test_vectors_are_unit_float32(embedder: SiglipEmbedder) -> None:
    images = embedder.embed_images(_photos())
    texts = embedder.embed_texts(["ama dablam", "a dog", "阿玛达布朗", "अमा दब्लम"])
    for vectors, rows in ((images, 5), (texts, 4)):
        assert vectors.dtype == np.float32
        assert vectors.shape == (rows, embedder.dim)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert np.isfinite(vectors).all()


def test_empty_input_gives_no_rows(embedder: SiglipEmbedder) -> None:
    assert embedder.embed_images([]).shape == (0, embedder.dim)
    assert embedder.embed_texts([]).shape == (0, embedder.dim)


def test_batches_equal_one_by_one(folder: Path) -> None:
    batched = load_embedder(_settings(folder, batch_size=3))  # 5 photos: a chunk of 3 and one of 2
    photos = _photos()
    together = batched.embed_images(photos)
    alone = np.concatenate([batched.embed_images([photo]) for photo in photos])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    texts = ["ama dablam", "a photo of a dog on a trail", "x", "lhotse and nuptse at sunset"]
    np.testing.assert_allclose(
        batched.embed_texts(texts), np.concatenate([batched.embed_texts([t]) for t in texts]), atol=1e-5
    )


def test_text_vector_does_not_depend_on_the_batch(embedder: SiglipEmbedder) -> None:
    alone = embedder.embed_texts(["ama dablam"])[0]
    long_text = "a very long description of a mountain " * 20  # truncated to 64 tokens
    with_others = embedder.embed_texts(["x", long_text, "ama dablam"])[2]
    np.testing.assert_allclose(alone, with_others, atol=1e-6)


def test_texts_are_lower_cased(embedder: SiglipEmbedder) -> None:
    np.testing.assert_array_equal(embedder.embed_texts(["AMA DABLAM"]), embedder.embed_texts(["ama dablam"]))


def test_multilingual_names_have_no_unknown_tokens(embedder: SiglipEmbedder) -> None:
    tokenizer = embedder.processor.tokenizer
    for name in ("阿玛达布朗", "अमा दब्लम", "珠穆朗玛峰", "Ɛ̃vərɛst ☃"):  # the last one only via byte fallback
        assert tokenizer.unk_token_id not in tokenizer(name)["input_ids"]


def test_odd_sizes_and_modes(embedder: SiglipEmbedder) -> None:
    odd = [
        _photo(1, 1, 6),
        _photo(2000, 40, 7),
        _photo(30, 700, 8),
        _photo(100, 80, 9, "L"),
        _photo(90, 90, 10, "RGBA"),
    ]
    vectors = embedder.embed_images(odd)
    assert vectors.shape == (5, embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_real_album_photos(embedder: SiglipEmbedder) -> None:
    paths = sorted(ALBUM.glob("*/*.jpg"))[:3]
    assert paths, f"no photos under {ALBUM}"
    photos = []
    for path in paths:
        with Image.open(path) as image:
            image.draft("RGB", (embedder.image_size, embedder.image_size))
            photos.append(image.convert("RGB"))
    vectors = embedder.embed_images(photos)
    assert vectors.shape == (len(paths), embedder.dim)
    assert len({row.tobytes() for row in vectors}) == len(paths)


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_cpu_precisions_agree_with_fp32(folder: Path, embedder: SiglipEmbedder, precision: str) -> None:
    other = load_embedder(_settings(folder, precision=precision))
    photos, texts = _photos(), ["ama dablam", "a dog on a trail", "阿玛达布朗"]
    for reference, vectors in (
        (embedder.embed_images(photos), other.embed_images(photos)),
        (embedder.embed_texts(texts), other.embed_texts(texts)),
    ):
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        cosines = (reference * vectors).sum(axis=1)
        assert cosines.min() > 0.99, f"{precision}: cosines {cosines}"


def test_int8_and_fp16_are_refused_where_they_do_not_run(tiny_siglip: Path) -> None:
    from transformers import AutoModel, AutoProcessor

    model, processor = AutoModel.from_pretrained(tiny_siglip), AutoProcessor.from_pretrained(tiny_siglip)
    with pytest.raises(PeaklensError, match="fp16"):
        SiglipEmbedder(model, processor, "tiny", device="cpu", precision="fp16")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(PeaklensError, match="CUDA"):
            SiglipEmbedder(model, processor, "tiny", device="cuda", precision="int8")


def test_an_embedder_built_in_memory_matches_the_loader(tiny_siglip2: Path) -> None:
    from transformers import AutoModel, AutoProcessor

    parts = SiglipEmbedder(
        AutoModel.from_pretrained(tiny_siglip2),
        AutoProcessor.from_pretrained(tiny_siglip2),
        "in-memory",
        device="cpu",
        precision="fp32",
        batch_size=2,
    )
    loaded = load_embedder(_settings(tiny_siglip2))
    assert parts.model_id == "in-memory"
    np.testing.assert_allclose(parts.embed_texts(["pumori"]), loaded.embed_texts(["pumori"]), atol=1e-6)
    np.testing.assert_allclose(parts.embed_images(_photos()), loaded.embed_images(_photos()), atol=1e-5)


def test_tiny_build_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    first = build_tiny_model(tmp_path / "a", "siglip2", seed=3)
    second = build_tiny_model(tmp_path / "b", "siglip2", seed=3)
    other = build_tiny_model(tmp_path / "c", "siglip2", seed=4)
    weights = [load_file(str(f / "model.safetensors")) for f in (first, second, other)]
    assert all(np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(np.array_equal(weights[0][k], weights[2][k]) for k in weights[0])
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert build_tiny_model(first, "siglip2", seed=3) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left behind


def test_concurrent_builders_agree(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    target = tmp_path / "shared"
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: build_tiny_model(target, "siglip"), range(3)))
    assert results == [target] * 3
    assert load_embedder(_settings(target)).embed_texts(["a"]).shape == (1, 64)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.real_model
@pytest.mark.skipif(
    not os.environ.get("PEAKLENS_TEST_MODEL"),
    reason="set PEAKLENS_TEST_MODEL to a real SigLIP checkpoint folder",
)
def test_real_model_finds_the_dog() -> None:
    embedder = load_embedder(
        _settings(Path(os.environ["PEAKLENS_TEST_MODEL"]), device="auto", precision="auto")
    )
    paths = [
        ALBUM / "other" / "friends_by_Aitzol_Berasategi.jpg",
        *sorted((ALBUM / "mountains").glob("*.jpg")),
    ]
    photos = []
    for path in paths:
        with Image.open(path) as image:
            photos.append(image.convert("RGB"))
    scores = embedder.embed_images(photos) @ embedder.embed_texts(["a photo of a dog"])[0]
    assert scores[0] > scores[1:].max(), dict(zip([p.name for p in paths], scores.tolist(), strict=True))
