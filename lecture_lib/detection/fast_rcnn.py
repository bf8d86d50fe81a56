"""Fast R-CNN: the backbone runs once per image, RoI pooling cuts every proposal out of the
feature map, one head does softmax classification and box regression (multi-task loss).

Used in 03b_fast_rcnn.ipynb (slides "Fast R-CNN", "Fast R-CNN Training") and in the comparison
of 03c_faster_rcnn.ipynb. Proposals come from outside (Selective Search). Training:
``lecture_lib.detection.training.fit_fast_rcnn``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lecture_lib.detection.backbone import Backbone
from lecture_lib.detection.roi_heads import RoIHead, check_images, check_proposals, check_targets
from lecture_lib.runtime import evaluating


class FastRCNN(nn.Module):
    """Backbone (once per image) + :class:`~lecture_lib.detection.roi_heads.RoIHead` on external proposals.

    Args:
        num_classes: classes including background.
        depth, dim: backbone depth (``"small"``/``"deep"``) and fc6/fc7 width.
        box_roi_pool: ``"roi_pool"``, ``"lecture"`` or ``"roi_align"`` (see ``RoIHead``).
        box_*, bbox_reg_weights: the head's thresholds, with torchvision's names and defaults.
    """

    def __init__(
        self,
        num_classes: int,
        depth: str = "small",
        dim: int = 128,
        *,
        box_roi_pool: str = "roi_align",
        box_score_thresh: float = 0.05,
        box_nms_thresh: float = 0.5,
        box_detections_per_img: int = 100,
        box_fg_iou_thresh: float = 0.5,
        box_bg_iou_thresh: float = 0.5,
        box_batch_size_per_image: int = 512,
        box_positive_fraction: float = 0.25,
        bbox_reg_weights: Sequence[float] | None = None,
    ):
        super().__init__()
        self.backbone = Backbone(depth)
        self.roi_head = RoIHead(
            self.backbone.out_channels,
            num_classes,
            dim,
            Backbone.stride,
            box_roi_pool=box_roi_pool,
            box_fg_iou_thresh=box_fg_iou_thresh,
            box_bg_iou_thresh=box_bg_iou_thresh,
            box_batch_size_per_image=box_batch_size_per_image,
            box_positive_fraction=box_positive_fraction,
            bbox_reg_weights=bbox_reg_weights,
            box_score_thresh=box_score_thresh,
            box_nms_thresh=box_nms_thresh,
            box_detections_per_img=box_detections_per_img,
        )

    def forward(self, images: Tensor, rois_per_image: list[Tensor]) -> tuple[Tensor, Tensor]:
        """Class scores ``Tensor[K, C]`` and deltas ``Tensor[K, C, 4]`` of the RoIs of all images."""
        check_proposals(rois_per_image, images, "rois_per_image")
        return self.roi_head(self.backbone(images), rois_per_image)

    def losses(
        self,
        images: Tensor,
        proposals_per_image: list[Tensor],
        targets: list[dict],
        *,
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor]:
        """``{"loss_classifier", "loss_box_reg"}`` for ``Tensor[B, 3, H, W]`` images, proposals, targets."""
        check_proposals(proposals_per_image, images)
        check_targets(targets, check_images(images)[0], self.roi_head.num_classes)
        return self.roi_head.losses(self.backbone(images), proposals_per_image, targets, generator=generator)

    def detect(self, images: Tensor, proposals_per_image: list[Tensor]) -> list[dict[str, Tensor]]:
        """Detections ``{"boxes", "scores", "labels"}`` for each image (eval mode, inference mode;
        the caller's train/eval state is kept)."""
        check_proposals(proposals_per_image, images)
        if images.shape[0] == 0:  # no images: no detections
            return []
        with evaluating(self), torch.inference_mode():
            logits, deltas = self(images, proposals_per_image)
            size = (int(images.shape[-2]), int(images.shape[-1]))
            return self.roi_head.postprocess(logits, deltas, proposals_per_image, size)
