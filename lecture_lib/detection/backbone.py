"""Small CNN backbones and the "fc6/fc7" box head shared by R-CNN and Fast R-CNN.

Used in 03a_rcnn, 03b_fast_rcnn and 03c_faster_rcnn (slides "R-CNN pipeline" to "Faster R-CNN").
The slides' networks are AlexNet/VGG16 pretrained on ImageNet; here the stand-ins are two tiny
stride-8 CNNs of different depth ("deeper networks do better"), pretrained as classifiers on
object crops cut from the procedural scenes (``tools/checkpoints/detection_backbones.py``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib import boxes as box_ops

DEPTHS = {  # channels per stage; each stage ends with a 2x2 max pool -> stride 8 after 3 stages
    "small": ((16,), (32,), (48,)),
    "deep": ((16,), (32, 32), (48, 48, 48)),
}
POOL5 = 4  # pool5 is C x 4 x 4, the head's input (AlexNet: 256 x 6 x 6)


class Backbone(nn.Module):
    """Conv3x3+BatchNorm+ReLU stages with max pooling: ``Tensor[B, 3, H, W] -> Tensor[B, C, H/8, W/8]``.

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
            for c_out in stage:
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
                c_in = c_out
            layers.append(nn.MaxPool2d(2))
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
        raise ValueError(f"expected image (3, H, W) and boxes (N, 4), got {tuple(image.shape)} and {tuple(boxes.shape)}")
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


def sample_training_crops(images: Tensor, boxes_per_image: list[Tensor], labels_per_image: list[Tensor], *,
                          per_image: int = 8, size: int = 64, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Crops for pretraining: jittered ground-truth boxes (their class) and random background boxes.

    A jittered box keeps IoU >= 0.6 with its object; a background box has IoU < 0.3 with every
    object. Returns ``(crops Tensor[K, 3, size, size], labels Tensor[K])``.
    """
    rng = np.random.default_rng(seed)
    crops, labels = [], []
    for img, gt, lab in zip(images, boxes_per_image, labels_per_image):
        _, h, w = img.shape
        cand = []
        for b, c in zip(gt.tolist(), lab.tolist()):
            for _ in range(per_image // 2):
                bw, bh = b[2] - b[0], b[3] - b[1]
                j = rng.uniform(-0.12, 0.12, 4) * np.array([bw, bh, bw, bh])
                cand.append(([b[0] + j[0], b[1] + j[1], b[2] + j[2], b[3] + j[3]], c))
        n_bg = per_image * max(1, len(gt)) // 2
        tries = 0
        while n_bg > 0 and tries < 50 * per_image:
            tries += 1
            bw, bh = rng.uniform(10, w * 0.6), rng.uniform(10, h * 0.6)
            x1, y1 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            box = torch.tensor([[x1, y1, x1 + bw, y1 + bh]], dtype=torch.float32)
            if len(gt) and box_ops.box_iou(box, gt.float()).max() >= 0.3:
                continue
            cand.append(([x1, y1, x1 + bw, y1 + bh], 0))
            n_bg -= 1
        bx = torch.tensor([c[0] for c in cand], dtype=torch.float32).reshape(-1, 4)
        crops.append(warp_crops(img, bx, size))
        labels.append(torch.tensor([c[1] for c in cand], dtype=torch.int64))
    return torch.cat(crops), torch.cat(labels)


def count_conv_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of the Conv2d and Linear layers for one input of ``input_shape`` (no batch)."""
    total = 0

    def hook(mod, inp, out):
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            total += out.numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1] // mod.groups
        elif isinstance(mod, nn.Linear):
            total += out.numel() * mod.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
    return total
