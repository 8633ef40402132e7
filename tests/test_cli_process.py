"""The CLI as a user meets it from a shell: a real process, its exit code, what it prints, what it leaves.

Each test runs ``.venv/bin/peaklens`` (or ``python -m peaklens``) in a subprocess with the tiny model, so signal
handling, exit codes and start-up cost are the ones a user sees.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import (
    HEAVY,
    PEAKLENS,
    SLOW_S,
    StreamReader,
    _alive,
    _children,
    _free_port,
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    ok,
    one_error_line,
    run,
    timed_with_imports,
)
from tests.conftest import REPO, TREK_JPEGS, copy_trek_photos
from tests.fixtures_images import junk_exif, write_photo


# --- signals ----------------------------------------------------------------------------------------------
def test_ctrl_c_while_indexing_exits_130_and_says_what_is_kept(tmp_path: Path, env: dict[str, str]) -> None:
    album = tmp_path / "album"
    for copy in range(2):  # 200 photos: far more than fit between the first progress tick and the signal
        copy_trek_photos(album / f"copy{copy}", len(TREK_JPEGS))
    total = 2 * len(TREK_JPEGS)
    # a terminal as far as rich knows, so the progress bar draws while piped to the test
    as_terminal = {
        **env,
        "TTY_COMPATIBLE": "1",
        "TTY_INTERACTIVE": "1",
        "PEAKLENS_BATCH_SIZE": "4",
        "PEAKLENS_BULK_SIZE": "4",  # every batch written at once, so some are on disk when the signal comes
    }
    proc = subprocess.Popen(
        [str(PEAKLENS), "index", str(album)],
        env=as_terminal,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr = StreamReader(proc.stderr)
    try:
        # ready once the progress bar has counted two batches ("indexing ━━━ 8/200"): one is written
        stderr.wait_for(
            lambda text: any(int(done) >= 8 for done in re.findall(rf"(\d+)/{total}\b", text)),
            proc,
            "progress",
        )
        proc.send_signal(signal.SIGINT)
        code = proc.wait(SLOW_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130
    text = stderr.rest()
    assert "interrupted: photos written so far are kept" in text and "Traceback" not in text
    again = ok(run(env, "index", str(album), "--no-progress"))
    kept = re.search(r"skipped (\d+) unchanged", again.stdout)
    assert kept and int(kept.group(1)) > 0, again.stdout


def test_sigterm_to_ui_stops_the_streamlit_server(ui_process: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = ui_process
    deadline = time.monotonic() + SLOW_S
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        assert proc.poll() is None, "peaklens ui exited before serving"
        assert time.monotonic() < deadline, "the UI never answered its health check"
        time.sleep(0.2)
    servers = _children(proc.pid)
    assert servers, "no Streamlit child process"
    proc.send_signal(signal.SIGTERM)  # to the launcher only, as `kill PID` or a service manager does
    proc.wait(SLOW_S)
    deadline = time.monotonic() + SLOW_S
    while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in servers), "the Streamlit server outlived peaklens ui"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5)


def test_ui_on_a_public_address_needs_a_password(env: dict[str, str]) -> None:
    line = one_error_line(run(env, "ui", "--host", "0.0.0.0", "--port", str(_free_port())))
    assert "PEAKLENS_UI_PASSWORD" in line and "0.0.0.0" in line


# --- start-up: arguments are checked before anything heavy is imported -----------------------------------
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("search", "x", "--bbox", "1,2,3"), 1, "Bounding box '1,2,3'"),
        (("search", "x", "--bbox", ""), 1, "--bbox is empty"),
        (("search", "x", "--from", "yesterday"), 1, "expected YYYY-MM-DD"),
        (("search", "x", "--from", "2024-05-02", "--to", "2024-05-01"), 1, "Date range is empty"),
        (("search", "x", "--sort", "size"), 1, "use 'score' or 'time'"),
        (("search", "x", "--k", "0"), 2, "--k"),
        (("search", "x", "--min-confidence", "2"), 2, "--min-confidence"),
        (("identify", "/nonexistent.jpg"), 1, "Photo /nonexistent.jpg does not exist."),
        (("identify", "/tmp"), 1, "/tmp is a folder, not a photo"),
        (("similar", "/tmp"), 1, "/tmp is a folder, not a photo"),
        (("index", "/nonexistent/album"), 1, "Album folder /nonexistent/album does not exist."),
    ],
)
def test_a_bad_argument_is_answered_before_the_model_or_store_loads(
    env: dict[str, str], args: tuple[str, ...], code: int, message: str
) -> None:
    done, took, imported = timed_with_imports(env, *args)
    assert done.returncode == code, done.stderr[-3000:]
    assert message in done.stderr
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
    assert took < 30, took  # the old path loaded the model first (13-20 s); typical now is well under 1 s


def test_an_unknown_peak_is_rejected_before_the_model_loads(indexed: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "peaklens", "search", "x", "--peak", "K2"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SLOW_S,
    )
    assert done.returncode == 1 and "Unknown peak 'K2'" in done.stderr
    imported = {
        line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }
    assert "torch" not in imported and "transformers" not in imported


def test_help_shows_flags_as_flags(env: dict[str, str]) -> None:
    for command in ("search", "identify", "index", "peaks", "config"):
        shown = ok(run(env, command, "--help")).stdout
        assert "<bool>" not in shown, shown
    assert re.search(r"^\s+--explain\s+Show the parts", ok(run(env, "search", "--help")).stdout, re.M)


def test_python_dash_m_runs_the_cli(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "peaklens", "config"], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0 and "model = " in done.stdout, done.stderr


# --- silent or misleading answers -------------------------------------------------------------------------
def test_search_without_an_index_says_so_and_creates_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    missing = tmp_path / "no-store-here"
    line = one_error_line(run(env, "--data-dir", str(missing), "search", "mountain"))
    assert f"No index at {missing}" in line and "peaklens index ALBUM" in line
    assert not missing.exists()
    assert "No index at" in one_error_line(run(env, "--data-dir", str(missing), "peaks"))
    assert not missing.exists()


def test_an_unknown_config_key_is_named(tmp_path: Path, env: dict[str, str]) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text("batchsize: 3\nk: 5\n")
    line = one_error_line(run({**env, "PEAKLENS_CONFIG": str(config)}, "config"))
    assert "unknown setting 'batchsize'" in line and "did you mean 'batch_size'" in line


def test_indexing_a_folder_without_photos_says_so(tmp_path: Path, env: dict[str, str]) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no photos here")
    line = one_error_line(run(env, "index", str(empty), "--no-progress"))
    assert f"No photos found in {empty}" in line


def test_eval_with_nothing_to_score_is_an_error_not_a_table_of_zeros(
    tmp_path: Path, env: dict[str, str]
) -> None:
    labels = REPO / "eval" / "trek_identify.yaml"
    done = run(env, "eval", str(labels))
    assert done.returncode == 1 and "0.000" not in done.stdout
    assert "peaklens" in done.stderr and "Traceback" not in done.stderr


def test_min_confidence_that_empties_the_results_is_named(indexed: Path, env: dict[str, str]) -> None:
    done = ok(run(env, "search", "snowy mountain", "--min-confidence", "0.99"))
    assert "--min-confidence" in done.stdout and "No photos left" in done.stdout


# --- scores in rank order, geometry in JSON ---------------------------------------------------------------
def _hand_geometry(camera: dict[str, Any], peak_id: str) -> tuple[float, float, float | None, bool]:
    """Distance (km), bearing, x and whether inside the frame, by hand from the catalog's coordinates: the
    haversine on the mean sphere, the initial great-circle bearing, x = 0.5 + tan(off axis)/(2·tan(hfov/2))."""
    from peaklens.catalog import load_catalog

    peak = next(p for p in load_catalog()[0] if p.id == peak_id)
    assert peak.latlon is not None
    lat1, lon1 = math.radians(camera["position"]["lat"]), math.radians(camera["position"]["lon"])
    lat2, lon2 = math.radians(peak.latlon.lat), math.radians(peak.latlon.lon)
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    distance = 2 * 6371.0088 * math.asin(math.sqrt(h))
    bearing = (
        math.degrees(
            math.atan2(
                math.sin(lon2 - lon1) * math.cos(lat2),
                math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1),
            )
        )
        % 360
    )
    off = (bearing - camera["heading_deg"] + 180) % 360 - 180
    x = (
        None
        if abs(off) >= 90
        else 0.5 + math.tan(math.radians(off)) / (2 * math.tan(math.radians(camera["hfov_deg"] / 2)))
    )
    return distance, bearing, x, x is not None and 0 < x < 1


def test_identify_shows_the_score_it_ranks_by_and_the_geometry(indexed: Path, env: dict[str, str]) -> None:
    photo = str(indexed / "trek" / TREK_JPEGS[0].name)
    data = json.loads(ok(run(env, "identify", photo, "--json")).stdout)
    scores = [p["score"] for p in data["peaks"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    camera = data["camera"]
    assert 27.6 < camera["position"]["lat"] < 28.1 and camera["heading_deg"] is not None
    assert camera["altitude_m"] is not None and camera["terrain"] == "not checked"
    # no DEM: the compass places the labels and no pitch gives them a height
    assert camera["heading_source"] == "compass" and camera["label_height"] == "unknown"
    assert data["registration"] is None
    for peak in data["peaks"]:
        distance, bearing, x, inside = _hand_geometry(camera, peak["id"])
        assert peak["distance_km"] == pytest.approx(distance, abs=0.01)
        assert peak["bearing_deg"] == pytest.approx(bearing, abs=0.06)
        assert peak["x"] == (
            None if x is None else pytest.approx(x, abs=1e-3, rel=2e-3)
        )  # heading, hfov rounded to 0.01°
        assert peak["y"] is None and peak["occluded"] is None  # no pitch, no DEM registered
        # the peaks ranked here are all within range of the trek camera, so only the frame decides
        assert peak["in_frame"] is inside
    human = ok(run(env, "identify", photo)).stdout
    shown = [float(s) for s in re.findall(r"  score (\d\.\d{4})", human)]
    assert shown == sorted(shown, reverse=True) and len(shown) == 3
    assert "terrain not checked" in human and " km · bearing " in human
    first = data["peaks"][0]
    if first["x"] is not None and -0.5 < first["x"] < 1.5:
        assert f"x {first['x']:.2f}, height unknown" in human


def test_search_json_carries_what_the_table_shows_and_the_geometry(
    indexed: Path, env: dict[str, str]
) -> None:
    hits = json.loads(ok(run(env, "search", "Ama Dablam", "--k", "30", "--json")).stdout)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert {"path", "score", "visual_score", "confidence", "predicted_peaks", "peaks_in_frame", "gps"} <= set(
        hits[0]
    )
    trek = [h for h in hits if h["path"].startswith("trek/")]
    assert trek and all(h["frame"] and h["frame"]["peaks"] for h in trek)
    for hit in trek:
        frame = hit["frame"]
        assert frame["heading_source"] == "compass" and frame["hfov_deg"] > 0
        for peak in frame["peaks"]:
            distance, bearing, x, inside = _hand_geometry(frame, peak["peak_id"])
            assert peak["distance_km"] == pytest.approx(distance, abs=0.01)
            assert peak["bearing_deg"] == pytest.approx(bearing, abs=0.06)
            assert peak["x"] == (
                None if x is None else pytest.approx(x, abs=1e-3, rel=2e-3)
            )  # heading, hfov rounded to 0.01°
            assert peak["in_frame"] is (inside and peak["distance_km"] < 250)
        # the photo's in-frame list is the frame's peaks inside, left to right
        ids = sorted((p for p in frame["peaks"] if p["in_frame"]), key=lambda p: p["x"])
        assert hit["peaks_in_frame"] == [p["name"] for p in ids]
    assert all((h["frame"] is None) == (h["gps"] is None) for h in hits)


def test_in_frame_filter_and_facet_agree(indexed: Path, env: dict[str, str]) -> None:
    facets = json.loads(ok(run(env, "peaks", "--in-frame", "--json")).stdout)
    assert facets, "the trek photos have GPS and heading: some peak must be in a frame"
    top = facets[0]
    hits = json.loads(
        ok(run(env, "search", "mountain", "--in-frame", top["peak"], "--k", "100", "--json")).stdout
    )
    assert len(hits) == top["photos"] and all(top["peak"] in h["peaks_in_frame"] for h in hits)


def test_verbose_index_lists_exif_warnings(tmp_path: Path, env: dict[str, str]) -> None:
    album = tmp_path / "album"
    write_photo(album / "broken.jpg", exif=junk_exif())
    quiet = ok(run(env, "index", str(album), "--no-progress"))
    assert re.search(r"\d+ EXIF warning", quiet.stdout) and "broken.jpg:" not in quiet.stderr
    (album / "broken.jpg").touch()
    os.utime(album / "broken.jpg", (1, 1))  # changed: indexed again
    loud = ok(run(env, "--verbose", "index", str(album), "--no-progress"))
    assert "broken.jpg:" in loud.stderr


def test_dem_commands_answer_in_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    junk = tmp_path / "N27E086.hgt"
    junk.write_bytes(b"not a tile")
    assert one_error_line(run(env, "dem", "add", str(junk)))
    assert "does not exist" in one_error_line(run(env, "dem", "add", str(tmp_path / "missing.hgt")))
