"""How ``identify`` words where a peak stands, on the real terrain tiles and real trek photos (issue 18,
item 11): every reason a peak is not in the picture is said, and a peak on the axis is "at the centre"."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from tests.cli_support import (
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    ok,
    run,
)
from tests.conftest import SHARED
from tests.fixtures_images import write_photo

DEM_TILES = sorted((SHARED / "dem").glob("*.hgt"))
#: IMG_2047, a real trek photo (GPS, compass, focal length): Island Peak stands ~20° off its axis in a ~14°
#: frame, behind the Lhotse–Nuptse ridge
BEHIND_AND_BESIDE = SHARED / "trek" / "jpeg" / "IMG_2047.jpg"
TENGBOCHE = (27.8363, 86.7646)
NEPAL = timezone(timedelta(hours=5, minutes=45))


def three_peaks(tmp_path: Path) -> Path:
    """A catalog of three packaged peaks, so `identify` (top 3) lists every one of them."""
    packaged = yaml.safe_load((Path(__file__).parents[1] / "peaklens" / "data" / "peaks.yaml").read_text())
    chosen = [p for p in packaged if p["id"] in ("island-peak", "ama-dablam", "lhotse")]
    assert len(chosen) == 3
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(chosen, allow_unicode=True))
    return path


def line_of(human: str, name: str) -> str:
    found = [ln for ln in human.splitlines() if re.match(rf"\d\. {re.escape(name)}  score", ln)]
    assert len(found) == 1, human
    return found[0]


def peak_of(data: dict[str, object], name: str) -> dict[str, object]:
    return next(p for p in data["peaks"] if p["name"] == name)  # type: ignore[attr-defined, index]


def test_identify_names_every_reason_and_never_says_0_degrees_off(
    tmp_path: Path, env: dict[str, str]
) -> None:
    ok(run(env, "dem", "add", *map(str, DEM_TILES)))
    ok(run(env, "catalog", "build", "--peaks", str(three_peaks(tmp_path))))

    # Island Peak outside a narrow frame AND behind a ridge: both are said, not one replacing the other
    photo = shutil.copy2(BEHIND_AND_BESIDE, tmp_path / BEHIND_AND_BESIDE.name)
    data = json.loads(ok(run(env, "identify", str(photo), "--json")).stdout)
    assert data["camera"]["terrain"] == "checked"
    island = peak_of(data, "Island Peak")
    half_frame = data["camera"]["hfov_deg"] / 2
    assert island["occluded"] is True and island["in_frame"] is False
    assert abs(island["off_axis_deg"]) > half_frame + 3, (island, half_frame)
    human = ok(run(env, "identify", str(photo))).stdout
    assert "outside the frame and hidden by terrain" in line_of(human, "Island Peak")

    # a peak a quarter of a degree left of the axis is at the centre, not "0° left of centre"
    probe = write_photo(tmp_path / "north.jpg", gps=TENGBOCHE, altitude=3870, heading=0.0, focal35=50,
                        shot_time=datetime(2023, 10, 24, 8, 0, tzinfo=NEPAL))  # fmt: skip
    bearing = peak_of(json.loads(ok(run(env, "identify", str(probe), "--json")).stdout), "Ama Dablam")
    aimed = write_photo(tmp_path / "aimed.jpg", gps=TENGBOCHE, altitude=3870,
                        heading=float(bearing["bearing_deg"]) + 0.24, focal35=50,  # type: ignore[arg-type]
                        shot_time=datetime(2023, 10, 24, 8, 1, tzinfo=NEPAL))  # fmt: skip
    ama = peak_of(json.loads(ok(run(env, "identify", str(aimed), "--json")).stdout), "Ama Dablam")
    assert -0.5 < float(ama["off_axis_deg"]) < 0, ama  # type: ignore[arg-type]
    line = line_of(ok(run(env, "identify", str(aimed))).stdout, "Ama Dablam")
    assert "at the centre" in line and "0° left" not in line and "0° right" not in line
    assert "in frame" in line
