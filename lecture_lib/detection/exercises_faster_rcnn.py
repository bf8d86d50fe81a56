"""The exercises of 03c_faster_rcnn.ipynb (``EXERCISES_03C``), with references as plain loops,
visible and hidden cases and refused shortcuts:

- ``cell_anchors(sizes, ratios)``: the anchors of one location;
- ``match_anchors(iou, high, low)``: which anchors are objects (Faster R-CNN Sec. 3.1.2);
- ``rpn_proposals(anchors, objectness, deltas, image_size, ...)``: the RPN's proposals for one
  image (top-k by objectness, decode, clip, drop small boxes, NMS, top-n), as torchvision's
  ``RegionProposalNetwork.filter_proposals``; NMS itself (written in 03a) may come from
  ``torchvision.ops.nms``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.boxes import BBOX_XFORM_CLIP
from lecture_lib.detection.anchors import make_anchors
from lecture_lib.detection.exercises_rcnn import nms, random_boxes
from lecture_lib.exercises import LOOSE, Case, Exercise, Exercises

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


# ----------------------------------------------------------------------------------------------
# 03c: from the RPN's outputs to proposals


def rpn_proposals(
    anchors: Tensor,
    objectness: Tensor,
    deltas: Tensor,
    image_size: tuple[int, int],
    pre_nms_top_n: int = 1000,
    post_nms_top_n: int = 1000,
    nms_thresh: float = 0.7,
    min_size: float = 1e-3,
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
) -> tuple[Tensor, Tensor]:
    """The RPN's proposals for one image, as torchvision's ``RegionProposalNetwork.filter_proposals``.

    Args:
        anchors (Tensor[N, 4]): xyxy anchors; objectness (Tensor[N]): logits; deltas (Tensor[N, 4]):
            ``(dx, dy, dw, dh)`` times ``weights``; image_size: ``(H, W)``.

    The ``pre_nms_top_n`` anchors of highest objectness (ties by index) are decoded (``dw, dh``
    clamped at ``ln(1000 / 16)``), clipped to ``[0, W] x [0, H]``; boxes with a side ``< min_size``
    are dropped; NMS at ``nms_thresh`` on the sigmoid scores keeps at most ``post_nms_top_n``.
    Returns ``(boxes [K, 4], scores [K])``, scores = sigmoid(objectness), best first.
    """
    logits = objectness.tolist()
    order = sorted(range(len(logits)), key=lambda i: -logits[i])[:pre_nms_top_n]  # stable: ties by index
    height, width = image_size
    boxes, scores = [], []
    for i in order:
        x1, y1, x2, y2 = anchors[i].tolist()
        dx, dy, dw, dh = (d / wt for d, wt in zip(deltas[i].tolist(), weights))
        w, h = x2 - x1, y2 - y1
        cx, cy = x1 + 0.5 * w + dx * w, y1 + 0.5 * h + dy * h
        pw, ph = w * math.exp(min(dw, BBOX_XFORM_CLIP)), h * math.exp(min(dh, BBOX_XFORM_CLIP))
        box = [cx - 0.5 * pw, cy - 0.5 * ph, cx + 0.5 * pw, cy + 0.5 * ph]
        box = [min(max(v, 0.0), width if k % 2 == 0 else height) for k, v in enumerate(box)]
        if box[2] - box[0] >= min_size and box[3] - box[1] >= min_size:
            boxes.append(box)
            scores.append(1.0 / (1.0 + math.exp(-logits[i])))
    as_tensor = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    keep = nms(as_tensor(boxes).reshape(-1, 4), as_tensor(scores), nms_thresh)[:post_nms_top_n].tolist()
    return (
        torch.tensor([boxes[k] for k in keep], dtype=anchors.dtype).reshape(-1, 4),
        torch.tensor([scores[k] for k in keep], dtype=objectness.dtype),
    )


def _rpn_outputs(
    g: torch.Generator, anchors: Tensor, spread: float = 2.0, shift: float = 0.3
) -> tuple[Tensor, Tensor, Tensor]:
    """``(anchors, objectness [N], deltas [N, 4])``: logits ``spread * N(0, 1)``, deltas
    ``shift * N(0, 1)``."""
    n = len(anchors)
    return anchors, spread * torch.randn(n, generator=g), shift * torch.randn(n, 4, generator=g)


def _grid_anchors(feature_size: tuple[int, int], stride: int = 8) -> Tensor:
    return make_anchors(feature_size, stride, (16, 32), (0.5, 1.0, 2.0)).float()


def _proposal_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    # by hand, image 40 x 60: anchor 1 duplicates anchor 0 (suppressed), anchor 2 is moved right by
    # half its width, anchor 3 lies outside the image (clipped to nothing, dropped)
    anchors = torch.tensor([[10.0, 10, 30, 30], [11, 10, 31, 30], [30, 5, 50, 25], [70, 0, 90, 20]])
    deltas = torch.tensor([[0.0, 0, 0, 0], [0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0, 0, 0]])
    return [
        Case((anchors, torch.tensor([2.0, 1.0, 0.5, 3.0]), deltas, (40, 60)), name="by hand: 4 anchors"),
        Case(
            (*_rpn_outputs(g, _grid_anchors((6, 7))), (48, 56)),
            {"pre_nms_top_n": 100, "post_nms_top_n": 30},
            name="a 6x7 feature map, 6 anchors each: top 100, then 30 after NMS",
        ),
        Case(
            (*_rpn_outputs(g, _grid_anchors((5, 5)), shift=1.0), (40, 40)),
            {"pre_nms_top_n": 80, "post_nms_top_n": 40, "nms_thresh": 0.5, "weights": (10.0, 10.0, 5.0, 5.0)},
            name="weights (10, 10, 5, 5), NMS at 0.5",
        ),
    ]


def _proposal_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(37)
    edge = torch.tensor([[0.0, 0, 4, 8], [20, 20, 23.5, 30], [5, 5, 9, 9]])  # widths 4, 3.5, 4
    outside = random_boxes(g, 12, 40) + torch.tensor([100.0, 0, 100, 0])  # right of a 50-px-wide image
    far = torch.tensor([[1000.0, 1000, 1016, 1016], [200, 300, 232, 332]])
    tall = _grid_anchors((3, 9))
    return [
        Case((torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, 4), (32, 32)), name="no anchors"),
        Case(
            (edge, torch.tensor([0.1, 0.2, 0.3]), torch.zeros(3, 4), (40, 40)),
            {"min_size": 4.0},
            name="sides exactly min_size are kept, a smaller one is dropped",
        ),
        Case((*_rpn_outputs(g, outside), (60, 50)), name="every box outside the image: none left"),
        Case(
            (far, torch.tensor([1.0, 0.5]), torch.tensor([[0.0, 0, 6, 6], [0, 0, 5, -5]]), (2000, 3000)),
            name="dw, dh clamped at ln(1000/16) before exp, on a 3000 x 2000 image",
        ),
        Case(
            (*_rpn_outputs(g, tall), (24, 72)),
            {"pre_nms_top_n": 500, "post_nms_top_n": 500, "nms_thresh": 0.3},
            name="pre_nms_top_n above the number of anchors, a wide image (W != H)",
        ),
        Case(
            (*_rpn_outputs(g, _grid_anchors((10, 10)), spread=3.0), (80, 80)),
            {"pre_nms_top_n": 300, "post_nms_top_n": 50},
            name="600 anchors: top 300, 50 after NMS",
        ),
        Case(
            (*_rpn_outputs(g, _grid_anchors((4, 4)), shift=0.1), (32, 32)),
            {"post_nms_top_n": 5, "nms_thresh": 0.9, "min_size": 8.0},
            name="post_nms_top_n = 5, NMS at 0.9, min_size 8",
        ),
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
        Exercise(
            name="rpn_proposals",
            title="from RPN outputs to proposals",
            reference=rpn_proposals,
            cases=_proposal_cases,
            hidden=_proposal_hidden,
            forbidden=(
                "lecture_lib.detection.RegionProposalNetwork.filter_proposals",
                "lecture_lib.detection.rpn.RegionProposalNetwork.filter_proposals",
                "lecture_lib.detection.RegionProposalNetwork.propose",
                "lecture_lib.detection.rpn.RegionProposalNetwork.propose",
                "lecture_lib.detection.BoxCoder.decode",
                "lecture_lib.detection.coder.BoxCoder.decode",
                "lecture_lib.boxes.decode",
                "lecture_lib.boxes.clip_boxes",
                "torchvision.models.detection.rpn.RegionProposalNetwork.filter_proposals",
                "torchvision.models.detection._utils.BoxCoder.decode",
                "torchvision.models.detection._utils.BoxCoder.decode_single",
                "torchvision.ops.clip_boxes_to_image",
                "torchvision.ops.boxes.clip_boxes_to_image",
                "torchvision.ops.remove_small_boxes",
                "torchvision.ops.boxes.remove_small_boxes",
            ),
            compare=LOOSE,
            points=3,
        ),
    ],
)
