"""Recognising peak names in what users type: any alias, any script, small misspellings tolerated.

"Ama Dablam", "ama-dablam", "Amadablam" and "AMA DABLAM" normalise to the same key; Chinese, Devanagari,
Tibetan and Japanese aliases match as written. Misspellings are matched only for Latin aliases of 5 or more
letters, with a similarity of at least ``FUZZY_MIN_RATIO``, so ordinary words ("lake", "bench", "flags") never
turn into peaks. A bare "island" is not "Island Peak": aliases are matched whole.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FUZZY_MIN_RATIO = 0.82
FUZZY_MIN_LENGTH = 5
_SEPARATORS = re.compile(r"[\s\-_'’.,;:!?()\[\]{}\"/·・]+", re.UNICODE)


def normalise_name(text: str) -> str:
    """NFKC, case-folded, Latin accents stripped, spaces and punctuation removed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", folded)
    without_marks = "".join(
        ch
        for ch in decomposed
        if not (unicodedata.category(ch) == "Mn" and _is_latin_mark_base(decomposed, ch))
    )
    return _SEPARATORS.sub("", unicodedata.normalize("NFC", without_marks))


def _is_latin_mark_base(_text: str, mark: str) -> bool:
    """Only combining marks used on Latin letters (U+0300-U+036F) are dropped; Devanagari vowel signs stay."""
    return "\u0300" <= mark <= "\u036f"


def _is_latin(text: str) -> bool:
    return all(ch.isascii() for ch in text)


def _tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [t for t in _SEPARATORS.split(folded) if t]


@dataclass(frozen=True)
class NameMatch:
    peak_id: str
    name: str
    matched_alias: str
    score: float


class PeakNameIndex:
    """Every alias of every catalog peak, normalised, for matching queries and resolving filters."""

    def __init__(self, peaks: Iterable[tuple[str, Sequence[str]]]) -> None:
        self._aliases: list[tuple[str, str, str, str]] = []  # (key, peak_id, display name, alias)
        for peak_id, names in peaks:
            if not names:
                continue
            for alias in (*names, peak_id):
                key = normalise_name(alias)
                if key:
                    self._aliases.append((key, peak_id, names[0], alias))
        # longest alias first so "Nuptse II" wins over "Nuptse", "Lhotse Shar" over "Lhotse"
        self._aliases.sort(key=lambda item: -len(item[0]))

    def _exact(self, key: str) -> NameMatch | None:
        for alias_key, peak_id, name, alias in self._aliases:
            if alias_key == key:
                return NameMatch(peak_id, name, alias, 1.0)
        return None

    def _fuzzy(self, key: str) -> NameMatch | None:
        if len(key) < FUZZY_MIN_LENGTH or not _is_latin(key):
            return None
        best: NameMatch | None = None
        for alias_key, peak_id, name, alias in self._aliases:
            if len(alias_key) < FUZZY_MIN_LENGTH or not _is_latin(alias_key):
                continue
            ratio = difflib.SequenceMatcher(None, key, alias_key).ratio()
            if ratio >= FUZZY_MIN_RATIO and (best is None or ratio > best.score):
                best = NameMatch(peak_id, name, alias, ratio)
        return best

    def resolve(self, name: str) -> str | None:
        """Any alias or id (exact, or a small misspelling) → the display name stored in predicted_peaks."""
        key = normalise_name(name)
        if not key:
            return None
        found = self._exact(key) or self._fuzzy(key)
        return found.name if found else None

    def match(self, query: str) -> NameMatch | None:
        """The peak a query names, whole or inside a longer query ("ama dablam at sunset")."""
        key = normalise_name(query)
        if not key:
            return None
        whole = self._exact(key)
        if whole:
            return whole
        for alias_key, peak_id, name, alias in self._aliases:  # non-Latin aliases: contained as written
            if not _is_latin(alias_key) and alias_key in key:
                return NameMatch(peak_id, name, alias, 1.0)
        tokens = _tokens(query)
        windows = [
            "".join(tokens[i : i + size]) for size in (4, 3, 2, 1) for i in range(len(tokens) - size + 1)
        ]
        for window in windows:  # longest windows first
            exact = self._exact(window) if _is_latin(window) else None
            if exact:
                return exact
        best: NameMatch | None = None
        for window in windows:
            fuzzy = self._fuzzy(window)
            if fuzzy and (best is None or fuzzy.score > best.score):
                best = fuzzy
        return best or self._fuzzy(key)
