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


def _quantise_int8(model: Any) -> Any:
    """Dynamic int8 for every plain Linear except NaFlex's patch embedding, which the model reads
    ``.weight.dtype`` of (a quantised Linear has ``weight()`` as a method); one small layer, nothing lost.
    Linear subclasses (the pooling head's MultiheadAttention out_proj) stay float, as ``{nn.Linear}`` would."""
    import warnings

    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

    spec = {
        name: default_dynamic_qconfig
        for name, module in model.named_modules()
        if type(module) is torch.nn.Linear and not name.endswith("patch_embedding")
    }
    with warnings.catch_warnings():  # torch.ao.quantization's deprecation notices, once per load
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(model, spec, dtype=torch.qint8)


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
            model = _quantise_int8(model)
        elif self.precision == "fp16":
            model = model.to(torch.float16)
        elif self.precision == "bf16" and self.device != "cpu":
            model = model.to(torch.bfloat16)
        self.model = model.to(self.device)
        # bf16 on the CPU: autocast over fp32 weights (a hair faster than bf16 weights). It runs and agrees,
        # but measured on the full-size model (torch 2.13, 2 cores, 8 photos) it was 6× slower than fp32 on a
        # CPU whose flags list avx512_bf16, and ~100× slower on an AVX2-only one: on a CPU pick fp32 or int8.
        # Which SIMD/int8/bf16 instructions a CPU has varies by machine: check `lscpu`, never assume.
        self._autocast = self.precision == "bf16" and self.device == "cpu"
        self.dtype = torch.float32
        if self.precision in ("fp16", "bf16") and not self._autocast:
            self.dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        self.logit_scale = float(torch.exp(model.logit_scale.float()).item())
        self.logit_bias = float(model.logit_bias.float().item())
        self.image_size = self._image_size()
        # On a GPU a torchvision-backed image processor resizes and normalises there: measured on an H100,
        # 128 photos took 143 ms in the processor on the CPU and 19 ms in the fp16 model; on the GPU from
        # uint8 tensors the processor took 14 ms.
        image_processor = getattr(processor, "image_processor", None)
        self._preprocess_on_device = self.device.startswith("cuda") and any(
            base.__name__ in ("TorchvisionBackend", "BaseImageProcessorFast")
            for base in type(image_processor).__mro__
        )
        self.dim = int(self.embed_texts(["a"]).shape[1])

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
                if value.is_floating_point() and self.dtype != torch.float32:
                    value = value.to(self.dtype)
            moved[key] = value
        return moved

    def _precision_context(self) -> torch.autocast:
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._autocast)

    def _image_inputs(self, images: list[Image.Image]) -> Any:
        if not self._preprocess_on_device:
            return self.processor(images=images, return_tensors="pt")
        tensors = [torch.from_numpy(np.array(img)).permute(2, 0, 1).to(self.device) for img in images]
        return self.processor.image_processor(images=tensors, return_tensors="pt", device=self.device)

    @torch.inference_mode()
    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        rows = []
        for start in range(0, len(images), self.batch_size):
            chunk = [
                img if img.mode == "RGB" else img.convert("RGB")
                for img in images[start : start + self.batch_size]
            ]
            inputs = self._to_device(self._image_inputs(chunk))
            with self._precision_context():
                features = _features(self.model.get_image_features(**inputs))
            rows.append(features.float().cpu().numpy())
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
            # input_ids only: SigLIP was trained without a text attention mask (pads are attended to and the
            # last position is pooled), so passing the tokenizer's mask would drift from the trained model.
            input_ids = inputs["input_ids"].to(self.device)
            with self._precision_context():
                features = _features(self.model.get_text_features(input_ids=input_ids))
            rows.append(features.float().cpu().numpy())
        if not rows:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        return l2_normalise(np.concatenate(rows))
