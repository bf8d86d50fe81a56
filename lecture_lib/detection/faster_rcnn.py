"""Faster R-CNN = Fast R-CNN + a Region Proposal Network on the same feature map.

Used in 03c_faster_rcnn.ipynb (slides "Region Proposal Networks", "Faster R-CNN": one network,
four losses, trained jointly). The backbone's features feed the
:class:`~lecture_lib.detection.rpn.RegionProposalNetwork`, whose proposals feed the
:class:`~lecture_lib.detection.roi_heads.RoIHead`. Constructor arguments carry torchvision's
``FasterRCNN`` names and defaults. Training: ``lecture_lib.detection.training.fit_faster_rcnn``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lecture_lib.checks import check_int
from lecture_lib.detection.backbone import Backbone
from lecture_lib.detection.roi_heads import RoIHead, check_images, check_targets
from lecture_lib.detection.rpn import RegionProposalNetwork
from lecture_lib.runtime import evaluating

ANCHOR_SIZES = (16, 32, 64)
ASPECT_RATIOS = (0.5, 1.0, 2.0)


class FasterRCNN(nn.Module):
    """Backbone -> RPN -> proposals -> RoIHead; ``losses`` returns the four losses of the slide.

    Args:
        num_classes: classes including background.
        depth, dim: backbone depth (``"small"``/``"deep"``) and fc6/fc7 width.
        image_size: side of the (square) input images; fixes the anchors.
        anchor_sizes, aspect_ratios: the RPN's anchors per position.
        box_roi_pool: ``"roi_pool"``, ``"lecture"`` or ``"roi_align"`` (see ``RoIHead``).
        rpn_*: the RPN's numbers (see ``RegionProposalNetwork``), torchvision's names and defaults;
            ``rpn_min_size`` (drop smaller proposals) is ours.
        box_*, bbox_reg_weights: the head's numbers (see ``RoIHead``).
    """

    def __init__(
        self,
        num_classes: int,
        depth: str = "small",
        dim: int = 128,
        image_size: int = 128,
        anchor_sizes: Sequence[float] = ANCHOR_SIZES,
        aspect_ratios: Sequence[float] = ASPECT_RATIOS,
        *,
        box_roi_pool: str = "roi_align",
        rpn_pre_nms_top_n_train: int = 2000,
        rpn_pre_nms_top_n_test: int = 1000,
        rpn_post_nms_top_n_train: int = 2000,
        rpn_post_nms_top_n_test: int = 1000,
        rpn_nms_thresh: float = 0.7,
        rpn_fg_iou_thresh: float = 0.7,
        rpn_bg_iou_thresh: float = 0.3,
        rpn_batch_size_per_image: int = 256,
        rpn_positive_fraction: float = 0.5,
        rpn_min_size: float = 1e-3,
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
        check_int(image_size, "image_size", low=Backbone.stride)
        self.backbone = Backbone(depth)
        fs = image_size // Backbone.stride
        self.rpn = RegionProposalNetwork(
            self.backbone.out_channels,
            (fs, fs),
            Backbone.stride,
            anchor_sizes=anchor_sizes,
            aspect_ratios=aspect_ratios,
            pre_nms_top_n_train=rpn_pre_nms_top_n_train,
            pre_nms_top_n_test=rpn_pre_nms_top_n_test,
            post_nms_top_n_train=rpn_post_nms_top_n_train,
            post_nms_top_n_test=rpn_post_nms_top_n_test,
            nms_thresh=rpn_nms_thresh,
            fg_iou_thresh=rpn_fg_iou_thresh,
            bg_iou_thresh=rpn_bg_iou_thresh,
            batch_size_per_image=rpn_batch_size_per_image,
            positive_fraction=rpn_positive_fraction,
            min_size=rpn_min_size,
        )
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
        self.image_size = image_size

    def _check(self, images: Tensor) -> None:
        check_images(images)
        if images.ndim != 4 or tuple(images.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(
                f"images must have shape (B, 3, {self.image_size}, {self.image_size}), "
                f"got {tuple(images.shape)}"
            )

    def losses(
        self, images: Tensor, targets: list[dict], *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """The four losses (joint training): ``loss_objectness``, ``loss_rpn_box_reg`` (RPN),
        ``loss_classifier``, ``loss_box_reg`` (head on the RPN's proposals)."""
        self._check(images)
        check_targets(targets, images.shape[0], self.roi_head.num_classes)
        features = self.backbone(images)
        logits, deltas = self.rpn(features)
        losses = self.rpn.losses(logits, deltas, targets, generator=generator)
        # proposals are treated as constants (approximate joint training, Faster R-CNN Sec. 3.2)
        size = (int(images.shape[-2]), int(images.shape[-1]))
        proposals, _ = self.rpn.filter_proposals(logits, deltas, size)
        losses.update(self.roi_head.losses(features, proposals, targets, generator=generator))
        return losses

    def propose(self, images: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """RPN proposals and objectness scores for each image (what replaces Selective Search);
        eval and inference mode, the caller's train/eval state kept."""
        self._check(images)
        with evaluating(self), torch.inference_mode():
            return self.rpn.propose(self.backbone(images), (int(images.shape[-2]), int(images.shape[-1])))

    def detect(self, images: Tensor) -> list[dict[str, Tensor]]:
        """Detections ``{"boxes", "scores", "labels"}`` for each image, in one pass of the shared backbone."""
        self._check(images)
        if images.shape[0] == 0:  # no images: no detections
            return []
        with evaluating(self), torch.inference_mode():
            size = (int(images.shape[-2]), int(images.shape[-1]))
            features = self.backbone(images)
            proposals, _ = self.rpn.propose(features, size)
            logits, deltas = self.roi_head(features, proposals)
            return self.roi_head.postprocess(logits, deltas, proposals, size)
