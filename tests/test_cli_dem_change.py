"""Terrain changes apply at once: `dem add` re-places the stored photos and says how many, in one line.

Through the real CLI in a subprocess, with a real SRTM tile of ../shared/dem (read in place by `dem add`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import (
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    ok,
    run,
)
from tests.conftest import copy_trek_photos

TILE = Path(__file__).resolve().parents[2] / "shared" / "dem" / "N27E086.hgt"


@pytest.mark.skipif(not TILE.is_file(), reason="needs ../shared/dem")
def test_dem_add_places_the_stored_photos_again_at_once(tmp_path: Path, env: dict[str, str]) -> None:
    album = tmp_path / "album"
    copy_trek_photos(album, 4)
    ok(run(env, "index", str(album), "--no-progress"))
    before = json.loads(ok(run(env, "search", "mountain", "--k", "10", "--json")).stdout)
    assert len(before) == 4 and all(h["frame"]["terrain"] == "not checked" for h in before)

    added = ok(run(env, "dem", "add", str(TILE)))
    lines = [line for line in added.stdout.splitlines() if line.strip()]
    assert lines == ["Registered 1 DEM tile(s): N27E086; placed 4 stored photo(s) again with the terrain."]

    after = json.loads(ok(run(env, "search", "mountain", "--k", "10", "--json")).stdout)
    assert all(h["frame"]["terrain"] == "checked" for h in after)
    # the photos were registered against the new terrain where they fix a heading: those carry a pitch and
    # every label placed across the frame has a height
    for hit in after:
        frame = hit["frame"]
        assert frame["heading_source"] in ("compass", "registered")
        registered = frame["heading_source"] == "registered"
        assert (frame["pitch_deg"] is not None) is registered
        assert frame["label_height"] == ("projected" if registered else "unknown")
        placed = [p for p in frame["peaks"] if p["x"] is not None]
        assert all((p["y"] is not None) is registered for p in placed)
    assert any(h["frame"]["heading_source"] == "registered" for h in after)
    # the in-frame facet is the photos' new in-frame lists, nothing left from before the terrain
    facets = json.loads(ok(run(env, "peaks", "--in-frame", "--json")).stdout)
    counted: dict[str, int] = {}
    for hit in after:
        for name in hit["peaks_in_frame"]:
            counted[name] = counted.get(name, 0) + 1
    assert {f["peak"]: f["photos"] for f in facets} == counted

    again = ok(run(env, "dem", "add", str(TILE)))
    assert (
        again.stdout.strip()
        == "Registered 1 DEM tile(s): N27E086; placed 0 stored photo(s) again with the terrain."
    )
