"""``--model random-base`` for the benchmarks: the default model's full-size architecture with random weights.

google/siglip2-base-patch16-224 cannot be downloaded here, but its cost can be measured: this writes a
checkpoint folder with its config (768 wide, 12 layers, 256 000-piece vocabulary) and random weights, once, under
``.cache/``, and the benchmarks load it through the same loader path as a real model folder. Its vectors mean
nothing; every table that uses it says so. The tokenizer is the tiny one (ids stay far below the vocabulary;
the cost is the same).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "random-base"
FOLDER = REPO / ".cache" / "random-base-v1"


def random_base_config() -> object:
    """The SiglipConfig of google/siglip2-base-patch16-224."""
    from transformers import SiglipConfig

    layers = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)
    return SiglipConfig(
        text_config={
            **layers,
            "vocab_size": 256000,
            "max_position_embeddings": 64,
            "pad_token_id": 0,
            "eos_token_id": 1,
            "bos_token_id": 2,
        },
        vision_config={**layers, "image_size": 224, "patch_size": 16},
    )


def random_base_folder(folder: Path = FOLDER, seed: int = 0) -> Path:
    """The checkpoint folder, written on first use (about 1.5 GB of float32 weights)."""
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return folder
    import torch
    from transformers import GemmaTokenizer, SiglipImageProcessor, SiglipModel, SiglipProcessor

    from peaklens.embed.tiny import build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = GemmaTokenizer.from_pretrained(build_tiny_model(Path(tmp) / "tiny"))
        torch.manual_seed(seed)
        model = SiglipModel(random_base_config()).eval()  # type: ignore[arg-type]
        processor = SiglipProcessor(
            image_processor=SiglipImageProcessor(size={"height": 224, "width": 224}), tokenizer=tokenizer
        )
        work = folder.with_name(folder.name + ".partial")
        model.save_pretrained(work)
        processor.save_pretrained(work)
        work.rename(folder)
    return folder


def model_source(model: str | None) -> str | None:
    """What the settings load for a benchmark's ``--model``: the random-base folder for its name."""
    return str(random_base_folder()) if model == NAME else model
