"""Image and text inputs built without transformers equal what the Hugging Face processors give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peaklens.embed.preprocess import TextTokenizer, image_inputs, image_spec_of, naflex_size

ALBUM = Path(__file__).resolve().parents[3] / "shared" / "album"
TEXTS = [
    "ama dablam",
    "AMA Dablam at Sunset",
    "",
    "x",
    "阿玛达布朗 珠穆朗玛峰",
    "अमा दब्लम",
    "Ɛ̃vərɛst ☃",
    "a very long description of a mountain " * 20,  # truncated to 64 tokens
]


def _processor(folder: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(folder)


def _photos() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    sizes = [(240, 320), (320, 240), (150, 900), (1, 1), (40, 2000), (700, 30), (500, 500)]
    photos = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in sizes]
    for path in sorted(ALBUM.glob("*/*.jpg"))[:2]:
        with Image.open(path) as image:
            image.draft("RGB", (448, 448))
            photos.append(image.convert("RGB"))
    return photos


@pytest.mark.parametrize("kind", ["siglip", "siglip2"])
def test_image_inputs_equal_the_hf_processor(kind: str, request: pytest.FixtureRequest) -> None:
    processor = _processor(request.getfixturevalue(f"tiny_{kind}"))
    photos = _photos()
    expected = processor(images=photos, return_tensors="np")
    ours = image_inputs(photos, image_spec_of(processor.image_processor))
    assert set(ours) == set(expected.keys())
    for name, value in ours.items():
        assert value.shape == expected[name].shape, name
        assert value.dtype.kind == np.asarray(expected[name]).dtype.kind, name
        np.testing.assert_allclose(value, expected[name], atol=1e-6, err_msg=name)


def test_naflex_sizes_equal_transformers() -> None:
    from transformers.models.siglip2.image_processing_pil_siglip2 import get_image_size_for_max_num_patches

    for height in (1, 15, 16, 17, 224, 333, 1080, 3024, 4032):
        for width in (1, 31, 200, 768, 1920, 4032):
            for patch, budget in ((16, 256), (16, 1024), (14, 576)):
                assert naflex_size(height, width, patch, budget) == get_image_size_for_max_num_patches(
                    height, width, patch, budget
                ), (height, width, patch, budget)


@pytest.mark.parametrize("kind", ["siglip", "siglip2"])
def test_token_ids_equal_the_hf_processor(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    processor = _processor(request.getfixturevalue(f"tiny_{kind}"))
    tokenizer = processor.tokenizer
    tokenizer.backend_tokenizer.save(str(tmp_path / "tokenizer.json"))
    expected = processor(
        text=[text.lower() for text in TEXTS],
        padding="max_length",
        max_length=64,
        truncation=True,
        return_tensors="np",
    )["input_ids"]
    ours = TextTokenizer(tmp_path / "tokenizer.json", pad_id=tokenizer.pad_token_id)(TEXTS)
    assert ours.shape == (len(TEXTS), 64) and ours.dtype == np.int64
    np.testing.assert_array_equal(ours, expected)
