"""The architecture line of the CNN recap, written out: LeNet, GoogLeNet's inception module,
ResNet's residual block, and plain vs residual nets of any depth. Used in 01_cnn_recap.ipynb
(slides "Recap: Convolutional Neural Networks", "GoogLeNet", "Residual Networks").

The inception module and the residual block mirror torchvision's ``Inception`` and
``BasicBlock`` layer for layer, so the tests can load torchvision's weights into them and compare
outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lecture_lib.cnn import conv_output_size
from lecture_lib.train import fit


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
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        side = conv_output_size(conv_output_size(image_size, 2, 2), 2, 2)  # two 2x2 poolings
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * side * side, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, **kwargs) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm -> ReLU, torchvision's ``BasicConv2d`` unit (BN eps 0.001)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, bias=False, **kwargs),
                         nn.BatchNorm2d(out_channels, eps=0.001), nn.ReLU(inplace=False))


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

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, *, kernel_5x5: int = 5):
        super().__init__()
        if kernel_5x5 not in (3, 5):
            raise ValueError(f"kernel_5x5 must be 5 (paper) or 3 (torchvision), got {kernel_5x5!r}")
        self.branch1 = conv_bn_relu(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(conv_bn_relu(in_channels, ch3x3red, 1), conv_bn_relu(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(conv_bn_relu(in_channels, ch5x5red, 1),
                                     conv_bn_relu(ch5x5red, ch5x5, kernel_5x5, padding=kernel_5x5 // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     conv_bn_relu(in_channels, pool_proj, 1))

    def forward(self, x: Tensor) -> Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, dim=1)  # stack the multi-scale responses in depth


class ResidualBlock(nn.Module):
    """ResNet's basic residual block (He et al. 2016, Fig. 2): ``relu(F(x) + shortcut(x))``.

    ``F`` is conv3x3 - BN - ReLU - conv3x3 - BN. The shortcut is the identity (the skip connection
    that lets gradients bypass ``F``) unless the block changes the shape (``stride > 1`` or more
    channels): then a 1x1 conv + BN projects ``x``. Same layers as torchvision's ``BasicBlock``.

    Shapes: ``Tensor[B, in_channels, H, W] -> Tensor[B, out_channels, H / stride, W / stride]``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))  # the skip connection


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
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=not norm), norm_layer(), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, padding=1, bias=not norm), norm_layer())

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        return torch.relu(out + x) if self.residual else torch.relu(out)


def deep_net(depth: int, *, residual: bool, norm: bool = False, width: int = 16, in_channels: int = 1,
             num_classes: int = 10) -> nn.Sequential:
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
    stem = [nn.Conv2d(in_channels, width, 3, padding=1, bias=not norm)] + ([nn.BatchNorm2d(width)] if norm else [])
    blocks = [TwoConvBlock(width, residual=residual, norm=norm) for _ in range((depth - 2) // 2)]
    net = nn.Sequential(*stem, nn.ReLU(), nn.MaxPool2d(2), *blocks,
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))
    if norm:
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return net


def depth_sweep(depths: Sequence[int], x: Tensor, y: Tensor, *, residual: bool, norm: bool = False,
                epochs: int = 6, batch_size: int = 64, lr: float = 2e-3, seed: int = 0,
                device: torch.device | str = "cpu") -> dict[str, list]:
    """Train ``deep_net(depth, ...)`` for each depth, the same short while on the same batches.

    Args:
        depths: e.g. ``(4, 8, 16, 32)``.
        x (Tensor[N, C, H, W]), y (Tensor[N]): the training set (classification).
        residual, norm: passed to ``deep_net``.
        epochs, batch_size, lr: Adam, identical for every depth; batches drawn with ``seed``.
        device: where to train.

    Returns:
        dict with lists over depths: ``"depth"``, ``"final_loss"`` (mean train loss of the last
        epoch), ``"grad_norm"`` (first-layer weight-gradient norm averaged over all steps),
        ``"grad_norm_init"`` (at the first step) and ``"train_loss"`` (per-epoch curves).
    """
    if x.ndim != 4 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"need x [N, C, H, W] and y [N] with N > 0, got {tuple(x.shape)} and {tuple(y.shape)}")
    result: dict[str, list] = {"depth": [], "final_loss": [], "grad_norm": [], "grad_norm_init": [],
                               "train_loss": []}
    for depth in depths:
        torch.manual_seed(seed)
        net = deep_net(depth, residual=residual, norm=norm, in_channels=x.shape[1], num_classes=int(y.max()) + 1)
        norms: list[float] = []
        first = net[0].weight
        handle = first.register_hook(lambda g, norms=norms: norms.append(float(g.norm())))  # inside backward()
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size,
                                             shuffle=True, generator=torch.Generator().manual_seed(seed))
        history = fit(net, loader, epochs=epochs, lr=lr, device=device, progress=False)
        handle.remove()
        result["depth"].append(depth)
        result["final_loss"].append(history.train_loss[-1])
        result["grad_norm"].append(sum(norms) / len(norms))
        result["grad_norm_init"].append(norms[0])
        result["train_loss"].append(history.train_loss)
    return result


@torch.no_grad()
def activation_maps(model: nn.Module, layer: str, x: Tensor) -> Tensor:
    """Output of the submodule named ``layer`` (e.g. ``"features.0"``) for input ``x`` ``[B, C, H, W]``.

    Returns:
        Tensor[B, C_layer, H_layer, W_layer]: each channel is one activation map, a depth slice
        through the layer's output volume.
    """
    names = dict(model.named_modules())
    if layer not in names or layer == "":
        raise ValueError(f"layer must name a submodule of the model, one of {[n for n in names if n]}, got {layer!r}")
    captured: list[Tensor] = []

    def grab(module: nn.Module, inputs: tuple, output: Tensor) -> None:
        captured.append(output)
        raise _StopForward  # the layers after `layer` are not needed (and may not fit x's size)

    handle = names[layer].register_forward_hook(grab)
    was_training = model.training
    try:
        model.eval()
        model(x)
    except _StopForward:
        pass
    finally:
        handle.remove()
        model.train(was_training)
    return captured[0]


class _StopForward(Exception):
    pass
