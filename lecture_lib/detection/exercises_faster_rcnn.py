"""The exercises of 03c_faster_rcnn.ipynb (``EXERCISES_03C``): the anchors of one location and
which anchors are objects, with references as plain loops, visible and hidden cases and refused
shortcuts."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.detection.exercises_rcnn import random_boxes
from lecture_lib.exercises import Case, Exercise, Exercises

# ----------------------------------------------------------------------------------------------
# 03c: the anchors of one location


def cell_anchors(sizes: tuple[float, ...], ratios: tuple[float, ...]) -> Tensor:
    """``[A, 4]`` anchors around (0, 0): ratio-major, size-minor, area ``s**2``, ``r = h / w``, rounded."""
    out = []
    for r in ratios:
        for s in sizes:
            w, h = s / math.sqrt(r), s * math.sqrt(r)
            out.append([-w / 2, -h / 2, w / 2, h / 2])
    return torch.tensor(out, dtype=torch.float32).reshape(-1, 4).round()


def _anchor_cases() -> list[Case]:
    return [
        Case(((32,), (1.0,)), name="one square anchor"),
        Case(((16, 32, 64), (0.5, 1.0, 2.0)), name="9 anchors, 3 sizes x 3 ratios"),
        Case(((10, 50), (0.25, 4.0)), name="two sizes, wide and tall"),
    ]


def _anchor_hidden() -> list[Case]:
    return [
        Case(((128, 256, 512), (0.5, 1.0, 2.0)), name="the Faster R-CNN paper's 9 anchors"),
        Case(((7,), (1.0, 3.0)), name="odd size, ratio 3 (rounding)"),
        Case(((24.0, 40.0), (0.1,)), name="very wide"),
        Case(((1,), (1.0,)), name="size 1"),
    ]


def match_anchors(iou: Tensor, high: float = 0.7, low: float = 0.3) -> Tensor:
    """Faster R-CNN's anchor labels from ``iou [M, N]`` (M ground truths, N anchors): ``Tensor[N]``
    int64, the index of the anchor's best ground truth (the first one on a tie) if its IoU is
    ``>= high``, ``-1`` (background) if ``< low``, ``-2`` (ignored) in between; then, for every
    ground truth, the anchors with its highest IoU (ties included) are matched to their own best
    ground truth whatever their IoU. No ground truth: all ``-1``."""
    rows = iou.tolist()
    m, n = len(rows), iou.shape[1]
    if m == 0:
        return torch.full((n,), -1, dtype=torch.int64)
    best = []  # each anchor's best ground truth, the first one on a tie
    for j in range(n):
        column = [rows[i][j] for i in range(m)]
        best.append(column.index(max(column)))
    out = []
    for j in range(n):
        v = rows[best[j]][j]
        out.append(best[j] if v >= high else (-1 if v < low else -2))
    for i in range(m):
        top = max(rows[i]) if n else 0.0
        for j in range(n):
            if rows[i][j] == top:
                out[j] = best[j]
    return torch.tensor(out, dtype=torch.int64)


def _iou_matrix(g: torch.Generator, m: int, n: int) -> Tensor:
    anchors = random_boxes(g, n, 60)
    gts = random_boxes(g, m, 60)
    x1y1 = torch.maximum(gts[:, None, :2], anchors[None, :, :2])
    x2y2 = torch.minimum(gts[:, None, 2:], anchors[None, :, 2:])
    inter = (x2y2 - x1y1).clamp(min=0).prod(-1)
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    return inter / (area(gts)[:, None] + area(anchors)[None] - inter)


def _match_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    by_hand = torch.tensor([[0.9, 0.5, 0.1, 0.0], [0.2, 0.6, 0.25, 0.35]])
    return [
        Case((by_hand,), name="by hand: fg, low-quality match, bg, ignored"),
        Case((_iou_matrix(g, 3, 40),), name="3 objects, 40 anchors"),
        Case((_iou_matrix(g, 5, 200), 0.5, 0.4), name="5 objects, 200 anchors, thresholds 0.5 / 0.4"),
    ]


def _match_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(36)
    tie = torch.tensor([[0.4, 0.4, 0.1], [0.1, 0.2, 0.8]])
    same = torch.tensor([[0.75, 0.2], [0.75, 0.1]])
    return [
        Case((torch.zeros(0, 5),), name="no ground truth: all background"),
        Case((tie,), name="a ground truth's best IoU shared by two anchors"),
        Case((same,), name="two ground truths equally good: the first wins"),
        Case((torch.tensor([[0.3, 0.7, 0.29]]),), name="IoU exactly at the thresholds"),
        Case((_iou_matrix(g, 8, 500),), name="8 objects, 500 anchors"),
        Case((_iou_matrix(g, 1, 30), 0.6, 0.6), name="high == low: nothing ignored"),
    ]


EXERCISES_03C = Exercises(
    "03c_faster_rcnn",
    [
        Exercise(
            name="my_cell_anchors",
            title="anchors at one location",
            reference=cell_anchors,
            cases=_anchor_cases,
            hidden=_anchor_hidden,
            forbidden=(
                "lecture_lib.detection.cell_anchors",
                "lecture_lib.detection.anchors.cell_anchors",
                "lecture_lib.detection.make_anchors",
                "lecture_lib.detection.anchors.make_anchors",
                "torchvision.models.detection.anchor_utils.AnchorGenerator.generate_anchors",
            ),
        ),
        Exercise(
            name="match_anchors",
            title="which anchors are objects",
            reference=match_anchors,
            cases=_match_cases,
            hidden=_match_hidden,
            forbidden=(
                "lecture_lib.detection.match",
                "lecture_lib.detection.matching.match",
                "torchvision.models.detection._utils.Matcher",
                "torchvision.models.detection._utils.Matcher.set_low_quality_matches_",
            ),
            points=2,
        ),
    ],
)
