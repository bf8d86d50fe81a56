"""The exercises of 03b_fast_rcnn.ipynb (``EXERCISES_03B``): RoI max pooling and Fast R-CNN's
multi-task loss, with references as plain loops, visible and hidden cases and refused shortcuts."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.exercises import LOOSE, Case, Exercise, Exercises

# ----------------------------------------------------------------------------------------------
# 03b: RoI max pooling


def roi_max_pool(fmap: Tensor, box: tuple[int, int, int, int], output_size: tuple[int, int]) -> Tensor:
    """RoI max pooling of one channel ``fmap [H, W]`` over the inclusive box ``(x1, y1, x2, y2)``:
    ``[oh, ow]``, bin ``i`` covers rows ``y1 + floor(i h / oh)`` to ``y1 + ceil((i + 1) h / oh)``."""
    x1, y1, x2, y2 = box
    h, w = y2 - y1 + 1, x2 - x1 + 1
    oh, ow = output_size
    values = fmap.tolist()
    out = torch.zeros(oh, ow, dtype=fmap.dtype)
    for i in range(oh):
        for j in range(ow):
            rows = range(y1 + math.floor(i * h / oh), y1 + math.ceil((i + 1) * h / oh))
            cols = range(x1 + math.floor(j * w / ow), x1 + math.ceil((j + 1) * w / ow))
            out[i, j] = max(values[r][c] for r in rows for c in cols)
    return out


def _roi_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    ramp = torch.arange(64, dtype=torch.float32).reshape(8, 8)
    rand_map = torch.rand(10, 12, generator=g)
    return [
        Case((ramp, (2, 1, 6, 7), (2, 2)), name="the 8x8 ramp, box (2, 1, 6, 7) -> 2x2"),
        Case((rand_map, (0, 0, 11, 9), (4, 4)), name="whole map -> 4x4"),
        Case((rand_map, (3, 2, 8, 4), (2, 3)), name="box (3, 2, 8, 4) -> 2x3"),
        Case((rand_map, (5, 5, 5, 5), (2, 2)), name="a one-cell box -> 2x2 (bins repeat)"),
    ]


def _roi_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(34)
    m = torch.randn(13, 9, generator=g)
    return [
        Case((m, (0, 0, 8, 12), (7, 7)), name="whole map -> 7x7 (uneven bins)"),
        Case((m, (1, 2, 7, 3), (4, 1)), name="a wide, flat box -> 4x1 (more bins than rows)"),
        Case((m, (4, 0, 4, 12), (3, 3)), name="one column -> 3x3"),
        Case((m, (2, 3, 6, 11), (1, 1)), name="-> 1x1 (global max)"),
        Case((-torch.rand(6, 6, generator=g), (1, 1, 4, 4), (2, 2)), name="negative values only"),
        Case((torch.zeros(5, 5), (0, 0, 4, 4), (3, 2)), name="all equal"),
    ]


def fast_rcnn_loss(
    logits: Tensor, deltas: Tensor, labels: Tensor, reg_targets: Tensor
) -> tuple[Tensor, Tensor]:
    """Fast R-CNN's multi-task loss, one RoI at a time: ``(loss_cls, loss_box)`` (0-d tensors).

    ``loss_cls``: mean over the ``K`` RoIs of the cross-entropy of ``logits [K, C]`` with
    ``labels [K]``; ``loss_box``: smooth-L1 (``beta = 1/9``) between the deltas of each foreground
    RoI's own class (``deltas [K, C, 4]``) and its target (``reg_targets [P, 4]``, foreground RoIs
    in order), summed and divided by ``K``.
    """
    beta = 1 / 9
    K = len(labels)
    cls, box, fg = 0.0, 0.0, 0
    for k, (row, y) in enumerate(zip(logits.tolist(), labels.tolist())):
        top = max(row)
        cls += top + math.log(sum(math.exp(v - top) for v in row)) - row[y]
        if y > 0:
            for d, t in zip(deltas[k, y].tolist(), reg_targets[fg].tolist()):
                e = abs(d - t)
                box += 0.5 * e * e / beta if e < beta else e - 0.5 * beta
            fg += 1
    return torch.tensor(cls / K, dtype=logits.dtype), torch.tensor(box / K, dtype=logits.dtype)


def _loss_case(g: torch.Generator, k: int, c: int, fg_share: float, name: str, scale: float = 1.0) -> Case:
    labels = torch.randint(1, c, (k,), generator=g) * (torch.rand(k, generator=g) < fg_share)
    logits = torch.randn(k, c, generator=g) * scale
    deltas = torch.randn(k, c, 4, generator=g) * 0.3
    targets = torch.randn(int((labels > 0).sum()), 4, generator=g) * 0.3
    return Case((logits, deltas, labels, targets), name=name)


def _loss_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    return [
        _loss_case(g, 8, 6, 0.25, "8 RoIs, 6 classes, a quarter foreground"),
        _loss_case(g, 16, 3, 0.5, "16 RoIs, half foreground"),
        Case(
            (
                torch.zeros(2, 3),
                torch.zeros(2, 3, 4),
                torch.tensor([0, 2]),
                torch.tensor([[0.05, -0.5, 0.0, 2.0]]),
            ),
            name="by hand: uniform logits, errors on both sides of beta",
        ),
    ]


def _loss_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(35)
    return [
        _loss_case(g, 10, 4, 0.0, "only background: box loss 0"),
        _loss_case(g, 10, 4, 1.1, "only foreground"),
        _loss_case(g, 1, 2, 1.1, "one RoI"),
        _loss_case(g, 64, 21, 0.25, "64 RoIs, 21 classes (PASCAL VOC), as the paper's mini-batch"),
        _loss_case(g, 12, 5, 0.5, "large logits (numerically stable?)", scale=60.0),
    ]


EXERCISES_03B = Exercises(
    "03b_fast_rcnn",
    [
        Exercise(
            name="roi_max_pool",
            title="RoI max pooling",
            reference=roi_max_pool,
            cases=_roi_cases,
            hidden=_roi_hidden,
            forbidden=(
                "lecture_lib.boxes.roi_pool",
                "torchvision.ops.roi_pool",
                "torchvision.ops.roi_pool.roi_pool",
                "torchvision.ops.RoIPool",
                "torch.ops.torchvision.roi_pool",
                "torchvision.ops.roi_align",
                "torchvision.ops.RoIAlign",
                "torch.nn.functional.adaptive_max_pool2d",
                "torch.nn.AdaptiveMaxPool2d",
            ),
            points=2,
        ),
        Exercise(
            name="fast_rcnn_loss",
            title="Fast R-CNN's multi-task loss",
            reference=fast_rcnn_loss,
            cases=_loss_cases,
            hidden=_loss_hidden,
            forbidden=(
                "lecture_lib.detection.fastrcnn_loss",
                "lecture_lib.detection.roi_heads.fastrcnn_loss",
                "torch.nn.functional.cross_entropy",
                "torch.nn.functional.nll_loss",
                "torch.nn.CrossEntropyLoss",
                "torch.nn.NLLLoss",
                "torch.nn.functional.smooth_l1_loss",
                "torch.nn.functional.huber_loss",
                "torch.nn.SmoothL1Loss",
                "torch.nn.HuberLoss",
                "torchvision.models.detection.roi_heads.fastrcnn_loss",
            ),
            compare=LOOSE,
            points=2,
        ),
    ],
)
