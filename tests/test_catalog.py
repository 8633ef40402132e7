"""The peaks catalog: YAML in, one unit prototype per peak out, blended with reference photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from peaklens.catalog import CatalogPeak, build_prototypes, load_catalog, reference_images
from peaklens.errors import BadInput
from peaklens.records import GeoPoint

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
