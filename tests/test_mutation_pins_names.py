"""Peak-name matching details that mutation testing showed no other test holds (docs/TESTING.md).

Distances are Damerau-Levenshtein (optimal string alignment) values counted by hand; scores are
1 - edits / alias length, written as fractions.
"""

from __future__ import annotations

import pytest

from peaklens.names import PeakNameIndex, _osa_distance, normalise_name


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("ab", "ba", 1),  # one transposition
        ("ab", "a", 1),  # one deletion
        ("a", "aa", 1),  # one insertion
        ("aaa", "a", 2),
        ("", "abc", 3),
        ("abc", "xyz", 3),
        ("kitten", "sitting", 3),
        ("ca", "abc", 3),  # optimal string alignment: no edit of a transposed pair (true Damerau gives 2)
        ("lhotze", "lhotse", 1),
    ],
)
def test_osa_distance_by_hand(a: str, b: str, distance: int) -> None:
    assert _osa_distance(a, b, 5) == distance


def test_osa_distance_past_the_limit_is_limit_plus_one() -> None:
    assert _osa_distance("a", "abcd", 1) == 2  # lengths alone exceed the limit
    assert _osa_distance("abcd", "wxyz", 1) == 2  # a whole row exceeds it


def test_marks_without_a_base_or_after_a_space_are_dropped() -> None:
    assert normalise_name("\u0301Lhotse") == "lhotse"
    assert normalise_name("अमा \u093eदब्लम") == normalise_name("अमा दब्लम")


def _index(*peaks: tuple[str, list[str]]) -> PeakNameIndex:
    return PeakNameIndex(peaks)


def test_a_match_carries_the_peak_id_and_the_alias_as_written() -> None:
    index = _index(("ama-dablam", ["Ama Dablam", "阿玛达布朗"]), ("mount-everest", ["Mount Everest"]))
    found = index.match("阿玛达布朗的照片")
    assert found is not None and (found.peak_id, found.name, found.matched_alias) == (
        "ama-dablam",
        "Ama Dablam",
        "阿玛达布朗",
    )
    stem = index.match("everest at dawn")  # "Everest" is "Mount Everest" without "Mount"
    assert stem is not None and (stem.peak_id, stem.name, stem.matched_alias, stem.score) == (
        "mount-everest",
        "Mount Everest",
        "Mount Everest",
        1.0,
    )


def test_mount_and_mt_drop_only_before_six_or_more_letters() -> None:
    index = _index(("lhotse", ["Mount Lhotse"]), ("kangtega", ["Kangtega"]), ("x", ["Mt Abcdef"]))
    assert index.resolve("Lhotse") == "Mount Lhotse"  # a stem of exactly six letters
    assert index.resolve("Abcdef") == "Mt Abcdef"
    assert index.resolve("ngtega") is None  # "ka"+"ngtega" is no "Mt" prefix


def test_chinese_suffixes_drop_only_where_they_are_and_leave_two_characters() -> None:
    index = _index(("lhotse", ["Lhotse", "洛子峰"]), ("ama-dablam", ["Ama Dablam", "阿玛达布朗"]))
    assert index.resolve("洛子") == "Lhotse"  # two characters left after 峰
    assert index.match("阿玛达布") is None  # no suffix to drop: a shortened name is not the peak


def test_names_that_normalise_to_nothing_are_skipped() -> None:
    index = PeakNameIndex([("ama-dablam", ["!!!", None, "Ama Dablam"])])  # type: ignore[list-item]
    assert index.resolve("ama dablam") == "Ama Dablam"


def test_six_letter_aliases_allow_one_typo() -> None:
    index = _index(("lhotse", ["Lhotse"]))
    assert index.resolve("Lhotze") == "Lhotse"
    found = index.match("sunset on lhotze")
    assert found is not None and found.score == pytest.approx(1 - 1 / 6)


def test_a_name_with_a_non_latin_letter_is_not_a_typo_of_a_latin_name() -> None:
    assert _index(("lhotse", ["Lhotse"])).resolve("Lhotsе") is None  # Cyrillic е (U+0435)


def test_the_closest_alias_wins_over_the_longer_one() -> None:
    index = _index(("long", ["Abcdefghijkl"]), ("short", ["Abcdefghij"]))
    # "abcdefghijx": 1 edit from the 10-letter alias (score 0.9), 2 from the 12-letter one (0.833)
    assert index.resolve("abcdefghijx") == "Abcdefghij"
    found = index.match("abcdefghijx")
    assert found is not None and found.score == pytest.approx(0.9)


def test_equally_close_aliases_of_equal_length_go_to_the_first_in_the_catalog() -> None:
    index = _index(("first", ["Abcdefghij"]), ("second", ["Abcdefghik"]))
    assert index.resolve("abcdefghix") == "Abcdefghij"
    found = index.match("abcdefghix")
    assert found is not None and found.peak_id == "first"


def test_between_typos_in_one_query_the_better_score_then_the_longer_alias_wins() -> None:
    index = _index(("lhotse", ["Lhotse"]), ("taboche", ["Taboche"]), ("khumbi-yul-lha", ["Khumbi Yul Lha"]))
    # Tabocxe: 1 edit of 7 (0.857) beats kumbiyulla: 2 edits of 12 (0.833)
    best = index.match("kumbiyulla and tabocxe")
    assert best is not None and (best.name, best.score) == ("Taboche", pytest.approx(1 - 1 / 7))
    # Lhotze 1 of 6 and kumbiyulla 2 of 12 tie at 0.833: the longer alias wins, wherever it stands
    tie = index.match("lhotze kumbiyulla")
    assert tie is not None and (tie.name, tie.score) == ("Khumbi Yul Lha", pytest.approx(1 - 2 / 12))


def test_letters_without_a_unicode_name_are_kept() -> None:
    tangut = "\U00017000\U00017001"  # Tangut ideographs: letters that unicodedata.name() knows no name for
    assert normalise_name(tangut) == tangut
    assert _index(("x", [tangut])).match(f"photo {tangut}") is not None
