"""The peaks catalog: YAML in, one unit prototype per peak out, blended with reference photos."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from peaklens.catalog import (
    CatalogPeak,
    build_prototypes,
    load_catalog,
    reference_candidates,
    reference_images,
    slugify,
)
from peaklens.errors import BadInput
from peaklens.imaging import BadImage
from peaklens.records import GeoPoint
from tests.fakes import AMA_IMAGE, AMA_TEXT, RecordingEmbedder, by_hand, chosen_vector, unit

SHARED = Path(__file__).resolve().parents[2] / "shared"
TREK = SHARED / "trek"


def test_default_catalog_has_the_ebc_peaks_with_aliases_in_several_scripts() -> None:
    peaks, warnings = load_catalog()
    by_id = {p.id: p for p in peaks}
    assert warnings == []
    assert len(peaks) == 22
    assert by_id["mount-everest"].names[0] == "Mount Everest"
    assert "珠穆朗玛峰" in by_id["mount-everest"].names and "सगरमाथा" in by_id["mount-everest"].names
    assert "阿玛达布朗" in by_id["ama-dablam"].names
    assert by_id["ama-dablam"].latlon == GeoPoint(27.862, 86.861) and by_id["ama-dablam"].elev_m == 6812


def test_trek_catalog_with_a_repeated_id_keeps_the_first_and_warns() -> None:
    peaks, warnings = load_catalog(TREK / "peaks.yaml")
    ids = [p.id for p in peaks]
    assert ids.count("ama-dablam") == 1
    assert any("ama-dablam" in w and "appears again" in w for w in warnings)
    assert next(p for p in peaks if p.id == "ama-dablam").latlon == GeoPoint(27.86167, 86.86139)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[unclosed", "not valid YAML"),
        ("{}", "non-empty list"),
        ("- id: x\n  names: []\n", "at least one name"),
        ("- id: x\n  names: [X]\n  lat: north\n  lon: 1\n", "must be numbers"),
        ("- id: x\n  names: [X]\n  lat: 100\n  lon: 1\n", "out of range"),
    ],
)
def test_broken_catalogs_are_refused_with_the_entry_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "peaks.yaml"
    path.write_text(text)
    with pytest.raises(BadInput, match=message):
        load_catalog(path)


def test_missing_catalog_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        load_catalog(tmp_path / "nope.yaml")


def test_reference_folders_by_id_or_slug_with_underscores_at_most_three_sorted() -> None:
    ama = CatalogPeak("ama-dablam", ["Ama Dablam"])
    refs = reference_images(TREK / "refs", ama)
    assert 1 <= len(refs) <= 3
    assert refs == sorted(refs) and all(p.parent.name == "ama_dablam" for p in refs)
    assert reference_images(TREK / "refs", CatalogPeak("makalu", ["Makalu"])) == []
    assert reference_images(None, ama) == []


def test_prototypes_are_unit_vectors_and_reference_photos_move_them(tiny_siglip: Path) -> None:
    from peaklens.config import Settings
    from peaklens.embed.loader import load_embedder

    embedder = load_embedder(Settings(model=str(tiny_siglip)))
    peaks = [CatalogPeak("ama-dablam", ["Ama Dablam", "Amadablam"]), CatalogPeak("lhotse", ["Lhotse"])]
    lines: list[str] = []
    text_only = build_prototypes(embedder, peaks, alpha_text=0.5)
    blended = build_prototypes(embedder, peaks, refs_dir=TREK / "refs", alpha_text=0.5, report=lines.append)
    alpha_one = build_prototypes(embedder, peaks, refs_dir=TREK / "refs", alpha_text=1.0)
    for doc in (*text_only, *blended):
        assert doc.vector.shape == (embedder.dim,)
        assert abs(float(np.linalg.norm(doc.vector)) - 1.0) < 1e-4
    assert float(text_only[0].vector @ blended[0].vector) < 0.9999  # Ama Dablam has reference photos
    np.testing.assert_allclose(text_only[1].vector, blended[1].vector, atol=1e-6)  # Lhotse has none
    np.testing.assert_allclose(alpha_one[0].vector, text_only[0].vector, atol=1e-6)
    assert any("Ama Dablam: blended" in line for line in lines)


# --- pinned by mutation testing (was test_mutation_pins_catalog.py): Catalog details that mutation testing showed no other test holds (docs/TESTING.md): YAML edge cases and
@pytest.mark.parametrize(
    ("text", "slug"),
    [("Ama Dablam", "ama-dablam"), ("  (Lhotse)! ", "lhotse"), ("--Khumbi Yul-Lha--", "khumbi-yul-lha")],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def _load(tmp_path: Path, text: str) -> tuple[list[CatalogPeak], list[str]]:
    path = tmp_path / "peaks.yaml"
    path.write_text(text, encoding="utf-8")
    return load_catalog(path)


def _refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(BadInput) as caught:
        _load(tmp_path, text)
    return str(caught.value)


def test_a_mapping_or_an_empty_list_is_not_a_catalog(tmp_path: Path) -> None:
    assert "must be a non-empty list" in _refused(tmp_path, "id: x\nnames: [X]\n")
    assert "must be a non-empty list" in _refused(tmp_path, "[]\n")


def test_messages_name_the_file_and_the_one_based_entry(tmp_path: Path) -> None:
    path = tmp_path / "peaks.yaml"
    assert _refused(tmp_path, "- id: a\n  names: [A]\n- id: b\n  names: []\n") == (
        f"Peaks catalog {path}, entry 2: a peak needs at least one name."
    )
    assert _refused(tmp_path, "- just a string\n") == (
        f"Peaks catalog {path}, entry 1: expected a mapping with id and names."
    )
    assert _refused(tmp_path, "- id: x\n  names: [X]\n  elev_m: high\n") == (
        f"Peaks catalog {path}, entry 1 (x): elev_m must be a number."
    )


def test_a_repeated_id_merges_new_names_and_later_entries_still_load(tmp_path: Path) -> None:
    peaks, warnings = _load(
        tmp_path,
        "- id: a\n  names: [A, B]\n- id: a\n  names: [B, C]\n- id: z\n  names: [Z]\n",
    )
    assert [(p.id, p.names) for p in peaks] == [("a", ["A", "B", "C"]), ("z", ["Z"])]
    assert warnings == ["peaks.yaml: peak id 'a' appears again (entry 2); kept the first."]


def test_name_forms_ids_and_optional_fields(tmp_path: Path) -> None:
    peaks, _ = _load(
        tmp_path,
        "- name: Pumori\n"  # a single "name"
        "- names: Island Peak\n"  # names as one string
        "- names: [Ama Dablam, '  ', Amadablam]\n  lat: 27.86\n"  # no id: the slug of the first name
        "- id: AD2\n  names: [X]\n  lat: -90\n  lon: 180\n  elev_m: '6812'\n",
    )
    assert [(p.id, p.names) for p in peaks] == [
        ("pumori", ["Pumori"]),
        ("island-peak", ["Island Peak"]),
        ("ama-dablam", ["Ama Dablam", "Amadablam"]),
        ("AD2", ["X"]),
    ]
    assert peaks[0].latlon is None and peaks[0].elev_m is None
    assert peaks[2].latlon is None  # a latitude without a longitude is no position
    assert peaks[3].latlon == GeoPoint(-90.0, 180.0) and peaks[3].elev_m == 6812


@pytest.mark.parametrize(("lat", "lon"), [(90, -180), (-90, 180), (0, 0)])
def test_coordinates_on_the_edges_are_accepted(tmp_path: Path, lat: float, lon: float) -> None:
    peaks, _ = _load(tmp_path, f"- id: x\n  names: [X]\n  lat: {lat}\n  lon: {lon}\n")
    assert peaks[0].latlon == GeoPoint(lat, lon)


@pytest.mark.parametrize(("lat", "lon"), [(90.5, 0), (-90.5, 0), (0, 180.5), (0, -180.5)])
def test_coordinates_past_the_edges_are_refused(tmp_path: Path, lat: float, lon: float) -> None:
    assert "lat/lon out of range" in _refused(
        tmp_path, f"- id: x\n  names: [X]\n  lat: {lat}\n  lon: {lon}\n"
    )


def test_reference_folders_named_by_slug_or_id_with_underscores_and_images_only(tmp_path: Path) -> None:
    (tmp_path / "ama_dablam").mkdir()
    (tmp_path / "ama_dablam_peak").mkdir()
    for name in ("b.jpg", "a.JPG", "notes.txt"):
        (tmp_path / "ama_dablam" / name).write_bytes(b"")
    (tmp_path / "ama_dablam" / "folder.jpg").mkdir()
    (tmp_path / "ama_dablam_peak" / "x.png").write_bytes(b"")
    by_slug = reference_candidates(tmp_path, CatalogPeak("AD", ["Ama Dablam"]))
    assert [p.name for p in by_slug] == ["a.JPG", "b.jpg"]
    by_id = reference_candidates(tmp_path, CatalogPeak("ama-dablam-peak", ["Amai Dablang"]))
    assert [p.name for p in by_id] == ["x.png"]


class ImageCountingEmbedder(RecordingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[object] = []

    def embed_images(self, images: Sequence[object]) -> np.ndarray:
        self.images.extend(images)
        return super().embed_images(images)


@pytest.fixture
def refs(tmp_path: Path) -> Path:
    folder = tmp_path / "refs" / "ama-dablam"
    folder.mkdir(parents=True)
    for name in ("d.jpg", "b.jpg", "a.jpg", "c.jpg"):
        (folder / name).write_bytes(b"")
    return tmp_path / "refs"


AMA = CatalogPeak("ama-dablam", ["Ama Dablam", "Amadablam"], GeoPoint(27.862, 86.861), 6812)


def test_defaults_blend_half_and_half_minus_a_quarter_anti_concept(refs: Path) -> None:
    lines: list[str] = []
    (doc,) = build_prototypes(
        RecordingEmbedder(), [AMA], refs_dir=refs, load_image=lambda p: p.name, report=lines.append
    )
    text = by_hand(AMA_TEXT, 0.25)
    np.testing.assert_allclose(doc.vector, unit(0.5 * text + 0.5 * AMA_IMAGE), atol=1e-6)
    assert doc.text_vector is not None
    np.testing.assert_allclose(doc.text_vector, text, atol=1e-6)
    assert (doc.id, doc.names, doc.latlon, doc.elev_m) == (
        "ama-dablam",
        ["Ama Dablam", "Amadablam"],
        GeoPoint(27.862, 86.861),
        6812,
    )
    assert lines == [
        "Ama Dablam: blended 3 reference photo(s) (the first 3 of 4 by name; at most 3 are used)"
    ]


def test_three_or_fewer_reference_photos_say_nothing_about_a_cap(refs: Path) -> None:
    (refs / "ama-dablam" / "d.jpg").unlink()
    lines: list[str] = []
    build_prototypes(
        RecordingEmbedder(), [AMA], refs_dir=refs, load_image=lambda p: p.name, report=lines.append
    )
    assert lines == ["Ama Dablam: blended 3 reference photo(s)"]


def test_an_unreadable_reference_photo_is_reported_and_skipped(refs: Path) -> None:
    def load(path: Path) -> str:
        if path.name == "b.jpg":
            raise BadImage("not an image")
        return path.name

    lines: list[str] = []
    (doc,) = build_prototypes(
        RecordingEmbedder(), [AMA], refs_dir=refs, alpha_text=0.0, load_image=load, report=lines.append
    )
    assert lines[0] == f"skipped reference photo {refs / 'ama-dablam' / 'b.jpg'}: not an image"
    expected = unit(np.mean([chosen_vector("image:a.jpg"), chosen_vector("image:c.jpg")], axis=0))
    np.testing.assert_allclose(doc.vector, expected, atol=1e-6)


def test_alpha_one_never_runs_the_image_tower(refs: Path) -> None:
    embedder = ImageCountingEmbedder()
    (doc,) = build_prototypes(embedder, [AMA], refs_dir=refs, alpha_text=1.0, load_image=lambda p: p.name)
    assert embedder.images == []
    np.testing.assert_allclose(doc.vector, by_hand(AMA_TEXT, 0.25), atol=1e-6)


class ImageSizeEmbedder(RecordingEmbedder):
    image_size = 112

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[tuple[int, int]] = []

    def embed_images(self, images: Sequence[object]) -> np.ndarray:
        self.sizes.extend(image.size for image in images)  # type: ignore[attr-defined]
        return super().embed_images([str(i) for i in range(len(images))])


def test_reference_photos_are_decoded_at_twice_the_models_side() -> None:
    """Enough pixels for the model's own resize, without decoding a 12-megapixel photo in full."""
    embedder = ImageSizeEmbedder()
    trek_refs = Path(__file__).resolve().parents[2] / "shared" / "trek" / "refs"
    build_prototypes(embedder, [CatalogPeak("ama-dablam", ["Ama Dablam"])], refs_dir=trek_refs)
    assert embedder.sizes and all(max(size) == 2 * 112 for size in embedder.sizes)


DEM = SHARED / "dem"


def _srtm_height(lat: float, lon: float) -> float:
    """The SRTM sample nearest a point, read straight from the .hgt file (big-endian int16, 1201 rows from the
    north edge, both edges included): independent of peaklens.dem."""
    north, east = math.floor(lat), math.floor(lon)
    path = DEM / f"N{north:02d}E{east:03d}.hgt"
    samples = np.fromfile(path, dtype=">i2").reshape(1201, 1201)
    row = round((north + 1 - lat) * 1200)
    col = round((lon - east) * 1200)
    return float(samples[row, col])


@pytest.mark.skipif(not DEM.is_dir(), reason="needs ../shared/dem")
def test_every_catalog_summit_inside_the_terrain_tiles_stands_on_a_summit() -> None:
    """A catalog position on a slope or a valley floor puts the label and the occlusion test beside the
    mountain (Kangtega sat 1.1 km off, 1,080 m below its summit; Nangkartshang 2.5 km off): the terrain at each
    catalog position is within 300 m of the published height (3\u2033 SRTM cells round sharp summits down)."""
    checked = 0
    for peak in load_catalog()[0]:
        assert peak.latlon is not None and peak.elev_m is not None
        lat, lon = peak.latlon.lat, peak.latlon.lon
        if not (DEM / f"N{math.floor(lat):02d}E{math.floor(lon):03d}.hgt").is_file():
            continue
        height = _srtm_height(lat, lon)
        assert peak.elev_m - 300 <= height <= peak.elev_m + 100, (peak.id, height, peak.elev_m)
        checked += 1
    assert checked >= 20
