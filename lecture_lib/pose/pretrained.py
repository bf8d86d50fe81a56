"""Full profile: torchvision's COCO-pretrained Keypoint R-CNN on real photos.

Used in 05_pose.ipynb (full profile only). ``keypoint_rcnn(weights=None)`` builds the same network
untrained and offline (``weights_backbone=None`` too), which is how the tests run this code. Without
network, ``weights="DEFAULT"`` ends in one ``lecture_lib.data.OfflineError``.

Keypoint R-CNN (He et al., Mask R-CNN, ICCV 2017) predicts, for each detected person, one 56 x 56
heatmap of logits per COCO keypoint inside the person's box, trained with a softmax over the map's
pixels (a one-hot target: the "disk" shrunk to a single pixel); ``detect_keypoints`` returns those
maps too, captured with a forward hook.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lecture_lib.data import pretrained
from lecture_lib.weights import resolve_weights

COCO_KEYPOINTS: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
"""The 17 COCO keypoints in torchvision's order.

As ``KeypointRCNN_ResNet50_FPN_Weights.meta["keypoint_names"]``.
"""

COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (1, 2),
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
)

# LSP joint index -> COCO keypoint index (LSP's neck and head top have no COCO keypoint).
LSP_FROM_COCO: dict[int, int] = {
    0: 16,
    1: 14,
    2: 12,
    3: 11,
    4: 13,
    5: 15,
    6: 10,
    7: 8,
    8: 6,
    9: 5,
    10: 7,
    11: 9,
}


def keypoint_rcnn(weights: str | None = "DEFAULT", **kwargs) -> nn.Module:
    """``keypointrcnn_resnet50_fpn`` in eval mode.

    Args:
        weights: ``"DEFAULT"``, a ``KeypointRCNN_ResNet50_FPN_Weights`` name (e.g. ``"COCO_V1"``,
            ``"COCO_LEGACY"``), or ``None`` for an untrained network built offline.
        kwargs: passed on (e.g. ``min_size``, ``box_score_thresh``).

    Raises:
        OfflineError: the weights cannot be downloaded.
        ValueError: unknown weights name.
    """
    from torchvision.models.detection import KeypointRCNN_ResNet50_FPN_Weights, keypointrcnn_resnet50_fpn

    entry = resolve_weights(weights, KeypointRCNN_ResNet50_FPN_Weights)
    if entry is None:
        return keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, **kwargs).eval()
    return pretrained(keypointrcnn_resnet50_fpn, weights=entry, **kwargs).eval()


@torch.no_grad()
def detect_keypoints(model: nn.Module, image: Tensor, *, score_thresh: float = 0.8) -> dict[str, Tensor]:
    """People and their keypoints in one image.

    Args:
        model: from ``keypoint_rcnn``.
        image (Tensor[3, H, W]): RGB in [0, 1].
        score_thresh: keep people detected with at least this score.

    Returns:
        dict with ``boxes`` (Tensor[P, 4] xyxy), ``scores`` (Tensor[P]), ``keypoints``
        (Tensor[P, 17, 3]: x, y, visibility flag), ``keypoints_scores`` (Tensor[P, 17]) and
        ``heatmap_logits`` (Tensor[P, 17, 56, 56]: the per-keypoint maps inside each box), on the CPU.
    """
    if not isinstance(image, Tensor) or image.ndim != 3 or image.shape[0] != 3:
        got = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise ValueError(f"image must be a Tensor of shape (3, H, W) in [0, 1], got {got}")
    captured: list[Tensor] = []
    predictor = model.get_submodule("roi_heads.keypoint_predictor")
    hook = predictor.register_forward_hook(lambda m, i, o: captured.append(o.detach()))
    try:
        device = next(model.parameters()).device
        out = {k: v.cpu() for k, v in model([image.to(device)])[0].items()}
    finally:
        hook.remove()
    logits = captured[0].cpu() if captured else torch.zeros(0, len(COCO_KEYPOINTS), 56, 56)
    if logits.shape[0] != out["boxes"].shape[0]:  # no person kept: the predictor may not have run
        logits = torch.zeros(out["boxes"].shape[0], len(COCO_KEYPOINTS), 56, 56)
    keep = out["scores"] >= score_thresh
    result = {k: v[keep] for k, v in out.items() if k in ("boxes", "scores", "keypoints", "keypoints_scores")}
    result["heatmap_logits"] = logits[keep]
    return result
