"""The search table as a terminal shows it: a shot time stays on one line (issue 18, item 12)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.cli_support import (
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    ok,
    run,
)
from tests.fixtures_images import make_exif, write_photo

IFD_EXIF, SUBSEC_TIME_ORIGINAL = 0x8769, 0x9291
NEPAL = timezone(timedelta(hours=5, minutes=45))
#: a shot time to the second, as the table shows it
SHOWN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+05:45")


def test_shot_times_with_microseconds_stay_on_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    album = tmp_path / "album"
    folder = album / "2023 Everest Base Camp trek, day 7 — Dingboche to Lobuche via Thukla Pass memorials"
    for minute in range(4):
        exif = make_exif(
            gps=(27.89 + minute / 100, 86.83), heading=30.0 * minute, altitude=4400.0,
            shot_time=datetime(2023, 10, 24, 8, minute, 5, tzinfo=NEPAL),
        )  # fmt: skip
        exif[IFD_EXIF][SUBSEC_TIME_ORIGINAL] = "123456"
        write_photo(folder / f"IMG_2023102408{minute:02d}05_panorama_of_the_khumbu_glacier.jpg", exif=exif)
    ok(run(env, "index", str(album), "--no-progress"))
    hits = json.loads(ok(run(env, "search", "mountain", "--json")).stdout)
    assert len(hits) == 4 and all(h["shot_time"].endswith(".123456+05:45") for h in hits), hits
    table = ok(run(env, "search", "mountain")).stdout  # piped: 160 columns, as a script or a pager sees it
    shown = SHOWN.findall(table)
    expected = sorted(datetime.fromisoformat(h["shot_time"]).replace(microsecond=0).isoformat() for h in hits)
    assert sorted(shown) == expected, table
