"""Faster R-CNN's Region Proposal Network on one feature map.

Used in 03c_faster_rcnn.ipynb (slides "Region Proposal Networks", "Faster R-CNN"). A 3x3 conv
slides over the features; at every position 1x1 convs score ``A`` anchors (objectness) and
regress their deltas; the decoded, NMS-ed top boxes are the proposals. Threshold names and
meanings are torchvision's ``RegionProposalNetwork``'s (Faster R-CNN Sec. 3.1.2).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torchvision
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib import boxes as box_ops
from lecture_lib.checks import check_int, check_number, check_probability, check_size, check_tensor
from lecture_lib.detection.anchors import make_anchors
from lecture_lib.detection.coder import BoxCoder
from lecture_lib.detection.matching import BELOW_LOW, match, sample


class RegionProposalNetwork(nn.Module):
    """RPN head (3x3 conv + ReLU, 1x1 objectness ``[B, A, h, w]``, deltas ``[B, 4A, h, w]``), its anchors.

    Args:
        in_channels: feature channels.
        feature_size, stride: ``(h, w)`` of the feature map and its stride in pixels (fixes the anchors).
        anchor_sizes, aspect_ratios: the ``A = len(sizes) * len(ratios)`` anchors per position.
        hidden: channels of the 3x3 conv.
        pre_nms_top_n_train, pre_nms_top_n_test: anchors kept by objectness before NMS (training / test).
        post_nms_top_n_train, post_nms_top_n_test: proposals kept after NMS.
        nms_thresh: NMS IoU threshold of the proposals.
        fg_iou_thresh, bg_iou_thresh: anchor is positive at IoU >= fg (or best for a box), negative below bg.
        batch_size_per_image, positive_fraction: sampled anchors per image and their foreground share.
        min_size: proposals with a side below this (pixels) are dropped.
        weights: :class:`BoxCoder` weights of the deltas (torchvision's RPN uses ``(1, 1, 1, 1)``;
            ours was trained with Fast R-CNN's ``(10, 10, 5, 5)``).
    """

    anchors: Tensor  # buffer (h*w*A, 4), registered in __init__

    def __init__(
        self,
        in_channels: int,
        feature_size: tuple[int, int],
        stride: int,
        *,
        anchor_sizes: Sequence[float],
        aspect_ratios: Sequence[float],
        hidden: int = 64,
        pre_nms_top_n_train: int = 2000,
        pre_nms_top_n_test: int = 1000,
        post_nms_top_n_train: int = 2000,
        post_nms_top_n_test: int = 1000,
        nms_thresh: float = 0.7,
        fg_iou_thresh: float = 0.7,
        bg_iou_thresh: float = 0.3,
        batch_size_per_image: int = 256,
        positive_fraction: float = 0.5,
        min_size: float = 1e-3,
        weights: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0),
    ):
        super().__init__()
        check_int(in_channels, "in_channels", low=1)
        self.feature_size = check_size(feature_size, "feature_size")
        check_int(hidden, "hidden", low=1)
        for arg, value in (
            ("pre_nms_top_n_train", pre_nms_top_n_train),
            ("pre_nms_top_n_test", pre_nms_top_n_test),
            ("post_nms_top_n_train", post_nms_top_n_train),
            ("post_nms_top_n_test", post_nms_top_n_test),
            ("batch_size_per_image", batch_size_per_image),
        ):
            check_int(value, arg, low=1)
        for arg, thresh in (
            ("nms_thresh", nms_thresh),
            ("fg_iou_thresh", fg_iou_thresh),
            ("bg_iou_thresh", bg_iou_thresh),
            ("positive_fraction", positive_fraction),
        ):
            check_probability(thresh, arg)
        check_number(min_size, "min_size", low=0.0)
        num_anchors = len(anchor_sizes) * len(aspect_ratios)
        self.conv = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.objectness = nn.Conv2d(hidden, num_anchors, 1)
        self.deltas = nn.Conv2d(hidden, 4 * num_anchors, 1)
        self.register_buffer(
            "anchors",
            make_anchors(feature_size, stride, anchor_sizes, aspect_ratios).float(),
            persistent=False,
        )  # (h*w*A, 4), rebuilt from the arguments, not stored
        self.pre_nms_top_n = {"training": pre_nms_top_n_train, "testing": pre_nms_top_n_test}
        self.post_nms_top_n = {"training": post_nms_top_n_train, "testing": post_nms_top_n_test}
        self.nms_thresh, self.min_size = nms_thresh, min_size
        self.fg_iou_thresh, self.bg_iou_thresh = fg_iou_thresh, bg_iou_thresh
        self.batch_size_per_image, self.positive_fraction = batch_size_per_image, positive_fraction
        self.box_coder = BoxCoder(weights)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """Objectness logits ``Tensor[B, h*w*A]`` and deltas ``Tensor[B, h*w*A, 4]`` in the anchors' order.

        The anchors are fixed for the ``feature_size`` the RPN was built for; a feature map of
        another size is refused (its logits would be decoded with the wrong anchors).
        """
        check_tensor(features, "features", "(B, C, h, w)", dtype="float")
        if tuple(features.shape[-2:]) != self.feature_size:
            raise ValueError(
                f"features must have shape (B, C, {self.feature_size[0]}, {self.feature_size[1]}): "
                f"this RPN's anchors were built for {self.feature_size[0]}x{self.feature_size[1]} "
                f"feature maps, got {tuple(features.shape)}"
            )
        h = F.relu(self.conv(features))
        b = features.shape[0]
        # (B, A, h, w) -> (B, h*w*A): the same order as make_anchors (position-major, then anchor)
        logits = self.objectness(h).permute(0, 2, 3, 1).reshape(b, -1)
        deltas = self.deltas(h).view(b, -1, 4, *h.shape[-2:]).permute(0, 3, 4, 1, 2).reshape(b, -1, 4)
        return logits, deltas

    def filter_proposals(
        self, logits: Tensor, deltas: Tensor, image_size: tuple[int, int]
    ) -> tuple[list[Tensor], list[Tensor]]:
        """Top ``pre_nms_top_n`` anchors by objectness, decoded, clipped, NMS, top ``post_nms_top_n``.

        The training or testing numbers are chosen by ``self.training``, as torchvision.
        Returns ``(proposals_per_image, scores_per_image)``, sorted by decreasing objectness (sigmoid).
        """
        b = check_tensor(logits, "logits", "(B, L)", dtype="float", sizes={"L": len(self.anchors)})
        check_tensor(deltas, "deltas", "(B, L, 4)", dtype="float", sizes=b)
        mode = "training" if self.training else "testing"
        pre_nms, post_nms = self.pre_nms_top_n[mode], self.post_nms_top_n[mode]
        props, scores = [], []
        for lg, dl in zip(
            logits.detach(), deltas.detach()
        ):  # proposals are constants (Faster R-CNN Sec. 3.2)
            s, top = lg.topk(min(pre_nms, len(lg)))
            boxes = box_ops.clip_boxes(self.box_coder.decode(self.anchors[top], dl[top]), image_size)
            ok = ((boxes[:, 2:] - boxes[:, :2]) >= self.min_size).all(dim=1)
            boxes, s = boxes[ok], s[ok]
            # torchvision's C++ NMS: the same result as lecture_lib.boxes.nms (tests/test_boxes.py), faster;
            # on the logits, as sigmoid keeps their order
            keep = torchvision.ops.nms(boxes, s, self.nms_thresh)[:post_nms]
            props.append(boxes[keep])
            scores.append(torch.sigmoid(s[keep]))
        return props, scores

    def propose(self, features: Tensor, image_size: tuple[int, int]) -> tuple[list[Tensor], list[Tensor]]:
        """Proposals from features: head, decode, NMS (``forward`` + ``filter_proposals``)."""
        logits, deltas = self(features)
        return self.filter_proposals(logits, deltas, image_size)

    def losses(
        self, logits: Tensor, deltas: Tensor, targets: list[dict], *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """``{"loss_objectness", "loss_rpn_box_reg"}`` over ``batch_size_per_image`` sampled anchors each.

        An anchor is positive with IoU >= ``fg_iou_thresh`` with a ground-truth box, or if it is
        that box's best anchor; negative below ``bg_iou_thresh``; the rest are ignored.
        """
        sel_logits, sel_labels, pos_deltas, pos_targets = [], [], [], []
        for i, t in enumerate(targets):
            gt = t["boxes"].float()
            if len(gt):
                matched = match(
                    box_ops.box_iou(gt, self.anchors),
                    high=self.fg_iou_thresh,
                    low=self.bg_iou_thresh,
                    allow_low_quality=True,
                )
            else:
                matched = torch.full((len(self.anchors),), BELOW_LOW, dtype=torch.int64)
            pos, neg = sample(
                matched,
                num=self.batch_size_per_image,
                positive_fraction=self.positive_fraction,
                generator=generator,
            )
            sel_logits.append(logits[i, torch.cat([pos, neg])])
            sel_labels.append(torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))]))
            pos_deltas.append(deltas[i, pos])
            pos_targets.append(
                self.box_coder.encode(self.anchors[pos], gt[matched[pos]]) if len(pos) else torch.zeros(0, 4)
            )
        all_logits, all_labels = torch.cat(sel_logits), torch.cat(sel_labels)
        loss_obj = F.binary_cross_entropy_with_logits(all_logits, all_labels)
        loss_box = F.smooth_l1_loss(
            torch.cat(pos_deltas), torch.cat(pos_targets), beta=1 / 9, reduction="sum"
        ) / max(1, all_labels.numel())
        return {"loss_objectness": loss_obj, "loss_rpn_box_reg": loss_box}
