"""Peak names in queries and filters: any alias, any script, small typos, and no false alarms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peaklens.catalog import load_catalog
from peaklens.names import PeakNameIndex, normalise_name

INDEX = PeakNameIndex((p.id, p.names) for p in load_catalog()[0])


@pytest.mark.parametrize("text", ["Ama Dablam", "ama-dablam", "Amadablam", "AMA  DABLAM", "ama dablam"])
def test_spellings_of_one_name_normalise_equal(text: str) -> None:
    assert normalise_name(text) == "amadablam"


@pytest.mark.parametrize(
    "query",
    [
        "ama dablam",
        "Amadablam",
        "阿玛达布朗",
        "阿玛达布朗峰",
        "अमा दब्लम",
        "photos of ama dablam at sunset",
        "Ama Dablan",
        "amadablum",
    ],
)
def test_names_in_three_scripts_and_typos_reach_ama_dablam(query: str) -> None:
    match = INDEX.match(query)
    assert match is not None and match.name == "Ama Dablam"


@pytest.mark.parametrize(
    ("query", "peak"),
    [
        ("Pumo ri", "Pumori"),
        ("Lhotze", "Lhotse"),
        ("everest", "Mount Everest"),
        ("珠穆朗玛峰", "Mount Everest"),
        ("सगरमाथा", "Mount Everest"),
        ("Imja Tse", "Island Peak"),
        ("island peak", "Island Peak"),
        ("sunrise over Mount Everest from Kala Patthar", "Mount Everest"),
    ],
)
def test_aliases_and_typos(query: str, peak: str) -> None:
    match = INDEX.match(query)
    assert match is not None and match.name == peak


@pytest.mark.parametrize(
    "query",
    [
        "a dog on a bench",
        "prayer flags",
        "lake",
        "island",
        "a person in a blue jacket",
        "changes",
        "sunset",
        "mountain",
        "yaks on the trail",
        "tea house",
        "",
    ],
)
def test_ordinary_words_are_not_peaks(query: str) -> None:
    assert INDEX.match(query) is None


def test_resolve_maps_any_alias_or_id_to_the_stored_name() -> None:
    assert INDEX.resolve("pumo ri") == "Pumori"
    assert INDEX.resolve("ama-dablam") == "Ama Dablam"
    assert INDEX.resolve("Sagarmatha") == "Mount Everest"
    assert INDEX.resolve("K2") is None


def test_longest_alias_wins() -> None:
    index = PeakNameIndex(
        [
            ("lhotse", ["Lhotse"]),
            ("lhotse-shar", ["Lhotse Shar"]),
            ("nuptse", ["Nuptse"]),
            ("nuptse-ii", ["Nuptse II"]),
        ]
    )
    assert index.match("Lhotse Shar at dawn").name == "Lhotse Shar"  # type: ignore[union-attr]
    assert index.match("nuptse ii").name == "Nuptse II"  # type: ignore[union-attr]


@given(st.text(max_size=80))
def test_matching_never_raises_and_normalising_is_idempotent(text: str) -> None:
    INDEX.match(text)
    INDEX.resolve(text)
    assert normalise_name(normalise_name(text)) == normalise_name(text)
