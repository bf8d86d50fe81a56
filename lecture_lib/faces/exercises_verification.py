"""The verification exercises of 06_faces.ipynb: a face verifier's ROC and LFW's 10-fold protocol.

- ``my_verification_roc(distances, same)``: the ROC of the rule "same if distance <= t" over all
  thresholds (one point per distinct distance, ties accepted together) and the area under it by
  the trapezoid rule (about 12 lines).
- ``my_lfw_kfold(distances, same, folds)``: LFW's protocol: per fold, the threshold with the best
  accuracy on the *other* folds' pairs (midpoints between distinct distances, ties to the smallest)
  and the accuracy it gets on the held-out fold (about 15 lines).

The references are loops over Python numbers, independent of ``lecture_lib.metrics.verification``
(whose ``verification_auc``, ``verification_roc``, ``kfold_accuracy`` and ``best_threshold`` the
exercises refuse, with scikit-learn's ROC functions and the trapezoid rules of torch, numpy, scipy).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from lecture_lib.exercises import LOOSE, Case, Exercise

_TRAPEZOID = "numpy.trapezoid" if hasattr(np, "trapezoid") else "numpy.trapz"  # numpy >= 2 renamed it
ROC_FORBIDDEN = (
    "lecture_lib.metrics.verification_roc",
    "lecture_lib.metrics.verification.verification_roc",
    "lecture_lib.metrics.verification_auc",
    "lecture_lib.metrics.verification.verification_auc",
    "sklearn.metrics.roc_curve",
    "sklearn.metrics.roc_auc_score",
    "sklearn.metrics.auc",
    "sklearn.metrics.det_curve",
    "torch.trapezoid",
    "torch.trapz",
    "torch.cumulative_trapezoid",
    _TRAPEZOID,
    "scipy.integrate.trapezoid",
)
KFOLD_FORBIDDEN = (
    "lecture_lib.metrics.kfold_accuracy",
    "lecture_lib.metrics.verification.kfold_accuracy",
    "lecture_lib.metrics.best_threshold",
    "lecture_lib.metrics.verification.best_threshold",
    "sklearn.metrics.roc_curve",  # accuracy at every threshold: tar * P_same + (1 - far) * P_diff
    "sklearn.metrics.det_curve",
)


def verification_roc(distances: Tensor, same: Tensor) -> tuple[Tensor, Tensor, float]:
    """ROC of "same if distance <= t" and its area.

    Args:
        distances (Tensor[P] float): one distance per pair; same (Tensor[P] bool): the truth, with
            at least one same and one different pair.

    Returns:
        far (Tensor[U + 1] float64), tar (Tensor[U + 1] float64), auc (float): ``far[0] = tar[0] = 0``
        (a threshold below every distance), then one point per distinct distance t in increasing
        order: the fractions of different pairs (FAR) and of same pairs (TAR) with distance <= t;
        ``auc`` is the trapezoid area under (far, tar), so a tie between a same and a different
        pair counts 1/2 (sklearn's ``roc_curve(same, -d, drop_intermediate=False)``, ``roc_auc_score``).
    """
    pairs = sorted(zip(distances.tolist(), same.tolist()), key=lambda pair: pair[0])
    n_same = sum(1 for _, s in pairs if s)
    n_diff = len(pairs) - n_same
    far, tar = [0.0], [0.0]
    accepted_same = accepted_diff = 0
    for k, (dist, is_same) in enumerate(pairs):
        if is_same:
            accepted_same += 1
        else:
            accepted_diff += 1
        if k + 1 == len(pairs) or pairs[k + 1][0] != dist:  # the last pair at this distance
            far.append(accepted_diff / n_diff)
            tar.append(accepted_same / n_same)
    auc = 0.0
    for k in range(1, len(far)):
        auc += (far[k] - far[k - 1]) * (tar[k] + tar[k - 1]) / 2
    return torch.tensor(far, dtype=torch.float64), torch.tensor(tar, dtype=torch.float64), auc


def lfw_kfold(distances: Tensor, same: Tensor, folds: Tensor) -> tuple[Tensor, Tensor]:
    """LFW's k-fold protocol for "same if distance <= t".

    For each fold id k (in increasing order) the threshold is chosen on the pairs of the other
    folds: among the candidates (one below the smallest distinct distance, the midpoints between
    consecutive distinct distances, one above the largest: ``u[0] - 1``, ``(u[i] + u[i+1]) / 2``,
    ``u[-1] + 1``) the one with the best accuracy there, ties to the smallest; the fold's accuracy
    is that threshold's on its own pairs (``lecture_lib.metrics.kfold_accuracy``).

    Args:
        distances (Tensor[P] float), same (Tensor[P] bool), folds (Tensor[P] int, >= 2 distinct ids).

    Returns:
        accuracies (Tensor[K] float64), thresholds (Tensor[K] float64), K = the number of folds.
    """
    d = [float(v) for v in distances.tolist()]
    s = [bool(v) for v in same.tolist()]
    f = [int(v) for v in folds.tolist()]
    accuracies, thresholds = [], []
    for k in sorted(set(f)):
        train = [(di, si) for di, si, fi in zip(d, s, f) if fi != k]
        held = [(di, si) for di, si, fi in zip(d, s, f) if fi == k]
        u = sorted({di for di, _ in train})
        candidates = [u[0] - 1.0] + [(x + y) / 2 for x, y in zip(u, u[1:])] + [u[-1] + 1.0]
        best_t, best_correct = candidates[0], -1
        for t in candidates:
            correct = sum((di <= t) == si for di, si in train)
            if correct > best_correct:  # strictly better: a tie keeps the smaller threshold
                best_t, best_correct = t, correct
        accuracies.append(sum((di <= best_t) == si for di, si in held) / len(held))
        thresholds.append(best_t)
    return torch.tensor(accuracies, dtype=torch.float64), torch.tensor(thresholds, dtype=torch.float64)


# --- cases ---------------------------------------------------------------------------------------


def _pairs(g: torch.Generator, n_same: int, n_diff: int, gap: float = 1.0) -> tuple[Tensor, Tensor]:
    """Squared distances of unit embeddings, roughly: same pairs near 0.8, different near 0.8 + gap."""
    same = torch.cat([torch.ones(n_same, dtype=torch.bool), torch.zeros(n_diff, dtype=torch.bool)])
    d = (0.8 + gap * (~same).double() + 0.4 * torch.randn(len(same), generator=g, dtype=torch.float64)).abs()
    order = torch.randperm(len(same), generator=g)
    return d[order], same[order]


def _roc_cases() -> list[Case]:
    g = torch.Generator().manual_seed(5)
    hand = torch.tensor([0.2, 0.9, 0.4, 1.3, 0.7, 1.6, 0.5, 1.1], dtype=torch.float64)
    truth = torch.tensor([True, False, True, False, False, False, True, True])
    d, s = _pairs(g, 20, 20)
    dt, st = _pairs(g, 15, 25)
    return [
        Case((hand, truth), name="8 pairs, no ties"),
        Case((d, s), name="40 pairs"),
        Case((dt.mul(5).round().div(5), st), name="40 pairs, distances rounded to 0.2 (ties)"),
    ]


def _roc_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(71)
    d, s = _pairs(g, 150, 150, gap=0.5)
    mixed = torch.tensor([1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 0.5, 3.0], dtype=torch.float64)
    return [
        Case(
            (torch.full((6,), 0.7, dtype=torch.float64), torch.tensor([1, 0, 1, 0, 0, 1]).bool()),
            name="all distances equal: the diagonal, AUC 1/2",
        ),
        Case(
            (torch.tensor([0.1, 0.2, 0.9, 1.5]), torch.tensor([True, True, False, False])),
            name="perfectly separated: AUC 1",
        ),
        Case(
            (torch.tensor([0.1, 0.2, 0.9, 1.5]), torch.tensor([False, False, True, True])),
            name="perfectly reversed: AUC 0",
        ),
        Case((torch.tensor([0.3, 0.3]), torch.tensor([False, True])), name="one same, one different, tied"),
        Case(
            (mixed, torch.tensor([True, False, True, False, False, True, True, False])),
            name="tie groups holding both kinds of pairs",
        ),
        Case((d.float(), s), name="300 float32 distances"),
    ]


def _kfold_pairs(g: torch.Generator, n_folds: int, per_fold: int, gap: float = 1.0) -> tuple[Tensor, ...]:
    """``n_folds`` folds of ``per_fold`` pairs (half same), as LFW's pairs.txt: (distances, same, folds)."""
    pairs = [_pairs(g, per_fold // 2, per_fold - per_fold // 2, gap) for _ in range(n_folds)]
    folds = torch.arange(n_folds).repeat_interleave(per_fold)
    return torch.cat([d for d, _ in pairs]), torch.cat([s for _, s in pairs]), folds


def _kfold_cases() -> list[Case]:
    g = torch.Generator().manual_seed(6)
    d, s, f = _kfold_pairs(g, 4, 12)
    d10, s10, f10 = _kfold_pairs(g, 10, 20, gap=0.6)
    dr, sr, fr = _kfold_pairs(g, 5, 16, gap=0.5)
    return [
        Case((d, s, f), name="4 folds of 12 pairs"),
        Case((d10, s10, f10), name="LFW's layout in miniature: 10 folds of 10 same + 10 different"),
        Case((dr.mul(4).round().div(4), sr, fr), name="5 folds, distances rounded to 0.25 (ties)"),
    ]


def _kfold_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(72)
    d, s, f = _kfold_pairs(g, 3, 9, gap=0.4)
    shuffled = torch.randperm(len(d), generator=g)
    t = torch.tensor
    three = t([0, 0, 1, 1, 2, 2])  # three folds of two pairs
    return [
        Case(
            (t([0.2, 0.8, 0.4, 0.9]), t([True, False, True, False]), t([0, 0, 1, 1])),
            name="two folds of two pairs",
        ),
        Case(
            (t([1.0, 2.0, 1.0, 2.0, 1.5, 1.5]), t([True, False, True, False, True, True]), three),
            name="a held-out distance equal to the chosen midpoint (<=, not <)",
        ),
        Case(
            (t([1.0, 2.0, 3.0, 4.0, 3.0, 3.2]), t([True, False, True, False, True, True]), three),
            name="equally good thresholds on the training folds: the smallest",
        ),
        Case(
            (
                torch.full((8,), 0.5),
                t([True, True, False, True, False, True, True, False]),
                t([0, 1, 2, 3, 0, 1, 2, 3]),
            ),
            name="all distances equal",
        ),
        Case(
            (d[shuffled], s[shuffled], (f[shuffled] * 3 + 2)),
            name="fold ids 2, 5, 8 in shuffled order, 9 pairs each",
        ),
        Case(
            (
                t([0.1, 0.3, 0.2, 0.6, 0.4, 0.5, 0.35]),
                t([True, True, True, True, False, False, True]),
                t([1, 1, 0, 0, 0, 0, 1]),
            ),
            name="odd fold sizes, a fold of same pairs only",
        ),
    ]


ROC = Exercise(
    name="my_verification_roc",
    title="verification ROC and AUC",
    reference=verification_roc,
    cases=_roc_cases,
    hidden=_roc_hidden,
    forbidden=ROC_FORBIDDEN,
    compare=LOOSE,
    points=2,
)
KFOLD = Exercise(
    name="my_lfw_kfold",
    title="LFW's k-fold accuracy",
    reference=lfw_kfold,
    cases=_kfold_cases,
    hidden=_kfold_hidden,
    forbidden=KFOLD_FORBIDDEN,
    compare=LOOSE,
    points=2,
)
