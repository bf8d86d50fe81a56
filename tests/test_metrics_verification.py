"""metrics.verification against scikit-learn and brute-force loops."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from lecture_lib.metrics import best_threshold, kfold_accuracy, tar_at_far, verification_auc, verification_roc


def _pairs(seed, n=400, folds=10):
    rng = np.random.default_rng(seed)
    same = rng.random(n) < 0.5
    d = rng.normal(np.where(same, 0.6, 1.2), 0.35)
    return d, same, np.repeat(np.arange(folds), n // folds)


@pytest.mark.parametrize("seed", range(4))
def test_auc_and_roc_match_sklearn(seed):
    d, s, _ = _pairs(seed)
    assert verification_auc(d, s) == pytest.approx(roc_auc_score(s, -d))
    far, tar, th = verification_roc(torch.tensor(d), torch.tensor(s))
    f2, t2, th2 = roc_curve(s, -d)
    np.testing.assert_allclose(far, f2)
    np.testing.assert_allclose(tar, t2)
    np.testing.assert_allclose(th, -th2)


def test_auc_is_probability_same_closer_than_different():
    d, s, _ = _pairs(7, n=120)
    ds, dd = d[s], d[~s]
    prob = np.mean([(a < b) + 0.5 * (a == b) for a in ds for b in dd])
    assert verification_auc(d, s) == pytest.approx(prob)


def _acc(d, s, t):
    return np.mean((d <= t) == s)


def test_best_threshold_beats_every_observed_threshold():
    d, s, _ = _pairs(1)
    t, acc = best_threshold(d, s)
    assert acc == pytest.approx(_acc(d, s, t))
    assert acc >= max(_acc(d, s, x) for x in np.concatenate([d, [d.min() - 1]])) - 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_kfold_matches_loop(seed):
    d, s, f = _pairs(seed)
    res = kfold_accuracy(d, s, f)
    accs = []
    for k in range(10):
        tr = f != k
        # brute force: the best accuracy over every candidate threshold on the nine other folds
        cands = np.sort(d[tr])
        best = max(_acc(d[tr], s[tr], x) for x in np.concatenate([cands, [cands[0] - 1]]))
        t = res.thresholds[k]
        assert _acc(d[tr], s[tr], t) == pytest.approx(best)
        accs.append(_acc(d[f == k], s[f == k], t))
    assert res.fold_accuracy == pytest.approx(tuple(accs))
    assert res.mean == pytest.approx(np.mean(accs))
    assert res.std_error == pytest.approx(np.std(accs, ddof=1) / np.sqrt(10))


def test_tar_at_far_loop():
    d, s, _ = _pairs(3, n=1000)
    for far in (0.0, 0.01, 0.1, 0.5):
        tar, t = tar_at_far(d, s, far)
        assert np.mean(d[~s] <= t) <= far
        # brute force: the best TAR over thresholds with FAR <= far
        best = max(np.mean(d[s] <= x) for x in np.concatenate([d, [-np.inf]]) if np.mean(d[~s] <= x) <= far)
        assert tar == pytest.approx(best)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: verification_auc(np.zeros(3), np.zeros(4, bool)), r"same length.*\(3,\).*\(4,\)"),
        (lambda: verification_auc(np.zeros(3), np.ones(3, bool)), r"both same and different.*3 same of 3"),
        (lambda: verification_auc(np.zeros(3), np.array([0, 2, 1])), r"booleans.*\[0, 1, 2\]"),
        (
            lambda: kfold_accuracy(np.zeros(4), np.array([0, 1, 0, 1]), np.zeros(3)),
            r"one entry per pair.*\(4,\).*\(3,\)",
        ),
        (
            lambda: kfold_accuracy(np.zeros(4), np.array([0, 1, 0, 1]), np.zeros(4)),
            r"at least 2 folds, got 1",
        ),
        (lambda: tar_at_far(np.zeros(4), np.array([0, 1, 0, 1]), far=1.5), r"far.*\[0, 1\], got 1.5"),
        (lambda: verification_roc(np.array([0.1, np.nan]), np.array([0, 1])), r"NaN"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_kfold_pair_correct_judges_each_pair_at_its_folds_threshold():
    from lecture_lib.metrics import kfold_pair_correct

    rng = np.random.default_rng(3)
    same = rng.random(60) < 0.5
    d = rng.normal(size=60) + np.where(same, 0.0, 1.5)
    folds = np.repeat([7, 2, 5], 20)  # equal folds, ids not 0..K-1 nor sorted
    correct = kfold_pair_correct(d, same, folds)
    res = kfold_accuracy(d, same, folds)
    assert correct.dtype == np.float64 and correct.shape == (60,)
    assert correct.mean() == pytest.approx(res.mean)
    for k, t in zip(sorted({7, 2, 5}), res.thresholds):
        held = folds == k
        assert np.array_equal(correct[held], ((d[held] <= t) == same[held]).astype(float))
    with pytest.raises(ValueError, match="folds"):
        kfold_pair_correct(d, same, folds[:-1])
