"""metrics.bootstrap_ratio: a speed-up (ratio of median run times) with an unpaired bootstrap interval."""

import numpy as np
import pytest

from lecture_lib.metrics import bootstrap_ratio


def test_point_is_the_ratio_of_medians_and_n_says_what_was_timed():
    slow, fast = [10.0, 12.0, 11.0, 30.0, 9.0], [1.0, 2.0, 1.0, 1.5, 1.2]
    est = bootstrap_ratio(slow, fast, per=4)
    assert est.point == pytest.approx(11.0 / 1.2)
    assert est.low <= est.point <= est.high
    assert est.n == "5 + 5 timed runs of 4 images"
    assert est.unit == "x"


def test_interval_lies_between_the_extreme_ratios_and_shrinks_with_steady_runs():
    rng = np.random.default_rng(1)
    slow, fast = 10 + rng.random(7), 1 + 0.1 * rng.random(6)  # unequal numbers of runs are fine
    est = bootstrap_ratio(slow, fast)
    assert slow.min() / fast.max() <= est.low and est.high <= slow.max() / fast.min()
    steady = bootstrap_ratio(np.full(7, 10.0), np.full(6, 1.0))
    assert (steady.low, steady.point, steady.high) == (10.0, 10.0, 10.0)
    noisy = bootstrap_ratio(10 + 5 * rng.random(7), 1 + 0.5 * rng.random(6))
    assert noisy.high - noisy.low > est.high - est.low


def test_resamples_each_method_independently():
    # paired by run index, runs 0..4 would always cancel; drawn apart, the ratio varies
    slow = np.array([1.0, 2.0, 3.0, 4.0, 5.0]) * 10
    est = bootstrap_ratio(slow, slow / 10)
    assert est.point == pytest.approx(10.0)
    assert est.low < 10.0 < est.high


@pytest.mark.parametrize(
    ("slow", "fast", "kw", "message"),
    [
        ([1.0, 2.0], [0.0, 1.0], {}, "positive"),
        ([[1.0, 2.0], [1.0, 2.0]], [1.0], {}, "1-D"),
        ([1.0, np.nan], [1.0], {}, "NaN"),
        ([], [1.0], {}, "at least one"),
        ([1.0], [1.0], {"per": 0}, "per must be"),
        ([1.0], [1.0], {"n_resamples": 10}, "n_resamples"),
    ],
)
def test_bad_input(slow, fast, kw, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_ratio(slow, fast, **kw)
