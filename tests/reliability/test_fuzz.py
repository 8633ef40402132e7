"""Fuzzing: arbitrary EXIF values, arbitrary filter strings and a corpus of broken image files never crash
peaklens — every input gives a value or one clear error."""

from __future__ import annotations

import io
import random
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from peaklens.errors import BadInput
from peaklens.exif import read_meta
from peaklens.filters import build_filters, parse_bbox, parse_when
from tests.conftest import TREK_JPEGS, copy_trek_photos

exif_values = st.one_of(
    st.none(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.binary(max_size=30),
    st.tuples(st.integers(-5, 10**6), st.integers(-5, 10**6), st.integers(-5, 10**6)),
    st.lists(st.floats(allow_nan=True), max_size=4).map(tuple),
)
GPS_TAGS = [0, 1, 2, 3, 4, 5, 6, 16, 17, 29]
EXIF_TAGS = [0x9003, 0x9011, 0x9004, 0x920A, 0xA405]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gps=st.dictionaries(st.sampled_from(GPS_TAGS), exif_values),
    exif=st.dictionaries(st.sampled_from(EXIF_TAGS), exif_values),
)
def test_read_meta_never_raises_on_arbitrary_exif(gps: dict, exif: dict) -> None:
    image = Image.new("RGB", (8, 8))
    data = Image.Exif()
    try:
        data.get_ifd(0x8825).update(gps)
        data.get_ifd(0x8769).update(exif)
        encoded = data.tobytes()
    except Exception:
        encoded = None  # Pillow cannot even write these values: then test the in-memory tags
    if encoded is not None:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", exif=encoded)
        buffer.seek(0)
        image = Image.open(buffer)
    meta = read_meta(image)
    if meta.gps is not None:
        assert -90 <= meta.gps.lat <= 90 and -180 <= meta.gps.lon <= 180
    if meta.heading_deg is not None:
        assert 0 <= meta.heading_deg < 360 or meta.heading_deg == 360


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_bbox_parsing_gives_a_box_or_a_clear_error(text: str) -> None:
    try:
        box = parse_bbox(text)
    except BadInput as exc:
        assert "Bounding box" in str(exc)
        return
    assert box is None or box.bottom <= box.top


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.datetimes().map(lambda d: d.isoformat())))
def test_date_parsing_gives_a_date_or_a_clear_error(text: str) -> None:
    try:
        when = parse_when(text)
    except BadInput as exc:
        assert "expected YYYY-MM-DD" in str(exc) or "no such " in str(exc)
        return
    assert when is None or not isinstance(when, datetime) or when.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=4), st.text(max_size=20), st.text(max_size=20))
def test_filter_building_with_peak_names(peaks: list[str], start: str, end: str) -> None:
    known = {"ama dablam": "Ama Dablam", "pumori": "Pumori"}
    try:
        filters = build_filters(
            time_from=start, time_to=end, peaks=peaks, resolve_peak=lambda n: known.get(n.casefold().strip())
        )
    except BadInput as exc:
        assert str(exc)
        return
    assert set(filters.peaks) <= set(known.values())


def _broken_corpus(folder: Path, seed: int = 7) -> int:
    """Truncations of a real JPEG and PNG at many offsets, random bytes with image names, huge headers."""
    rng = random.Random(seed)
    jpeg = TREK_JPEGS[0].read_bytes()
    png_buffer = io.BytesIO()
    Image.new("RGBA", (40, 30), (1, 2, 3, 128)).save(png_buffer, format="PNG")
    png = png_buffer.getvalue()
    count = 0
    for offset in [*sorted(rng.sample(range(1, len(jpeg)), 25)), 2, 10, 100]:
        (folder / f"trunc_{offset}.jpg").write_bytes(jpeg[:offset])
        count += 1
    for offset in range(1, len(png), max(1, len(png) // 12)):
        (folder / f"trunc_{offset}.png").write_bytes(png[:offset])
        count += 1
    for i, ext in enumerate([".jpg", ".png", ".heic", ".webp", ".tif", ".JPEG"] * 2):
        (folder / f"random_{i}{ext}").write_bytes(rng.randbytes(rng.randint(0, 4096)))
        count += 1
    huge = bytearray(png)
    huge[16:24] = (60000).to_bytes(4, "big") + (60000).to_bytes(4, "big")  # IHDR width/height
    (folder / "huge_header.png").write_bytes(bytes(huge))
    count += 1
    return count


def test_a_corpus_of_broken_files_goes_through_the_indexer(tmp_path: Path, env: dict[str, str]) -> None:
    from peaklens.config import load_settings
    from peaklens.embed.loader import load_embedder
    from peaklens.index import index_album
    from peaklens.progress import Quiet
    from peaklens.store.factory import open_store

    album = tmp_path / "album"
    album.mkdir()
    broken = _broken_corpus(album)
    copy_trek_photos(album, 3)
    settings = load_settings()
    said: list[str] = []
    events = Quiet()
    events.say = said.append  # type: ignore[method-assign]
    report = index_album(album, settings, load_embedder(settings), open_store(settings), events=events)
    assert report.added + len(report.failed) == broken + 3
    assert report.added >= 3  # the real photos, and any truncation Pillow can still fully decode
    assert len(report.failed) >= broken - 5
    lines = "\n".join(said)
    for rel_path, reason in report.failed:
        assert f"skipped {rel_path}: {reason}" in lines
        assert "Traceback" not in reason
