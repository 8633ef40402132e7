"""SigLIP / SigLIP-2 through transformers' AutoModel/AutoProcessor: one code path for the fixed-resolution
checkpoints (``SiglipModel``, like the default google/siglip2-base-patch16-224) and the NaFlex ones
(``Siglip2Model``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from peaklens.embed.base import l2_normalise
from peaklens.errors import PeaklensError

TEXT_MAX_LENGTH = 64


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise PeaklensError(
            f"Device {device!r} was asked for, but torch sees no CUDA GPU (use --device cpu)."
        )
    return device


def _features(output: Any) -> torch.Tensor:
    """transformers 5 returns an output object (take its pooled output); older versions a tensor."""
    if isinstance(output, torch.Tensor):
        return output
    pooled = getattr(output, "pooler_output", None)
    if pooled is None:
        raise PeaklensError("The model returned no pooled features: is it a SigLIP checkpoint?")
    return pooled


class SiglipEmbedder:
    """Embeds photos and texts with a SigLIP-family model; rows are unit-length float32."""

    def __init__(
        self,
        model: Any,
        processor: Any,
        model_id: str,
        *,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 16,
    ) -> None:
        self.model_id = model_id
        self.device = pick_device(device)
        self.batch_size = max(1, batch_size)
        self.processor = processor
        self.precision = self._resolve_precision(precision)
        model = model.eval()
        if self.precision == "int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        elif self.precision == "fp16":
            model = model.to(torch.float16)
        elif self.precision == "bf16":
            model = model.to(torch.bfloat16)
        self.model = model.to(self.device)
        self.dtype = next(self.model.parameters()).dtype if self.precision != "int8" else torch.float32
        self.logit_scale = float(torch.exp(model.logit_scale.float()).item())
        self.logit_bias = float(model.logit_bias.float().item())
        self.image_size = self._image_size()
        self.dim = int(self.embed_texts(["a"]).shape[1])

    @classmethod
    def from_parts(
        cls,
        model: Any,
        processor: Any,
        model_id: str,
        *,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 16,
    ) -> SiglipEmbedder:
        return cls(model, processor, model_id, device=device, precision=precision, batch_size=batch_size)

    def _resolve_precision(self, precision: str) -> str:
        if precision == "auto":
            return "fp16" if self.device.startswith("cuda") else "fp32"
        if precision == "int8" and self.device != "cpu":
            raise PeaklensError(
                "Precision int8 (dynamic quantisation) runs on the CPU only: use fp16 on a GPU."
            )
        if precision == "fp16" and self.device == "cpu":
            raise PeaklensError("Precision fp16 is for GPUs; on the CPU use fp32, bf16 or int8.")
        return precision

    def _image_size(self) -> int:
        image_processor = getattr(self.processor, "image_processor", None)
        patches = getattr(image_processor, "max_num_patches", None)
        patch = getattr(image_processor, "patch_size", None)
        if patches and patch:  # NaFlex: a budget of patches, any aspect
            return int(math.sqrt(patches) * patch)
        size = getattr(image_processor, "size", None) or {}
        return int(size.get("height") or size.get("shortest_edge") or 224)

    def _to_device(self, batch: Any) -> dict[str, Any]:
        moved: dict[str, Any] = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.device)
                if value.is_floating_point() and self.precision in ("fp16", "bf16"):
                    value = value.to(self.dtype)
            moved[key] = value
        return moved

    @torch.inference_mode()
    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        rows = []
        for start in range(0, len(images), self.batch_size):
            chunk = [
                img if img.mode == "RGB" else img.convert("RGB")
                for img in images[start : start + self.batch_size]
            ]
            inputs = self._to_device(self.processor(images=chunk, return_tensors="pt"))
            rows.append(_features(self.model.get_image_features(**inputs)).float().cpu().numpy())
        if not rows:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        return l2_normalise(np.concatenate(rows))

    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for start in range(0, len(texts), self.batch_size):
            chunk = [text.lower() for text in texts[start : start + self.batch_size]]
            inputs = self.processor(
                text=chunk,
                padding="max_length",
                max_length=TEXT_MAX_LENGTH,
                truncation=True,
                return_tensors="pt",
            )
            inputs = self._to_device(inputs)
            kwargs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask", "position_ids")}
            rows.append(_features(self.model.get_text_features(**kwargs)).float().cpu().numpy())
        if not rows:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        return l2_normalise(np.concatenate(rows))
