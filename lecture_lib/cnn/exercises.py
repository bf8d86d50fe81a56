"""The exercises of 01_cnn_recap.ipynb: references, visible and hidden cases, refused shortcuts.

The notebook shows each exercise's statement and a stub; ``EXERCISES.check(name, fn)`` runs the
student's function on the cases below (see ``lecture_lib.exercises``). The references here are
deliberately plain loops, independent of the library functions the notebook uses later.

- ``output_size(n, k, s, p)``: the output-size formula (warm-up, 1 line).
- ``max_pool_forward_backward(x, grad_out, k, s)``: a whole max-pooling layer, forward and
  backward, with overlapping windows and ties (about 12 lines).
- ``conv2d_backward(x, weight, grad_out, stride)``: the gradients of a convolution with respect to
  its input and its weights (about 10 lines).
- ``stack_receptive_field(layers)``: receptive-field bookkeeping through a stack of
  ``(kernel_size, stride, dilation)`` layers (about 6 lines).
- ``batch_norm_forward_backward(x, gamma, beta, grad_out, eps)``: a BatchNorm layer in training
  mode, forward and backward (about 16 lines; reference and cases in ``exercises_batchnorm``).
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from lecture_lib.cnn.exercises_batchnorm import NORM_LAYERS, batch_norm_forward_backward, bn_cases, bn_hidden
from lecture_lib.exercises import AUTOGRAD, LOOSE, Case, Exercise, Exercises

CONV_LAYERS = (
    "torch.nn.Conv2d",
    "torch.nn.functional.conv2d",
    "torch.conv2d",
    "torch.nn.MaxPool2d",
    "torch.nn.functional.max_pool2d",
    "torch.max_pool2d",
)


def output_size(n: int, k: int, s: int = 1, p: int = 0) -> int:
    """Positions of a ``k``-window moved in steps ``s`` over ``n`` pixels padded by ``p`` each side."""
    return (n + 2 * p - k) // s + 1


def _output_size_cases() -> list[Case]:
    settings = {
        "LeNet conv1": (32, 5, 1, 0),
        "AlexNet conv1": (227, 11, 4, 0),
        "VGG 3x3 conv, padding 1": (224, 3, 1, 1),
        "2x2 max-pool": (224, 2, 2, 0),
        "ResNet stem": (224, 7, 2, 3),
        "odd size (floor)": (7, 3, 2, 0),
    }
    return [Case(args, name=f"{name} {args}") for name, args in settings.items()]


def _output_size_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(101)
    cases = [Case((3, 3, 1, 0), name="kernel as large as the input"), Case((1, 1, 1, 0), name="1x1")]
    cases += [Case((5, 3, 3, 1), name="stride larger than the rest"), Case((10, 4, 3, 2), name="floor")]
    for i in range(8):
        k, s = (int(v) for v in torch.randint(1, 6, (2,), generator=g))
        p = int(torch.randint(0, 3, (1,), generator=g))
        n = k + int(torch.randint(0, 40, (1,), generator=g))
        cases.append(Case((n, k, s, p), name=f"random {i}"))
    return cases


def max_pool_forward_backward(x: Tensor, grad_out: Tensor, k: int, s: int) -> tuple[Tensor, Tensor]:
    """Max-pooling, one window at a time.

    Args:
        x: ``[B, C, H, W]``; grad_out: ``[B, C, H_out, W_out]``; windows ``k x k``, stride ``s``.

    Returns:
        ``(out [B, C, H_out, W_out], grad_x [B, C, H, W])``; ties go to the first maximum in
        row-major order, overlapping windows add their gradients.
    """
    B, C, H, W = x.shape
    h_out, w_out = (H - k) // s + 1, (W - k) // s + 1
    out = torch.zeros(B, C, h_out, w_out, dtype=x.dtype)
    grad = torch.zeros_like(x)
    for b, c, i, j in itertools.product(range(B), range(C), range(h_out), range(w_out)):
        window = x[b, c, i * s : i * s + k, j * s : j * s + k].tolist()
        flat = [v for row in window for v in row]
        r, q = divmod(flat.index(max(flat)), k)  # the first maximum
        out[b, c, i, j] = window[r][q]
        grad[b, c, i * s + r, j * s + q] += grad_out[b, c, i, j]
    return out, grad


def _pool_case(g: torch.Generator, name: str, shape: tuple, k: int, s: int, x: Tensor | None = None) -> Case:
    x = torch.randn(shape, generator=g) if x is None else x
    h_out, w_out = (shape[2] - k) // s + 1, (shape[3] - k) // s + 1
    grad_out = torch.randn(shape[0], shape[1], h_out, w_out, generator=g)
    return Case((x, grad_out, k, s), name=name)


def _pool_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    return [
        _pool_case(g, "2x2 stride 2", (2, 3, 6, 6), 2, 2),
        _pool_case(g, "3x3 stride 2 (overlap: gradients add)", (1, 2, 7, 7), 3, 2),
        _pool_case(g, "odd input 5x7, 2x2 stride 2 (last row/column unused)", (1, 1, 5, 7), 2, 2),
        _pool_case(g, "2x2 stride 1", (2, 1, 4, 5), 2, 1),
        _pool_case(g, "ties: constant input", (1, 1, 4, 4), 2, 2, x=torch.ones(1, 1, 4, 4)),
    ]


def _pool_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(1)
    ties = torch.randint(0, 3, (2, 2, 6, 5), generator=g).float()  # many equal values per window
    return [
        _pool_case(g, "ties, overlapping windows", (2, 2, 6, 5), 3, 1, x=ties),
        _pool_case(g, "window = whole input", (1, 2, 4, 4), 4, 1),
        _pool_case(g, "1x1 windows (identity)", (1, 1, 3, 4), 1, 1),
        _pool_case(g, "stride larger than the window", (1, 1, 9, 9), 2, 3),
        _pool_case(g, "not square 3x8, 3x3 stride 2", (2, 1, 3, 8), 3, 2),
        _pool_case(g, "negative values only", (1, 1, 4, 4), 2, 2, x=-torch.rand(1, 1, 4, 4, generator=g) - 1),
        _pool_case(g, "a batch of 4, 5 channels", (4, 5, 8, 8), 2, 2),
    ]


def conv2d_backward(x: Tensor, weight: Tensor, grad_out: Tensor, stride: int = 1) -> tuple[Tensor, Tensor]:
    """The gradients of a convolution without padding, one output position at a time.

    Args:
        x: ``[C_in, H, W]``; weight: ``[C_out, C_in, k, k]``; grad_out: ``[C_out, H_out, W_out]``,
            the gradient of the loss with respect to ``conv(x, weight, stride)``.

    Returns:
        ``(grad_x [C_in, H, W], grad_weight [C_out, C_in, k, k])``.
    """
    c_out, _, k, _ = weight.shape
    grad_x, grad_w = torch.zeros_like(x), torch.zeros_like(weight)
    for o, i, j in itertools.product(range(c_out), range(grad_out.shape[1]), range(grad_out.shape[2])):
        g = float(grad_out[o, i, j])
        rows, cols = slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)
        grad_x[:, rows, cols] += g * weight[o]  # each input pixel of the patch fed this output
        grad_w[o] += g * x[:, rows, cols]  # each weight multiplied this patch
    return grad_x, grad_w


def _conv_case(
    g: torch.Generator, name: str, c_in: int, size: tuple[int, int], c_out: int, k: int, s: int
) -> Case:
    x = torch.randn(c_in, *size, generator=g)
    weight = torch.randn(c_out, c_in, k, k, generator=g)
    h_out, w_out = (size[0] - k) // s + 1, (size[1] - k) // s + 1
    return Case((x, weight, torch.randn(c_out, h_out, w_out, generator=g), s), name=name)


def _conv_cases() -> list[Case]:
    g = torch.Generator().manual_seed(3)
    return [
        _conv_case(g, "one channel, 3x3 filter, stride 1", 1, (5, 5), 1, 3, 1),
        _conv_case(g, "RGB 9x9, 4 filters of 3x3x3, stride 2 (as section 1)", 3, (9, 9), 4, 3, 2),
        _conv_case(g, "not square 6x8, 2 filters 2x2, stride 2 (no overlap)", 2, (6, 8), 2, 2, 2),
    ]


def _conv_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(4)
    return [
        _conv_case(g, "1x1 filters", 3, (4, 4), 5, 1, 1),
        _conv_case(g, "filter as large as the input", 2, (3, 3), 3, 3, 1),
        _conv_case(g, "stride larger than the filter (unused pixels)", 1, (8, 8), 2, 2, 3),
        _conv_case(g, "odd size, stride 2, the last column unused", 2, (7, 6), 2, 3, 2),
        _conv_case(g, "many channels", 8, (6, 6), 6, 3, 1),
    ]


def stack_receptive_field(layers: list[tuple[int, int, int]]) -> int:
    """Receptive field (input pixels) of one position after ``(kernel_size, stride, dilation)`` layers."""
    rf, jump = 1, 1
    for kernel_size, stride, dilation in layers:
        rf += dilation * (kernel_size - 1) * jump
        jump *= stride
    return rf


def _rf_cases() -> list[Case]:
    stacks = {
        "three 3x3 convs": [(3, 1, 1)] * 3,
        "LeNet (conv5, pool2, conv5, pool2)": [(5, 1, 1), (2, 2, 1), (5, 1, 1), (2, 2, 1)],
        "ResNet stem (conv7/2, pool3/2)": [(7, 2, 1), (3, 2, 1)],
        "dilated 3x3 convs, dilation 1, 2, 4": [(3, 1, 1), (3, 1, 2), (3, 1, 4)],
    }
    return [Case((layers,), name=name) for name, layers in stacks.items()]


def _rf_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(2)
    cases = [Case(([],), name="no layers: one pixel"), Case(([(1, 1, 1)],), name="a 1x1 conv")]
    cases.append(Case(([(2, 2, 1)] * 5,), name="five 2x2 pools"))
    cases.append(Case(([(3, 2, 3), (1, 1, 1), (3, 1, 2)],), name="stride then dilation"))
    for i in range(6):
        n = int(torch.randint(1, 7, (1,), generator=g))
        layers = [tuple(int(v) for v in torch.randint(1, 4, (3,), generator=g)) for _ in range(n)]
        cases.append(Case((layers,), name=f"random stack {i} ({n} layers)"))
    return cases


EXERCISES = Exercises(
    "01_cnn_recap",
    [
        Exercise(
            name="output_size",
            title="conv output size",
            reference=output_size,
            cases=_output_size_cases,
            hidden=_output_size_hidden,
            forbidden=(
                "lecture_lib.cnn.conv_output_size",
                "lecture_lib.cnn.conv.conv_output_size",
                *CONV_LAYERS,
            ),
        ),
        Exercise(
            name="max_pool_forward_backward",
            title="max-pool forward and backward",
            reference=max_pool_forward_backward,
            cases=_pool_cases,
            hidden=_pool_hidden,
            forbidden=(
                *CONV_LAYERS,
                "torch.nn.functional.max_pool2d_with_indices",
                "torch._C._nn.max_pool2d_with_indices",
                "torch.nn.functional.adaptive_max_pool2d",
                "torch.nn.AdaptiveMaxPool2d",
                "torch.nn.functional.max_unpool2d",
                "torch.nn.MaxUnpool2d",
                "torch.nn.functional.fractional_max_pool2d",
                *AUTOGRAD,
            ),
            points=3,
        ),
        Exercise(
            name="conv2d_backward",
            title="convolution, backward",
            reference=conv2d_backward,
            cases=_conv_cases,
            hidden=_conv_hidden,
            forbidden=(
                *CONV_LAYERS,
                "torch.nn.functional.conv_transpose2d",
                "torch.conv_transpose2d",
                "torch.nn.ConvTranspose2d",
                "torch.nn.grad.conv2d_input",
                "torch.nn.grad.conv2d_weight",
                "torch.convolution",
                "torch._convolution",
                "torch.ops.aten.convolution_backward",
                "lecture_lib.cnn.conv2d",
                "lecture_lib.cnn.conv.conv2d",
                *AUTOGRAD,
            ),
            compare=LOOSE,
            points=3,
        ),
        Exercise(
            name="stack_receptive_field",
            title="receptive field of a stack",
            reference=stack_receptive_field,
            cases=_rf_cases,
            hidden=_rf_hidden,
            forbidden=(
                "lecture_lib.cnn.receptive_field",
                "lecture_lib.cnn.conv.receptive_field",
                "lecture_lib.cnn.measured_receptive_field",
                "lecture_lib.cnn.conv.measured_receptive_field",
                *AUTOGRAD,
            ),
        ),
        Exercise(
            name="batch_norm_forward_backward",
            title="BatchNorm forward and backward",
            reference=batch_norm_forward_backward,
            cases=bn_cases,
            hidden=bn_hidden,
            forbidden=(*NORM_LAYERS, *AUTOGRAD),
            compare=LOOSE,
            points=3,
        ),
    ],
)
