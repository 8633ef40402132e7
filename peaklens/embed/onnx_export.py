"""Exporting a SigLIP / SigLIP-2 checkpoint to ONNX once, and quantising it with ONNX Runtime's own tools.

The only module of the ONNX path that imports torch and transformers: it runs once per model, weights and
precision, and writes a folder that ``onnx.OnnxEmbedder`` loads with onnxruntime, tokenizers, PIL and numpy
alone. Both towers are exported with their pooling heads; the embedder L2-normalises the outputs, as the torch
embedder does. NaFlex (``Siglip2Model``) exports with its per-photo position-embedding resize intact (the
tests compare photos of several aspect ratios in one batch against torch).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from peaklens.embed.artifacts import (
    EXPORT_FORMAT,
    MANIFEST,
    OPSET,
    ExportFailed,
    read_manifest,
    write_json_atomically,
)
from peaklens.embed.preprocess import TEXT_MAX_LENGTH, ImageSpec, image_spec_of

VISION, TEXT, TOKENIZER = "vision.onnx", "text.onnx", "tokenizer.json"
#: ONNX Runtime dynamic int8: uint8 activations, signed int8 weights with 7-bit range. On AVX2 without VNNI
#: the u8×s8 kernels sum pairs of products in int16, which saturates with full-range weights (measured cos
#: 0.93–0.95 against fp32 on such a CPU); reduce_range keeps the sums in range at no cost in speed.
INT8_OPTIONS: dict[str, Any] = {"per_channel": False, "reduce_range": True}
#: what is quantised in each tower. The vision tower's patch Conv stays fp32 (ConvInteger is slow and the
#: 8-bit patch embedding cost agreement: cos min 0.9980 → 0.9993 against fp32 without it, measured on trek
#: photos); the text tower quantises every op quantize_dynamic supports, as measured fastest.
INT8_OPS: dict[str, list[str] | None] = {VISION: ["MatMul"], TEXT: None}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch.onnx's tracer warnings and progress lines are not for the user."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _failing_as(what: str) -> Iterator[None]:
    """Any error inside but running out of memory becomes one ``ExportFailed`` line: ``what``, then the first
    line of the cause (``runtime: auto`` then says it and uses torch)."""
    try:
        yield
    except MemoryError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportFailed(f"{what}: {first[:200]}") from exc


def _pooled(output: Any) -> Any:
    pooled = getattr(output, "pooler_output", None)
    return output if pooled is None else pooled


def _towers(model: Any, naflex: bool) -> tuple[Any, Any]:
    import torch

    class Vision(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            if naflex:
                values, mask, shapes = inputs
                return _pooled(
                    self.model.get_image_features(
                        pixel_values=values, pixel_attention_mask=mask, spatial_shapes=shapes
                    )
                )
            return _pooled(self.model.get_image_features(pixel_values=inputs[0]))

    class Text(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            # input_ids only: SigLIP was trained without a text attention mask (see siglip.py)
            return _pooled(self.model.get_text_features(input_ids=input_ids))

    return Vision().eval(), Text().eval()


def _vision_example(spec: ImageSpec) -> tuple[list[str], tuple[Any, ...]]:
    import torch

    if spec.naflex:
        budget, width = spec.max_num_patches, spec.patch_size**2 * 3
        side = max(1, int(budget**0.5))
        mask = torch.zeros(2, budget, dtype=torch.int32)
        mask[:, : side * side] = 1
        shapes = torch.tensor([[side, side], [side, side]], dtype=torch.int64)
        return ["pixel_values", "pixel_attention_mask", "spatial_shapes"], (
            torch.randn(2, budget, width),
            mask,
            shapes,
        )
    return ["pixel_values"], (torch.randn(2, 3, spec.height, spec.width),)


def _export(module: Any, example: tuple[Any, ...], names: list[str], output: str, path: Path) -> None:
    import torch

    axes = {name: {0: "batch"} for name in [*names, output]}
    with _quiet(), torch.inference_mode():
        # The TorchScript exporter: seconds for the full-size model where torch.export takes minutes, and it
        # keeps NaFlex's per-photo shapes dynamic.
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=names,
            output_names=[output],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _optimise(path: Path) -> None:
    """ONNX Runtime's pre-processing for quantisation, in place: shape inference and its basic graph
    optimisations (constant folding, redundant node removal). The fp32 export keeps it too, so both precisions
    start from the same graph; fusions for this CPU happen when a session opens (ORT_ENABLE_ALL)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    optimised = path.with_name(f"optimised-{path.name}")
    with _quiet():
        quant_pre_process(path, optimised, skip_symbolic_shape=True)
    os.replace(optimised, path)


def _fuse(path: Path) -> None:
    """ONNX Runtime's extended graph optimisations (attention, layer-norm and GELU fusions), saved in place:
    a session then opens the fused graph instead of fusing the model again at every start."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(path.with_name(f"fused-{path.name}"))
    options.log_severity_level = 3
    ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    os.replace(options.optimized_model_filepath, path)


def _transformer_fusions(path: Path) -> None:
    """ONNX Runtime's transformer optimiser on the vision tower before quantising, in place: layer norms with
    their residual add (SkipLayerNormalization) and tanh-GELU (FastGelu) become single fp32 kernels, so the
    int8 graph spends its time in the int8 products (measured 49 → 40 ms a photo, batch 16, 2 cores). Its
    attention fusion does not match torch's SDPA export of SigLIP and stays off; the graph is otherwise
    unchanged (opt_level 0: ORT's own optimisations run when a session opens)."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_attention = False
    options.enable_embed_layer_norm = False
    with _quiet():
        optimised = optimize_model(
            str(path),
            model_type="bert",
            num_heads=0,
            hidden_size=0,
            opt_level=0,
            optimization_options=options,
        )
        optimised.save_model_to_file(str(path))


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "transformers", "onnx", "onnxruntime")}


def _build_into(folder: Path, build: Any) -> Path:
    """Run ``build(work)`` in a temporary sibling and rename it into place: readers never see half an export,
    and when two processes race the first complete one wins."""
    if read_manifest(folder) is not None:
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        build(work)
        try:
            os.rename(work, folder)
        except OSError:
            if read_manifest(folder) is None:
                shutil.rmtree(folder, ignore_errors=True)
                os.rename(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def export_fp32(model: Any, processor: Any, model_id: str, folder: Path) -> Path:
    """Write both towers (fp32), the tokenizer and the preprocessing numbers into ``folder``."""
    import torch

    tokenizer = processor.tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or tokenizer.pad_token_id is None:
        raise ExportFailed(f"the tokenizer of {model_id} has no tokenizer.json form (a slow-only tokenizer)")
    spec = image_spec_of(processor.image_processor)
    model = model.float().eval()

    def build(work: Path) -> None:
        vision, text = _towers(model, spec.naflex)
        names, example = _vision_example(spec)
        with _failing_as(f"torch.onnx could not export {model_id}"):
            _export(vision, example, names, "image_embeds", work / VISION)
            ids = torch.full((2, TEXT_MAX_LENGTH), int(tokenizer.pad_token_id), dtype=torch.int64)
            _export(text, (ids,), ["input_ids"], "text_embeds", work / TEXT)
            _optimise(work / VISION)
            _optimise(work / TEXT)
        backend.save(str(work / TOKENIZER))
        with torch.inference_mode():
            dim = int(_pooled(model.get_text_features(input_ids=ids[:1])).shape[-1])
        write_json_atomically(
            work / MANIFEST,
            {
                "model_id": model_id,
                "precision": "fp32",
                "opset": OPSET,
                "export_format": EXPORT_FORMAT,
                "dim": dim,
                "logit_scale": float(torch.exp(model.logit_scale.float()).item()),
                "logit_bias": float(model.logit_bias.float().item()),
                "pad_id": int(tokenizer.pad_token_id),
                "image": spec.to_json(),
                "versions": _versions(),
            },
        )

    return _build_into(folder, build)


def quantise_int8(fp32_folder: Path, folder: Path) -> Path:
    """Dynamic int8 (weights quantised once, activations per call) of both towers of an fp32 export."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    manifest = read_manifest(fp32_folder)
    if manifest is None:
        raise ExportFailed(f"no complete fp32 export in {fp32_folder}")

    def build(work: Path) -> None:
        for name in (VISION, TEXT):
            with _failing_as(f"ONNX Runtime could not quantise {name}"):
                source = fp32_folder / name
                if name == VISION:
                    source = work / f"fp32-{name}"
                    shutil.copy2(fp32_folder / name, source)
                    _transformer_fusions(source)
                with _quiet():
                    quantize_dynamic(
                        source,
                        work / name,
                        weight_type=QuantType.QInt8,
                        op_types_to_quantize=INT8_OPS[name],
                        **INT8_OPTIONS,
                    )
                if source.parent == work:
                    source.unlink()
                _fuse(work / name)
        shutil.copy2(fp32_folder / TOKENIZER, work / TOKENIZER)
        write_json_atomically(
            work / MANIFEST,
            {
                **manifest,
                "precision": "int8",
                "int8": {"weights": "QInt8", **INT8_OPTIONS, "ops": INT8_OPS, "vision_fusions": True},
                "versions": _versions(),
            },
        )

    return _build_into(folder, build)
