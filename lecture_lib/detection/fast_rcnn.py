"""Fast R-CNN: the backbone runs once per image, RoI pooling cuts every proposal out of the
feature map, one head does softmax classification and box regression (multi-task loss).

Used in 03b_fast_rcnn.ipynb (slides "Fast R-CNN", "Fast R-CNN Training") and, as the second
stage of Faster R-CNN, in 03c_faster_rcnn.ipynb.
"""

from __future__ import annotations

import torch
import torchvision
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib import boxes as box_ops
from lecture_lib.detection.backbone import POOL5, Backbone, BoxHead
from lecture_lib.detection.matching import match, sample
from lecture_lib.train import fit

# Regression targets are divided by these (Fast R-CNN normalises targets to unit variance).
BBOX_STD = (0.1, 0.1, 0.2, 0.2)


def _roi_align(features, rois, output_size, spatial_scale):
    return torchvision.ops.roi_align(features, rois, output_size, spatial_scale, sampling_ratio=2, aligned=True)


def roi_pool_fn(impl: str):
    """``lecture_lib.boxes.roi_pool`` (the teaching version), ``torchvision.ops.roi_pool`` (fast C++),
    or ``"align"``: torchvision's RoIAlign (bilinear sampling instead of rounding the RoI to feature
    cells; what torchvision's own Faster R-CNN uses, and better for small objects at stride 8)."""
    if impl == "lecture":
        return box_ops.roi_pool
    if impl == "torchvision":
        return torchvision.ops.roi_pool
    if impl == "align":
        return _roi_align
    raise ValueError(f"roi pool implementation must be 'lecture', 'torchvision' or 'align', got {impl!r}")


class RoIHead(nn.Module):
    """RoI pooling -> fc6 -> fc7 -> (class scores ``[K, C]``, class-specific deltas ``[K, C, 4]``)."""

    def __init__(self, in_channels: int, num_classes: int, dim: int = 128, stride: int = 8,
                 pool: str = "torchvision"):
        super().__init__()
        self.head = BoxHead(in_channels, dim)
        self.cls_score = nn.Linear(dim, num_classes)
        self.bbox_pred = nn.Linear(dim, 4 * num_classes)
        self.num_classes, self.stride, self.pool = num_classes, stride, pool

    def forward(self, features: Tensor, rois_per_image: list[Tensor]) -> tuple[Tensor, Tensor]:
        pool5 = roi_pool_fn(self.pool)(features, [r.float() for r in rois_per_image], (POOL5, POOL5),
                                       1.0 / self.stride)  # (K, C, 4, 4)
        fc7 = self.head(pool5)
        return self.cls_score(fc7), self.bbox_pred(fc7).view(-1, self.num_classes, 4)


def sample_rois(proposals: Tensor, gt_boxes: Tensor, gt_labels: Tensor, *, num: int = 64,
                positive_fraction: float = 0.25, fg_iou: float = 0.5,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Fast R-CNN's mini-batch: 25% RoIs with IoU >= 0.5 (their class), the rest background.

    Ground-truth boxes are added to the proposals. Returns ``(rois Tensor[K, 4], labels Tensor[K],
    reg_targets Tensor[P, 4])``; the first ``P`` RoIs are the foreground ones, and ``reg_targets``
    are their normalised ``encode(roi, gt)`` deltas.
    """
    rois = torch.cat([proposals.float(), gt_boxes.float()])
    if len(gt_boxes) == 0:
        matched = torch.full((len(rois),), -1, dtype=torch.int64)
    else:
        matched = match(box_ops.box_iou(gt_boxes.float(), rois), high=fg_iou, low=fg_iou)
    pos, neg = sample(matched, num=num, positive_fraction=positive_fraction, generator=generator)
    labels = torch.cat([gt_labels[matched[pos]], torch.zeros(len(neg), dtype=torch.int64)])
    targets = box_ops.encode(rois[pos], gt_boxes[matched[pos]].float()) / torch.tensor(BBOX_STD)
    return torch.cat([rois[pos], rois[neg]]), labels, targets


def head_losses(logits: Tensor, deltas: Tensor, labels: Tensor, reg_targets: Tensor) -> tuple[Tensor, Tensor]:
    """Multi-task loss: cross-entropy over classes + smooth-L1 on the true class's deltas (foreground only)."""
    loss_cls = F.cross_entropy(logits, labels)
    fg = torch.nonzero(labels > 0).flatten()
    pred = deltas[fg, labels[fg]]  # (P, 4) the deltas of each RoI's own class
    loss_box = F.smooth_l1_loss(pred, reg_targets, beta=1 / 9, reduction="sum") / max(1, labels.numel())
    return loss_cls, loss_box


@torch.no_grad()
def postprocess(logits: Tensor, deltas: Tensor, rois: Tensor, image_size: tuple[int, int], *,
                score_thresh: float = 0.05, nms_thresh: float = 0.3, max_det: int = 100) -> dict:
    """Softmax scores, per-class decoded boxes, per-class NMS -> ``{"boxes", "scores", "labels"}``."""
    probs = F.softmax(logits, dim=1)  # (K, C)
    k, c = probs.shape
    std = torch.tensor(BBOX_STD)
    boxes = box_ops.decode(rois.float().repeat_interleave(c - 1, 0), (deltas[:, 1:] * std).reshape(-1, 4))
    boxes = box_ops.clip_boxes(boxes, image_size)
    scores = probs[:, 1:].reshape(-1)
    labels = torch.arange(1, c).repeat(k)
    keep = (scores > score_thresh) & (boxes[:, 2] - boxes[:, 0] > 1) & (boxes[:, 3] - boxes[:, 1] > 1)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    keep = box_ops.batched_nms(boxes, scores, labels, nms_thresh)[:max_det]
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}


def postprocess_per_image(logits: Tensor, deltas: Tensor, proposals_per_image: list[Tensor],
                          image_size: tuple[int, int], **kwargs) -> list[dict]:
    """``postprocess`` image by image; rows of ``logits [K, C]``/``deltas`` follow ``proposals_per_image``."""
    out, start = [], 0
    for props in proposals_per_image:
        n = len(props)
        out.append(postprocess(logits[start:start + n], deltas[start:start + n], props, image_size, **kwargs))
        start += n
    return out


class FastRCNN(nn.Module):
    """Backbone (once per image) + :class:`RoIHead` on external proposals (Selective Search)."""

    def __init__(self, num_classes: int, depth: str = "small", dim: int = 128, pool: str = "torchvision"):
        super().__init__()
        self.backbone = Backbone(depth)
        self.roi_head = RoIHead(self.backbone.out_channels, num_classes, dim, Backbone.stride, pool)

    def load_pretrained(self, classifier_state: dict) -> None:
        """Copy backbone and fc6/fc7 weights from a :class:`CropClassifier` state dict."""
        self.backbone.load_state_dict({k[9:]: v for k, v in classifier_state.items() if k.startswith("backbone.")})
        self.roi_head.head.load_state_dict({k[5:]: v for k, v in classifier_state.items() if k.startswith("head.")})

    def forward(self, images: Tensor, rois_per_image: list[Tensor]) -> tuple[Tensor, Tensor]:
        return self.roi_head(self.backbone(images), rois_per_image)

    def losses(self, images: Tensor, proposals_per_image: list[Tensor], targets: list[dict], *,
               generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """``{"loss_cls", "loss_box"}`` for a batch of images with their proposals and targets."""
        rois, labels, reg = [], [], []
        for props, t in zip(proposals_per_image, targets):
            r, lab, tg = sample_rois(props, t["boxes"], t["labels"], generator=generator)
            rois.append(r), labels.append(lab), reg.append(tg)
        logits, deltas = self(images, rois)
        loss_cls, loss_box = head_losses(logits, deltas, torch.cat(labels), torch.cat(reg))
        return {"loss_cls": loss_cls, "loss_box": loss_box}

    @torch.no_grad()
    def detect(self, images: Tensor, proposals_per_image: list[Tensor], **kwargs) -> list[dict]:
        """Detections (torchvision format) for each image."""
        self.eval()
        logits, deltas = self(images, proposals_per_image)
        return postprocess_per_image(logits, deltas, proposals_per_image, tuple(images.shape[-2:]), **kwargs)


def train_detector(model: nn.Module, loss_fn, batches, *, epochs: int, lr: float = 1e-3,
                   progress: bool = False) -> dict:
    """Adam with a per-step cosine schedule over ``epochs`` passes of ``batches``, via ``train.fit``.

    ``loss_fn(model, *batch) -> dict of losses`` is summed into the multi-task loss. Returns the
    curve ``{"loss": [...per step], "parts": {name: [...]}, "seconds": float}``.
    """
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(batches))
    history = fit(model, batches, epochs=epochs, optimizer=opt, loss_fn=lambda m, batch: loss_fn(m, *batch),
                  scheduler=sched, scheduler_step="batch", progress=progress, desc="detector")
    return {"loss": history.batch_loss, "parts": history.batch_parts, "seconds": history.seconds}


def fit_fast_rcnn(model: FastRCNN, images: Tensor, targets: list[dict], proposals_per_image: list[Tensor], *,
                  epochs: int, batch_size: int = 4, lr: float = 1e-3, seed: int = 0,
                  progress: bool = False) -> dict:
    """Train Fast R-CNN end to end (both losses at once) on images with their external proposals."""
    g = torch.Generator().manual_seed(seed)
    batches = [(images[i:i + batch_size], proposals_per_image[i:i + batch_size], targets[i:i + batch_size])
               for i in range(0, len(images), batch_size)]
    return train_detector(model, lambda m, x, p, t: m.losses(x, p, t, generator=g), batches,
                          epochs=epochs, lr=lr, progress=progress)
