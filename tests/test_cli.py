"""The CLI end to end, as a user runs it: the sample album, incremental re-runs, bad input, filters, JSON."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE_ALBUM, TREK_JPEGS, CliResult, copy_trek_photos, run_cli
from tests.fixtures_images import write_bad_album


@pytest.fixture
def album(tmp_path: Path) -> Path:
    root = tmp_path / "album"
    shutil.copytree(SAMPLE_ALBUM, root, ignore=shutil.ignore_patterns("*.md"))
    copy_trek_photos(root / "trek", 6)
    return root


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_index_then_rerun_is_incremental(album: Path, env: dict[str, str]) -> None:
    first = ok(run_cli("index", str(album), "--no-progress"))
    assert "added 22, updated 0, removed 0, skipped 0 unchanged, failed 0" in first.stdout
    second = ok(run_cli("index", str(album), "--no-progress"))
    assert "added 0, updated 0, removed 0, skipped 22 unchanged, failed 0" in second.stdout

    (album / "other" / "Dragonfly_by_Bolly.jpg").unlink()
    changed = album / "mountains" / "sunset_by_Aitzol_Berasategi.jpg"
    changed.write_bytes(changed.read_bytes() + b"\0")  # appended bytes: same picture, new size
    shutil.copy2(TREK_JPEGS[10], album / "trek" / "new.jpg")
    third = ok(run_cli("index", str(album), "--no-progress"))
    assert "added 1, updated 1, removed 1, skipped 20 unchanged, failed 0" in third.stdout


def test_search_json_has_what_a_user_needs(album: Path, env: dict[str, str]) -> None:
    ok(run_cli("index", str(album), "--no-progress"))
    result = ok(run_cli("search", "snowy mountain", "--k", "5", "--json"))
    hits = json.loads(result.stdout)
    assert len(hits) == 5
    assert {"path", "score", "visual_score", "confidence", "predicted_peaks", "gps", "shot_time"} <= set(
        hits[0]
    )
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    trek = [
        h
        for h in json.loads(ok(run_cli("search", "mountain", "--k", "30", "--json")).stdout)
        if h["path"].startswith("trek/")
    ]
    assert len(trek) == 6 and all(h["shot_time"].endswith("+05:45") and h["gps"] for h in trek)
    assert all(27.6 < h["gps"]["lat"] < 28.1 and 86.6 < h["gps"]["lon"] < 87.0 for h in trek)


def test_filters_restrict_results(album: Path, env: dict[str, str]) -> None:
    ok(run_cli("index", str(album), "--no-progress"))
    boxed = json.loads(ok(run_cli("search", "mountain", "--bbox", "28.1,86.6,27.6,87.0", "--json")).stdout)
    assert {h["path"].split("/")[0] for h in boxed} == {"trek"} and len(boxed) == 6
    denmark = json.loads(ok(run_cli("search", "cups", "--bbox", "57,10,56,11", "--json")).stdout)
    assert [h["path"] for h in denmark] == ["exif/ColorfulCups.jpg"]
    dated = json.loads(
        ok(run_cli("search", "mountain", "--from", "2023-10-01", "--to", "2023-12-31", "--json")).stdout
    )
    assert dated and all(h["shot_time"].startswith("2023-1") for h in dated)
    peaks = json.loads(ok(run_cli("peaks", "--json")).stdout)
    top = peaks[0]["peak"]
    only = json.loads(ok(run_cli("search", "mountain", "--peak", top.lower(), "--k", "100", "--json")).stdout)
    assert len(only) == peaks[0]["photos"] and all(top in h["predicted_peaks"] for h in only)
    by_time = json.loads(ok(run_cli("search", "mountain", "--sort", "time", "--k", "100", "--json")).stdout)
    times = [h["shot_time"] for h in by_time if h["shot_time"]]
    assert times and by_time[-1]["shot_time"] is None


def test_identify_similar_peaks_and_config(album: Path, env: dict[str, str]) -> None:
    ok(run_cli("index", str(album), "--no-progress"))
    photo = str(album / "trek" / TREK_JPEGS[0].name)
    identified = json.loads(ok(run_cli("identify", photo, "--json")).stdout)["peaks"]
    assert len(identified) == 3 and {"id", "name", "score", "visual_score"} <= set(identified[0])
    human = ok(run_cli("identify", photo)).stdout
    assert "Taken at 27." in human and " km · bearing " in human
    similar = json.loads(ok(run_cli("similar", photo, "--k", "5", "--json")).stdout)
    best = similar["peaks"][0]["name"]
    assert similar["photos"] and all(best in p["predicted_peaks"] for p in similar["photos"])
    facets = json.loads(ok(run_cli("peaks", "--json")).stdout)
    assert sum(f["photos"] for f in facets) == 22 * 3
    shown = ok(run_cli("config", "--json"))
    assert json.loads(shown.stdout)["model"] == env["PEAKLENS_MODEL"]


def test_settings_from_file_env_and_flags(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "peaklens.yaml"
    config.write_text("k: 7\nbatch_size: 3\ntop_k_peaks: 4\n")
    monkeypatch.setenv("PEAKLENS_CONFIG", str(config))
    monkeypatch.setenv("PEAKLENS_BATCH_SIZE", "5")
    shown = json.loads(ok(run_cli("--top-k-peaks", "2", "config", "--json")).stdout)
    assert (shown["k"], shown["batch_size"], shown["top_k_peaks"]) == (7, 5, 2)


def test_bad_album_files_are_each_reported_and_the_run_finishes(tmp_path: Path, env: dict[str, str]) -> None:
    root = tmp_path / "bad"
    expected = write_bad_album(root)
    result = run_cli("index", str(root), "--no-progress")
    assert result.code == 3, result.stderr  # finished, with photos it could not index
    good = [p for p, outcome in expected.items() if outcome == "ok"]
    bad = {p: outcome for p, outcome in expected.items() if outcome != "ok"}
    assert f"added {len(good)}," in result.stdout and re.search(rf"failed {len(bad)}\b", result.stdout)
    for path, reason in bad.items():
        line = next((ln for ln in result.stderr.splitlines() if f"skipped {path}:" in ln), None)
        assert line is not None, f"no line for {path}"
        assert reason.lower() in line.lower()
    assert ".secret.jpg" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("index", "/nonexistent/album"), "Album folder /nonexistent/album does not exist."),
        (("search", "x", "--bbox", "1,2,3"), "Bounding box '1,2,3'"),
        (("search", "x", "--from", "yesterday"), "expected YYYY-MM-DD"),
        (("search", "x", "--peak", "K2"), "Unknown peak 'K2'"),
        (("search", "x", "--sort", "size"), "use 'score' or 'time'"),
        (("identify", "/nonexistent.jpg"), "Photo /nonexistent.jpg does not exist."),
    ],
)
def test_user_errors_are_one_clear_line(
    album: Path, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    ok(run_cli("index", str(album), "--no-progress"))
    result = run_cli(*args)
    assert result.code == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_file_given_as_album_and_a_text_file_as_photo(tmp_path: Path, env: dict[str, str]) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    assert "is not a folder" in run_cli("index", str(text)).stderr
    result = run_cli("identify", str(text))
    assert result.code == 1 and "cannot be used: not an image" in result.stderr


def test_missing_model_weights_say_how_to_get_them(
    album: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKLENS_MODEL", "google/siglip2-base-patch16-224")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    result = run_cli("index", str(album))
    assert result.code == 1
    assert "is not in the local Hugging Face cache" in result.stderr and "PEAKLENS_MODEL" in result.stderr
    assert time.monotonic() - started < 30
    monkeypatch.setenv("PEAKLENS_MODEL", str(album / "no-model-here"))
    assert "does not exist" in run_cli("index", str(album)).stderr


def test_the_installed_command_runs(env: dict[str, str]) -> None:
    exe = Path(sys.executable).with_name("peaklens")
    result = subprocess.run(
        [str(exe), "config"], env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "model = " in result.stdout
    usage = subprocess.run(
        [str(exe), "search"], env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_eval_scores_every_variant_and_identification(
    album: Path, env: dict[str, str], tmp_path: Path
) -> None:
    labels = tmp_path / "labels.yaml"
    trek = [f"{REPO.parent / 'shared' / 'trek' / 'jpeg' / p.name}" for p in TREK_JPEGS[:2]]
    labels.write_text(
        "categories:\n  trek: ['trek/*']\n"
        "queries:\n  - {text: mountains, relevant: trek}\n  - {text: a dragonfly, relevant: [other/Dragonfly_by_Bolly.jpg]}\n"
        f"identify:\n  - {{photo: {trek[0]}, peak: Ama Dablam}}\n  - {{photo: {trek[1]}, peaks: [Lhotse, Pumori]}}\n"
    )
    ok(run_cli("index", str(album), "--no-progress"))
    report = json.loads(ok(run_cli("eval", str(labels), "--json")).stdout)
    assert [row["variant"] for row in report["text"]] == [
        "ensemble + anti-concept",
        "ensemble only",
        "anti-concept only",
        "raw query",
    ]
    assert all(row["queries"] == 2 and 0 <= row["mrr"] <= 1 for row in report["text"])
    visual, with_geo, geometry = report["identify"]
    assert visual == "visual" and "geo prior" in with_geo and geometry.startswith("geometry only")
    human = ok(run_cli("eval", str(labels))).stdout
    assert "| raw query | 2 |" in human and "| visual |" in human


def test_trek_identification_labels_run_without_an_album_and_the_geo_prior_helps(
    env: dict[str, str],
) -> None:
    ok(run_cli("catalog", "build"))
    report = json.loads(ok(run_cli("eval", str(REPO / "eval" / "trek_identify.yaml"), "--json")).stdout)
    visual, with_geo, geometry = report["identify"].values()
    assert report["text"] == []
    # The tiny model's visual ranking is noise; the prior alone drops the peaks behind the camera.
    assert with_geo["top3"] > visual["top3"] + 0.2
    # geometry alone (no model at all) names the labelled peak among its first three for most photos
    assert geometry["top3"] > 0.8


def test_eval_with_text_queries_needs_an_indexed_album(env: dict[str, str], tmp_path: Path) -> None:
    labels = tmp_path / "labels.yaml"
    labels.write_text("queries:\n  - {text: mountains, relevant: ['*']}\n")
    result = run_cli("eval", str(labels))
    assert result.code != 0 and "Traceback" not in result.stderr
    assert any(m in result.stderr for m in ("matches no indexed photo", "index is empty", "No index at"))
