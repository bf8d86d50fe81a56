"""The nets of the CNN recap: LeNet, GoogLeNet's inception module, and plain vs residual nets of
any depth (ResNet's residual block itself is ``lecture_lib.layers.ResidualBlock``). Used in
01_cnn_recap.ipynb (slides "Recap: Convolutional Neural Networks", "GoogLeNet", "Residual Networks").

The inception module mirrors torchvision's ``Inception`` layer for layer, so the tests load
torchvision's weights into it and compare outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lecture_lib.checks import check_int
from lecture_lib.layers import conv_bn_relu


class LeNet(nn.Module):
    """LeNet-5 (LeCun et al. 1998, Fig. 2): conv5(6) - pool - conv5(16) - pool - fc120 - fc84 - fc C.

    As published by default: a 32x32 input and **no padding** (C1 28x28, S2 14x14, C3 10x10,
    S4 5x5, then C5 = 120 units over the 16x5x5 maps, a fully connected layer), 61,706 parameters
    for 10 classes, against the paper's ~60,000 (its C3 connects each map to only some of S2's
    maps, 1,516 instead of 2,416 weights; its pooling layers have 2 weights per map; its output is
    an RBF layer). Modernised as everyone does: ReLU and max-pooling instead of scaled tanh and
    trainable subsampling. ``padding=2`` ("same") lets inputs as small as 4x4 through.

    Args:
        image_size: side of the square input (32 as published; >= 16 without padding).
        in_channels: 1 for grayscale.
        num_classes: number of outputs (logits).
        padding: zeros around the input of each conv (0 as published).

    Shapes: ``Tensor[B, in_channels, image_size, image_size] -> Tensor[B, num_classes]``.
    """

    def __init__(
        self, *, image_size: int = 32, in_channels: int = 1, num_classes: int = 10, padding: int = 0
    ):
        super().__init__()
        if isinstance(padding, bool) or not isinstance(padding, int) or not 0 <= padding <= 2:
            raise ValueError(f"padding must be 0 (published) or 1, 2, got {padding!r}")
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 4:
            raise ValueError(f"image_size must be an int >= 4, got {image_size!r}")
        check_int(in_channels, "in_channels", low=1)
        check_int(num_classes, "num_classes", low=1)
        side = _lenet_side(image_size, padding)
        if side < 1:
            smallest = next(n for n in range(4, 64) if _lenet_side(n, padding) >= 1)
            raise ValueError(
                f"image_size {image_size} is too small for LeNet with padding {padding}: "
                f"need >= {smallest} (LeNet-5 was published with 32x32 inputs)"
            )
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5, padding=padding),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * side * side, 120),  # the paper's C5: a 5x5 conv over 5x5 maps
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def _lenet_side(size: int, padding: int) -> int:
    """Side of LeNet's last feature map (0 if a window does not fit): twice conv 5x5, 2x2 max-pool."""
    for _ in range(2):
        size = (size + 2 * padding - 5 + 1) // 2
        if size < 1:
            return 0
    return size


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
        for name, value in (
            ("in_channels", in_channels),
            ("ch1x1", ch1x1),
            ("ch3x3red", ch3x3red),
            ("ch3x3", ch3x3),
            ("ch5x5red", ch5x5red),
            ("ch5x5", ch5x5),
            ("pool_proj", pool_proj),
        ):
            check_int(value, name, low=1)

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
        check_int(width, "width", low=1)
        _check_flags(residual=residual, norm=norm)

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


def _check_flags(**flags: object) -> None:
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")


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
    _check_flags(residual=residual, norm=norm)
    for name, value in (("width", width), ("in_channels", in_channels), ("num_classes", num_classes)):
        check_int(value, name, low=1)
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
