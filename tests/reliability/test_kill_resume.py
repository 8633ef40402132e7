"""Killed runs resume with nothing lost: SIGKILL `peaklens index` mid-embedding and mid-bulk-write, re-run,
and the index holds exactly one document per photo with the vectors a clean run gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, copy_trek_photos, peaklens_env

PHOTOS = 100


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_trek_photos(tmp_path_factory.mktemp("kill") / "album", PHOTOS)


def _env(base: dict[str, str], **extra: str) -> dict[str, str]:
    # fp32: dynamic int8 scales activations per batch, so a photo embedded in another batch (as after a
    # resume) differs in the 3rd decimal (docs/PRECISION.md); this test compares vectors exactly
    return {**os.environ, **base, "PEAKLENS_BATCH_SIZE": "8", "PEAKLENS_PRECISION": "fp32", **extra}


def _index_cmd(album: Path) -> list[str]:
    return [sys.executable, "-m", "peaklens.cli", "index", str(album), "--no-progress"]


def _run(album: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_index_cmd(album), env=env, cwd=REPO, capture_output=True, text=True, timeout=300)


def _vectors(env: dict[str, str]) -> dict[str, np.ndarray]:
    from peaklens.config import Settings
    from peaklens.store.factory import open_store

    settings = Settings(
        model=env["PEAKLENS_MODEL"],
        store=env["PEAKLENS_STORE"],
        data_dir=Path(env["PEAKLENS_DATA_DIR"]),
        es_url=env.get("PEAKLENS_ES_URL", "http://localhost:9200"),
        photos_index=env.get("PEAKLENS_PHOTOS_INDEX", "photos"),
        peaks_index=env.get("PEAKLENS_PEAKS_INDEX", "peaks_catalog"),
    )
    store = open_store(settings)
    store.refresh()
    signatures = store.photo_signatures()
    vectors = {}
    for doc_id, signature in signatures.items():
        vector = store.get_photo_vector(doc_id)
        assert vector is not None
        vectors[signature.path] = vector
    assert store.count_photos() == len(signatures)
    store.close()
    return vectors


def _kill_after(album: Path, env: dict[str, str], seconds: float) -> int:
    proc = subprocess.Popen(
        _index_cmd(album),
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(seconds)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


@pytest.fixture(params=["embedded", "noida"])
def backend_env(
    request: pytest.FixtureRequest, tmp_path: Path, tiny_siglip: Path
) -> Iterator[dict[str, str]]:
    base = peaklens_env(tiny_siglip, tmp_path)
    if request.param == "noida":
        url = request.getfixturevalue("noida_url")
        suffix = tmp_path.name.lower().replace("_", "-")[-20:]
        base.update(
            PEAKLENS_STORE="elasticsearch",
            PEAKLENS_ES_URL=url,
            PEAKLENS_PHOTOS_INDEX=f"photos-{suffix}",
            PEAKLENS_PEAKS_INDEX=f"peaks-{suffix}",
        )
    yield base


def test_kill_during_embedding_and_during_a_bulk_write_loses_nothing(
    album: Path, backend_env: dict[str, str], tmp_path: Path
) -> None:
    clean_env = {**backend_env, "PEAKLENS_DATA_DIR": str(tmp_path / "clean")}
    if backend_env["PEAKLENS_STORE"] == "elasticsearch":
        clean_env["PEAKLENS_PHOTOS_INDEX"] += "-clean"
        clean_env["PEAKLENS_PEAKS_INDEX"] += "-clean"
    started = time.monotonic()
    clean = _run(album, _env(clean_env))
    clean_seconds = time.monotonic() - started
    assert clean.returncode == 0, clean.stderr
    expected = _vectors(clean_env)
    assert len(expected) == PHOTOS

    # 1. a power cut in the middle of the 3rd bulk write (half of its documents reach the store)
    killed = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("kill_in_write.py")), "3", *_index_cmd(album)[3:]],
        env=_env(backend_env, PEAKLENS_BULK_SIZE="8"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL
    partial = _vectors(backend_env)
    assert 0 < len(partial) < PHOTOS

    # 2. SIGKILL at several moments while photos are being embedded
    for fraction in (0.35, 0.6):
        _kill_after(album, _env(backend_env), clean_seconds * fraction)

    resumed = _run(album, _env(backend_env))
    assert resumed.returncode == 0, resumed.stderr
    assert "failed 0" in resumed.stdout
    got = _vectors(backend_env)
    assert sorted(got) == sorted(expected)  # exactly one document per photo, none missing
    for path, vector in expected.items():
        np.testing.assert_allclose(got[path], vector, atol=1e-5)

    again = _run(album, _env(backend_env))
    assert f"skipped {PHOTOS} unchanged" in again.stdout and "added 0, updated 0, removed 0" in again.stdout
