"""Box operations: formats, area, IoU, regression targets, NMS and RoI pooling.

Readable re-implementations of ``torchvision.ops`` (``box_iou``, ``nms``, ``batched_nms``,
``roi_pool``) and the slide's box-regression formulas (``encode``/``decode``, torchvision's
``BoxCoder(weights=(1, 1, 1, 1))``; the weighted coder of the detectors is
``lecture_lib.detection.coder.BoxCoder``); ``tests/test_boxes.py`` checks each one against its
torchvision twin. All boxes are ``(x1, y1, x2, y2)`` float tensors in
absolute pixels unless a name says otherwise.

Used in 03_* notebooks (slides: R-CNN, bounding-box regression, NMS, Fast R-CNN RoI pooling,
Faster R-CNN anchors).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from lecture_lib.checks import check_boxes, check_int, check_number, check_size, check_tensor

BBOX_XFORM_CLIP = math.log(1000.0 / 16)  # largest dw, dh fed to exp() in decode (as torchvision)
FORMATS = ("xyxy", "xywh", "cxcywh")


def _check_vector(x: Tensor, n: int, name: str, what: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape ({n},), got {type(x).__name__}")
    if x.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) ({what}), got {tuple(x.shape)}")


def box_area(boxes: Tensor) -> Tensor:
    """Areas of ``Tensor[N, 4]`` xyxy boxes -> ``Tensor[N]``."""
    check_boxes(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert ``Tensor[N, 4]`` between ``"xyxy"``, ``"xywh"`` (COCO: top-left + size) and ``"cxcywh"``."""
    for arg, fmt in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
        if fmt not in FORMATS:
            raise ValueError(f"{arg} must be one of {FORMATS}, got {fmt!r}")
    if not isinstance(boxes, Tensor) or boxes.ndim != 2 or boxes.shape[-1] != 4:
        got = tuple(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
        raise ValueError(f"boxes must have shape (N, 4), got {got}")
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xywh":
        a, b, c, d = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        a, b, c, d = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    # now (a, b, c, d) = (x1, y1, x2, y2)
    if out_fmt == "xywh":
        a, b, c, d = a, b, c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
    return torch.stack((a, b, c, d), dim=-1)


def clip_boxes(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """Clip xyxy boxes to an image of ``size = (height, width)``.

    As ``torchvision.ops.clip_boxes_to_image``.

    Args:
        boxes (Tensor[..., 4]): xyxy boxes.
        size: ``(height, width)`` in pixels.
    """
    check_tensor(boxes, "boxes", "(..., 4)", dtype="number")
    h, w = check_size(size)
    x = boxes[..., 0::2].clamp(min=0, max=w)
    y = boxes[..., 1::2].clamp(min=0, max=h)
    return torch.stack((x[..., 0], y[..., 0], x[..., 1], y[..., 1]), dim=-1)


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise intersection-over-union.

    Args:
        boxes1 (Tensor[N, 4]): xyxy boxes, x1 <= x2, y1 <= y2.
        boxes2 (Tensor[M, 4]): xyxy boxes.

    Returns:
        Tensor[N, M]: iou[i, j] = |b1_i ∩ b2_j| / |b1_i ∪ b2_j|, in [0, 1] (0/0 = nan for two
        zero-area boxes, as torchvision).
    """
    check_boxes(boxes1, "boxes1")
    check_boxes(boxes2, "boxes2")
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # (N,)
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # (M,)
    lt = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2) top-left of the overlap
    rb = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2) bottom-right
    wh = (rb - lt).clamp(min=0)  # no overlap -> 0 width or height
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    union = area1[:, None] + area2[None, :] - inter
    return inter / union


def encode(proposals: Tensor, targets: Tensor) -> Tensor:
    """Bounding-box regression targets of R-CNN (slide: "box regression").

    ``t = ((x* - x) / w, (y* - y) / h, ln(w* / w), ln(h* / h))`` with ``(x, y)`` box centres,
    ``w = x2 - x1``: proposal without star, target with star. Equal to torchvision's
    ``BoxCoder(weights=(1, 1, 1, 1)).encode_single(targets, proposals)``.

    Args:
        proposals (Tensor[N, 4]): xyxy proposals (or anchors), positive width and height.
        targets (Tensor[N, 4]): the xyxy ground-truth box matched to each proposal.

    Returns:
        Tensor[N, 4]: deltas ``(dx, dy, dw, dh)``.
    """
    check_boxes(proposals, "proposals", strict=True)
    check_boxes(targets, "targets", strict=True)
    if proposals.shape[0] != targets.shape[0]:
        raise ValueError(
            f"proposals and targets must have the same length, got {proposals.shape[0]} "
            f"and {targets.shape[0]}"
        )
    w = proposals[:, 2] - proposals[:, 0]
    h = proposals[:, 3] - proposals[:, 1]
    x = proposals[:, 0] + 0.5 * w
    y = proposals[:, 1] + 0.5 * h
    w_t = targets[:, 2] - targets[:, 0]
    h_t = targets[:, 3] - targets[:, 1]
    x_t = targets[:, 0] + 0.5 * w_t
    y_t = targets[:, 1] + 0.5 * h_t
    return torch.stack(((x_t - x) / w, (y_t - y) / h, torch.log(w_t / w), torch.log(h_t / h)), dim=1)


def decode(proposals: Tensor, deltas: Tensor, *, bbox_xform_clip: float = BBOX_XFORM_CLIP) -> Tensor:
    """Inverse of :func:`encode`: apply deltas ``(dx, dy, dw, dh)`` to proposals -> xyxy boxes.

    ``dw, dh`` are clamped at ``bbox_xform_clip`` (``ln(1000 / 16)``) before ``exp`` so a wild
    prediction cannot overflow (as torchvision's ``BoxCoder.decode_single``).

    Args:
        proposals (Tensor[N, 4]): xyxy proposals.
        deltas (Tensor[N, 4]): regression outputs.
        bbox_xform_clip: largest ``dw``, ``dh`` passed to ``exp``.

    Returns:
        Tensor[N, 4]: xyxy boxes.
    """
    check_boxes(proposals, "proposals")
    if not isinstance(deltas, Tensor) or deltas.ndim != 2 or deltas.shape[-1] != 4:
        got = tuple(deltas.shape) if isinstance(deltas, Tensor) else type(deltas).__name__
        raise ValueError(f"deltas must have shape (N, 4) = (dx, dy, dw, dh), got {got}")
    if deltas.shape[0] != proposals.shape[0]:
        raise ValueError(
            f"proposals and deltas must have the same length, got {proposals.shape[0]} and {deltas.shape[0]}"
        )
    if not torch.isfinite(deltas).all():
        raise ValueError("deltas must be finite, got nan or inf")
    # float proposals with int deltas stay float (never narrowed to the deltas' int dtype)
    proposals = proposals.to(deltas.dtype if deltas.is_floating_point() else proposals.dtype)
    deltas = deltas.to(proposals.dtype)
    w = proposals[:, 2] - proposals[:, 0]
    h = proposals[:, 3] - proposals[:, 1]
    x = proposals[:, 0] + 0.5 * w
    y = proposals[:, 1] + 0.5 * h
    dx, dy = deltas[:, 0], deltas[:, 1]
    dw = deltas[:, 2].clamp(max=bbox_xform_clip)
    dh = deltas[:, 3].clamp(max=bbox_xform_clip)
    x_new, y_new = x + dx * w, y + dy * h  # shift the centre by a fraction of the size
    w_new, h_new = torch.exp(dw) * w, torch.exp(dh) * h  # scale the size in log space
    return torch.stack(
        (x_new - 0.5 * w_new, y_new - 0.5 * h_new, x_new + 0.5 * w_new, y_new + 0.5 * h_new), dim=1
    )


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression (same result as ``torchvision.ops.nms``).

    Take the highest-scoring box, drop every remaining box whose IoU with it is
    ``> iou_threshold``, repeat with the next survivor. Equal scores keep their input order
    (stable sort), as torchvision does.

    Args:
        boxes (Tensor[N, 4]): xyxy boxes.
        scores (Tensor[N]): one score per box.
        iou_threshold: boxes overlapping a kept box by more than this are removed.

    Returns:
        Tensor[K]: int64 indices of the kept boxes, in decreasing order of score.
    """
    check_boxes(boxes)
    _check_vector(scores, boxes.shape[0], "scores", "one per box")
    if not torch.isfinite(scores).all():
        raise ValueError("scores must be finite, got nan or inf")
    check_number(iou_threshold, "iou_threshold", low=0.0, high=1.0)  # nan would switch NMS off
    order = torch.sort(scores, descending=True, stable=True).indices  # best first
    ranked = boxes[order]
    n = len(order)
    removed = np.zeros(n, dtype=bool)  # NumPy for the loop: indexing is ~10x cheaper than torch's
    keep = []
    for start in range(0, n, 512):  # blocks of 512 ranked boxes bound the IoU matrix's memory
        rows = np.flatnonzero(~removed[start : start + 512]) + start  # boxes of this block still standing
        cols = np.flatnonzero(~removed[start:]) + start  # boxes they may still suppress
        iou = box_iou(ranked[torch.from_numpy(rows)], ranked[torch.from_numpy(cols)])
        overlaps = (iou > iou_threshold).cpu().numpy()  # (len(rows), len(cols))
        for r, i in enumerate(rows):
            if removed[i]:
                continue
            keep.append(i)  # the best box still standing survives ...
            removed[cols[overlaps[r]]] = True  # ... and removes every box overlapping it by > threshold
    return order[torch.as_tensor(keep, dtype=torch.int64, device=boxes.device)]


def batched_nms(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float) -> Tensor:
    """NMS separately within each label (same result as ``torchvision.ops.batched_nms``).

    Args:
        boxes (Tensor[N, 4]): xyxy boxes.
        scores (Tensor[N]): scores.
        labels (Tensor[N]): int class (or image) id of each box; boxes of different labels never
            suppress each other.
        iou_threshold: as in :func:`nms`.

    Returns:
        Tensor[K]: int64 indices of the kept boxes, in decreasing order of score.
    """
    check_boxes(boxes)
    _check_vector(scores, boxes.shape[0], "scores", "one per box")
    _check_vector(labels, boxes.shape[0], "labels", "one per box")
    check_tensor(labels, "labels", finite=True)  # a NaN label would match no group and be dropped
    if not torch.isfinite(scores).all():
        raise ValueError("scores must be finite, got nan or inf")
    check_number(iou_threshold, "iou_threshold", low=0.0, high=1.0)
    keep = []
    for label in torch.unique(labels):
        idx = torch.nonzero(labels == label).flatten()  # this class's boxes
        keep.append(idx[nms(boxes[idx], scores[idx], iou_threshold)])
    if not keep:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    kept = torch.sort(torch.cat(keep)).values  # input order, so the stable sort below breaks ties by index
    return kept[torch.sort(scores[kept], descending=True, stable=True).indices]


def _rois(boxes: Tensor | list[Tensor], batch: int) -> Tensor:
    """``Tensor[K, 5]`` (batch index, x1, y1, x2, y2) from either accepted box format."""
    if isinstance(boxes, (list, tuple)):
        if len(boxes) != batch:
            raise ValueError(f"boxes list must have one Tensor[L, 4] per image ({batch}), got {len(boxes)}")
        for i, b in enumerate(boxes):
            check_boxes(b, f"boxes[{i}]")
        rois = [torch.cat((torch.full_like(b[:, :1], i), b), dim=1) for i, b in enumerate(boxes)]
        return torch.cat(rois) if rois else torch.zeros(0, 5)  # an empty batch
    if not isinstance(boxes, Tensor) or boxes.ndim != 2 or boxes.shape[1] != 5:
        got = tuple(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
        raise ValueError(
            f"boxes must be a Tensor[K, 5] (batch index, x1, y1, x2, y2) or a list of Tensor[L, 4], got {got}"
        )
    check_boxes(boxes[:, 1:], "boxes[:, 1:]")
    idx = boxes[:, 0]
    if ((idx != idx.round()) | (idx < 0) | (idx >= batch)).any():
        raise ValueError(
            f"boxes[:, 0] must hold batch indices in 0..{batch - 1}, got {idx.unique().tolist()}"
        )
    return boxes


def _round_half_away(x: Tensor) -> Tensor:
    """C's ``round()`` (halves away from zero); ``torch.round`` rounds halves to even."""
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def _window_maxima(hwc: Tensor, levels_y: int, levels_x: int) -> Tensor:
    """``table[a, b, n, y, x] = max of hwc[n, y : y + 2**a, x : x + 2**b]``.

    For ``a <= levels_y`` and ``b <= levels_x``.

    Built by doubling: a window of ``2**a`` rows is two windows of ``2**(a-1)`` rows. Entries whose
    window would cross the map's border keep the smaller window's value (they are never looked up).

    Args:
        hwc (Tensor[B, H, W, C]): feature maps, channels last.

    Returns:
        Tensor[levels_y + 1, levels_x + 1, B, H, W, C].
    """

    def doubled(t: Tensor, dim: int, shift: int) -> Tensor:  # max(t[i], t[i + shift]) along dim
        n = t.shape[dim]
        head = torch.maximum(t.narrow(dim, 0, n - shift), t.narrow(dim, shift, n - shift))
        return torch.cat((head, t.narrow(dim, n - shift, shift)), dim=dim)

    by_rows = [hwc]  # windows of 2**a rows, one column
    for a in range(1, levels_y + 1):
        by_rows.append(doubled(by_rows[-1], 1, 2 ** (a - 1)))
    table = []
    for t in by_rows:  # ... then 2**b columns
        table.append(t)
        for b in range(1, levels_x + 1):
            table.append(doubled(table[-1], 2, 2 ** (b - 1)))
    return torch.stack(table).view(levels_y + 1, levels_x + 1, *hwc.shape)


def roi_pool(
    input: Tensor,
    boxes: Tensor | list[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> Tensor:
    """RoI max pooling of Fast R-CNN (same contract and results as ``torchvision.ops.roi_pool``).

    Each box is scaled by ``spatial_scale`` onto the feature map and rounded to whole cells; its
    ``h x w`` cells are split into an ``oh x ow`` grid of bins (bin edges floor/ceil, so bins may
    overlap by one cell) and each bin keeps its maximum. Bins outside the map give 0.

    How the maxima are found, without a Python loop over RoIs or bins: any bin of ``h`` rows is
    covered by two windows of ``2**a`` rows (``2**a <= h < 2**(a+1)``), one at its top and one at
    its bottom, overlapping in the middle; likewise for columns. So the max of a bin is the max of
    four power-of-two windows, and the max of every power-of-two window of the map is computed once
    (``_window_maxima``, a "sparse table"): four look-ups per bin, shared by all RoIs.

    Args:
        input (Tensor[B, C, H, W]): feature maps.
        boxes (Tensor[K, 5] or list[Tensor[L, 4]]): ``(batch index, x1, y1, x2, y2)`` rows, or
            one xyxy tensor per image; coordinates in image pixels.
        output_size: ``oh`` or ``(oh, ow)``.
        spatial_scale: feature-map cells per image pixel (1 / stride).

    Returns:
        Tensor[K, C, oh, ow]: pooled features (differentiable: the gradient goes to each bin's max).
    """
    if not isinstance(input, Tensor) or input.ndim != 4:
        got = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"input must have shape (B, C, H, W), got {got}")
    if isinstance(output_size, (list, tuple)):
        oh, ow = check_size(output_size, "output_size")
    else:
        oh = ow = check_int(output_size, "output_size", low=1)
    check_number(spatial_scale, "spatial_scale", low=0.0, low_open=True)
    rois = _rois(boxes, input.shape[0]).to(input.dtype)
    height, width = input.shape[-2:]
    # 1) box -> whole feature-map cells [start, end] (both inclusive), at least one cell
    start = _round_half_away(rois[:, 1:3] * spatial_scale).long()  # (K, 2) x, y
    end = _round_half_away(rois[:, 3:5] * spatial_scale).long()
    size = (end - start + 1).clamp(min=1).to(input.dtype)  # (K, 2) w, h in cells

    # 2) bin edges: [floor(p * size / n), ceil((p + 1) * size / n)) + start, clipped to the map
    def edges(n: int, axis: int, limit: int) -> tuple[Tensor, Tensor]:
        p = torch.arange(n, dtype=input.dtype, device=input.device)
        bin_size = size[:, axis : axis + 1] / n  # (K, 1)
        lo = torch.floor(p * bin_size).long() + start[:, axis : axis + 1]
        hi = torch.ceil((p + 1) * bin_size).long() + start[:, axis : axis + 1]
        return lo.clamp(0, limit), hi.clamp(0, limit)  # (K, n) each

    x_lo, x_hi = edges(ow, 0, width)
    y_lo, y_hi = edges(oh, 1, height)
    empty = (y_hi <= y_lo)[:, :, None] | (x_hi <= x_lo)[:, None, :]  # (K, oh, ow) bin outside the map
    # 3) the largest power-of-two window inside each bin: 2**a <= bin height, 2**b <= bin width
    bin_h, bin_w = (y_hi - y_lo).clamp(min=1), (x_hi - x_lo).clamp(min=1)  # (K, oh), (K, ow)
    levels_y = int(bin_h.max()).bit_length() - 1 if len(rois) else 0
    levels_x = int(bin_w.max()).bit_length() - 1 if len(rois) else 0
    level_y = sum(
        ((bin_h >= 2**i).long() for i in range(1, levels_y + 1)), torch.zeros_like(bin_h)
    )  # (K, oh)
    level_x = sum(
        ((bin_w >= 2**i).long() for i in range(1, levels_x + 1)), torch.zeros_like(bin_w)
    )  # (K, ow)
    table = _window_maxima(input.permute(0, 2, 3, 1), levels_y, levels_x)  # (a, b, B, H, W, C)
    # 4) the four windows of each bin: top/bottom x left/right; their max is the bin's max
    tops, bottoms = (
        y_lo.clamp(max=height - 1),
        (y_hi - 2**level_y).clamp(min=0),
    )  # (K, oh) first row of each window
    lefts, rights = x_lo.clamp(max=width - 1), (x_hi - 2**level_x).clamp(min=0)  # (K, ow) first column
    n = rois[:, 0].long()[:, None, None]  # (K, 1, 1) image of each RoI
    level = (level_y[:, :, None] * (levels_x + 1) + level_x[:, None, :]) * input.shape[0] + n  # (K, oh, ow)
    rows = table.reshape(-1, input.shape[1])  # one row of C values per (a, b, image, y, x)

    def window(y: Tensor, x: Tensor) -> Tensor:  # (K, oh, ow, C): the windows starting at rows y, columns x
        flat = (level * height + y[:, :, None]) * width + x[:, None, :]
        return rows.index_select(0, flat.flatten()).view(*flat.shape, input.shape[1])

    # the max of the four windows (equal values split the gradient; the same cell's paths add up to 1)
    pooled = torch.maximum(
        torch.maximum(window(tops, lefts), window(tops, rights)),
        torch.maximum(window(bottoms, lefts), window(bottoms, rights)),
    )
    return pooled.masked_fill(empty[..., None], 0.0).permute(0, 3, 1, 2)  # (K, C, oh, ow)
