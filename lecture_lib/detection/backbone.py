"""Small CNN backbones, the "fc6/fc7" box head and the crop classifier shared by all detectors.

Used in 03a_rcnn, 03b_fast_rcnn and 03c_faster_rcnn (slides "R-CNN pipeline" to "Faster R-CNN").
The slides' networks are AlexNet/VGG16 pretrained on ImageNet; here the stand-ins are two tiny
stride-8 CNNs of different depth ("deeper networks do better"), pretrained as classifiers on
object crops cut from the procedural scenes (``lecture_lib.detection.recipes``,
``detection_backbone_{small,deep}.pt``). :func:`load_pretrained` copies such a classifier into a
detector.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib.layers import conv_stage

DEPTHS = {  # channels of the convs of each stage; each stage ends with a 2x2 max pool -> stride 8
    "small": ((16,), (32,), (48,)),
    "deep": ((16,), (32, 32), (48, 48, 48)),
}
POOL5 = 4  # pool5 is C x 4 x 4, the head's input (AlexNet: 256 x 6 x 6)


class Backbone(nn.Module):
    """Three ``conv_stage``s (3x3 conv-BN-ReLU units, 2x2 max pool).

    ``Tensor[B, 3, H, W] -> Tensor[B, C, H/8, W/8]``.

    The stages' layers are flattened into one ``body`` (``body.0`` conv, ``body.1`` BN, ...).

    Args:
        depth: ``"small"`` (3 conv layers) or ``"deep"`` (6 conv layers), same width and stride.
    """

    stride = 8

    def __init__(self, depth: str = "small"):
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth!r}")
        self.depth = depth
        layers: list[nn.Module] = []
        c_in = 3
        for stage in DEPTHS[depth]:
            layers += list(conv_stage(c_in, stage[0], convs=len(stage)))
            c_in = stage[0]
        self.body = nn.Sequential(*layers)
        self.out_channels = c_in

    def forward(self, images: Tensor) -> Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")
        return self.body(images)


class BoxHead(nn.Module):
    """pool5 ``Tensor[N, C, 4, 4]`` -> fc6 -> fc7 ``Tensor[N, D]`` (the features R-CNN's SVMs use)."""

    def __init__(self, in_channels: int, dim: int = 128):
        super().__init__()
        self.fc6 = nn.Linear(in_channels * POOL5 * POOL5, dim)
        self.fc7 = nn.Linear(dim, dim)
        self.dim = dim

    def forward(self, pool5: Tensor) -> Tensor:
        return F.relu(self.fc7(F.relu(self.fc6(pool5.flatten(1)))))


class CropClassifier(nn.Module):
    """Backbone + pool5 + fc6/fc7 + softmax layer over ``num_classes`` (background = 0).

    This is the "pretrained/fine-tuned classification network" of R-CNN; its backbone and head
    initialise every detector in the notebooks.
    """

    def __init__(self, num_classes: int, depth: str = "small", dim: int = 128):
        super().__init__()
        self.backbone = Backbone(depth)
        self.head = BoxHead(self.backbone.out_channels, dim)
        self.cls = nn.Linear(dim, num_classes)

    def pool5(self, crops: Tensor) -> Tensor:
        return F.adaptive_max_pool2d(self.backbone(crops), POOL5)

    def forward(self, crops: Tensor) -> Tensor:
        return self.cls(self.head(self.pool5(crops)))


def load_pretrained(detector: nn.Module, classifier: CropClassifier) -> None:
    """Initialise a detector from a pretrained :class:`CropClassifier` (the slides' ImageNet CNN).

    Copies ``classifier.backbone`` into ``detector.backbone`` and the fc6/fc7 ``classifier.head``
    into ``detector.roi_head.head`` (Fast and Faster R-CNN); the new output layers stay as built.
    """
    if not isinstance(classifier, CropClassifier):
        raise TypeError(
            f"classifier must be a CropClassifier (e.g. load_model('detection_backbone_small.pt')), "
            f"got {type(classifier).__name__}"
        )
    detector.get_submodule("backbone").load_state_dict(classifier.backbone.state_dict())
    detector.get_submodule("roi_head.head").load_state_dict(classifier.head.state_dict())


def warp_crops(image: Tensor, boxes: Tensor, size: int = 64, context: float = 0.0) -> Tensor:
    """R-CNN's anisotropic warp: every box resized to ``size x size`` (bilinear).

    Args:
        image (Tensor[3, H, W]): the image.
        boxes (Tensor[N, 4]): xyxy pixel boxes.
        size: output side (R-CNN: 227).
        context: padding added around each box, as a fraction of its size (R-CNN: 16/227 of the warp).

    Returns:
        Tensor[N, 3, size, size]. Pixels outside the image are 0 (grey-mean padding in the paper).
    """
    if image.ndim != 3 or boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(
            f"expected image (3, H, W) and boxes (N, 4), got {tuple(image.shape)} and {tuple(boxes.shape)}"
        )
    if len(boxes) == 0:
        return image.new_zeros((0, 3, size, size))
    _, h, w = image.shape
    b = boxes.to(image.dtype)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    bw, bh = (b[:, 2] - b[:, 0]) * (1 + 2 * context), (b[:, 3] - b[:, 1]) * (1 + 2 * context)
    theta = torch.zeros(len(b), 2, 3, dtype=image.dtype)  # maps output [-1, 1] to the box in input coords
    theta[:, 0, 0], theta[:, 0, 2] = bw / w, 2 * cx / w - 1
    theta[:, 1, 1], theta[:, 1, 2] = bh / h, 2 * cy / h - 1
    grid = F.affine_grid(theta, [len(b), 3, size, size], align_corners=False)
    return F.grid_sample(image.expand(len(b), -1, -1, -1), grid, align_corners=False)
