"""Answers that must come at once, before the store or the model loads: a second ``index`` beside a running
one, a ``--device``/``--model`` that cannot work here, a day that does not exist; and ``config`` saying where
each setting came from. Each runs the real command in a subprocess with the tiny model (issue 18, items 5, 10).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli_support import (
    HEAVY,
    PEAKLENS,
    SLOW_S,
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    ok,
    one_error_line,
    run,
    timed_with_imports,
)
from tests.conftest import REPO, copy_trek_photos

#: files that exist where an NVIDIA driver is loaded (peaklens.embed.runtime looks at the same ones)
NVIDIA_SIGNS = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/nvidia0")


def startup_seconds(env: dict[str, str]) -> float:
    """What a command costs that loads nothing: the interpreter, the CLI and the settings (the best of 2)."""
    return min(timed_with_imports(env, "config")[1] for _ in range(2))


def test_a_second_index_beside_a_running_one_is_refused_at_once(tmp_path: Path, env: dict[str, str]) -> None:
    album = copy_trek_photos(tmp_path / "album", 30)
    first = subprocess.Popen(
        [str(PEAKLENS), "index", str(album), "--no-progress"],
        env={**env, "PEAKLENS_BATCH_SIZE": "2"},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = Path(env["PEAKLENS_DATA_DIR"]) / "index.lock"
    try:
        deadline = time.monotonic() + SLOW_S
        while not (lock.is_file() and lock.read_text().strip() == f"pid {first.pid}"):
            assert first.poll() is None, "the first run ended before it was seen holding the lock"
            assert time.monotonic() < deadline, "the first run never took the store lock"
            time.sleep(0.05)
        baseline = startup_seconds(env)
        tries = [timed_with_imports(env, "index", str(album), "--no-progress") for _ in range(2)]
        second, took, imported = min(tries, key=lambda attempt: attempt[1])  # the less disturbed of two
        assert first.poll() is None, "the first run must still be running for this test to mean anything"
    finally:
        first.kill()
        first.wait()
    line = one_error_line(second)
    assert f"Another `peaklens index` (pid {first.pid})" in line and "wait for it to finish" in line
    # refused before the store, torch or the model were even imported (the old order measured int8 first)
    assert not imported & {*HEAVY, "onnxruntime"}, sorted(imported & {*HEAVY, "onnxruntime"})
    assert took - baseline <= 1.0, (took, baseline)


needs_no_gpu = pytest.mark.skipif(
    any(Path(sign).exists() for sign in NVIDIA_SIGNS), reason="this machine has an NVIDIA driver"
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("--device", "cuda", "search", "x"),
            "--device cuda: this machine has no CUDA GPU",
            marks=needs_no_gpu,
        ),
        pytest.param(
            ("--device", "cuda:1", "index", "{album}"),
            "--device cuda:1: this machine has no CUDA GPU",
            marks=needs_no_gpu,
        ),
        (("--model", "/nonexistent", "search", "x"), "Model folder /nonexistent does not exist"),
        (("--model", "/nonexistent", "index", "{album}"), "Model folder /nonexistent does not exist"),
        (("--model", "{album}", "identify", "{photo}"), "has no config.json: it is not a saved model"),
        (("search", "x", "--from", "2023-11-31"), "no such day (November 2023 has days 01 to 30)"),
        (("search", "x", "--to", "2023-02-29"), "no such day (February 2023 has days 01 to 28)"),
    ],
)
def test_a_setting_that_cannot_work_is_answered_before_anything_loads(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    album = copy_trek_photos(tmp_path / "album", 1)
    photo = next(album.iterdir())
    filled = [a.format(album=album, photo=photo) for a in args]
    done, took, imported = timed_with_imports(env, *filled)
    line = one_error_line(done)
    assert message in line
    assert "expected YYYY-MM-DD" not in line
    assert not imported & {*HEAVY, "onnxruntime"}, sorted(imported & {*HEAVY, "onnxruntime"})
    assert not Path(env["PEAKLENS_DATA_DIR"]).exists(), "nothing may be created for a command that cannot run"
    assert took < 30, took  # typically well under a second; the old path took 2-8 s, loading first


def test_config_says_where_each_setting_came_from(tmp_path: Path, env: dict[str, str]) -> None:
    config = tmp_path / "peaklens.yaml"
    config.write_text("top_k_peaks: 4\nk: 7\n")
    shell = {**env, "PEAKLENS_CONFIG": str(config), "PEAKLENS_K": "5"}
    shown = json.loads(ok(run(shell, "--batch-size", "3", "config", "--json")).stdout)
    expected = {
        "batch_size": (3, "flag --batch-size"),
        "k": (5, "environment PEAKLENS_K"),  # the environment beats the file
        "top_k_peaks": (4, "config file"),
        "hnsw_m": (16, "default"),
        "model": (env["PEAKLENS_MODEL"], "environment PEAKLENS_MODEL"),
    }
    for name, (value, source) in expected.items():
        assert (shown[name], shown["sources"][name]) == (value, source), name
    assert set(shown["sources"]) >= {"model", "device", "es_password", "ui_password"}
    assert shown["config_file"] == str(config)
    human = ok(run(shell, "--batch-size", "3", "config")).stdout
    assert f"config file: {config}" in human
    for name, (value, source) in expected.items():
        assert f"{name} = {value}  ({source})" in human, name
    assert os.environ.get("PEAKLENS_K") is None  # nothing leaked into the test process
