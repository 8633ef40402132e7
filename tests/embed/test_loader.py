"""load_embedder: the cache, the cheap availability check, and one fast clear line when weights are missing."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from peaklens.config import Settings
from peaklens.embed import loader
from peaklens.embed.loader import load_embedder, model_available
from peaklens.embed.siglip import SiglipEmbedder
from peaklens.errors import ModelNotAvailable

DEFAULT = "google/siglip2-base-patch16-224"


def _settings(model: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        model=model, device="cpu", precision="fp32", runtime="torch", batch_size=16
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def no_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HF cache and a hub endpoint that refuses connections: 'offline' on any machine."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    return cache


def _fails_fast(model: str) -> str:
    started = time.monotonic()
    with pytest.raises(ModelNotAvailable) as caught:
        load_embedder(_settings(model))
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_same_settings_give_the_same_embedder(tiny_siglip: Path) -> None:
    first = load_embedder(_settings(str(tiny_siglip)))
    assert load_embedder(_settings(str(tiny_siglip))) is first
    other = load_embedder(_settings(str(tiny_siglip), batch_size=4))
    assert other is not first
    assert isinstance(other, SiglipEmbedder) and other.batch_size == 4


@pytest.mark.parametrize("kind", ["siglip", "siglip2"])
def test_loads_both_architectures(kind: str, request: pytest.FixtureRequest) -> None:
    folder = request.getfixturevalue(f"tiny_{kind}")
    embedder = load_embedder(_settings(str(folder)))
    assert isinstance(embedder, SiglipEmbedder)
    assert type(embedder.model).__name__ == {"siglip": "SiglipModel", "siglip2": "Siglip2Model"}[kind]
    assert embedder.model_id == str(folder)


def test_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    assert _fails_fast(str(missing)) == f"Model folder {missing} does not exist."
    assert not model_available(str(missing))


def test_folder_without_config(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"")
    assert "has no config.json" in _fails_fast(str(tmp_path))
    assert not model_available(str(tmp_path))


def test_folder_with_broken_files(tmp_path: Path, tiny_siglip: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_siglip, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    message = _fails_fast(str(broken))
    assert message.startswith(f"Model {broken} could not be loaded")


@pytest.mark.parametrize("model", [DEFAULT, "someone/not-a-real-model"])
def test_offline_hub_id_is_one_fast_line(no_hub: Path, model: str) -> None:
    assert not model_available(model)
    assert _fails_fast(model) == (
        f"Model '{model}' is not in the local Hugging Face cache and cannot be downloaded (no internet?). "
        f"On a machine with internet run `hf download {model}`, or set "
        "PEAKLENS_MODEL=/path/to/a/local/model/folder."
    )


def test_hf_hub_offline_skips_the_probe(no_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(loader, "PROBE_TIMEOUT_S", 0.0)  # a probe would now fail; it must not even start
    assert "is not in the local Hugging Face cache" in _fails_fast(DEFAULT)


class _Hub:
    """A stand-in for huggingface_hub's HTTP session: answers every HEAD with ``status`` after ``delay`` s."""

    def __init__(self, status: int, delay: float = 0.0) -> None:
        self.status, self.delay = status, delay

    def head(self, url: str, **_: object) -> Any:
        time.sleep(self.delay)
        return type("Response", (), {"status_code": self.status})()


@pytest.mark.parametrize(
    ("status", "expected"),
    [(404, "does not exist on the Hugging Face hub"), (401, "is gated or private"), (403, "is gated")],
)
def test_hub_answers_become_one_line(
    no_hub: Path, monkeypatch: pytest.MonkeyPatch, status: int, expected: str
) -> None:
    import huggingface_hub.utils

    monkeypatch.setattr(huggingface_hub.utils, "get_session", lambda: _Hub(status))
    assert expected in _fails_fast("someone/some-model")


def test_a_hanging_network_is_cut_short(no_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lookup that ignores the request timeout (a stuck DNS resolver) still ends after the probe's limit."""
    import huggingface_hub.utils

    monkeypatch.setattr(huggingface_hub.utils, "get_session", lambda: _Hub(200, delay=30))
    monkeypatch.setattr(loader, "PROBE_TIMEOUT_S", 0.2)
    started = time.monotonic()
    assert "no internet?" in _fails_fast("someone/some-model")
    assert time.monotonic() - started < 3


def test_default_model_on_this_machine_fails_fast() -> None:
    """No monkeypatching: the real cache and network of the machine running the tests."""
    if model_available(DEFAULT):
        pytest.skip(f"{DEFAULT} is in the local Hugging Face cache here")
    started = time.monotonic()
    try:
        loader._source(DEFAULT)  # the probe only: never starts a 1.5 GB download where there is internet
    except ModelNotAvailable as exc:
        assert "\n" not in str(exc) and DEFAULT in str(exc)
    assert time.monotonic() - started < 10


def test_cached_hub_id_loads_offline(no_hub: Path, tiny_siglip: Path) -> None:
    """A hub id found in the HF cache loads with local files only (the endpoint refuses connections)."""
    repo = no_hub / "models--peaklens--tiny"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_siglip, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    assert model_available("peaklens/tiny")
    embedder = load_embedder(_settings("peaklens/tiny"))
    assert embedder.model_id == "peaklens/tiny"
    assert embedder.embed_texts(["ama dablam"]).shape == (1, 64)


def test_model_available_for_tiny_models(tiny_siglip: Path, tiny_siglip2: Path) -> None:
    assert model_available(str(tiny_siglip)) and model_available(str(tiny_siglip2))
