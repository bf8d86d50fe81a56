"""Faster R-CNN = Fast R-CNN + a Region Proposal Network on the same feature map.

Used in 03c_faster_rcnn.ipynb (slides "Region Proposal Networks", "Faster R-CNN": one network,
four losses, trained jointly). The RPN slides a 3x3 conv over the features; at every position
it scores ``A`` anchors (objectness) and regresses their deltas; decoded, NMS-ed top boxes are
the proposals for the :class:`~lecture_lib.detection.fast_rcnn.RoIHead`.
"""

from __future__ import annotations

import torch
import torchvision
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib import boxes as box_ops
from lecture_lib.detection.anchors import make_anchors
from lecture_lib.detection.backbone import Backbone
from lecture_lib.detection.fast_rcnn import (
    BBOX_STD,
    RoIHead,
    head_losses,
    postprocess_per_image,
    sample_rois,
    train_detector,
)
from lecture_lib.detection.matching import match, sample

ANCHOR_SIZES = (16, 32, 64)
ASPECT_RATIOS = (0.5, 1.0, 2.0)
_STD = torch.tensor(BBOX_STD)


class RPN(nn.Module):
    """3x3 conv + ReLU, then 1x1 convs: objectness ``[B, A, h, w]`` and deltas ``[B, 4A, h, w]``."""

    def __init__(self, in_channels: int, num_anchors: int, hidden: int = 64):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.objectness = nn.Conv2d(hidden, num_anchors, 1)
        self.deltas = nn.Conv2d(hidden, 4 * num_anchors, 1)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        h = F.relu(self.conv(features))
        b = features.shape[0]
        # (B, A, h, w) -> (B, h*w*A): the same order as make_anchors (position-major, then anchor)
        logits = self.objectness(h).permute(0, 2, 3, 1).reshape(b, -1)
        deltas = self.deltas(h).view(b, -1, 4, *h.shape[-2:]).permute(0, 3, 4, 1, 2).reshape(b, -1, 4)
        return logits, deltas


def rpn_losses(logits: Tensor, deltas: Tensor, anchors: Tensor, targets: list[dict], *,
               generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Objectness (binary cross-entropy) and box (smooth-L1) losses over 256 sampled anchors per image.

    An anchor is positive with IoU >= 0.7 with a ground truth box, or if it is that box's best
    anchor; negative with IoU < 0.3; the rest are ignored (Faster R-CNN Sec. 3.1.2).
    """
    sel_logits, sel_labels, pos_deltas, pos_targets = [], [], [], []
    for i, t in enumerate(targets):
        gt = t["boxes"].float()
        if len(gt):
            matched = match(box_ops.box_iou(gt, anchors), high=0.7, low=0.3, allow_low_quality=True)
        else:
            matched = torch.full((len(anchors),), -1, dtype=torch.int64)
        pos, neg = sample(matched, num=256, positive_fraction=0.5, generator=generator)
        sel_logits.append(logits[i, torch.cat([pos, neg])])
        sel_labels.append(torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))]))
        pos_deltas.append(deltas[i, pos])
        pos_targets.append(box_ops.encode(anchors[pos], gt[matched[pos]]) / torch.tensor(BBOX_STD)
                           if len(pos) else torch.zeros(0, 4))
    sel_logits, sel_labels = torch.cat(sel_logits), torch.cat(sel_labels)
    loss_obj = F.binary_cross_entropy_with_logits(sel_logits, sel_labels)
    loss_box = F.smooth_l1_loss(torch.cat(pos_deltas), torch.cat(pos_targets), beta=1 / 9,
                                reduction="sum") / max(1, sel_labels.numel())
    return loss_obj, loss_box


@torch.no_grad()
def rpn_proposals(logits: Tensor, deltas: Tensor, anchors: Tensor, image_size: tuple[int, int], *,
                  pre_nms: int = 300, post_nms: int = 300, nms_thresh: float = 0.7,
                  min_size: float = 2.0) -> tuple[list[Tensor], list[Tensor]]:
    """Keep the top ``pre_nms`` anchors by objectness, decode them, NMS at 0.7, keep ``post_nms``.

    (Training uses ``pre_nms=1000``; at test 300 gives the same recall here and a faster NMS.)

    Returns ``(proposals_per_image, scores_per_image)`` sorted by decreasing objectness.
    """
    props, scores = [], []
    for lg, dl in zip(logits, deltas):
        s, top = lg.topk(min(pre_nms, len(lg)))
        boxes = box_ops.clip_boxes(box_ops.decode(anchors[top], dl[top] * _STD), image_size)
        ok = ((boxes[:, 2:] - boxes[:, :2]) >= min_size).all(dim=1)
        boxes, s = boxes[ok], s[ok]
        # torchvision's C++ NMS: the same result as lecture_lib.boxes.nms (tests/test_boxes.py), ~10x faster;
        # on the logits, as sigmoid keeps their order
        keep = torchvision.ops.nms(boxes, s, nms_thresh)[:post_nms]
        props.append(boxes[keep])
        scores.append(torch.sigmoid(s[keep]))
    return props, scores


class FasterRCNN(nn.Module):
    """Backbone -> RPN -> proposals -> RoIHead; ``losses`` returns the four losses of the slide."""

    def __init__(self, num_classes: int, depth: str = "small", dim: int = 128, image_size: int = 128,
                 anchor_sizes: tuple[int, ...] = ANCHOR_SIZES, aspect_ratios: tuple[float, ...] = ASPECT_RATIOS,
                 pool: str = "align"):
        super().__init__()
        self.backbone = Backbone(depth)
        self.rpn = RPN(self.backbone.out_channels, len(anchor_sizes) * len(aspect_ratios))
        self.roi_head = RoIHead(self.backbone.out_channels, num_classes, dim, Backbone.stride, pool)
        fs = image_size // Backbone.stride
        self.register_buffer("anchors", make_anchors((fs, fs), Backbone.stride, anchor_sizes, aspect_ratios).float(),
                             persistent=False)
        self.image_size = image_size

    def load_pretrained(self, classifier_state: dict) -> None:
        """Copy backbone and fc6/fc7 weights from a :class:`CropClassifier` state dict."""
        self.backbone.load_state_dict({k[9:]: v for k, v in classifier_state.items() if k.startswith("backbone.")})
        self.roi_head.head.load_state_dict({k[5:]: v for k, v in classifier_state.items() if k.startswith("head.")})

    def _check(self, images: Tensor) -> None:
        if images.ndim != 4 or tuple(images.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(f"images must have shape (B, 3, {self.image_size}, {self.image_size}), "
                             f"got {tuple(images.shape)}")

    def losses(self, images: Tensor, targets: list[dict], *,
               generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """The four losses: RPN objectness, RPN box, head classification, head box (joint training)."""
        self._check(images)
        features = self.backbone(images)
        logits, deltas = self.rpn(features)
        loss_obj, loss_rpn_box = rpn_losses(logits, deltas, self.anchors, targets, generator=generator)
        # proposals are treated as constants (approximate joint training, Faster R-CNN Sec. 3.2)
        proposals, _ = rpn_proposals(logits.detach(), deltas.detach(), self.anchors, tuple(images.shape[-2:]),
                                     pre_nms=1000, post_nms=300)
        rois, labels, reg = [], [], []
        for props, t in zip(proposals, targets):
            r, lab, tg = sample_rois(props, t["boxes"], t["labels"], generator=generator)
            rois.append(r), labels.append(lab), reg.append(tg)
        cls_logits, box_deltas = self.roi_head(features, rois)
        loss_cls, loss_box = head_losses(cls_logits, box_deltas, torch.cat(labels), torch.cat(reg))
        return {"rpn_objectness": loss_obj, "rpn_box": loss_rpn_box, "cls": loss_cls, "box": loss_box}

    @torch.no_grad()
    def propose(self, images: Tensor, post_nms: int = 300) -> tuple[list[Tensor], list[Tensor]]:
        """RPN proposals and objectness scores for each image (what replaces Selective Search)."""
        self._check(images)
        self.eval()
        logits, deltas = self.rpn(self.backbone(images))
        return rpn_proposals(logits, deltas, self.anchors, tuple(images.shape[-2:]), post_nms=post_nms)

    @torch.no_grad()
    def detect(self, images: Tensor, post_nms: int = 300, **kwargs) -> list[dict]:
        """Detections (torchvision format) for each image, in one pass of the shared backbone."""
        self._check(images)
        self.eval()
        features = self.backbone(images)
        logits, deltas = self.rpn(features)
        proposals, _ = rpn_proposals(logits, deltas, self.anchors, tuple(images.shape[-2:]), post_nms=post_nms)
        cls_logits, box_deltas = self.roi_head(features, proposals)
        return postprocess_per_image(cls_logits, box_deltas, proposals, tuple(images.shape[-2:]), **kwargs)


def fit_faster_rcnn(model: FasterRCNN, images: Tensor, targets: list[dict], *, epochs: int, batch_size: int = 8,
                    lr: float = 2e-3, seed: int = 0, progress: bool = False) -> dict:
    """Train all four losses jointly; returns the loss curve (total and each part) and seconds."""
    g = torch.Generator().manual_seed(seed)
    batches = [(images[i:i + batch_size], targets[i:i + batch_size]) for i in range(0, len(images), batch_size)]
    return train_detector(model, lambda m, x, t: m.losses(x, t, generator=g), batches,
                          epochs=epochs, lr=lr, progress=progress)
