"""The building blocks every concept package shares, and how big a network is.

- ``conv_bn_relu``: Conv (no bias) -> BatchNorm -> ReLU, the unit of every small CNN here.
- ``conv_stage``: ``convs`` of those units, then an optional 2x2 max pool (VGG-style stage; the
  detection backbones, the FCN encoder and the pose network are stacks of these).
- ``ResidualBlock``: ResNet's basic block, layer for layer (and name for name) torchvision's
  ``BasicBlock``, so torchvision's weights load into it.
- ``count_parameters``, ``count_multiply_adds``: the size and the compute of one forward pass.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from lecture_lib.runtime import evaluating

__all__ = ["ResidualBlock", "conv_bn_relu", "conv_stage", "count_multiply_adds", "count_parameters"]


def _check_channels(*values: int) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"channel counts must be positive ints, got {values}")


def conv_bn_relu(
    in_channels: int, out_channels: int, kernel_size: int = 3, *, eps: float = 1e-5, **conv_kwargs
) -> nn.Sequential:
    """Conv2d (no bias: BatchNorm has one) -> BatchNorm2d -> ReLU.

    ``conv_kwargs`` go to ``nn.Conv2d`` (``padding``, ``stride``, ...). ``eps=0.001`` gives
    torchvision's GoogLeNet ``BasicConv2d`` unit exactly.

    Shapes: ``Tensor[B, in_channels, H, W] -> Tensor[B, out_channels, H', W']``.
    """
    _check_channels(in_channels, out_channels)
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, bias=False, **conv_kwargs),
        nn.BatchNorm2d(out_channels, eps=eps),
        nn.ReLU(inplace=True),
    )


def conv_stage(in_channels: int, out_channels: int, convs: int = 1, *, pool: bool = True) -> nn.Sequential:
    """``convs`` 3x3 conv-BN-ReLU units (padding 1, so H and W are kept), then a 2x2 max pool.

    The layers are flat in one ``nn.Sequential`` (``0`` conv, ``1`` BN, ``2`` ReLU, ``3`` conv, ...,
    last the pool), so stages can be concatenated into one flat body as well.

    Shapes: ``Tensor[B, in_channels, H, W] -> Tensor[B, out_channels, H/2, W/2]`` (``H, W`` if not ``pool``).
    """
    if isinstance(convs, bool) or not isinstance(convs, int) or convs < 1:
        raise ValueError(f"convs must be an int >= 1, got {convs!r}")
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += list(conv_bn_relu(in_channels if i == 0 else out_channels, out_channels, 3, padding=1))
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """ResNet's basic residual block (He et al. 2016, Fig. 2): ``relu(F(x) + shortcut(x))``.

    ``F`` is conv3x3 - BN - ReLU - conv3x3 - BN. The shortcut is the identity (the skip connection
    that lets gradients bypass ``F``) unless the block changes the shape (``stride > 1`` or more
    channels): then ``downsample``, a 1x1 conv + BN, projects ``x``. The attribute names are
    torchvision's ``BasicBlock``'s, so its state dicts load unchanged.

    Shapes: ``Tensor[B, in_channels, H, W] -> Tensor[B, out_channels, H / stride, W / stride]``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        _check_channels(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:  # 1x1 conv shortcut when the shape changes
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)  # the skip connection


def count_parameters(model: nn.Module) -> int:
    """Number of learnable numbers (all parameters; works on the meta device)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters())


def count_multiply_adds(model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 224, 224)) -> int:
    """Multiply-adds of one forward pass on an input of ``input_shape`` (``[B, C, H, W]``, batch included).

    Runs the model on a ``meta`` tensor under ``FlopCounterMode`` (FLOPs / 2 = multiply-adds of
    convolutions, linear layers and matrix products; biases, ReLUs and pooling are not counted).
    The model may live on the CPU or on ``meta``; it is not modified.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(input_shape, tuple) or not all(isinstance(v, int) and v > 0 for v in input_shape):
        raise ValueError(
            f"input_shape must be a tuple of positive ints like (1, 3, 224, 224), got {input_shape!r}"
        )
    tensors = [*model.parameters(), *model.buffers()]
    meta_model = model if tensors and all(t.is_meta for t in tensors) else copy.deepcopy(model).to("meta")
    counter = FlopCounterMode(display=False)
    with evaluating(meta_model), counter, torch.no_grad():
        meta_model(torch.empty(input_shape, device="meta"))
    return counter.get_total_flops() // 2
