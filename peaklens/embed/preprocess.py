"""Model inputs without torch or transformers: images with PIL + numpy, texts with the ``tokenizers`` library.

They mirror transformers' PIL-backend SigLIP / SigLIP-2 (NaFlex) image processors and the checkpoint's own
tokenizer (its ``tokenizer.json``), so the ONNX embedder starts in a fraction of a second: importing torch and
transformers alone costs seconds, which a one-shot ``peaklens search`` from the shell should not pay.
tests/embed/test_preprocess.py compares every output with the Hugging Face processor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

TEXT_MAX_LENGTH = 64


@dataclass(frozen=True)
class ImageSpec:
    """What the checkpoint's image processor does, as plain numbers (stored beside the ONNX files)."""

    height: int  # fixed-resolution models; 0 for NaFlex
    width: int
    resample: int  # PIL resampling filter id
    rescale_factor: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    patch_size: int = 0  # NaFlex only: square patches ...
    max_num_patches: int = 0  # ... and the patch budget per image

    @property
    def naflex(self) -> bool:
        return self.max_num_patches > 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageSpec:
        return cls(**{**data, "mean": tuple(data["mean"]), "std": tuple(data["std"])})


def naflex_size(
    height: int, width: int, patch_size: int, max_num_patches: int, eps: float = 1e-5
) -> tuple[int, int]:
    """The largest aspect-keeping size in whole patches within the budget: transformers' binary search
    (``get_image_size_for_max_num_patches``), step for step, so the same photo gets the same grid."""

    def scaled(scale: float, size: int) -> int:
        return max(patch_size, int(math.ceil(size * scale / patch_size) * patch_size))

    low, high = eps / 10, 100.0
    while high - low >= eps:
        scale = (low + high) / 2
        if (scaled(scale, height) / patch_size) * (scaled(scale, width) / patch_size) <= max_num_patches:
            low = scale
        else:
            high = scale
    return scaled(low, height), scaled(low, width)


def _normalised(image: Image.Image, size: tuple[int, int], spec: ImageSpec) -> np.ndarray:
    """(3, h, w) float32: resize the uint8 image with PIL, then rescale and normalise as transformers does."""
    height, width = size
    resized = image.resize((width, height), resample=Image.Resampling(spec.resample))
    pixels = (np.asarray(resized, dtype=np.float64) * spec.rescale_factor).astype(np.float32)
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    return ((pixels - mean) / std).transpose(2, 0, 1)


def _rgb(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGB" else image.convert("RGB")


def fixed_inputs(images: Sequence[Image.Image], spec: ImageSpec) -> dict[str, np.ndarray]:
    """``pixel_values`` (n, 3, H, W) for a fixed-resolution checkpoint."""
    batch = [_normalised(_rgb(image), (spec.height, spec.width), spec) for image in images]
    return {"pixel_values": np.stack(batch)}


def naflex_inputs(images: Sequence[Image.Image], spec: ImageSpec) -> dict[str, np.ndarray]:
    """NaFlex: each photo at its own aspect as a row of flattened patches padded to the budget, with the mask
    of real patches and each photo's patch grid (``spatial_shapes``)."""
    patch, budget = spec.patch_size, spec.max_num_patches
    values = np.zeros((len(images), budget, patch * patch * 3), dtype=np.float32)
    mask = np.zeros((len(images), budget), dtype=np.int32)
    shapes = np.zeros((len(images), 2), dtype=np.int64)
    for row, image in enumerate(images):
        rgb = _rgb(image)
        height, width = naflex_size(rgb.height, rgb.width, patch, budget)
        pixels = _normalised(rgb, (height, width), spec)
        rows, cols = height // patch, width // patch
        patches = (
            pixels.reshape(3, rows, patch, cols, patch).transpose(1, 3, 2, 4, 0).reshape(rows * cols, -1)
        )
        values[row, : rows * cols] = patches
        mask[row, : rows * cols] = 1
        shapes[row] = (rows, cols)
    return {"pixel_values": values, "pixel_attention_mask": mask, "spatial_shapes": shapes}


def image_inputs(images: Sequence[Image.Image], spec: ImageSpec) -> dict[str, np.ndarray]:
    return naflex_inputs(images, spec) if spec.naflex else fixed_inputs(images, spec)


def image_spec_of(image_processor: Any) -> ImageSpec:
    """The numbers of a transformers SigLIP / SigLIP-2 image processor (read at export time)."""
    mean = tuple(float(v) for v in image_processor.image_mean)
    std = tuple(float(v) for v in image_processor.image_std)
    common: dict[str, Any] = dict(
        resample=int(image_processor.resample),
        rescale_factor=float(image_processor.rescale_factor if image_processor.do_rescale else 1.0),
        mean=mean if image_processor.do_normalize else (0.0, 0.0, 0.0),
        std=std if image_processor.do_normalize else (1.0, 1.0, 1.0),
    )
    budget = getattr(image_processor, "max_num_patches", None)
    if budget:
        return ImageSpec(
            height=0,
            width=0,
            patch_size=int(image_processor.patch_size),
            max_num_patches=int(budget),
            **common,
        )
    size = image_processor.size
    size = size if isinstance(size, dict) else dict(size.items()) if hasattr(size, "items") else vars(size)
    return ImageSpec(height=int(size["height"]), width=int(size["width"]), **common)


class TextTokenizer:
    """The checkpoint's tokenizer from its ``tokenizer.json``: lower-cased, truncated and padded to 64 tokens,
    as SigLIP was trained."""

    def __init__(self, tokenizer_file: Path, pad_id: int, max_length: int = TEXT_MAX_LENGTH) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding(length=max_length, pad_id=pad_id)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 64) int64 token ids."""
        encodings = self._tokenizer.encode_batch([text.lower() for text in texts])
        return np.asarray([encoding.ids for encoding in encodings], dtype=np.int64).reshape(len(texts), -1)
