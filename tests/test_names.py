"""Peak names in queries and filters: any alias, any script, small typos, and no false alarms."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peaklens.catalog import load_catalog
from peaklens.names import NameMatch, PeakNameIndex, normalise_name

INDEX = PeakNameIndex((p.id, p.names) for p in load_catalog()[0])
TREK_CATALOG = Path(__file__).resolve().parents[2] / "shared" / "trek" / "peaks.yaml"


def _name(query: str, index: PeakNameIndex = INDEX) -> str | None:
    match = index.match(query)
    return match.name if match else None


# --- normalising ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Ama Dablam",
        "ama-dablam",
        "Amadablam",
        "AMA  DABLAM",
        "ama dablam",
        " Ama_Dablam! ",
        "Ａｍａ Ｄａｂｌａｍ",
    ],
)
def test_spellings_of_one_name_normalise_equal(text: str) -> None:
    assert normalise_name(text) == "amadablam"


def test_latin_accents_go_other_scripts_keep_their_marks() -> None:
    assert normalise_name("Khumbu Yül-Lha") == "khumbuyullha"
    assert normalise_name("Ça Øre Łódź") == "caorelodz"
    assert normalise_name("अमा दब्लम") == "अमादब्लम"  # vowel sign and virama kept
    assert normalise_name("ཇོ་མོ་གླང་མ") == "ཇོམོགླངམ"  # tsheg (syllable dot) is punctuation
    assert normalise_name("アマ・ダブラム") == "アマダブラム"
    assert normalise_name("阿玛达布朗峰") == "阿玛达布朗峰"
    assert normalise_name("Straße") == "strasse"


# --- recognising names in queries ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "ama dablam",
        "Amadablam",
        "AMA-DABLAM",
        "阿玛达布朗",
        "阿玛达布朗峰",
        "阿玛达布朗的照片",
        "अमा दब्लम",
        "अमा दब्लम की तस्वीरें",
        "アマ・ダブラム",
        "photos of ama dablam at sunset",
        "ama dablam的照片",
        "Ama Dablan",
        "amadablum",
        "Ama Dablam's north face",
    ],
)
def test_names_in_several_scripts_and_typos_reach_ama_dablam(query: str) -> None:
    assert _name(query) == "Ama Dablam"


def test_a_chinese_name_matches_with_or_without_its_peak_suffix() -> None:
    only_long = PeakNameIndex([("ama-dablam", ["Ama Dablam", "阿玛达布朗峰"])])
    only_short = PeakNameIndex([("ama-dablam", ["Ama Dablam", "阿玛达布朗"])])
    for index in (only_long, only_short):
        assert _name("阿玛达布朗", index) == _name("阿玛达布朗峰", index) == "Ama Dablam"


def test_three_scripts_resolve_to_the_same_peak() -> None:
    index = PeakNameIndex(
        [("mount-everest", ["Mount Everest", "珠穆朗玛峰", "सगरमाथा"]), ("lhotse", ["Lhotse"])]
    )
    assert {index.resolve(n) for n in ("mount everest", "珠穆朗玛峰", "सगरमाथा", "mount-everest")} == {
        "Mount Everest"
    }


@pytest.mark.parametrize(
    ("query", "peak"),
    [
        ("Pumo ri", "Pumori"),
        ("pumo-ri in the clouds", "Pumori"),
        ("Lhotze", "Lhotse"),
        ("Lotse", "Lhotse"),
        ("Nupste", "Nuptse"),
        ("everest", "Mount Everest"),
        ("Mt. Everest", "Mount Everest"),
        ("Evrest", "Mount Everest"),
        ("everest base camp", "Mount Everest"),
        ("珠穆朗玛峰", "Mount Everest"),
        ("珠峰日出", "Mount Everest"),
        ("सगरमाथा", "Mount Everest"),
        ("ཇོ་མོ་གླང་མ", "Mount Everest"),
        ("Imja Tse", "Island Peak"),
        ("island peak base camp", "Island Peak"),
        ("kalapathar", "Kala Patthar"),
        ("sunrise over Mount Everest from Kala Patthar", "Mount Everest"),
        ("Khumbu Yül-Lha", "Khumbila"),
        ("tawoche", "Taboche"),
    ],
)
def test_aliases_and_typos(query: str, peak: str) -> None:
    assert _name(query) == peak


def test_exact_matches_score_one_and_typos_less() -> None:
    assert INDEX.match("sagarmatha") == NameMatch("mount-everest", "Mount Everest", "Sagarmatha", 1.0)
    typo = INDEX.match("Ama Dablan")
    assert typo is not None and typo.matched_alias == "Ama Dablam" and typo.score == pytest.approx(8 / 9)


@pytest.mark.parametrize(
    "query",
    [
        "a dog on a bench",
        "prayer flags",
        "lake",
        "island",  # "Island Peak" needs both words
        "imja lake",  # nor is "imja" alone Imja Tse
        "a person in a blue jacket",
        "changes",
        "camera",  # contains "mera" but Latin names match whole words
        "sunset",
        "mountain",
        "yaks on the trail",
        "tea house",
        "tengboche monastery",
        "deboche",  # two edits from Taboche
        "dingboche",
        "gokyo lakes",
        "cho la pass",
        "hotels",
        "K2",
        "",
        "   ",
        "!!!",
    ],
)
def test_ordinary_words_and_villages_are_not_peaks(query: str) -> None:
    assert INDEX.match(query) is None


def test_longest_alias_wins() -> None:
    index = PeakNameIndex(
        [
            ("lhotse", ["Lhotse"]),
            ("lhotse-shar", ["Lhotse Shar"]),
            ("nuptse", ["Nuptse"]),
            ("nuptse-ii", ["Nuptse II"]),
        ]
    )
    assert _name("Lhotse Shar at dawn", index) == "Lhotse Shar"
    assert _name("nuptse ii", index) == "Nuptse II"
    assert _name("nuptse at dawn", index) == "Nuptse"
    assert _name("lhotse and nuptse", index) in {"Lhotse", "Nuptse"}


@pytest.mark.skipif(not TREK_CATALOG.is_file(), reason="needs ../shared/trek/peaks.yaml")
def test_the_trek_catalog_with_its_duplicate_entry_and_multi_word_aliases() -> None:
    peaks, _ = load_catalog(TREK_CATALOG)
    index = PeakNameIndex((p.id, p.names) for p in peaks)
    assert _name("nuptse ii from the glacier", index) == "Nuptse II"
    assert _name("Lhotse Shar", index) == "Lhotse Shar"
    assert _name("mera peak", index) == "Mera Peak"
    assert _name("everest", index) == "Mount Everest"  # only "Mount Everest" there: the prefix is optional
    assert _name("Machermo Peak", index) == "Phari Lapcha"


# --- resolving filter values ---------------------------------------------------------------------------------
def test_resolve_maps_any_alias_or_id_to_the_stored_name() -> None:
    assert INDEX.resolve("pumo ri") == "Pumori"
    assert INDEX.resolve("ama-dablam") == "Ama Dablam"
    assert INDEX.resolve("Sagarmatha") == "Mount Everest"
    assert INDEX.resolve("洛子峰") == "Lhotse"
    assert INDEX.resolve("lhotze") == "Lhotse"
    assert INDEX.resolve("K2") is None
    assert INDEX.resolve("") is None


def test_resolve_is_strict_about_extra_words() -> None:
    assert INDEX.resolve("photos of pumori") is None


def test_an_empty_catalog_matches_nothing() -> None:
    empty = PeakNameIndex([])
    assert empty.match("ama dablam") is None and empty.resolve("ama dablam") is None
    assert PeakNameIndex([("x", []), ("y", ["", " - "])]).match("x") is None


# --- properties ----------------------------------------------------------------------------------------------
@given(st.text(max_size=80))
def test_normalising_is_idempotent(text: str) -> None:
    once = normalise_name(text)
    assert normalise_name(once) == once
    assert " " not in once


@given(st.text(max_size=200))
def test_matching_never_raises(text: str) -> None:
    match = INDEX.match(text)
    assert match is None or 0 < match.score <= 1
    INDEX.resolve(text)


@pytest.mark.parametrize(("peak_id", "alias"), [(p.id, a) for p in load_catalog()[0] for a in p.names])
def test_every_catalog_alias_finds_its_own_peak_in_any_case(peak_id: str, alias: str) -> None:
    for written in (alias, alias.upper(), alias.lower(), f"view of {alias} today"):
        match = INDEX.match(written)
        assert match is not None and match.peak_id == peak_id, written
