"""Tiny randomly initialised SigLIP models, built offline, for tests and demos — and the full-size random model
for benchmarks.

Their vectors mean nothing; they exist so the whole pipeline (tokenizer, processor, AutoModel loading) runs
through exactly the production code path on a machine that cannot download weights. The tiny models get
logit_scale = log(10) and logit_bias = -10 (random init leaves both at 0) so the confidence code computes
something other than 50 %.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

Kind = Literal["siglip", "siglip2"]

_SENTENCES = [
    "a natural photo of the mountain peak ama dablam in the himalayas, nepal",
    "lhotse landmark peak in the khumbu region, alpine landscape",
    "everest mountain summit, snow, rocky ridgeline, pumori, nuptse, makalu, cho oyu",
    "a photo of a person in a blue jacket on a bench, prayer flags, yaks on a trail",
    "painting, illustration, poster, map, logo, dogs, water, river, lake, sky, food",
    "阿玛达布朗 珠穆朗玛峰 洛子峰 अमा दब्लम सगरमाथा エベレスト ཇོ་མོ་གླང་མ",
]
_COMPLETE = ("config.json", "model.safetensors", "tokenizer.model", "processor_config.json")


def _complete(folder: Path) -> bool:
    return all((folder / name).exists() for name in _COMPLETE)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No progress bars and no warnings about transformers' own defaults (``save_pretrained`` diffs against a
    default SiglipTextConfig whose bos/eos ids lie outside its vocabulary) in CLI output; restored after."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _train_tokenizer(folder: Path) -> None:
    import sentencepiece as spm

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(_SENTENCES * 20), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "tokenizer"),
        vocab_size=320,
        model_type="bpe",
        byte_fallback=True,
        pad_id=0,
        eos_id=1,
        bos_id=2,
        unk_id=3,
        character_coverage=1.0,
        minloglevel=2,
    )
    corpus.unlink()
    (folder / "tokenizer.vocab").unlink(missing_ok=True)
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "GemmaTokenizer", "padding_side": "right"})
    )


def _text_config(vocab_size: int) -> dict[str, Any]:
    return dict(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )


def _write_tiny(work: Path, kind: Kind, seed: int) -> None:
    """Tokenizer, model and processor of the ``kind`` architecture, saved into ``work``."""
    import torch
    from transformers import (
        GemmaTokenizer,
        Siglip2Config,
        Siglip2ImageProcessor,
        Siglip2Model,
        Siglip2Processor,
        SiglipConfig,
        SiglipImageProcessor,
        SiglipModel,
        SiglipProcessor,
    )

    _train_tokenizer(work)
    tokenizer = GemmaTokenizer.from_pretrained(str(work))
    torch.manual_seed(seed)
    text = _text_config(len(tokenizer))
    vision = dict(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, patch_size=16
    )
    model: Any
    if kind == "siglip":
        model = SiglipModel(SiglipConfig(text_config=text, vision_config={**vision, "image_size": 224}))
        processor: Any = SiglipProcessor(
            image_processor=SiglipImageProcessor(size={"height": 224, "width": 224}), tokenizer=tokenizer
        )
    elif kind == "siglip2":
        model = Siglip2Model(Siglip2Config(text_config=text, vision_config={**vision, "num_patches": 256}))
        processor = Siglip2Processor(
            image_processor=Siglip2ImageProcessor(patch_size=16, max_num_patches=256), tokenizer=tokenizer
        )
    else:
        raise ValueError(f"unknown tiny model kind {kind!r}")
    with torch.no_grad():
        model.logit_scale.fill_(math.log(10.0))
        model.logit_bias.fill_(-10.0)
    model.save_pretrained(str(work))
    processor.save_pretrained(str(work))


def build_tiny_model(folder: Path, kind: Kind = "siglip", seed: int = 0) -> Path:
    """Write a tiny model + processor into ``folder`` (idempotent; safe when several processes race).

    Built in a temporary sibling folder and renamed into place, so a reader never sees a half-written model.
    The same ``seed`` gives the same weights. logit_scale = log(10) and logit_bias = -10 (not random init's 0).
    """
    folder = Path(folder)
    if _complete(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        with _quiet_transformers():
            _write_tiny(work, kind, seed)
        try:
            os.rename(work, folder)
        except OSError:  # another process finished first, or a half-made folder is in the way
            if not _complete(folder):
                shutil.rmtree(folder, ignore_errors=True)
                with contextlib.suppress(OSError):  # a racing builder may win this second round too
                    os.rename(work, folder)
            if not _complete(folder):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder
