"""The nets of the CNN recap: LeNet, GoogLeNet's inception module, and plain vs residual nets of
any depth (ResNet's residual block itself is ``lecture_lib.layers.ResidualBlock``). Used in
01_cnn_recap.ipynb (slides "Recap: Convolutional Neural Networks", "GoogLeNet", "Residual Networks").

The inception module mirrors torchvision's ``Inception`` layer for layer, so the tests load
torchvision's weights into it and compare outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lecture_lib.cnn.conv import conv_output_size
from lecture_lib.layers import conv_bn_relu


class LeNet(nn.Module):
    """LeNet-5's layout (LeCun et al. 1998): conv5(6) - pool - conv5(16) - pool - fc120 - fc84 - fc C.

    Modernised as usual: ReLU and max-pooling instead of scaled tanh and subsampling, and "same"
    padding on both convolutions so that 8x8 scikit-learn digits fit as well as 28x28 MNIST.

    Args:
        image_size: side of the square input (8 for scikit-learn digits, 28 for MNIST), >= 4.
        in_channels: 1 for grayscale.
        num_classes: number of outputs (logits).

    Shapes: ``Tensor[B, in_channels, image_size, image_size] -> Tensor[B, num_classes]``.
    """

    def __init__(self, *, image_size: int = 28, in_channels: int = 1, num_classes: int = 10):
        super().__init__()
        if not isinstance(image_size, int) or image_size < 4:
            raise ValueError(f"image_size must be an int >= 4, got {image_size!r}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        side = conv_output_size(conv_output_size(image_size, 2, 2), 2, 2)  # two 2x2 poolings
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * side * side, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class InceptionModule(nn.Module):
    """GoogLeNet's "inception module with dimension reductions" (Szegedy et al. 2015, Fig. 2b).

    Four branches see the same input at several scales; their outputs are stacked in depth::

        1x1 conv                      -> ch1x1
        1x1 conv (reduce) -> 3x3 conv -> ch3x3
        1x1 conv (reduce) -> 5x5 conv -> ch5x5
        3x3 max-pool -> 1x1 conv      -> pool_proj

    The 1x1 "reduce" convolutions shrink the depth before the expensive 3x3/5x5 ones. Each conv
    is followed by BatchNorm and ReLU as in torchvision (the 2014 paper had no BatchNorm).
    ``kernel_5x5=3`` reproduces torchvision's ``Inception``, which uses 3x3 there (a known quirk
    kept for its pretrained weights).

    Shapes: ``Tensor[B, in_channels, H, W] -> Tensor[B, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W]``.
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        *,
        kernel_5x5: int = 5,
    ):
        super().__init__()
        if kernel_5x5 not in (3, 5):
            raise ValueError(f"kernel_5x5 must be 5 (paper) or 3 (torchvision), got {kernel_5x5!r}")

        def unit(cin: int, cout: int, k: int) -> nn.Sequential:  # torchvision's BasicConv2d: BN eps 0.001
            return conv_bn_relu(cin, cout, k, eps=0.001, padding=k // 2)

        self.branch1 = unit(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(unit(in_channels, ch3x3red, 1), unit(ch3x3red, ch3x3, 3))
        self.branch3 = nn.Sequential(unit(in_channels, ch5x5red, 1), unit(ch5x5red, ch5x5, kernel_5x5))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), unit(in_channels, pool_proj, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, dim=1)  # stack the multi-scale responses in depth


# ----------------------------------------------------------------------------------------------
# Plain vs residual networks of growing depth ("why skip connections")


class TwoConvBlock(nn.Module):
    """conv3x3 - (BN) - ReLU - conv3x3 - (BN), then ReLU of ``F(x) + x`` (residual) or of ``F(x)`` (plain).

    The only difference between the two kinds of network is the ``+ x``.
    """

    def __init__(self, width: int, *, residual: bool, norm: bool):
        super().__init__()

        def norm_layer() -> nn.Module:
            return nn.BatchNorm2d(width) if norm else nn.Identity()

        self.residual = residual
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=not norm),
            norm_layer(),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, bias=not norm),
            norm_layer(),
        )

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        return torch.relu(out + x) if self.residual else torch.relu(out)


def deep_net(
    depth: int,
    *,
    residual: bool,
    norm: bool = False,
    width: int = 16,
    in_channels: int = 1,
    num_classes: int = 10,
) -> nn.Sequential:
    """A plain or residual CNN with ``depth`` weight layers: stem conv, ``(depth - 2) / 2`` two-conv
    blocks, global average pooling, linear classifier.

    Args:
        depth: number of conv + linear layers, an even int >= 4.
        residual: add the skip connection in every block.
        norm: ``False``: no normalisation and PyTorch's default init (gradients of a deep plain net
            vanish). ``True``: BatchNorm after every conv and He (Kaiming) init, the setting of
            He et al. 2016, where a deep plain net still trains but worse ("degradation").
        width: channels of every conv layer.

    Shapes: ``Tensor[B, in_channels, H, W] -> Tensor[B, num_classes]`` (the stem halves H and W).
    """
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 4 or depth % 2:
        raise ValueError(f"depth must be an even int >= 4 (stem + 2 per block + classifier), got {depth!r}")
    stem = [nn.Conv2d(in_channels, width, 3, padding=1, bias=not norm)] + (
        [nn.BatchNorm2d(width)] if norm else []
    )
    blocks = [TwoConvBlock(width, residual=residual, norm=norm) for _ in range((depth - 2) // 2)]
    net = nn.Sequential(
        *stem,
        nn.ReLU(),
        nn.MaxPool2d(2),
        *blocks,
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, num_classes),
    )
    if norm:
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return net
