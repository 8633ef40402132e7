"""Paths from the file system are text, never terminal markup: a folder named `[nepal trip]` or `a[/x]b`."""

from __future__ import annotations

from pathlib import Path

from tests.cli_support import (
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    run,
)
from tests.conftest import copy_trek_photos


def test_bracketed_folder_names_survive_in_every_index_message(tmp_path: Path, env: dict[str, str]) -> None:
    album = tmp_path / "album"
    trip = album / "[nepal trip]"
    odd = album / "a[/x]b"
    copy_trek_photos(trip, 1)
    odd.mkdir(parents=True)
    (trip / "broken.jpg").write_bytes(b"not a photo at all")
    (odd / "empty.jpg").write_bytes(b"")
    done = run(env, "index", str(album), "--no-progress")
    assert "Traceback" not in done.stderr and "MarkupError" not in done.stderr, done.stderr
    assert done.returncode == 3, (done.returncode, done.stderr)
    assert "skipped [nepal trip]/broken.jpg: " in done.stderr
    assert "skipped a[/x]b/empty.jpg: " in done.stderr
    assert "added 1," in done.stdout and "failed 2" in done.stdout
