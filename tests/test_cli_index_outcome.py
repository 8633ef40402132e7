"""What ``peaklens index`` tells a script and a person at the end of a run: an exit code that says whether
every photo went in, and a closing time that counts the whole run (issue 18, items 7 and 8)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from tests.cli_support import (
    PEAKLENS,
    SLOW_S,
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    ok,
    run,
)
from tests.conftest import REPO, TREK_JPEGS, copy_trek_photos

#: documented in `peaklens index --help`, the cli module docstring and docs/RELIABILITY.md
SOME_FAILED = 3


def broken_album(root: Path) -> tuple[Path, list[str]]:
    """Three good trek photos and three broken files: random bytes, an empty file, a truncated JPEG."""
    album = copy_trek_photos(root / "album", 3)
    (album / "random.jpg").write_bytes(os.urandom(20_000))
    (album / "empty.jpg").write_bytes(b"")
    whole = TREK_JPEGS[3].read_bytes()
    (album / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    return album, ["random.jpg", "empty.jpg", "truncated.jpg"]


def test_a_run_where_some_photos_failed_has_its_own_exit_code(tmp_path: Path, env: dict[str, str]) -> None:
    album, broken = broken_album(tmp_path)
    done = run(env, "index", str(album), "--no-progress")
    assert done.returncode == SOME_FAILED, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for name in broken:
        assert re.search(rf"^skipped {re.escape(name)}: \S", done.stderr, re.M), (name, done.stderr)
    assert "added 3," in done.stdout and "failed 3" in done.stdout
    assert "3 photo(s) could not be indexed" in done.stdout
    again = run(env, "index", str(album), "--no-progress")  # still broken: still told, still code 3
    assert again.returncode == SOME_FAILED and "skipped 3 unchanged" in again.stdout
    for name in broken:
        (album / name).unlink()
    assert "skipped 3 unchanged" in ok(run(env, "index", str(album), "--no-progress")).stdout


def test_the_exit_codes_are_documented_in_the_help(env: dict[str, str]) -> None:
    shown = " ".join(ok(run(env, "index", "--help")).stdout.split())
    assert f"{SOME_FAILED}: the run finished but some photos could not be indexed" in shown
    assert "0: every photo is in the index" in shown


def test_the_summary_time_counts_model_load_precision_check_and_catalog_build(
    tmp_path: Path, env: dict[str, str]
) -> None:
    album = tmp_path / "album"
    shutil.copytree(REPO / "sample_album", album, ignore=shutil.ignore_patterns("*.md"))
    started = time.monotonic()
    # a fresh store: the run measures int8 against fp32, loads the model and builds the catalog first
    done = subprocess.run(
        [str(PEAKLENS), "index", str(album), "--no-progress"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SLOW_S,
    )
    wall = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "Measuring int8 against fp32" in done.stderr and "Building the peaks catalog" in done.stderr
    said = re.search(r"\((\d+\.\d) s in all", done.stdout)
    assert said, done.stdout
    # all of it but the interpreter's exit after the summary (the old summary counted 3.7 s of a 15.6 s run)
    assert 0.8 * wall <= float(said.group(1)) <= wall, (said.group(1), wall)
