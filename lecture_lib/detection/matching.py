"""IoU matching of proposals/anchors to ground truth, and positive/negative sampling.

Used by R-CNN, Fast R-CNN and the RPN of Faster R-CNN (03a-03c notebooks). Same rules as
torchvision's ``_utils.Matcher`` and ``BalancedPositiveNegativeSampler``.
"""

from __future__ import annotations

import torch
from torch import Tensor

BELOW_LOW = -1  # background: max IoU < low threshold
BETWEEN = -2  # ignored: low <= max IoU < high


def match(iou: Tensor, *, high: float, low: float, allow_low_quality: bool = False) -> Tensor:
    """Assign each column (proposal/anchor) to its best ground-truth row.

    Args:
        iou (Tensor[M, N]): IoU of M ground-truth boxes with N proposals.
        high: a proposal with max IoU >= high is matched to that box (foreground).
        low: max IoU < low -> ``BELOW_LOW`` (-1, background); in between -> ``BETWEEN`` (-2, ignored).
        allow_low_quality: also match, for every ground truth, the proposals with its highest IoU
            (Faster R-CNN: "the anchor with the highest IoU with a ground-truth box" is positive).

    Returns:
        Tensor[N] int64: the matched ground-truth index, or -1 / -2.
    """
    if iou.ndim != 2:
        raise ValueError(f"iou must have shape (M, N), got {tuple(iou.shape)}")
    if low > high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    n = iou.shape[1]
    if iou.shape[0] == 0:  # no ground truth: everything is background
        return torch.full((n,), BELOW_LOW, dtype=torch.int64)
    if n == 0:
        return torch.zeros(0, dtype=torch.int64)
    best_iou, matches = iou.max(dim=0)  # (N,) best ground truth for each proposal
    result = matches.clone()
    result[best_iou < low] = BELOW_LOW
    result[(best_iou >= low) & (best_iou < high)] = BETWEEN
    if allow_low_quality:
        best_per_gt = iou.max(dim=1, keepdim=True).values  # (M, 1)
        gt_idx, prop_idx = torch.nonzero(iou == best_per_gt, as_tuple=True)
        result[prop_idx] = matches[prop_idx]
    return result


def sample(matched: Tensor, *, num: int, positive_fraction: float,
           generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Sample up to ``num`` proposals, at most ``positive_fraction`` of them foreground.

    Args:
        matched (Tensor[N]): output of :func:`match` (>= 0 foreground, -1 background, -2 ignored).
        num: mini-batch size per image (RPN: 256, Fast R-CNN: 64 RoIs per image).
        positive_fraction: upper bound on the foreground share (RPN 0.5, Fast R-CNN 0.25).
        generator: random source (seeded for reproducibility).

    Returns:
        (pos_idx Tensor[P], neg_idx Tensor[Q]) int64 indices with P + Q <= num.
    """
    if not 0.0 <= positive_fraction <= 1.0:
        raise ValueError(f"positive_fraction must be in [0, 1], got {positive_fraction}")
    pos = torch.nonzero(matched >= 0).flatten()
    neg = torch.nonzero(matched == BELOW_LOW).flatten()
    num_pos = min(int(num * positive_fraction), pos.numel())
    num_neg = min(num - num_pos, neg.numel())
    pos = pos[torch.randperm(pos.numel(), generator=generator)[:num_pos]]
    neg = neg[torch.randperm(neg.numel(), generator=generator)[:num_neg]]
    return pos, neg
