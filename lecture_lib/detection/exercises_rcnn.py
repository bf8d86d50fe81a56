"""The exercises of 03a_rcnn.ipynb (``EXERCISES_03A``: ``iou``, ``nms``, ``encode``,
``average_precision``), and the helpers
of the detection exercises (``random_boxes``). 03b: ``exercises_fast_rcnn``, 03c:
``exercises_faster_rcnn``. The references are plain loops over
Python numbers, independent of ``lecture_lib.boxes``, ``lecture_lib.metrics`` and torchvision (the
library twins the exercises may not call).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.exercises import LOOSE, Case, Exercise, Exercises

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


# ----------------------------------------------------------------------------------------------
# 03a, exercise 4: average precision of one class


def average_precision(
    det_boxes: list[Tensor], det_scores: list[Tensor], gt_boxes: list[Tensor], iou_threshold: float = 0.5
) -> float:
    """All-point average precision (PASCAL VOC 2010 on) of one class over several images.

    Args:
        det_boxes: one ``Tensor[D_i, 4]`` (xyxy) per image, the detections of the class.
        det_scores: one ``Tensor[D_i]`` per image, their scores.
        gt_boxes: one ``Tensor[G_i, 4]`` (xyxy) per image, the ground-truth boxes of the class.
        iou_threshold: a detection is a true positive when its IoU with a still unmatched
            ground-truth box of its own image is >= this.

    Detections of all images are taken best first (equal scores: image order, then index order);
    each takes the unmatched ground-truth box of its image with the highest IoU (on equal IoU the
    later box, as pycocotools and ``lecture_lib.metrics``); the others are false positives.
    Precision ``tp / k`` and recall ``tp / G`` after each detection ``k``; the precision envelope
    (the max to the right); AP = sum over ``k`` of ``(recall_k - recall_{k-1}) * envelope_k``.
    ``nan`` without ground truth, ``0.0`` without detections.
    """
    num_gt = sum(len(g) for g in gt_boxes)
    if num_gt == 0:
        return float("nan")
    dets = []
    for image, (boxes, scores) in enumerate(zip(det_boxes, det_scores)):
        for box, score in zip(boxes.tolist(), scores.tolist()):
            dets.append((score, image, box))
    dets.sort(key=lambda d: -d[0])  # sorted is stable: ties keep image, then index order
    gts = [g.tolist() for g in gt_boxes]
    matched = [[False] * len(g) for g in gts]
    tp, precision, recall = 0, [], []
    for k, (_, image, box) in enumerate(dets, start=1):
        best, best_iou = -1, -1.0
        for j, gt in enumerate(gts[image]):
            overlap = iou(box, gt)
            if not matched[image][j] and overlap >= iou_threshold and overlap >= best_iou:
                best, best_iou = j, overlap
        if best >= 0:
            matched[image][best] = True
            tp += 1
        precision.append(tp / k)
        recall.append(tp / num_gt)
    for k in range(len(precision) - 2, -1, -1):  # the envelope: max precision at this recall or more
        precision[k] = max(precision[k], precision[k + 1])
    ap, previous = 0.0, 0.0
    for r, p in zip(recall, precision):
        ap += (r - previous) * p
        previous = r
    return ap


def _ap_images(g: torch.Generator, n_images: int, n_gt: int, n_extra: int, jitter: float) -> Case:
    """Images with ``n_gt`` objects each, one jittered detection per object and ``n_extra`` false
    alarms (random boxes), scores uniform."""
    dets, scores, gts = [], [], []
    for _ in range(n_images):
        gt = random_boxes(g, n_gt, 50)
        hits = gt + (torch.rand(n_gt, 4, generator=g) - 0.5) * 2 * jitter
        hits[:, 2:] = torch.maximum(hits[:, 2:], hits[:, :2] + 1)
        dets.append(torch.cat([hits, random_boxes(g, n_extra, 50)]))
        scores.append(torch.rand(n_gt + n_extra, generator=g))
        gts.append(gt)
    return Case(
        (dets, scores, gts), name=f"{n_images} images, {n_gt} objects and {n_extra} false alarms each"
    )


def _ap_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    gt3 = _rows([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]])
    by_hand = _rows([[0, 0, 10, 10], [60, 60, 70, 70], [20, 0, 30, 11], [0, 1, 10, 10], [40, 1, 50, 11]])
    half = _rows([[0, 0, 3, 1]])  # IoU with [1, 0, 4, 1]: exactly 0.5
    return [
        Case(([by_hand], [torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])], [gt3]), name="by hand: TP FP TP FP TP"),
        Case(
            (
                [_rows([[0, 0, 10, 10], [1, 0, 11, 10]])],
                [torch.tensor([0.9, 0.8])],
                [_rows([[0, 0, 10, 10]])],
            ),
            name="a duplicate detection is a false positive",
        ),
        Case(([half], [torch.tensor([0.5])], [_rows([[1, 0, 4, 1]])]), name="IoU exactly 0.5 is a match"),
        Case(
            (
                [_rows([[50, 50, 60, 60]]), _rows([[0, 0, 10, 10]])],
                [torch.tensor([0.7]), torch.tensor([0.7])],
                [_rows([[0, 0, 10, 10]]), _rows([[0, 0, 10, 10]])],
            ),
            name="equal scores: image 0's false positive comes first",
        ),
        Case(
            (
                [_rows([[1, 0, 11, 10], [-2, 0, 8, 10]])],
                [torch.tensor([0.9, 0.8])],
                [_rows([[0, 0, 10, 10], [2, 0, 12, 10]])],
            ),
            name="equal IoU with two ground-truth boxes: the later one is taken",
        ),
        Case(([_rows([])], [torch.zeros(0)], [gt3]), name="no detections"),
        Case(([by_hand], [torch.linspace(1, 0.2, 5)], [_rows([])]), name="no ground truth: nan"),
        _ap_images(g, 3, 4, 3, 3.0),
    ]


def _ap_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(36)
    gt = _rows([[0, 0, 10, 10], [20, 20, 30, 30]])
    near = _rows([[0, 0, 10, 10], [21, 21, 31, 31]])
    dets, scores, gts = _ap_images(g, 4, 3, 4, 4.0).args
    levels = [(s * 3).floor() / 3 for s in scores]  # three score levels: many ties
    cases = [
        Case(([near], [torch.tensor([0.4, 0.9])], [gt]), name="every detection right: AP 1"),
        Case(([near + 15], [torch.tensor([0.4, 0.9])], [gt]), name="every detection wrong: AP 0"),
        Case(
            ([near, _rows([])], [torch.tensor([0.4, 0.9]), torch.zeros(0)], [_rows([]), gt]),
            name="a detection counts only in its own image",
        ),
        Case(([near], [torch.tensor([0.5, 0.5])], [gt], 0.75), name="threshold 0.75"),
        Case(
            (
                [near[:1], near, _rows([])],
                [torch.tensor([0.8]), torch.tensor([0.3, 0.6]), torch.zeros(0)],
                [gt, _rows([]), gt],
            ),
            name="an image without ground truth, one without detections",
        ),
        Case(([_rows([[5, 5, 5, 5]])], [torch.tensor([0.9])], [gt]), name="a zero-area detection"),
        Case((dets, levels, gts), name="4 images, three score levels (ties)"),
        _ap_images(g, 5, 2, 6, 6.0),
        Case((*_ap_images(g, 6, 3, 2, 4.0).args, 0.3), name="6 images, threshold 0.3"),
        Case((*_ap_images(g, 2, 8, 12, 2.0).args, 0.75), name="2 crowded images, threshold 0.75"),
    ]
    return cases


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
        Exercise(
            name="average_precision",
            title="average precision of one class",
            reference=average_precision,
            cases=_ap_cases,
            hidden=_ap_hidden,
            forbidden=(
                "lecture_lib.metrics.detection_ap",
                "lecture_lib.metrics.detection.detection_ap",
                "lecture_lib.metrics.precision_recall_curve",
                "lecture_lib.metrics.detection.precision_recall_curve",
                "lecture_lib.metrics.bootstrap_map",
                "lecture_lib.metrics.detection.bootstrap_map",
                "sklearn.metrics.average_precision_score",
                "sklearn.metrics.precision_recall_curve",
                "pycocotools.cocoeval.COCOeval",
                *BOX_IOU,
            ),
            compare=LOOSE,
            points=3,
        ),
    ],
)
