"""The exercises of 03b_fast_rcnn.ipynb (``EXERCISES_03B``): RoI max pooling (``roi_max_pool``),
RoIAlign (``roi_align_one``) and Fast R-CNN's multi-task loss (``fast_rcnn_loss``), with references
as plain loops, visible and hidden cases and refused shortcuts."""

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


# ----------------------------------------------------------------------------------------------
# 03b: RoIAlign


def _bilinear(values: list[list[float]], y: float, x: float) -> float:
    """``values`` (``H`` rows of ``W``) at the point ``(y, x)``, as torchvision's RoIAlign samples:
    0 beyond one pixel outside the map, clamped to the border inside that margin."""
    h, w = len(values), len(values[0])
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = min(max(y, 0.0), h - 1), min(max(x, 0.0), w - 1)
    y0, x0 = int(y), int(x)
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    ly, lx = y - y0, x - x0
    top = (1 - lx) * values[y0][x0] + lx * values[y0][x1]
    bottom = (1 - lx) * values[y1][x0] + lx * values[y1][x1]
    return (1 - ly) * top + ly * bottom


def roi_align_one(
    fmap: Tensor,
    box: tuple[float, float, float, float],
    output_size: tuple[int, int],
    sampling_ratio: int = 2,
    aligned: bool = True,
) -> Tensor:
    """RoIAlign of one channel ``fmap [H, W]`` over the box ``(x1, y1, x2, y2)`` (feature-map
    coordinates, real numbers): ``[oh, ow]``, as ``torchvision.ops.roi_align`` with
    ``spatial_scale=1``.

    ``aligned=True`` shifts the box by -0.5 (pixel centres at integers); ``aligned=False`` does not
    and makes the box at least 1 x 1. Each of the ``oh x ow`` bins is the mean of a
    ``grid_h x grid_w`` grid of bilinear samples at the centres of its sub-cells;
    ``grid = sampling_ratio`` if it is > 0, else ``ceil(bin size)`` (torchvision's adaptive -1).
    """
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (float(v) - offset for v in box)
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
    oh, ow = output_size
    bin_h, bin_w = roi_h / oh, roi_w / ow
    grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / oh)
    grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / ow)
    count = max(grid_h * grid_w, 1)
    values = fmap.double().tolist()
    out = torch.zeros(oh, ow, dtype=torch.float64)
    for i in range(oh):
        for j in range(ow):
            total = 0.0
            for iy in range(grid_h):
                y = y1 + i * bin_h + (iy + 0.5) * bin_h / grid_h
                for ix in range(grid_w):
                    x = x1 + j * bin_w + (ix + 0.5) * bin_w / grid_w
                    total += _bilinear(values, y, x)
            out[i, j] = total / count
    return out.to(fmap.dtype)


def _align_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    ramp = torch.arange(64, dtype=torch.float32).reshape(8, 8)
    rand_map = torch.rand(10, 12, generator=g)
    return [
        Case((ramp, (1.0, 2.0, 6.0, 7.0), (2, 2)), name="the 8x8 ramp, box (1, 2, 6, 7) -> 2x2"),
        Case((ramp, (1.0, 2.0, 6.0, 7.0), (2, 2), 2, False), name="the same, aligned=False"),
        Case((rand_map, (2.3, 1.7, 9.6, 8.2), (3, 4)), name="fractional box -> 3x4"),
        Case((rand_map, (0.0, 0.0, 12.0, 10.0), (5, 5), 1), name="whole map, one sample per bin"),
        Case((rand_map, (3.2, 2.1, 7.9, 9.4), (2, 2), -1), name="adaptive sampling (-1): ceil(bin size)"),
        Case((rand_map, (-2.5, 7.0, 4.0, 12.5), (2, 2)), name="over the left and bottom borders"),
    ]


def _align_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(37)
    m = torch.randn(9, 13, generator=g)
    return [
        Case((m, (-3.0, -2.5, 4.0, 3.0), (3, 3)), name="box over the top-left border"),
        Case((m, (10.5, 6.0, 16.0, 11.0), (2, 3), 3), name="box past the bottom-right border"),
        Case((m, (4.2, 4.2, 4.6, 4.4), (2, 2), 2, False), name="tiny box, aligned=False (grown to 1x1)"),
        Case((m, (4.2, 4.2, 4.6, 4.4), (2, 2), -1, True), name="tiny box, adaptive, aligned"),
        Case((m, (5.0, 1.0, 5.0, 8.0), (4, 1), 2, False), name="zero-width box, aligned=False"),
        Case((m, (0.5, 0.5, 12.5, 8.5), (7, 7), -1), name="whole map -> 7x7, adaptive"),
        Case((m, (1.3, 0.4, 11.8, 7.7), (3, 5), 4, False), name="4x4 samples per bin, aligned=False"),
        Case((torch.full((4, 5), 2.5), (0.7, 0.2, 3.9, 2.8), (2, 2)), name="a constant map"),
        Case((m, (6.0, 3.0, 6.0, 3.0), (2, 2), -1, True), name="zero-size box, adaptive: no samples, 0"),
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
            name="roi_align_one",
            title="RoIAlign (bilinear sampling)",
            reference=roi_align_one,
            cases=_align_cases,
            hidden=_align_hidden,
            forbidden=(
                "torchvision.ops.roi_align",
                "torchvision.ops.roi_align.roi_align",
                "torchvision.ops.RoIAlign",
                "torchvision.ops.MultiScaleRoIAlign",
                "torch.ops.torchvision.roi_align",
                "torchvision.ops.ps_roi_align",
                "torch.nn.functional.grid_sample",
                "torch.grid_sampler",
                "torch.grid_sampler_2d",
                "torch.nn.functional.interpolate",
            ),
            compare=LOOSE,
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
