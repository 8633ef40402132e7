"""The ONNX Runtime embedder: same interface and same vectors as torch, exported once, loaded without torch."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from peaklens.config import Settings
from peaklens.embed import loader, onnx_export
from peaklens.embed.artifacts import ExportFailed, export_dir
from peaklens.embed.base import Embedder
from peaklens.embed.loader import load_embedder
from peaklens.embed.onnx import OnnxEmbedder
from peaklens.embed.runtime import resolve_runtime
from peaklens.embed.siglip import SiglipEmbedder
from peaklens.errors import ModelNotAvailable, PeaklensError

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["ama dablam", "A dog on a trail", "阿玛达布朗", "lhotse and nuptse at sunset " * 10]


def _settings(folder: Path, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        model=str(folder), device="cpu", precision="fp32", runtime="auto", batch_size=3, data_dir=data_dir
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _photos() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    sizes = [(240, 320), (320, 240), (150, 900), (1, 1), (64, 64)]
    photos = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in sizes]
    return [*photos, photos[0].convert("L"), photos[1].convert("RGBA")]


@pytest.fixture(params=["siglip", "siglip2"])
def folder(request: pytest.FixtureRequest) -> Path:
    return Path(request.getfixturevalue(f"tiny_{request.param}"))


def test_onnx_gives_the_torch_vectors(folder: Path, tmp_path: Path) -> None:
    onnx = load_embedder(_settings(folder, tmp_path))
    torch_ = load_embedder(_settings(folder, tmp_path, runtime="torch"))
    assert isinstance(onnx, OnnxEmbedder) and isinstance(torch_, SiglipEmbedder)
    assert isinstance(onnx, Embedder)
    assert (onnx.dim, onnx.image_size) == (torch_.dim, torch_.image_size)
    assert onnx.logit_scale == pytest.approx(10.0, rel=1e-6) and onnx.logit_bias == pytest.approx(-10.0)
    photos = _photos()  # 7 photos in batches of 3: NaFlex mixes aspect ratios within one batch
    for ours, reference in (
        (onnx.embed_images(photos), torch_.embed_images(photos)),
        (onnx.embed_texts(TEXTS), torch_.embed_texts(TEXTS)),
    ):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(ours, reference, atol=2e-5)
    np.testing.assert_array_equal(onnx.embed_texts(["AMA DABLAM"]), onnx.embed_texts(["ama dablam"]))
    assert onnx.embed_images([]).shape == (0, onnx.dim) and onnx.embed_texts([]).shape == (0, onnx.dim)


def test_int8_export_agrees_with_fp32(folder: Path, tmp_path: Path) -> None:
    fp32 = load_embedder(_settings(folder, tmp_path))
    int8 = load_embedder(_settings(folder, tmp_path, precision="int8"))
    assert isinstance(int8, OnnxEmbedder) and int8.precision == "int8"
    manifest = json.loads((int8.folder / "manifest.json").read_text())
    assert manifest["int8"] == {
        "weights": "QInt8",
        "per_channel": False,
        "reduce_range": True,
        "ops": {"vision.onnx": ["MatMul"], "text.onnx": None},
        "vision_fusions": True,
    }
    for a, b in (
        (fp32.embed_images(_photos()), int8.embed_images(_photos())),
        (fp32.embed_texts(TEXTS), int8.embed_texts(TEXTS)),
    ):
        assert (a * b).sum(axis=1).min() > 0.99
    assert (int8.folder / "text.onnx").stat().st_size < 0.6 * (fp32.folder / "text.onnx").stat().st_size
    vision_ops = Counter(node.op_type for node in onnx.load(int8.folder / "vision.onnx").graph.node)
    assert vision_ops["SkipLayerNormalization"] > 0 and vision_ops["FastGelu"] > 0  # fused before quantising
    assert vision_ops["DynamicQuantizeMatMul"] > 0  # the weight products in int8...
    assert vision_ops["ConvInteger"] == 0  # ...but the patch embedding


def test_export_is_made_once_and_keyed_by_the_weights(tiny_siglip: Path, tmp_path: Path) -> None:
    settings = _settings(tiny_siglip, tmp_path / "data")
    first = load_embedder(settings)
    assert isinstance(first, OnnxEmbedder)
    stamp = (first.folder / "vision.onnx").stat().st_mtime_ns
    loader._cache.clear()
    again = load_embedder(settings)
    assert again is not first and again.folder == first.folder
    assert (again.folder / "vision.onnx").stat().st_mtime_ns == stamp
    # a re-saved checkpoint (same name, new weights file) gets a new export
    copy = tmp_path / "model"
    shutil.copytree(tiny_siglip, copy)
    before = export_dir(_settings(copy, tmp_path / "data"), "fp32")
    os.utime(copy / "model.safetensors", ns=(1, 1))
    after = export_dir(_settings(copy, tmp_path / "data"), "fp32")
    assert before != after and before is not None and after is not None
    assert {before.parent, after.parent} == {tmp_path / "data" / "onnx"}
    assert [p.name for p in (tmp_path / "data" / "onnx").iterdir() if p.name.startswith(".")] == []


def test_runtime_choice(tiny_siglip: Path, tmp_path: Path) -> None:
    def runtime(**overrides: object) -> str:
        return resolve_runtime(_settings(tiny_siglip, tmp_path, **overrides))

    assert runtime() == "onnx"
    assert runtime(precision="int8") == "onnx" and runtime(precision="auto") == "onnx"
    assert runtime(runtime="torch") == "torch"
    assert runtime(precision="bf16") == "torch"  # ONNX Runtime's CPU kernels do not run bf16 faster
    assert runtime(device="cuda") == "torch"
    with pytest.raises(PeaklensError, match="runs fp32 or int8, not bf16"):
        runtime(runtime="onnx", precision="bf16")
    with pytest.raises(PeaklensError, match="on a GPU use --runtime torch"):
        runtime(runtime="onnx", device="cuda")


def _export_fails(*_: object, **__: object) -> Path:
    raise ExportFailed("torch.onnx could not export it: unsupported operator")


def test_export_failure_falls_back_to_torch_with_one_line(
    tiny_siglip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(onnx_export, "export_fp32", _export_fails)
    with caplog.at_level(logging.WARNING):
        embedder = load_embedder(_settings(tiny_siglip, tmp_path))
    assert isinstance(embedder, SiglipEmbedder)
    assert [r.getMessage() for r in caplog.records] == [
        "ONNX Runtime cannot carry this model (torch.onnx could not export it: unsupported operator): using torch."
    ]
    with pytest.raises(ModelNotAvailable) as caught:
        load_embedder(_settings(tiny_siglip, tmp_path, runtime="onnx"))
    assert str(caught.value) == "--runtime onnx: torch.onnx could not export it: unsupported operator"


def test_a_failing_export_or_quantisation_is_one_line_naming_the_step(
    tiny_siglip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("Unsupported operator aten::foo\n  a second line the user need not read")

    with monkeypatch.context() as patched:
        patched.setattr(onnx_export, "_export", broken)
        with pytest.raises(ModelNotAvailable) as exporting:
            load_embedder(_settings(tiny_siglip, tmp_path / "a", runtime="onnx"))
    assert str(exporting.value) == (
        f"--runtime onnx: torch.onnx could not export {tiny_siglip}: Unsupported operator aten::foo"
    )
    loader._cache.clear()
    monkeypatch.setattr(onnx_export, "_transformer_fusions", broken)
    with pytest.raises(ModelNotAvailable) as quantising:
        load_embedder(_settings(tiny_siglip, tmp_path / "b", runtime="onnx", precision="int8"))
    assert str(quantising.value) == (
        "--runtime onnx: ONNX Runtime could not quantise vision.onnx: Unsupported operator aten::foo"
    )


def test_loading_an_export_imports_neither_torch_nor_transformers(tiny_siglip2: Path, tmp_path: Path) -> None:
    load_embedder(_settings(tiny_siglip2, tmp_path, batch_size=16))  # exports in this process
    script = (
        "import sys, time\n"
        "started = time.perf_counter()\n"
        "from peaklens.config import Settings\n"
        "from peaklens.embed.loader import load_embedder\n"
        f"settings = Settings(model={str(tiny_siglip2)!r}, device='auto', data_dir={str(tmp_path)!r})\n"
        "vector = load_embedder(settings).embed_texts(['ama dablam'])\n"
        "print(type(load_embedder(settings)).__name__, vector.shape, round(time.perf_counter() - started, 3))\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEAKLENS_")}
    env["PEAKLENS_CONFIG"] = str(tmp_path / "none.yaml")
    (tmp_path / "none.yaml").write_text("{}\n")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    first, second = result.stdout.splitlines()
    assert first.startswith("OnnxEmbedder (1, 64) ")
    assert second == "[]", result.stdout
