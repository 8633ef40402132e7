"""Two index runs on one store: the embedded store serialises them with a clear message; searches while
indexing always see a consistent index."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_trek_photos


def _cmd(album: Path) -> list[str]:
    return [sys.executable, "-m", "peaklens.cli", "index", str(album), "--no-progress"]


@pytest.fixture
def album(tmp_path: Path) -> Path:
    return copy_trek_photos(tmp_path / "album", 60)


def test_a_second_run_on_the_same_embedded_store_is_refused_clearly(album: Path, env: dict[str, str]) -> None:
    run_env = {**os.environ, **env, "PEAKLENS_BATCH_SIZE": "2"}
    runs = [
        subprocess.Popen(
            _cmd(album), env=run_env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outcomes = sorted((proc.wait(300), *proc.communicate()) for proc in runs)
    (ok_code, ok_out, ok_err), (busy_code, busy_out, busy_err) = outcomes
    assert ok_code == 0, ok_err
    assert "added 60" in ok_out
    assert busy_code == 1, busy_out + busy_err
    assert "Another `peaklens index`" in busy_err and "wait for it to finish" in busy_err
    assert "Traceback" not in busy_err
    third = subprocess.run(_cmd(album), env=run_env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "skipped 60 unchanged" in third.stdout


def test_searches_while_indexing_see_a_consistent_index(album: Path, env: dict[str, str]) -> None:
    from peaklens.config import Settings
    from peaklens.embed.loader import load_embedder
    from peaklens.search import Searcher
    from peaklens.store.factory import open_store

    run_env = {**os.environ, **env, "PEAKLENS_BATCH_SIZE": "4"}
    proc = subprocess.Popen(
        _cmd(album), env=run_env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    settings = Settings(model=env["PEAKLENS_MODEL"], data_dir=Path(env["PEAKLENS_DATA_DIR"]))
    embedder = load_embedder(settings)
    seen: list[int] = []
    while proc.poll() is None:
        try:
            store = open_store(settings)
            searcher = Searcher(settings, store, embedder)
            results = searcher.text("mountain", k=100)
        except Exception as exc:  # the store may not exist yet in the first instants
            if "does not exist" in str(exc) or "not found" in str(exc).lower() or "empty" in str(exc):
                time.sleep(0.1)
                continue
            raise
        paths = [r.hit.path for r in results]
        assert len(paths) == len(set(paths)), "a photo appeared twice"
        assert all(0.0 <= r.hit.score <= 1.0 for r in results)
        scores = [r.hit.score for r in results]
        assert scores == sorted(scores, reverse=True)
        seen.append(len(paths))
        time.sleep(0.1)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert seen == sorted(seen), "the number of searchable photos went down while indexing"
    final = Searcher(settings, open_store(settings), embedder).text("mountain", k=100)
    assert len(final) == 60
