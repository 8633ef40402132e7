"""Recognising peak names in what users type: any alias, any script, small misspellings tolerated.

"Ama Dablam", "ama-dablam", "Amadablam" and "AMA  DABLAM" normalise to the same key. Latin-script aliases are
matched on whole words of the query (so "camera" never contains "Mera"), with a few typos allowed on aliases
of 6+ letters: one edit (Damerau, optimal string alignment) per 6 letters of the alias — "Lhotze", "Ama Dablan",
"Nupste" match, while "Deboche" (two edits from "Taboche") and ordinary words do not. Aliases in other scripts
(Chinese, Devanagari, Tibetan, Japanese, ...) are written without spaces, so they match where they occur in
the query, as written; a Chinese/Japanese alias also matches without its trailing 峰/山 ("peak"/"mountain").
A Latin alias also matches without a leading "Mount"/"Mt" ("Everest" finds "Mount Everest"), but never
without a trailing "Peak": a bare "island" is not "Island Peak", and "imja" (a valley, a lake) not "Imja Tse".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: typos allowed: one edit per this many letters of the alias (aliases shorter than this match exactly only)
LETTERS_PER_TYPO = 6
#: longest run of query words tried as one alias ("kala patthar", "khumbi yul lha" + one stray split)
MAX_WINDOW_WORDS = 5
#: only the first words of a very long query are searched for names, to bound the work
MAX_QUERY_WORDS = 64
MATCH_CACHE_SIZE = 1024
_CJK_PEAK_SUFFIXES = ("雪山", "峰", "山", "岳")
_LATIN_MOUNT_PREFIXES = ("mount", "mt")
_LATIN_EXTRA = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"}
)
_LATIN_WORD = re.compile(r"[a-z0-9]+")


def _fold_once(text: str) -> str:
    """NFKC + casefold; Latin accents and punctuation/spaces/symbols become nothing or a single space."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    out: list[str] = []
    drop_marks = True  # marks with no base, or on a dropped or Latin base, go
    for ch in decomposed:
        category = unicodedata.category(ch)
        if category[0] == "M":
            if not drop_marks:
                out.append(ch)
        elif category[0] in "PZSC":
            if out and out[-1] != " ":
                out.append(" ")
            drop_marks = True
        else:
            drop_marks = unicodedata.name(ch, "").startswith("LATIN")
            out.append(ch.translate(_LATIN_EXTRA))
    return unicodedata.normalize("NFC", "".join(out)).strip()


def _fold(text: str) -> str:
    """``_fold_once`` until it stops changing (casefold and NFKC can each undo the other once)."""
    for _ in range(4):
        folded = _fold_once(text)
        if folded == text:
            break
        text = folded
    return text


def normalise_name(text: str) -> str:
    """The comparison key of a name: NFKC, case-folded, Latin accents and every space/punctuation removed.

    Idempotent; other scripts keep their letters and marks (Devanagari vowel signs, Tibetan vowels).
    """
    key = text
    for _ in range(4):
        folded = _fold(key).replace(" ", "")
        if folded == key:
            break
        key = folded
    return key


def _is_latin_key(key: str) -> bool:
    return key.isascii()


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment), or ``limit + 1`` once it is exceeded."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@dataclass(frozen=True)
class NameMatch:
    """A peak recognised in a query: canonical ``name`` (the catalog's first name), the alias that matched
    as the catalog writes it, and ``score`` (1.0 exact, else 1 - edits / alias length)."""

    peak_id: str
    name: str
    matched_alias: str
    score: float


@dataclass(frozen=True)
class _Alias:
    key: str
    peak_id: str
    name: str
    alias: str


def _variants(key: str) -> list[str]:
    """The key itself, plus the forms people type: without 峰/山 in CJK, without "Mount" in Latin."""
    variants = [key]
    if _is_latin_key(key):
        for prefix in _LATIN_MOUNT_PREFIXES:
            stem = key[len(prefix) :]
            if key.startswith(prefix) and len(stem) >= LETTERS_PER_TYPO:
                variants.append(stem)
    else:
        for suffix in _CJK_PEAK_SUFFIXES:
            stem = key[: -len(suffix)]
            if key.endswith(suffix) and len(stem) >= 2:
                variants.append(stem)
    return variants


class PeakNameIndex:
    """Every alias of every catalog peak, normalised, for matching queries and resolving filters.

    ``peaks`` yields (id, names) with the display name first; the id counts as an alias too. When two peaks
    share an alias the first in catalog order keeps it.
    """

    def __init__(self, peaks: Iterable[tuple[str, Sequence[str]]]) -> None:
        written: list[_Alias] = []
        for peak_id, names in peaks:
            names = [n for n in names if isinstance(n, str) and normalise_name(n)]
            written += [_Alias(normalise_name(a), peak_id, names[0], a) for a in (*names, peak_id) if names]
        self._exact: dict[str, _Alias] = {}
        for alias in written:  # every alias as written first, so a stem never shadows a real alias
            self._exact.setdefault(alias.key, alias)
        for alias in written:
            for stem in _variants(alias.key)[1:]:
                self._exact.setdefault(stem, _Alias(stem, alias.peak_id, alias.name, alias.alias))
        self._matches: dict[str, NameMatch | None] = {}
        self._latin = sorted(
            (a for a in self._exact.values() if _is_latin_key(a.key) and len(a.key) >= LETTERS_PER_TYPO),
            key=lambda a: -len(a.key),
        )
        self._other = sorted(
            (a for a in self._exact.values() if not _is_latin_key(a.key)), key=lambda a: -len(a.key)
        )

    @staticmethod
    def _found(alias: _Alias, score: float = 1.0) -> NameMatch:
        return NameMatch(alias.peak_id, alias.name, alias.alias, score)

    def _fuzzy(self, key: str) -> tuple[int, float, _Alias] | None:
        """The closest Latin alias within its typo budget: (alias length, score, alias), best first."""
        if not _is_latin_key(key) or len(key) < LETTERS_PER_TYPO - 1:
            return None
        best: tuple[int, float, _Alias] | None = None
        for alias in self._latin:
            budget = len(alias.key) // LETTERS_PER_TYPO
            distance = _osa_distance(key, alias.key, budget)
            if distance <= budget:
                found = (len(alias.key), 1.0 - distance / len(alias.key), alias)
                if best is None or found[1] > best[1] or (found[1] == best[1] and found[0] > best[0]):
                    best = found
        return best

    def resolve(self, name: str) -> str | None:
        """Any alias or id (exact, or within the typo budget) → the display name stored in predicted_peaks.

        Strict on purpose (used for ``--peak`` filters): the whole text must be the name, not contain it.
        """
        key = normalise_name(name)
        if not key:
            return None
        exact = self._exact.get(key)
        if exact:
            return exact.name
        fuzzy = self._fuzzy(key)
        return fuzzy[2].name if fuzzy else None

    def match(self, query: str) -> NameMatch | None:
        """The peak a query names, whole or inside a longer query ("photos of ama dablam at sunset").

        Exact matches beat typo matches; among exact matches the longest alias wins ("Nuptse II" over
        "Nuptse", "Lhotse Shar" over "Lhotse"). Answers are remembered: typo matching a long query costs
        ~5 ms, and the UI asks again on every rerun.
        """
        if query not in self._matches:
            if len(self._matches) >= MATCH_CACHE_SIZE:
                self._matches.clear()
            self._matches[query] = self._match(query)
        return self._matches[query]

    def _match(self, query: str) -> NameMatch | None:
        key = normalise_name(query)
        if not key:
            return None
        whole = self._exact.get(key)
        if whole:
            return self._found(whole)
        found: list[_Alias] = [a for a in self._other if a.key in key]
        words = _LATIN_WORD.findall(_fold(query))[:MAX_QUERY_WORDS]
        windows = list(
            dict.fromkeys(  # in query order, without repeats, so ties resolve the same way every run
                "".join(words[start : start + size])
                for start in range(len(words))
                for size in range(1, min(MAX_WINDOW_WORDS, len(words) - start) + 1)
            )
        )
        found += [self._exact[w] for w in windows if w in self._exact]
        if found:
            return self._found(max(found, key=lambda a: len(a.key)))
        typos = [f for f in map(self._fuzzy, windows) if f is not None]
        if not typos:
            return None
        _, score, alias = max(typos, key=lambda f: (f[1], f[0]))
        return self._found(alias, score)
