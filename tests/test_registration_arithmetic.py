"""The hand-rolled arithmetic registration uses in place of numpy's general functions (for speed) gives their
values: the upper quartile is ``np.percentile(·, 75)``, the blur is the [1 2 1]/4 kernel with the border cell
counted twice, and a projected position lands in the pixel that holds it (NaN and the infinities clamped)."""

from __future__ import annotations

import numpy as np
import pytest

from peaklens.registration import _blur, _pixel, _upper_quartile


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_upper_quartile_is_numpys_75th_percentile(dtype: type) -> None:
    rng = np.random.default_rng(7)
    for size in range(1, 60):
        values = rng.random(size).astype(dtype) * 10
        assert _upper_quartile(values) == float(np.percentile(values, 75)), size
    # ties and a value the interpolation lands on exactly
    assert _upper_quartile(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == 4.0
    assert _upper_quartile(np.array([2.0, 2.0, 2.0, 9.0])) == 3.75


def test_one_blur_pass_spreads_a_point_as_the_121_kernel_and_keeps_its_mass() -> None:
    centre = np.zeros((5, 5))
    centre[2, 2] = 1.0
    kernel = np.array([1, 2, 1]) / 4
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = np.outer(kernel, kernel)
    assert np.array_equal(_blur(centre, 1), expected)
    # at a corner the cell beyond the border is the border cell itself: 3/4 stays, 1/4 moves in
    corner = np.zeros((4, 3))
    corner[0, 0] = 1.0
    blurred = _blur(corner, 1)
    assert blurred[0, 0] == 0.75 * 0.75 and blurred[0, 1] == blurred[1, 0] == 0.75 * 0.25
    assert blurred[1, 1] == 0.25 * 0.25 and blurred.sum() == pytest.approx(1.0)
    # two passes are one pass applied twice; the input is left alone
    assert np.allclose(_blur(centre, 2), _blur(_blur(centre, 1), 1))
    assert centre.sum() == 1.0 and centre[2, 2] == 1.0


def test_a_blur_leaves_an_axis_shorter_than_its_kernel_unblurred() -> None:
    row = np.array([[0.0, 4.0, 0.0, 0.0]])
    assert np.array_equal(_blur(row, 1), np.array([[1.0, 2.0, 1.0, 0.0]]))
    pair = np.array([[1.0, 5.0], [3.0, 7.0]])
    out = _blur(pair, 1)
    assert np.array_equal(out, pair) and out is not pair


def test_a_position_lands_in_the_pixel_that_holds_it() -> None:
    # pixel i spans [i, i + 1): 0.4 and 0.9 are in pixel 0, 2.7 in pixel 2, the far end in the last pixel
    positions = np.array([np.nan, -np.inf, np.inf, -3.0, 0.4, 0.9, 2.7, 4.9, 99.0])
    assert _pixel(positions.copy(), 5).tolist() == [0, 0, 4, 0, 0, 0, 2, 4, 4]
