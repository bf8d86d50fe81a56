"""The exercises of 03a_rcnn.ipynb (``EXERCISES_03A``: ``iou``, ``nms``, ``encode``), and the helpers
of the detection exercises (``random_boxes``). 03b: ``exercises_fast_rcnn``, 03c:
``exercises_faster_rcnn``. The references are plain loops over
Python numbers, independent of ``lecture_lib.boxes`` and torchvision (the library twins the
exercises may not call).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.exercises import Case, Exercise, Exercises

BOX_IOU = (
    "lecture_lib.boxes.box_iou",
    "torchvision.ops.box_iou",
    "torchvision.ops.boxes.box_iou",
    "torchvision.ops.generalized_box_iou",
    "torchvision.ops.complete_box_iou",
    "torchvision.ops.distance_box_iou",
)


def _rows(rows: list) -> Tensor:
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 4)


def random_boxes(g: torch.Generator, n: int, spread: float = 60.0) -> Tensor:
    xy = torch.rand(n, 2, generator=g) * spread
    return torch.cat([xy, xy + 10 + torch.rand(n, 2, generator=g) * 30], 1)


# ----------------------------------------------------------------------------------------------
# 03a, exercise 1: IoU of two boxes


def iou(a: list[float], b: list[float]) -> float:
    """IoU of two xyxy boxes given as lists; 0.0 when the union is empty (two zero-area boxes)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _iou_cases() -> list[Case]:
    pairs = {
        "identical": ([0, 0, 10, 10], [0, 0, 10, 10]),
        "quarter inside": ([0, 0, 2, 2], [0, 0, 1, 1]),
        "disjoint": ([0, 0, 1, 1], [2, 2, 3, 3]),
        "touching edge": ([0, 0, 1, 1], [1, 0, 2, 1]),
        "partial overlap": ([10.0, 10.0, 50.0, 40.0], [20.0, 15.0, 60.0, 45.0]),
    }
    return [Case((a, b), name=name) for name, (a, b) in pairs.items()]


def _iou_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(31)
    cases = [
        Case(([0, 0, 0, 0], [0, 0, 0, 0]), name="two zero-area boxes (empty union)"),
        Case(([0, 0, 4, 0], [1, 0, 2, 3]), name="a zero-height box"),
        Case(([0, 0, 1, 1], [1, 1, 2, 2]), name="touching corner"),
        Case(([0, 0, 10, 2], [4, -5, 6, 7]), name="a cross"),
        Case(([2.5, 1.25, 7.5, 9.0], [0.5, 0.5, 3.0, 2.0]), name="fractional coordinates"),
        Case(([5, 5, 6, 6], [0, 0, 10, 10]), name="small inside large (order swapped)"),
    ]
    for i, (a, b) in enumerate(zip(random_boxes(g, 8, 30).tolist(), random_boxes(g, 8, 30).tolist())):
        cases.append(Case((a, b), name=f"random pair {i}"))
    return cases


# ----------------------------------------------------------------------------------------------
# 03a, exercise 2: NMS


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS, one pair of boxes at a time: ``Tensor[K]`` int64 indices of the kept boxes, best
    first; equal scores keep the lower index first; a box is dropped when its IoU with a kept box
    is strictly greater than the threshold."""
    b, s = boxes.tolist(), scores.tolist()
    keep: list[int] = []
    for i in sorted(range(len(b)), key=lambda i: -s[i]):  # sorted is stable: ties by index
        if all(iou(b[i], b[j]) <= iou_threshold for j in keep):
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)


def _nms_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    cases = [
        Case((_rows([]), torch.zeros(0), 0.5), name="no boxes"),
        Case((_rows([[0, 0, 4, 4]] * 3), torch.tensor([0.2, 0.9, 0.5]), 0.5), name="identical boxes"),
        Case(
            (_rows([[0, 0, 3, 1], [1, 0, 4, 1]]), torch.tensor([0.9, 0.8]), 0.5),
            name="IoU exactly 0.5 is kept",
        ),
        Case(
            (_rows([[0, 0, 4, 2], [2, 0, 6, 2], [4, 0, 8, 2]]), torch.tensor([0.9, 0.8, 0.7]), 0.3),
            name="chain A-B-C: A drops B, so C survives",
        ),
        Case(
            (_rows([[0, 0, 4, 4], [1, 0, 5, 4], [10, 10, 12, 12]]), torch.tensor([0.5, 0.5, 0.5]), 0.3),
            name="tied scores: the lower index wins",
        ),
    ]
    for n, thr in [(20, 0.3), (40, 0.7)]:
        cases.append(
            Case((random_boxes(g, n), torch.rand(n, generator=g), thr), name=f"{n} random boxes, IoU {thr}")
        )
    return cases


def _nms_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(32)
    cases = [
        Case((_rows([[1, 1, 3, 3]]), torch.tensor([0.1]), 0.5), name="one box"),
        Case(
            (_rows([[0, 0, 2, 2], [5, 5, 7, 7]]), torch.tensor([0.3, 0.9]), 0.0), name="threshold 0, disjoint"
        ),
        Case(
            (_rows([[0, 0, 2, 2], [1, 1, 3, 3]]), torch.tensor([0.3, 0.9]), 0.0),
            name="threshold 0, overlapping",
        ),
        Case(
            (_rows([[0, 0, 4, 4]] * 4), torch.tensor([0.7, 0.7, 0.7, 0.7]), 0.5), name="all tied, identical"
        ),
        Case((_rows([[0, 0, 4, 4]] * 3), torch.tensor([0.2, 0.9, 0.5]), 1.0), name="threshold 1: keep all"),
    ]
    tied = (torch.rand(30, generator=g) * 4).floor() / 4  # four score levels: many ties
    cases.append(Case((random_boxes(g, 30, 30), tied, 0.4), name="30 boxes, four score levels"))
    for n, thr in [(1, 0.5), (15, 0.1), (60, 0.5), (80, 0.9)]:
        cases.append(
            Case(
                (random_boxes(g, n, 40), torch.rand(n, generator=g), thr),
                name=f"{n} random boxes, IoU {thr}",
            )
        )
    return cases


# ----------------------------------------------------------------------------------------------
# 03a, exercise 3: box-regression targets


def encode(proposals: Tensor, targets: Tensor) -> Tensor:
    """R-CNN's regression targets ``(dx, dy, dw, dh)`` ``[N, 4]`` from xyxy proposals to targets
    (both ``[N, 4]``)."""
    rows = []
    for (x1, y1, x2, y2), (u1, v1, u2, v2) in zip(proposals.tolist(), targets.tolist()):
        w, h, ws, hs = x2 - x1, y2 - y1, u2 - u1, v2 - v1
        dx = (u1 + ws / 2 - (x1 + w / 2)) / w
        dy = (v1 + hs / 2 - (y1 + h / 2)) / h
        rows.append([dx, dy, math.log(ws / w), math.log(hs / h)])
    return torch.tensor(rows, dtype=proposals.dtype).reshape(-1, 4)


def _encode_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    props, gts = random_boxes(g, 6), random_boxes(g, 6)
    return [
        Case((props[:1], props[:1]), name="one box onto itself"),
        Case((props, gts), name="six random pairs"),
    ]


def _encode_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(33)
    return [
        Case((_rows([]), _rows([])), name="no boxes"),
        Case((_rows([[0, 0, 2, 4]]), _rows([[0, 0, 4, 2]])), name="wide onto tall"),
        Case((_rows([[10, 10, 20, 20]]), _rows([[30, 10, 40, 20]])), name="pure shift"),
        Case((random_boxes(g, 25, 200), random_boxes(g, 25, 200)), name="25 random pairs"),
    ]


EXERCISES_03A = Exercises(
    "03a_rcnn",
    [
        Exercise(
            name="iou",
            title="IoU of two boxes",
            reference=iou,
            cases=_iou_cases,
            hidden=_iou_hidden,
            forbidden=BOX_IOU,
        ),
        Exercise(
            name="nms",
            title="NMS, with its edge cases",
            reference=nms,
            cases=_nms_cases,
            hidden=_nms_hidden,
            forbidden=(
                "lecture_lib.boxes.nms",
                "lecture_lib.boxes.batched_nms",
                "torchvision.ops.nms",
                "torchvision.ops.boxes.nms",
                "torchvision.ops.batched_nms",
                "torchvision.ops.boxes.batched_nms",
                "torch.ops.torchvision.nms",
                *BOX_IOU,
            ),
            points=3,
        ),
        Exercise(
            name="encode",
            title="box regression targets",
            reference=encode,
            cases=_encode_cases,
            hidden=_encode_hidden,
            forbidden=(
                "lecture_lib.boxes.encode",
                "lecture_lib.boxes.decode",
                "lecture_lib.detection.BoxCoder.encode",
                "lecture_lib.detection.coder.BoxCoder.encode",
                "torchvision.models.detection._utils.BoxCoder.encode",
                "torchvision.models.detection._utils.BoxCoder.encode_single",
                "torchvision.models.detection._utils.encode_boxes",
            ),
        ),
    ],
)
