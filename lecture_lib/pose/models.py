"""The pose networks: one FCN encoder-decoder (heatmaps) and the same encoder regressing (x, y).

- ``PoseFCN``: ``lecture_lib.segmentation.FCN`` (FCN-8s) with one output channel per joint: the
  slide's "infer heatmaps for the joints as in semantic segmentation". It returns per-pixel
  logits; a disk target is trained with sigmoid + binary cross-entropy, a Gaussian one with MSE.
- ``PoseRegressor``: DeepPose-style direct regression (Toshev & Szegedy, CVPR 2014): the *same*
  encoder (the FCN's five conv stages and its fc6/fc7 convolutions, built by ``FCN``), flattened,
  then two fully connected layers to 2K numbers, the joints' (x, y) as fractions of the image side.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lecture_lib.checks import check_int
from lecture_lib.segmentation import FCN


class PoseFCN(nn.Module):
    """FCN-8s heatmap network: Tensor[B, 3, H, W] -> per-joint logits Tensor[B, K, H, W].

    ``refine > 0`` adds a small full-resolution stage (two 3x3 convolutions of width ``refine`` on
    the image and the FCN's maps, added to the maps): FCN-8s's finest scores have stride 8, and a
    joint must be placed to a pixel or two.
    """

    def __init__(
        self,
        num_joints: int = 14,
        *,
        widths: tuple[int, ...] = (16, 32, 48, 64, 96),
        convs_per_stage: tuple[int, ...] = (1, 1, 2, 2, 2),
        fc_width: int = 96,
        refine: int = 0,
    ):
        super().__init__()
        if isinstance(num_joints, bool) or not isinstance(num_joints, int) or num_joints < 1:
            raise ValueError(f"num_joints must be an int >= 1, got {num_joints!r}")
        check_int(refine, "refine", low=0)
        self.num_joints = num_joints
        self.fcn = FCN(
            num_joints,
            variant="8s",
            widths=tuple(widths),
            convs_per_stage=tuple(convs_per_stage),
            fc_width=fc_width,
        )
        self.refine = None
        if refine:
            self.refine = nn.Sequential(
                nn.Conv2d(3 + num_joints, refine, 3, padding=1, bias=False),
                nn.BatchNorm2d(refine),
                nn.ReLU(inplace=True),
                nn.Conv2d(refine, refine, 3, padding=1, bias=False),
                nn.BatchNorm2d(refine),
                nn.ReLU(inplace=True),
                out := nn.Conv2d(refine, num_joints, 1),
            )
            nn.init.zeros_(out.weight)  # starts as the plain FCN-8s
            assert out.bias is not None  # Conv2d's bias is Optional in its type; this one exists
            nn.init.zeros_(out.bias)

    def forward(self, x: Tensor) -> Tensor:
        maps = self.fcn(x)  # (B, K, H, W) logits
        if self.refine is None:
            return maps
        return maps + self.refine(torch.cat([x, maps], dim=1))


class PoseRegressor(nn.Module):
    """Direct regression on the FCN's encoder: Tensor[B, 3, S, S] -> (x, y) Tensor[B, K, 2] in pixels.

    The head reads the flattened stride-32 features (fc7 of the FCN), as DeepPose's fully connected
    layers read AlexNet's last conv features. The network outputs fractions of the image side;
    ``forward`` returns pixels.
    """

    def __init__(
        self,
        num_joints: int = 14,
        *,
        image_size: int = 64,
        widths: tuple[int, ...] = (16, 32, 48, 64, 96),
        convs_per_stage: tuple[int, ...] = (1, 1, 2, 2, 2),
        fc_width: int = 96,
        hidden: int = 256,
    ):
        super().__init__()
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size % 32:
            raise ValueError(
                f"image_size must be a multiple of 32 (the encoder's stride), got {image_size!r}"
            )
        check_int(image_size, "image_size", low=32)
        check_int(num_joints, "num_joints", low=1)
        check_int(hidden, "hidden", low=1)
        self.num_joints, self.image_size = num_joints, image_size
        fcn = FCN(
            num_joints,
            variant="32s",
            widths=tuple(widths),
            convs_per_stage=tuple(convs_per_stage),
            fc_width=fc_width,
        )
        self.encoder = nn.Sequential(*fcn.stages, fcn.fc)  # the FCN's encoder modules, not a copy of its code
        cells = (image_size // 32) ** 2
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(fc_width * cells, hidden),
            nn.ReLU(inplace=True),
            last := nn.Linear(hidden, 2 * num_joints),
        )
        with torch.no_grad():  # start at the image centre
            last.bias.fill_(0.5)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f"PoseRegressor was built for {self.image_size}x{self.image_size} images, "
                f"got {tuple(x.shape[-2:])}"
            )
        out = self.head(self.encoder(x)).reshape(-1, self.num_joints, 2)  # (B, K, 2) fractions of the side
        return out * self.image_size - 0.5  # pixel centres at integers
