"""Store faults: unreachable at start, Elasticsearch going away mid-run, per-document bulk errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_trek_photos, run_cli
from tests.es_server import running_noida


def _photos_in(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/photos/_count", timeout=2) as reply:
            return int(json.loads(reply.read())["count"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.fixture
def album(tmp_path: Path) -> Path:
    return copy_trek_photos(tmp_path / "album", 100)


def test_unreachable_elasticsearch_at_start_is_one_line_and_writes_nothing(
    album: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKLENS_STORE", "elasticsearch")
    monkeypatch.setenv("PEAKLENS_ES_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PEAKLENS_ES_MAX_RETRIES", "1")
    started = time.monotonic()
    result = run_cli("index", str(album), "--no-progress")
    assert result.code == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Elasticsearch at http://127.0.0.1:9 is not reachable" in result.stderr
    assert time.monotonic() - started < 30
    assert not Path(env["PEAKLENS_DATA_DIR"]).exists()


def test_unwritable_embedded_store_is_one_line(
    album: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PEAKLENS_DATA_DIR", str(blocker / "store"))
    result = run_cli("index", str(album), "--no-progress")
    assert result.code == 1 and "Traceback" not in result.stderr
    assert str(blocker) in result.stderr


def test_elasticsearch_going_away_mid_run_stops_clearly_and_a_rerun_completes(
    album: Path, env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "es-data"
    with running_noida(data) as server:
        run_env = {
            **os.environ,
            **env,
            "PEAKLENS_STORE": "elasticsearch",
            "PEAKLENS_ES_URL": server.url,
            "PEAKLENS_BATCH_SIZE": "2",
            "PEAKLENS_BULK_SIZE": "2",  # photos reach the server as they are embedded, two at a time
            "PEAKLENS_ES_MAX_RETRIES": "2",
        }
        proc = subprocess.Popen(  # each bulk write takes 0.3 s longer: the run is surely mid-way below
            [
                sys.executable,
                str(Path(__file__).with_name("slow_writes.py")),
                "0.3",
                "index",
                str(album),
                "--no-progress",
            ],
            env=run_env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # stop the server once the first photos are in (readiness, not a fixed wait: a fast machine
        # indexes 100 photos in a few seconds)
        deadline = time.monotonic() + 300
        while _photos_in(server.url) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "indexing finished before the server could be stopped"
        server.stop()
        stopped_at = time.monotonic()
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 1, out + err
        assert time.monotonic() - stopped_at < 120  # bounded retries, then a clear stop
        assert "Traceback" not in err
        assert "not reachable" in err or "Elasticsearch" in err
    with running_noida(data) as server:
        run_env["PEAKLENS_ES_URL"] = server.url
        again = subprocess.run(
            [sys.executable, "-m", "peaklens.cli", "index", str(album), "--no-progress"],
            env=run_env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 0, again.stderr
        assert "failed 0" in again.stdout
        count = subprocess.run(
            [sys.executable, "-m", "peaklens.cli", "peaks", "--json"],
            env=run_env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert count.returncode == 0
        from peaklens.config import Settings
        from peaklens.store.factory import open_store

        store = open_store(Settings(store="elasticsearch", es_url=server.url))
        store.refresh()
        assert store.count_photos() == 100
        assert len(store.photo_signatures()) == 100


def test_per_document_bulk_errors_are_reported_per_photo(
    album: Path, env: dict[str, str], noida_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index whose shot_time field is not a date rejects dated photos one by one; each is named."""
    from elasticsearch import Elasticsearch

    from peaklens.store.elastic import photos_mapping

    mapping = photos_mapping(64)
    mapping["properties"]["shot_time"] = {"type": "integer"}
    Elasticsearch(noida_url).indices.create(index="conflicting-photos", mappings=mapping)
    undated = album / "undated.png"
    from PIL import Image

    Image.new("RGB", (64, 48), "white").save(undated)
    monkeypatch.setenv("PEAKLENS_STORE", "elasticsearch")
    monkeypatch.setenv("PEAKLENS_ES_URL", noida_url)
    monkeypatch.setenv("PEAKLENS_PHOTOS_INDEX", "conflicting-photos")
    monkeypatch.setenv("PEAKLENS_PEAKS_INDEX", "conflicting-peaks")
    result = run_cli("index", str(album), "--no-progress")
    assert result.code == 3, result.stderr  # finished, with photos it could not index
    assert "added 1," in result.stdout and "failed 100" in result.stdout
    failed_lines = [line for line in result.stderr.splitlines() if "not stored:" in line]
    assert len(failed_lines) == 100
    assert all(line.startswith("skipped IMG_") for line in failed_lines)
