"""Convolution, pooling and receptive fields, written out. Used in 01_cnn_recap.ipynb (slides
"Recap: Intuition of CNNs", "Convolution Layers", "Pooling Layers", "Effect of Multiple
Convolution Layers").

The functions here are the slide's ideas in a few readable lines; the notebook checks each one
against PyTorch (``conv2d`` against ``torch.nn.functional.conv2d``, ``receptive_field`` against
the input pixels a network's output actually depends on) and then uses the library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from lecture_lib.checks import check_int, check_tensor

IntPair = int | tuple[int, int]


def _pair(given: int | tuple[int, ...], name: str, *, minimum: int) -> tuple[int, int]:
    # tuple[int, ...]: torch layers store their sizes so; the length is checked here
    value = (given, given) if isinstance(given, int) and not isinstance(given, bool) else given
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise TypeError(f"{name} must be an int or a pair of ints, got {given!r}")
    if min(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {given!r}")
    return (value[0], value[1])


def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution or pooling window along one axis.

    ``floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``, the formula in
    the ``torch.nn.Conv2d`` docs. With ``dilation=1``: ``(size + 2p - k) // s + 1``.

    Args:
        size: input length (pixels), >= 1.
        kernel_size: window length, >= 1.
        stride: step between windows, >= 1.
        padding: zeros added on each side, >= 0.
        dilation: spacing between window taps, >= 1.

    Returns:
        int: number of window positions (>= 1).
    """
    for name, value, minimum in (
        ("size", size, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
        ("dilation", dilation, 1),
    ):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    span = dilation * (kernel_size - 1) + 1  # pixels one window covers
    if size + 2 * padding < span:
        raise ValueError(f"the window spans {span} pixels but the padded input has only {size + 2 * padding}")
    return (size + 2 * padding - span) // stride + 1


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    *,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as in every deep-learning library), written out.

    Each output pixel of filter ``o`` is the dot product of that filter with the input patch under
    it: the same weights at every location ("parameter sharing").

    Args:
        x (Tensor[B, C_in, H, W]): input.
        weight (Tensor[C_out, C_in, kH, kW]): one filter per output channel.
        bias (Tensor[C_out] | None): added to every pixel of each output channel.
        stride, padding, dilation: int or ``(along H, along W)``, as ``torch.nn.functional.conv2d``.

    Returns:
        Tensor[B, C_out, H_out, W_out]: the response maps, sizes from ``conv_output_size``.
    """
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(
            f"x must be a Tensor[B, C_in, H, W], got {tuple(x.shape) if isinstance(x, Tensor) else x!r}"
        )
    if not isinstance(weight, Tensor) or weight.ndim != 4 or weight.shape[1] != x.shape[1]:
        got = tuple(weight.shape) if isinstance(weight, Tensor) else weight
        raise ValueError(f"weight must be a Tensor[C_out, C_in={x.shape[1]}, kH, kW], got {got!r}")
    if bias is not None:
        check_tensor(bias, "bias", dtype="number")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise ValueError(f"bias must be a Tensor[C_out={weight.shape[0]}], got {tuple(bias.shape)}")
    check_tensor(x, "x", dtype="number")
    check_tensor(weight, "weight", dtype="number")
    (sh, sw), (ph, pw) = _pair(stride, "stride", minimum=1), _pair(padding, "padding", minimum=0)
    dh, dw = _pair(dilation, "dilation", minimum=1)
    c_out, _, kh, kw = weight.shape
    h_out = conv_output_size(x.shape[2], kh, sh, ph, dh)
    w_out = conv_output_size(x.shape[3], kw, sw, pw, dw)
    x = nn.functional.pad(x, (pw, pw, ph, ph))  # zeros around the border
    filters = weight.reshape(c_out, -1)  # [C_out, C_in * kH * kW]: one row per filter
    out = x.new_zeros(x.shape[0], c_out, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            top, left = i * sh, j * sw
            patch = x[
                :, :, top : top + dh * (kh - 1) + 1 : dh, left : left + dw * (kw - 1) + 1 : dw
            ]  # [B, C_in, kH, kW]
            out[:, :, i, j] = patch.flatten(1) @ filters.T  # [B, C_out] dot products
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out


# ----------------------------------------------------------------------------------------------
# Receptive fields


def receptive_field(layers: Sequence[tuple[int, ...]]) -> list[int]:
    """Receptive field (input pixels seen by one output pixel) after each layer of a stack.

    Each layer is ``(kernel_size, stride)`` or ``(kernel_size, stride, dilation)``. With ``jump``
    the distance in input pixels between neighbouring positions of the current layer:
    ``rf += dilation * (kernel_size - 1) * jump`` and then ``jump *= stride``.

    Returns:
        list[int]: ``rf[i]`` after layer ``i`` (same length as ``layers``).
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(f"layers must be a sequence of (kernel_size, stride[, dilation]), got {layers!r}")
    rf, jump, out = 1, 1, []
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
            raise ValueError(f"layers[{i}] must be (kernel_size, stride[, dilation]), got {layer!r}")
        kernel, stride, dilation = (*layer, 1) if len(layer) == 2 else layer
        for name, value in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"layers[{i}]: {name} must be an int >= 1, got {value!r}")
        rf += dilation * (kernel - 1) * jump
        jump *= stride
        out.append(rf)
    return out


def layer_geometry(model: nn.Module) -> list[tuple[str, int, int, int]]:
    """``(name, kernel_size, stride, dilation)`` of every square Conv2d/MaxPool2d/AvgPool2d of a
    chain-shaped model, in registration order (for ``receptive_field``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    rows = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s = _pair(m.kernel_size, "kernel_size", minimum=1), _pair(m.stride, "stride", minimum=1)
            d = _pair(m.dilation, "dilation", minimum=1) if not isinstance(m, nn.AvgPool2d) else (1, 1)
            if k[0] != k[1] or s[0] != s[1] or d[0] != d[1]:
                raise ValueError(f"layer {name!r} is not square: kernel {k}, stride {s}, dilation {d}")
            rows.append((name, k[0], s[0], d[0]))
    return rows


def measured_receptive_field(model: nn.Module, input_size: int, in_channels: int = 1) -> int:
    """Receptive field found by back-propagation: the side of the input region whose pixels change
    the centre output pixel (channel 0) of ``model`` (a chain of conv/pool layers).

    The gradient of one output pixel is non-zero exactly on its receptive field (weights set to
    positive values and activations kept linear so no path cancels). Slow reference for tests.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_int(input_size, "input_size", low=1)
    check_int(in_channels, "in_channels", low=1)
    probe = _positive_copy(model)
    x = torch.ones(1, in_channels, input_size, input_size, requires_grad=True)
    y = probe(x)
    if y.ndim != 4:
        raise ValueError(f"model must return a feature map [B, C, H, W], got shape {tuple(y.shape)}")
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    if x.grad is None:
        raise RuntimeError(
            "backward() gave the input no gradient: model's output does not depend on its input"
        )
    rows = (x.grad[0].abs().sum(0) > 0).any(dim=1).nonzero()
    return int(rows.max() - rows.min() + 1)


def _positive_copy(model: nn.Module) -> nn.Module:
    import copy

    probe = copy.deepcopy(model).eval()
    for name, m in list(probe.named_modules()):
        if isinstance(m, nn.Conv2d):
            with torch.no_grad():
                m.weight.fill_(1.0)
                if m.bias is not None:
                    m.bias.zero_()
        elif isinstance(m, nn.MaxPool2d):  # max picks one input: use the mean over the window instead
            _set_submodule(probe, name, nn.AvgPool2d(m.kernel_size, m.stride, m.padding))
    return probe


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, child, module)


# ----------------------------------------------------------------------------------------------
# Pooling and small shifts


def shift(images: Tensor, dx: int, dy: int) -> Tensor:
    """Images ``[B, C, H, W]`` moved by ``dx`` pixels right and ``dy`` down (wrapping around)."""
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a Tensor[B, C, H, W], got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"images must be [B, C, H, W], got shape {tuple(images.shape)}")
    dx, dy = check_int(dx, "dx", low=None), check_int(dy, "dy", low=None)
    return torch.roll(images, shifts=(dy, dx), dims=(2, 3))


@torch.no_grad()
def shift_changes(features: Callable[[Tensor], Tensor], images: Tensor, max_shift: int = 1) -> Tensor:
    """Per-image relative change of ``features(images)`` when the images move by up to ``max_shift`` px.

    ``||f(shift(x)) - f(x)|| / ||f(x)||`` for every non-zero shift ``(dx, dy)`` in
    ``[-max_shift, max_shift]^2``, averaged over the shifts. 0 means invariant; about 1.4 means
    unrelated. One score per image: the items a bootstrap over images resamples.

    Args:
        features: Tensor[B, C, H, W] -> Tensor[B, ...] (any feature map or vector per image).
        images (Tensor[B, C, H, W]): float images.
        max_shift: the largest shift in pixels along each axis (>= 1).

    Returns:
        Tensor[B]: the mean relative change of each image's features.
    """
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 1:
        raise ValueError(f"max_shift must be an int >= 1, got {max_shift!r}")
    if not callable(features):
        raise TypeError(f"features must be a callable Tensor -> Tensor, got {type(features).__name__}")
    check_tensor(images, "images", "(B, C, H, W)", dtype="float")
    reference = features(images).flatten(1)  # [B, D]
    changes = []
    for dx in range(-max_shift, max_shift + 1):
        for dy in range(-max_shift, max_shift + 1):
            if dx == 0 and dy == 0:
                continue
            moved = features(shift(images, dx, dy)).flatten(1)
            changes.append((moved - reference).norm(dim=1) / reference.norm(dim=1).clamp_min(1e-12))
    return torch.stack(changes).mean(dim=0)  # [B]


def shift_sensitivity(features: Callable[[Tensor], Tensor], images: Tensor, max_shift: int = 1) -> float:
    """Mean relative change of ``features(images)`` under shifts of up to ``max_shift`` px: the
    mean of :func:`shift_changes` over the images."""
    return float(shift_changes(features, images, max_shift).mean())
