"""Face verification metrics: is this pair the same person? (06_faces, 07_embeddings)

A verifier gives each pair a *distance* (smaller = more alike) and says "same" when the distance
is at most a threshold. Over all thresholds this traces a ROC curve:

- ``verification_roc(distances, same)``: false accept rate (FAR, different pairs called same)
  vs true accept rate (TAR, same pairs called same), through ``sklearn.metrics.roc_curve``;
- ``verification_auc``: the area under it (``sklearn.metrics.roc_auc_score``);
- ``kfold_accuracy``: LFW's protocol: the pairs come in 10 folds; for each fold the threshold is
  chosen on the other nine (best accuracy there) and the accuracy measured on the held-out fold;
  reported as mean ± standard error over folds (σ/√k, as the LFW results page);
  ``kfold_pair_correct`` gives each pair's correctness at its fold's threshold (for a bootstrap);
- ``tar_at_far``: the TAR at the loosest threshold whose FAR stays at or below a target
  (e.g. TAR@FAR=1e-3, FaceNet's "validation rate at a false accept rate").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

__all__ = [
    "KFoldResult",
    "best_threshold",
    "kfold_accuracy",
    "kfold_pair_correct",
    "tar_at_far",
    "verification_auc",
    "verification_roc",
]


def _as_arrays(distances, same) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(distances.detach().cpu() if hasattr(distances, "detach") else distances, dtype=np.float64)
    s = np.asarray(same.detach().cpu() if hasattr(same, "detach") else same)
    if d.ndim != 1 or s.ndim != 1 or d.shape != s.shape:
        raise ValueError(
            f"distances and same must be 1-D of the same length (P,), got shapes {d.shape} and {s.shape}"
        )
    if d.size == 0:
        raise ValueError("got 0 pairs")
    if not np.isin(s, (0, 1)).all():
        raise ValueError(f"same must hold booleans (or 0/1), got values {np.unique(s)[:5].tolist()}")
    if not np.isfinite(d).all():
        raise ValueError("distances contain NaN or inf")
    return d, s.astype(bool)


def _need_both(s: np.ndarray) -> None:
    if s.all() or not s.any():
        raise ValueError(f"need both same and different pairs, got {int(s.sum())} same of {s.size}")


def verification_roc(distances, same) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC of the rule "same if distance <= t" over all thresholds t.

    Args:
        distances (array[P]): one distance per pair; same (array[P] bool): ground truth.

    Returns:
        far, tar, thresholds (arrays, FAR increasing): at ``thresholds[k]`` the rule accepts a
        fraction ``tar[k]`` of same pairs and ``far[k]`` of different pairs (sklearn's
        ``roc_curve`` on the score −distance; its first threshold, +inf in score, is −inf here).
    """
    d, s = _as_arrays(distances, same)
    _need_both(s)
    far, tar, score_thresholds = roc_curve(s, -d)
    return far, tar, -score_thresholds


def verification_auc(distances, same) -> float:
    """Area under the verification ROC (``sklearn.metrics.roc_auc_score`` on −distance): the
    probability that a random same pair is closer than a random different pair (ties count 1/2)."""
    d, s = _as_arrays(distances, same)
    _need_both(s)
    return float(roc_auc_score(s, -d))


def _accuracy_at(d: np.ndarray, s: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Accuracy of "same if d <= t" for every t in ``thresholds`` (array[T])."""
    order = np.argsort(d, kind="stable")
    d_sorted, s_sorted = d[order], s[order]
    accepted = np.searchsorted(d_sorted, thresholds, side="right")  # pairs with d <= t
    same_cum = np.concatenate([[0], np.cumsum(s_sorted)])
    true_accepts = same_cum[accepted]
    true_rejects = (~s).sum() - (accepted - true_accepts)
    return (true_accepts + true_rejects) / d.size


def best_threshold(distances, same) -> tuple[float, float]:
    """The threshold with the best accuracy of "same if distance <= t" on these pairs.

    Candidates are midpoints between consecutive sorted distances (and one below / above all);
    ties go to the smallest threshold. Returns ``(threshold, accuracy)``.
    """
    d, s = _as_arrays(distances, same)
    u = np.unique(d)
    candidates = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])
    acc = _accuracy_at(d, s, candidates)
    k = int(np.argmax(acc))
    return float(candidates[k]), float(acc[k])


@dataclass(frozen=True)
class KFoldResult:
    """``mean`` accuracy over folds, ``std_error`` (σ/√k, σ with ddof=1 as the LFW page), the
    per-fold ``fold_accuracy`` and ``thresholds`` (each chosen on the other folds)."""

    mean: float
    std_error: float
    fold_accuracy: tuple[float, ...]
    thresholds: tuple[float, ...]

    def __str__(self) -> str:
        return f"{100 * self.mean:.2f}% ± {100 * self.std_error:.2f}"


def kfold_accuracy(distances, same, folds) -> KFoldResult:
    """LFW's 10-fold protocol: for each fold, pick the threshold on the other folds (best accuracy
    there) and measure accuracy on this fold.

    Args:
        distances (array[P]), same (array[P] bool): the pairs.
        folds (array[P] int): fold id of each pair (LFW: 10 folds of 600 pairs).

    Returns:
        KFoldResult (mean, std_error, per-fold accuracies and thresholds).
    """
    d, s = _as_arrays(distances, same)
    f = np.asarray(folds.detach().cpu() if hasattr(folds, "detach") else folds)
    if f.shape != d.shape:
        raise ValueError(f"folds must have one entry per pair, shape {d.shape}, got {f.shape}")
    ids = np.unique(f)
    if ids.size < 2:
        raise ValueError(f"need at least 2 folds, got {ids.size}")
    accs, ths = [], []
    for k in ids:
        held = f == k
        t, _ = best_threshold(d[~held], s[~held])
        accs.append(float(((d[held] <= t) == s[held]).mean()))
        ths.append(t)
    a = np.array(accs)
    return KFoldResult(float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size)), tuple(accs), tuple(ths))


def kfold_pair_correct(distances, same, folds) -> np.ndarray:
    """Per-pair correctness under LFW's protocol, for a bootstrap over test pairs.

    Pair ``p`` of fold ``k`` is judged at the threshold ``kfold_accuracy`` chose on the *other*
    folds; with equal folds (LFW: 600 pairs each) the mean is ``kfold_accuracy(...).mean``. Two
    verifiers' arrays on the same pairs pair up for ``metrics.paired_bootstrap``.

    Args:
        distances (array[P]), same (array[P] bool), folds (array[P] int): as in ``kfold_accuracy``.

    Returns:
        array[P] float64: 1.0 where "same if distance <= t" is right, else 0.0.
    """
    result = kfold_accuracy(distances, same, folds)
    d, s = _as_arrays(distances, same)
    f = np.asarray(folds.detach().cpu() if hasattr(folds, "detach") else folds)
    t = np.asarray(result.thresholds)[np.searchsorted(np.unique(f), f)]  # each pair's fold threshold
    return ((d <= t) == s).astype(np.float64)


def tar_at_far(distances, same, far: float = 1e-3) -> tuple[float, float]:
    """True accept rate at the loosest threshold whose false accept rate is <= ``far``.

    Returns ``(tar, threshold)``. With P_diff different pairs, FARs below 1/P_diff can only be 0.
    """
    if not isinstance(far, (int, float)) or isinstance(far, bool) or not 0.0 <= far <= 1.0:
        raise ValueError(f"far must be a number in [0, 1], got {far!r}")
    d, s = _as_arrays(distances, same)
    _need_both(s)
    fars, tars, score_thresholds = roc_curve(s, -d, drop_intermediate=False)
    thresholds = -score_thresholds
    k = int(np.nonzero(fars <= far)[0].max())  # fars start at 0, so k exists
    return float(tars[k]), float(thresholds[k])
