"""Retrieval-quality evaluation: labelled queries in, recall@1/5/10, MRR and identification accuracy out.

So prompt changes are measured, not guessed: every text query runs once per variant (prompt ensemble on/off,
anti-concept on/off) against the same index.

Labels file (YAML; paths relative to the album root, globs allowed)::

    categories:                 # optional: name -> photo paths
      mountain: ["mountains/*"]
    queries:                    # text -> a category name or a list of paths
      - text: "a mountain landscape"
        relevant: mountain
    identify:                   # optional: photo (relative to the labels file) -> expected peak
      - photo: ../../shared/trek/jpeg/IMG_2332.jpg
        peak: Ama Dablam
      - photo: ../../shared/trek/jpeg/IMG_2195.jpg
        peaks: [Mount Everest, Lhotse]   # several in view: any of them counts as right

recall@k = |relevant ∩ top k| / |relevant|; MRR = mean of 1 / rank of the first relevant photo (0 if none in
the ranked list); identification accuracy = share of photos whose top-1 peak is an expected one (top-3: an
expected peak among the first three).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from peaklens.errors import BadInput

CUTOFFS = (1, 5, 10)


@dataclass(frozen=True)
class Variant:
    name: str
    use_ensemble: bool
    anti_concept: bool


VARIANTS = (
    Variant("ensemble + anti-concept", True, True),
    Variant("ensemble only", True, False),
    Variant("anti-concept only", False, True),
    Variant("raw query", False, False),
)


@dataclass
class Labels:
    queries: list[tuple[str, set[str]]]
    identify: list[tuple[Path, frozenset[str]]] = field(default_factory=list)


@dataclass
class TextScores:
    variant: str
    recall: dict[int, float]
    mrr: float
    queries: int


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: set[str]) -> float:
    for rank, path in enumerate(ranked, start=1):
        if path in relevant:
            return 1.0 / rank
    return 0.0


def load_labels(path: Path, album_paths: Sequence[str]) -> Labels:
    """Parse and expand a labels file against the indexed paths; unknown categories or paths are errors."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInput(f"Labels file {path} cannot be read: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("queries", []), list):
        raise BadInput(f"Labels file {path}: expected a mapping with a 'queries' list.")

    def expand(patterns: Any, where: str) -> set[str]:
        items = [patterns] if isinstance(patterns, str) else list(patterns or [])
        found: set[str] = set()
        for pattern in items:
            matches = fnmatch.filter(album_paths, str(pattern))
            if not matches:
                raise BadInput(f"Labels file {path}, {where}: {pattern!r} matches no indexed photo.")
            found.update(matches)
        return found

    categories = {
        str(name): expand(patterns, f"category {name}")
        for name, patterns in (raw.get("categories") or {}).items()
    }
    queries = []
    for number, entry in enumerate(raw.get("queries") or [], start=1):
        if not isinstance(entry, dict) or not entry.get("text"):
            raise BadInput(f"Labels file {path}, query {number}: needs 'text' and 'relevant'.")
        relevant = entry.get("relevant")
        if isinstance(relevant, str) and relevant in categories:
            queries.append((str(entry["text"]), categories[relevant]))
        else:
            queries.append((str(entry["text"]), expand(relevant, f"query {number}")))
    identify = []
    for number, entry in enumerate(raw.get("identify") or [], start=1):
        if (
            not isinstance(entry, dict)
            or not entry.get("photo")
            or not (entry.get("peak") or entry.get("peaks"))
        ):
            raise BadInput(f"Labels file {path}, identify {number}: needs 'photo' and 'peak' (or 'peaks').")
        named = entry.get("peaks") or [entry["peak"]]
        peaks = frozenset(str(name) for name in ([named] if isinstance(named, str) else named))
        identify.append(((path.parent / str(entry["photo"])).resolve(), peaks))
    return Labels(queries, identify)


def score_text(
    labels: Labels, rank: Callable[[str, Variant], list[str]], variants: Sequence[Variant] = VARIANTS
) -> list[TextScores]:
    """Mean recall@k and MRR per variant; ``rank`` returns the ranked paths for one query."""
    table = []
    for variant in variants:
        recalls = {k: 0.0 for k in CUTOFFS}
        mrr = 0.0
        for text, relevant in labels.queries:
            ranked = rank(text, variant)
            for k in CUTOFFS:
                recalls[k] += recall_at_k(ranked, relevant, k)
            mrr += reciprocal_rank(ranked, relevant)
        count = max(1, len(labels.queries))
        table.append(
            TextScores(
                variant.name, {k: v / count for k, v in recalls.items()}, mrr / count, len(labels.queries)
            )
        )
    return table


def identification_accuracy(
    predictions: Sequence[tuple[str | frozenset[str], Sequence[str]]],
) -> tuple[float, float]:
    """(top-1 accuracy, top-3 accuracy) over (expected peak or peaks, ranked predicted peaks) pairs."""
    if not predictions:
        return 0.0, 0.0
    pairs = [(frozenset([e]) if isinstance(e, str) else e, list(r)) for e, r in predictions]
    top1 = sum(1 for expected, ranked in pairs if expected.intersection(ranked[:1]))
    top3 = sum(1 for expected, ranked in pairs if expected.intersection(ranked[:3]))
    return top1 / len(predictions), top3 / len(predictions)


def format_table(
    text_scores: list[TextScores], identify: dict[str, tuple[float, float]] | None = None
) -> str:
    lines = []
    if text_scores:
        lines = ["| variant | queries | recall@1 | recall@5 | recall@10 | MRR |", "|---|---|---|---|---|---|"]
    for row in text_scores:
        lines.append(
            f"| {row.variant} | {row.queries} | {row.recall[1]:.3f} | {row.recall[5]:.3f} | "
            f"{row.recall[10]:.3f} | {row.mrr:.3f} |"
        )
    if identify:
        lines += ["", "| identification | top-1 accuracy | top-3 accuracy |", "|---|---|---|"][not lines :]
        for name, (top1, top3) in identify.items():
            lines.append(f"| {name} | {top1:.3f} | {top3:.3f} |")
    return "\n".join(lines)


# --- running an evaluation through the real search path ---------------------------------------------------
@dataclass
class EvalReport:
    """Everything ``peaklens eval`` shows; ``identify`` maps a method name to (top-1, top-3)."""

    text: list[TextScores]
    identify: dict[str, tuple[float, float]]
    photos: int
    #: peak positions in the frame (frame_eval.FrameEvalReport) for a labels file of marked summits
    frame: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "photos": self.photos,
            "frame": None if self.frame is None else self.frame.to_json(),
            "text": [
                {"variant": s.variant, "queries": s.queries, "recall": s.recall, "mrr": s.mrr}
                for s in self.text
            ],
            "identify": {k: {"top1": v[0], "top3": v[1]} for k, v in self.identify.items()},
        }

    def table(self) -> str:
        if self.frame is not None:
            from peaklens.frame_eval import format_frame_report

            return format_frame_report(self.frame)
        return format_table(self.text, self.identify)


def _is_frame_labels(path: Path) -> bool:
    """A labels file of marked summit positions (``photos:``) rather than queries/identify."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInput(f"Labels file {path} cannot be read: {exc}") from None
    return isinstance(raw, dict) and "photos" in raw


def rank_variant(searcher: Any, text: str, variant: Variant, k: int = 10) -> Any:
    """The first ``k`` photos for ``text`` with parts of the query vector switched off (the ablations): the
    evaluation builds the vector itself and runs the same ranking and fusion as ``search``."""
    if variant.use_ensemble and variant.anti_concept:
        return searcher.text(text, k=k, min_confidence=0.0)
    from peaklens.embed.prompts import text_query_vector

    match = searcher.query_names_peak(text.strip())
    plan, is_peak = searcher.query_plan(text.strip(), match)
    vector = text_query_vector(
        searcher.embedder,
        plan,
        is_peak=is_peak,
        anti_concept_weight=searcher.settings.anti_concept_weight if variant.anti_concept else 0.0,
        use_ensemble=variant.use_ensemble,
    )
    return searcher.photos_for(vector, match.name if match is not None else None, k=k, min_confidence=0.0)


def run_eval(searcher: Any, labels_path: Path, register: Any = None) -> EvalReport:
    """Score a labels file through ``Searcher.text`` (the same path, fusion included, that ``search`` runs)
    and ``Searcher.identify_vector``; bad labels (unknown peaks, no catalog, empty index) are errors, never
    silent zeros. ``register(photo, camera)`` gives the camera and heading correction identify would use (the
    photo registered against the terrain; the application layer passes its own), so "visual + geo prior" is
    scored as `identify` answers."""
    from peaklens.enrich import camera_of
    from peaklens.geo import PRIOR_FLOOR
    from peaklens.imaging import BadImage, open_photo

    store = searcher.store
    if not store.all_peaks():
        raise BadInput("The peaks catalog is empty: run `peaklens catalog build` before `peaklens eval`.")
    if _is_frame_labels(labels_path):
        from peaklens.dem import load_dem
        from peaklens.frame_eval import evaluate_frames, load_frame_labels

        peaks = store.all_peaks()
        marked = load_frame_labels(labels_path, peaks)
        frame = evaluate_frames(marked, peaks, dem=load_dem(Path(searcher.settings.data_dir)))
        return EvalReport([], {}, 0, frame)
    paths = [hit.path for hit in store.list_photos(limit=max(1, store.count_photos()))]
    labels = load_labels(labels_path, paths)
    if labels.queries and not paths:
        raise BadInput("The index is empty: run `peaklens index ALBUM` first.")
    names = searcher.names()
    for _photo, expected in labels.identify:
        for name in expected:
            if names.resolve(name) is None:
                raise BadInput(
                    f"Labels file {labels_path}: peak {name!r} is not in the catalog "
                    "(`peaklens catalog build --peaks FILE` builds another one)."
                )

    def rank(text: str, variant: Variant) -> list[str]:
        return [result.hit.path for result in rank_variant(searcher, text, variant)]

    if not labels.queries and not labels.identify:
        raise BadInput(f"Labels file {labels_path} has no queries and no identify entries: nothing to score.")
    text_scores = score_text(labels, rank) if labels.queries else []
    identify: dict[str, tuple[float, float]] = {}
    if labels.identify:
        visual, with_geo, geometry = [], [], []
        peaks = store.all_peaks()
        predictor = searcher.predictor(peaks)
        for photo, expected_names in labels.identify:
            expected = frozenset(names.resolve(n) or n for n in expected_names)
            try:
                loaded = open_photo(photo)
            except (BadImage, OSError) as exc:
                raise BadInput(f"Labels file {labels_path}: photo {photo} cannot be used: {exc}") from None
            vector = searcher.image_vector(loaded.image)
            visual.append((expected, [p.name for p in searcher.identify_vector(vector)]))
            camera = camera_of(loaded.meta, loaded.width, loaded.height)
            correction = None
            if camera is not None and register is not None:
                camera, correction = register(loaded, camera)
            ranked = searcher.identify_vector(vector, camera=camera, correction=correction)
            with_geo.append((expected, [p.name for p in ranked]))
            order: list[str] = []
            if camera is not None:
                views = predictor.views(camera, correction)
                priors = [PRIOR_FLOOR if v is None else v.prior for v in views]
                closeness = [float("inf") if v is None else v.distance_km for v in views]
                ranked = sorted(range(len(peaks)), key=lambda i: (-priors[i], closeness[i]))
                order = [peaks[i].name for i in ranked]
            geometry.append((expected, order))
        identify["visual"] = identification_accuracy(visual)
        identify[f"visual + geo prior (weight {searcher.settings.geo_weight})"] = identification_accuracy(
            with_geo
        )
        identify["geometry only (prior, then nearest)"] = identification_accuracy(geometry)
    return EvalReport(text_scores, identify, len(paths))
