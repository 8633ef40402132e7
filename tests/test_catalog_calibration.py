"""Reference photos must not make their peaks win everywhere (issue 18, item 13): a blended prototype is
calibrated against the album onto its text prototype's scale. The numbers are checked by hand, the effect
through the real CLI on real trek photos and the real reference folder."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from peaklens.catalog import MIN_CALIBRATION_PHOTOS, calibrate_prototypes, is_blended
from peaklens.enrich import PeakPredictor
from peaklens.records import PeakDoc
from tests.cli_support import (
    env,  # noqa: F401  (the fixture: a full environment for the CLI)
    ok,
    run,
)
from tests.conftest import SHARED, copy_trek_photos

REFS = SHARED / "trek" / "refs"
REF_PEAKS = {"Ama Dablam", "Pumori", "Mount Everest"}


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_a_blended_prototype_gets_its_text_prototypes_mean_and_spread() -> None:
    rng = np.random.default_rng(3)
    album = rng.normal(size=(40, 3)).astype(np.float32) + np.array([3.0, 0.0, 0.0], dtype=np.float32)
    album /= np.linalg.norm(album, axis=1, keepdims=True)  # photos crowd around one direction, as SigLIP's do
    text = _unit(0.1, 1.0, 0.2)
    blended = _unit(0.9, 0.4, 0.1)  # leans towards the photos: scores every photo high
    peaks = [
        PeakDoc("seen", ["Seen"], blended, text_vector=text),
        PeakDoc("named", ["Named"], _unit(0.0, 0.3, 1.0), text_vector=_unit(0.0, 0.3, 1.0)),
    ]
    calibration = calibrate_prototypes(peaks, album)
    assert set(calibration) == {"seen"} and is_blended(peaks[0]) and not is_blended(peaks[1])
    scale, shift = calibration["seen"]
    calibrated = scale * (album @ blended) + shift
    assert calibrated.mean() == pytest.approx((album @ text).mean(), abs=1e-5)
    assert calibrated.std() == pytest.approx((album @ text).std(), abs=1e-5)
    assert list(np.argsort(calibrated)) == list(np.argsort(album @ blended))  # the references' order is kept
    scores = PeakPredictor(peaks, 2, calibration=calibration).cosines(album)
    assert np.allclose(scores[:, 0], calibrated, atol=1e-5)
    assert np.allclose(scores[:, 1], album @ peaks[1].vector, atol=1e-6)  # text-only: untouched
    assert calibrate_prototypes(peaks, album[: MIN_CALIBRATION_PHOTOS - 1]) == {}


def _predicted(env: dict[str, str]) -> list[list[str]]:
    hits = json.loads(ok(run(env, "search", "mountain", "--k", "200", "--json")).stdout)
    return [h["predicted_peaks"] for h in hits]


def _not_everywhere(predicted: list[list[str]]) -> None:
    """The three peaks with references are not every photo's prediction, and other peaks still win."""
    assert len(predicted) >= 30
    all_three = sum(set(p) == REF_PEAKS for p in predicted)
    assert all_three <= len(predicted) // 2, (all_three, len(predicted))
    best = Counter(p[0] for p in predicted)
    assert sum(n for name, n in best.items() if name not in REF_PEAKS) >= len(predicted) // 5, best


def test_reference_photos_do_not_take_every_photo(tmp_path: Path, env: dict[str, str]) -> None:
    album = copy_trek_photos(tmp_path / "album", 40)
    # index first, then the catalog with references (the order): calibrated at once
    ok(run(env, "index", str(album), "--no-progress"))
    built = ok(run(env, "catalog", "build", "--refs", str(REFS)))
    assert re.search(
        r"Calibrated the 3 peak\(s\) with reference photos against 40 of your photos", built.stderr
    )
    _not_everywhere(_predicted(env))

    # the catalog with references first, on an empty store: calibrated at the end of the first index
    other = {**env, "PEAKLENS_DATA_DIR": str(tmp_path / "second-store")}
    first = ok(run(other, "catalog", "build", "--refs", str(REFS)))
    assert f"calibrated once the album holds {MIN_CALIBRATION_PHOTOS} photos" in first.stderr
    indexed = ok(run(other, "index", str(album), "--no-progress"))
    assert "Calibrated the 3 peak(s)" in indexed.stderr
    _not_everywhere(_predicted(other))
