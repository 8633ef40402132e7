"""The benchmarks' `random-base` model has the default model's size, so its cost is the real model's cost."""

from __future__ import annotations

from typing import Any


def test_random_base_config_is_the_default_size() -> None:
    import torch
    from transformers import SiglipModel

    from bench.random_model import random_base_config

    with torch.device("meta"):  # shapes only: no 1.5 GB of random numbers
        model = SiglipModel(random_base_config())  # type: ignore[arg-type]
    params = sum(p.numel() for p in model.parameters())
    assert 370e6 < params < 380e6, params
    text: Any = model.config.text_config
    vision: Any = model.config.vision_config
    assert text.vocab_size == 256000 and text.max_position_embeddings == 64
    assert vision.image_size == 224 and vision.patch_size == 16
