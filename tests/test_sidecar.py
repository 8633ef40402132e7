"""XMP sidecars for the user's photo manager, written by ``peaklens export xmp`` and read back by exiftool.

The expected keywords come from the store's own answer (``search --json``: each photo's peaks in frame), the
reading from exiftool, the reference reader that Immich also uses; the photos' bytes are compared before and
after."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from peaklens.records import GeoPoint, PhotoHit
from peaklens.sidecar import ExportReport, SidecarPlan, peaks_for, plan_sidecars, sidecar_for, write_sidecars
from tests.cli_support import ok, run
from tests.conftest import SAMPLE_ALBUM, TREK_JPEGS, peaklens_env
from tests.fixtures_images import exiftool, exiftool_read

OTHER_TOOL = {"XMP-xmp:Rating": "4", "XMP-xmp:Label": "Red", "XMP-dc:Subject": "Family trip"}


def _hit(path: str, **fields: object) -> PhotoHit:
    values: dict[str, object] = {"predicted_peaks": [], "peak_scores": [], "gps": None, "shot_time": None}
    return PhotoHit(id=path, path=path, score=1.0, **{**values, **fields})  # type: ignore[arg-type]


def listed(row: dict[str, object], key: str) -> list[object]:
    """exiftool's JSON gives a one-item list as the item alone."""
    value = row[key]
    return value if isinstance(value, list) else [value]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def shell(tmp_path: Path, tiny_siglip: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PEAKLENS_")}
    return {**clean, **peaklens_env(tiny_siglip, tmp_path), "COLUMNS": "200"}


def test_export_writes_sidecars_that_exiftool_reads_and_keeps_what_was_there(
    tmp_path: Path, shell: dict[str, str]
) -> None:
    album = tmp_path / "album"
    album.mkdir()
    for photo in TREK_JPEGS[:5]:
        shutil.copy2(photo, album / photo.name)
    no_gps = album / "no_gps.jpg"
    shutil.copy2(next(SAMPLE_ALBUM.glob("*/*.jpg")), no_gps)
    ok(run(shell, "index", str(album), "--no-progress"))
    hits = {
        Path(h["path"]).name: h
        for h in json.loads(ok(run(shell, "search", "x", "--k", "20", "--json")).stdout)
    }
    framed = {name: h["peaks_in_frame"] for name, h in hits.items() if h["peaks_in_frame"]}
    assert framed and "no_gps.jpg" not in framed and hits["no_gps.jpg"]["peaks_in_frame"] == []
    first = sorted(framed)[0]
    existing = album / f"{first}.xmp"
    exiftool("-q", *(f"-{k}={v}" for k, v in OTHER_TOOL.items()), str(existing))  # another tool's sidecar
    before = {p.name: digest(p) for p in album.glob("*.jpg")}

    dry = ok(run(shell, "export", "xmp"))
    assert (
        f"Would write {len(framed)} sidecar(s) (1 merged into existing ones); "
        f"{len(hits) - len(framed)} photo(s) without peaks get none" in dry.stdout
    )
    assert sorted(p.name for p in album.glob("*.xmp")) == [existing.name]  # a dry run writes nothing

    done = ok(run(shell, "export", "xmp", "--write"))
    assert f"Wrote {len(framed)} of {len(framed)} sidecar(s)" in done.stdout
    assert sorted(p.name for p in album.glob("*.xmp")) == sorted(f"{name}.xmp" for name in framed)
    assert not (album / "no_gps.jpg.xmp").exists()
    read = exiftool_read(sorted(album.glob("*.xmp")), "XMP:all")
    for name, peaks in framed.items():
        row = read[f"{name}.xmp"]
        assert [p for p in listed(row, "Subject") if p != "Family trip"] == peaks
        assert listed(row, "HierarchicalSubject") == [f"Peaks|{p}" for p in peaks]
        assert listed(row, "TagsList") == [f"Peaks/{p}" for p in peaks]
        assert row["GPSImgDirection"] == pytest.approx(hits[name]["heading_deg"], abs=0.01)
        assert row["GPSImgDirectionRef"] == "T"
    kept = read[existing.name]
    assert (kept["Rating"], kept["Label"]) == (4, "Red") and "Family trip" in kept["Subject"]
    assert {p.name: digest(p) for p in album.glob("*.jpg")} == before  # no photo was modified

    again = ok(run(shell, "export", "xmp", "--write", "--json"))
    report = json.loads(again.stdout)
    assert all(s["merge"] and s["failed"] is None for s in report["sidecars"])
    reread = exiftool_read(sorted(album.glob("*.xmp")), "XMP-dc:Subject")
    for name, peaks in framed.items():
        assert Counter(listed(reread[f"{name}.xmp"], "Subject"))[peaks[0]] == 1  # never twice


def test_the_sidecar_name_is_the_full_name_unless_only_the_stem_one_exists(tmp_path: Path) -> None:
    photo = tmp_path / "IMG_1.jpg"
    assert sidecar_for(photo, Counter({tmp_path / "IMG_1": 1})) == tmp_path / "IMG_1.jpg.xmp"
    (tmp_path / "IMG_1.xmp").write_text("")
    assert sidecar_for(photo, Counter({tmp_path / "IMG_1": 1})) == tmp_path / "IMG_1.xmp"
    # a RAW+JPEG pair shares the stem: the stem sidecar is not taken over
    assert sidecar_for(photo, Counter({tmp_path / "IMG_1": 2})) == tmp_path / "IMG_1.jpg.xmp"
    (tmp_path / "IMG_1.jpg.xmp").write_text("")
    assert sidecar_for(photo, Counter({tmp_path / "IMG_1": 1})) == tmp_path / "IMG_1.jpg.xmp"


def test_predicted_peaks_come_on_request_above_the_cut() -> None:
    hit = _hit("a.jpg", predicted_peaks=["Lhotse", "Ama Dablam", "Nuptse"], peak_scores=[0.6, 0.55, 0.5],
                peaks_in_frame=["Ama Dablam"])  # fmt: skip
    assert peaks_for(hit, predicted=False, min_score=0.0) == ["Ama Dablam"]
    assert peaks_for(hit, predicted=True, min_score=0.55) == ["Ama Dablam", "Lhotse"]
    assert peaks_for(hit, predicted=True, min_score=0.0) == ["Ama Dablam", "Lhotse", "Nuptse"]


def test_a_gpx_placed_photo_gets_its_position_and_the_corrected_heading(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"not looked at")
    hit = _hit("a.jpg", peaks_in_frame=["Ama Dablam"], gps=GeoPoint(27.85141, 86.78319), gps_source="gpx",
               heading_deg=350.0, heading_offset_deg=15.0)  # fmt: skip
    report = write_sidecars(plan_sidecars([hit], tmp_path))
    assert report.written == [tmp_path / "a.jpg.xmp"] and report.failed == {}
    row = exiftool_read([tmp_path / "a.jpg.xmp"], "XMP:all")["a.jpg.xmp"]
    assert row["GPSLatitude"] == pytest.approx(27.85141) and row["GPSLongitude"] == pytest.approx(86.78319)
    assert row["GPSImgDirection"] == pytest.approx(5.0)  # 350° + 15° correction
    assert (tmp_path / "a.jpg").read_bytes() == b"not looked at"


def test_a_sidecar_exiftool_cannot_write_is_reported_not_hidden(tmp_path: Path) -> None:
    broken = tmp_path / "b.jpg.xmp"
    broken.write_text("this is not XMP")
    plan = SidecarPlan(photo="b.jpg", sidecar=broken, peaks=["Lhotse"], merge=True)
    report = write_sidecars(ExportReport(plans=[plan]))
    assert report.written == [] and broken in report.failed and report.failed[broken]
    assert broken.read_text() == "this is not XMP"
