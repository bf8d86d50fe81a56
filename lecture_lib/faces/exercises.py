"""The exercises of 06_faces.ipynb: references, visible and hidden cases, refused shortcuts.

- ``my_triplet_loss_backward(a, p, n, margin)``: FaceNet's triplet loss AND its gradients with
  respect to the three embedding batches, written out without autograd (about 8 lines). The
  notebook shows the loss itself inline (section 2); the exercise is the backward pass.
- ``my_semi_hard(emb, labels, margin)``: every semi-hard triplet of a batch (FaceNet Eq. 4), as a
  list of index triples (about 10 lines).
- ``my_verification_roc(distances, same)``: the ROC of "same if distance <= t" (one point per
  distinct distance, ties together) and its trapezoid AUC (about 12 lines;
  ``exercises_verification.py``).
- ``my_lfw_kfold(distances, same, folds)``: LFW's k-fold protocol, each fold's threshold chosen on
  the other folds' pairs; per-fold accuracies and thresholds (about 15 lines;
  ``exercises_verification.py``).

The references are loops over Python numbers, independent of ``lecture_lib.faces.triplets`` and
``lecture_lib.metrics.verification``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lecture_lib.exercises import AUTOGRAD, LOOSE, Case, Exercise, Exercises
from lecture_lib.faces.exercises_verification import KFOLD, ROC

TRIPLET_LOSSES = (
    "lecture_lib.faces.triplet_loss",
    "lecture_lib.faces.triplets.triplet_loss",
    "torch.nn.functional.triplet_margin_loss",
    "torch.triplet_margin_loss",
    "torch.nn.TripletMarginLoss",
    "torch.nn.functional.triplet_margin_with_distance_loss",
    "torch.nn.TripletMarginWithDistanceLoss",
    "pytorch_metric_learning.losses.TripletMarginLoss",
)


def triplet_loss_backward(
    a: Tensor, p: Tensor, n: Tensor, margin: float = 0.2
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Loss ``mean_b max(0, |a_b - p_b|^2 - |a_b - n_b|^2 + margin)`` (a 0-d tensor) and its gradients
    ``(loss, grad_a [B, D], grad_p [B, D], grad_n [B, D])``; an inactive triplet (hinge <= 0) gets
    zero gradient."""
    B = len(a)
    A, P, N = a.tolist(), p.tolist(), n.tolist()
    total, ga, gp, gn = 0.0, [], [], []
    for b in range(B):
        d_ap = sum((x - y) ** 2 for x, y in zip(A[b], P[b]))
        d_an = sum((x - y) ** 2 for x, y in zip(A[b], N[b]))
        active = d_ap - d_an + margin > 0
        total += d_ap - d_an + margin if active else 0.0
        k = 2.0 / B if active else 0.0
        ga.append([k * (z - y) for y, z in zip(P[b], N[b])])  # d/da: 2(a - p) - 2(a - n) = 2(n - p)
        gp.append([-k * (x - y) for x, y in zip(A[b], P[b])])
        gn.append([k * (x - z) for x, z in zip(A[b], N[b])])
    dtype = a.dtype
    shape = tuple(a.shape)
    return (
        torch.tensor(total / B, dtype=dtype),
        torch.tensor(ga, dtype=dtype).reshape(shape),
        torch.tensor(gp, dtype=dtype).reshape(shape),
        torch.tensor(gn, dtype=dtype).reshape(shape),
    )


def _unit(g: torch.Generator, *shape: int) -> Tensor:
    return F.normalize(torch.randn(*shape, generator=g), dim=-1)


def _loss_case(g: torch.Generator, b: int, d: int, margin: float, name: str) -> Case:
    return Case((_unit(g, b, d), _unit(g, b, d), _unit(g, b, d), margin), name=name)


def _loss_cases() -> list[Case]:
    g = torch.Generator().manual_seed(3)
    return [_loss_case(g, b, 8, m, f"batch of {b}, margin {m}") for b, m in [(6, 0.2), (10, 0.5), (16, 0.2)]]


def _loss_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(61)
    a = _unit(g, 4, 5)
    return [
        Case((a, a.clone(), -a, 0.2), name="all triplets satisfied: zero loss, zero gradient"),
        Case((a, -a, a.clone(), 0.2), name="all triplets violated"),
        Case((a, a.clone(), a.clone(), 0.0), name="margin 0, hinge exactly 0: inactive"),
        _loss_case(g, 1, 3, 0.2, "one triplet"),
        _loss_case(g, 32, 16, 1.0, "32 triplets, margin 1"),
        _loss_case(g, 9, 128, 0.2, "FaceNet's 128-d embeddings"),
    ]


def semi_hard(emb: Tensor, labels: Tensor, margin: float = 0.2) -> list[tuple[int, int, int]]:
    """The sorted list of all ``(a, p, n)`` with ``a != p``, ``labels[a] == labels[p] != labels[n]`` and
    ``d(a, p) < d(a, n) < d(a, p) + margin`` (``d``: squared L2 distance)."""
    e, y = emb.tolist(), labels.tolist()

    def d(i: int, j: int) -> float:
        return sum((s - t) ** 2 for s, t in zip(e[i], e[j]))

    r = range(len(y))
    return [
        (a, p, n)
        for a in r
        for p in r
        for n in r
        if a != p and y[a] == y[p] != y[n] and d(a, p) < d(a, n) < d(a, p) + margin
    ]


def compare_triplets(got: object, expected: list[tuple[int, int, int]]) -> str | None:
    """``None`` if ``got`` holds exactly the expected ``(a, p, n)`` triples (any order, no repeats)."""
    if not isinstance(got, (list, tuple, set)):
        return f"expected a list of (a, p, n) triples, got {type(got).__name__}"
    triples = []
    for t in got:
        if not isinstance(t, (list, tuple)) or len(t) != 3 or not all(type(i) is int for i in t):
            return f"every item must be a triple of ints (a, p, n), got {t!r}"
        triples.append(tuple(t))
    if len(set(triples)) != len(triples):
        return "some triples appear twice"
    missing, extra = sorted(set(expected) - set(triples)), sorted(set(triples) - set(expected))
    if missing or extra:
        return (
            f"{len(missing)} semi-hard triples missing (e.g. {missing[:3]}), "
            f"{len(extra)} wrong ones (e.g. {extra[:3]})"
        )
    return None


def _mine_case(g: torch.Generator, n: int, people: int, margin: float, name: str, d: int = 4) -> Case:
    return Case((_unit(g, n, d), torch.randint(people, (n,), generator=g), margin), name=name)


def _mine_cases() -> list[Case]:
    g = torch.Generator().manual_seed(3)
    return [
        _mine_case(g, n, people, m, f"{n} faces, {people} people, margin {m}")
        for n, people, m in [(6, 3, 0.2), (10, 3, 0.5), (16, 4, 0.2)]
    ]


def _mine_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(62)
    line = torch.tensor([[0.0], [1.0], [1.5], [3.0]])  # d(0,1) = 1, d(0,2) = 2.25, d(0,3) = 9
    return [
        Case((torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64), 0.2), name="empty batch"),
        Case((_unit(g, 5, 4), torch.zeros(5, dtype=torch.int64), 0.2), name="one person: no negatives"),
        Case((_unit(g, 5, 4), torch.arange(5), 0.2), name="everyone different: no positives"),
        Case((line, torch.tensor([0, 0, 1, 1]), 1.5), name="hand example on a line"),
        Case((line, torch.tensor([0, 0, 1, 1]), 1.25), name="d(a, n) - d(a, p) == margin: not semi-hard"),
        _mine_case(g, 24, 6, 0.3, "24 faces, 6 people (P x K batch size)", d=8),
        _mine_case(g, 12, 2, 2.0, "a margin so large every farther negative counts"),
    ]


EXERCISES = Exercises(
    "06_faces",
    [
        Exercise(
            name="my_triplet_loss_backward",
            title="triplet loss and its gradients",
            reference=triplet_loss_backward,
            cases=_loss_cases,
            hidden=_loss_hidden,
            forbidden=(*TRIPLET_LOSSES, *AUTOGRAD),
            compare=LOOSE,
            points=2,
        ),
        Exercise(
            name="my_semi_hard",
            title="semi-hard mining",
            reference=semi_hard,
            cases=_mine_cases,
            hidden=_mine_hidden,
            compare=compare_triplets,
            forbidden=(
                "lecture_lib.faces.mine_triplets",
                "lecture_lib.faces.triplets.mine_triplets",
                "pytorch_metric_learning.miners.TripletMarginMiner",
                "pytorch_metric_learning.miners.BatchHardMiner",
                "pytorch_metric_learning.miners.BatchEasyHardMiner",
                "pytorch_metric_learning.utils.loss_and_miner_utils.get_all_triplets_indices",
            ),
            points=2,
        ),
        ROC,
        KFOLD,
    ],
)
