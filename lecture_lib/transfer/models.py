"""The nets of transfer learning: ``SmallResNet``, the source network of the quick profile of
02_transfer_learning.ipynb (a ResNet-18 in miniature; the full profile uses torchvision's ResNet-18,
see ``lecture_lib.transfer.pretrained``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lecture_lib.checks import check_int
from lecture_lib.layers import ResidualBlock
from lecture_lib.transfer.features import check_num_classes


class SmallResNet(nn.Module):
    """A ResNet-18 in miniature for 16x16 gray images: one residual block per stage.

    Args:
        num_classes: outputs of the head ``fc``.
        widths: channels of ``layer1, layer2, layer3`` (layers 2 and 3 halve H and W).
        in_channels: 1 for gray images.

    Input Tensor[B, in_channels, H, W] -> logits Tensor[B, num_classes].
    """

    def __init__(self, num_classes: int, *, widths: Sequence[int] = (16, 32, 64), in_channels: int = 1):
        super().__init__()
        check_num_classes(num_classes)
        if len(widths) != 3 or any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in widths):
            raise ValueError(f"widths must be 3 positive ints (layer1..layer3 channels), got {widths!r}")
        check_int(in_channels, "in_channels", low=1)
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = ResidualBlock(widths[0], widths[0], 1)
        self.layer2 = ResidualBlock(widths[0], widths[1], 2)
        self.layer3 = ResidualBlock(widths[1], widths[2], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[2], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))
