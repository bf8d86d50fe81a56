"""IoU matching of proposals/anchors to ground truth, and positive/negative sampling.

- ``match``: each proposal/anchor -> its best ground truth, or background / ignored
  (torchvision's ``_utils.Matcher``).
- ``sample``: a mini-batch with at most a given share of foreground (torchvision's
  ``BalancedPositiveNegativeSampler``); the RPN samples its anchors with it.
- ``sample_rois``: the one RoI sampler of the Fast R-CNN head (Fast and Faster R-CNN).

Used in 03b_fast_rcnn and 03c_faster_rcnn (slides "Fast R-CNN Training", "Region Proposal Networks").
"""

from __future__ import annotations

import torch
from torch import Tensor

from lecture_lib.boxes import box_iou
from lecture_lib.checks import check_int, check_probability, check_tensor, check_tensor_list

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
    if not isinstance(iou, Tensor) or iou.ndim != 2:
        check_tensor(iou, "iou", "(M, N)")
        raise ValueError(f"iou must have shape (M, N), got {tuple(iou.shape)}")
    check_tensor(iou, "iou", "(M, N)", dtype="float", finite=True)  # a NaN IoU is never foreground
    high, low = check_probability(high, "high"), check_probability(low, "low")
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


def sample(
    matched: Tensor, *, num: int, positive_fraction: float, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
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
    check_probability(positive_fraction, "positive_fraction")
    num = check_int(num, "num", low=0)  # a negative num would silently slice from the end
    check_tensor(matched, "matched", "(N,)", dtype="int")
    pos = torch.nonzero(matched >= 0).flatten()
    neg = torch.nonzero(matched == BELOW_LOW).flatten()
    num_pos = min(int(num * positive_fraction), pos.numel())
    num_neg = min(num - num_pos, neg.numel())
    pos = pos[torch.randperm(pos.numel(), generator=generator)[:num_pos]]
    neg = neg[torch.randperm(neg.numel(), generator=generator)[:num_neg]]
    return pos, neg


def sample_rois(
    proposals_per_image: list[Tensor],
    targets: list[dict[str, Tensor]],
    *,
    fg_iou_thresh: float,
    bg_iou_thresh: float,
    batch_size_per_image: int,
    positive_fraction: float,
    generator: torch.Generator | None = None,
) -> tuple[list[Tensor], Tensor, Tensor]:
    """The RoI mini-batch of Fast R-CNN's head (also the second stage of Faster R-CNN).

    Per image, the ground-truth boxes are added to the proposals, every RoI is matched to its
    best ground truth (:func:`match`: foreground with IoU >= ``fg_iou_thresh``, background below
    ``bg_iou_thresh``) and up to ``batch_size_per_image`` RoIs are drawn, at most
    ``positive_fraction`` of them foreground (:func:`sample`; Fast R-CNN: 64 RoIs, 25%).

    Args:
        proposals_per_image (list[Tensor[N_i, 4]]): xyxy proposals of each image.
        targets (list[dict]): ``{"boxes": Tensor[M_i, 4], "labels": Tensor[M_i]}`` per image.
        generator: random source of the sampling.

    Returns:
        (rois_per_image list[Tensor[K_i, 4]], labels Tensor[K], matched_gt Tensor[P, 4]):
        in each image the foreground RoIs come first; ``labels`` (0 = background) follow the RoIs
        of all images in order, and ``matched_gt`` are the ground-truth boxes of the ``P``
        foreground RoIs in the same order (what the head's box coder encodes).
    """
    check_tensor_list(proposals_per_image, "proposals_per_image")
    check_tensor_list(targets, "targets")
    if len(proposals_per_image) != len(targets):
        raise ValueError(
            f"need one proposal tensor per target, got {len(proposals_per_image)} and {len(targets)}"
        )
    rois_per_image, labels, matched_gt = [], [], []
    for props, t in zip(proposals_per_image, targets):
        gt_boxes, gt_labels = t["boxes"].float(), t["labels"]
        rois = torch.cat([props.float(), gt_boxes])
        if len(gt_boxes) == 0:
            matched = torch.full((len(rois),), BELOW_LOW, dtype=torch.int64)
        else:
            matched = match(box_iou(gt_boxes, rois), high=fg_iou_thresh, low=bg_iou_thresh)
        pos, neg = sample(
            matched, num=batch_size_per_image, positive_fraction=positive_fraction, generator=generator
        )
        rois_per_image.append(torch.cat([rois[pos], rois[neg]]))
        labels.append(torch.cat([gt_labels[matched[pos]], torch.zeros(len(neg), dtype=torch.int64)]))
        matched_gt.append(gt_boxes[matched[pos]])
    return rois_per_image, torch.cat(labels), torch.cat(matched_gt).reshape(-1, 4)
