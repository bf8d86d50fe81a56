"""The exercises of 04_segmentation.ipynb: references, visible and hidden cases, refused shortcuts.

- ``iou_per_class(cm)``: per-class IoU from a confusion matrix, ``nan`` for an absent class.
- ``upsample_bilinear(x, s, align_corners=False)``: bilinear upsampling by an integer factor with
  both of PyTorch's sampling conventions, border clamping, odd factors and 1-pixel maps (about 12
  lines with indexing).
- ``transposed_conv2d(x, weight, stride=1, padding=0)``: the FCN's learnable upsampling, a
  transposed convolution: every input pixel adds the kernel, scaled by its value, into the output
  at ``stride`` times its position; ``padding`` crops the borders (as ``F.conv_transpose2d``).

The references are plain loops, independent of ``lecture_lib.metrics``, ``F.interpolate`` and
``F.conv_transpose2d``.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor

from lecture_lib.exercises import AUTOGRAD, LOOSE, Case, Exercise, Exercises
from lecture_lib.segmentation.upsampling import bilinear_kernel


def iou_per_class(cm: Tensor) -> Tensor:
    """IoU of each class ``[C]`` (float64) from a confusion matrix ``cm [C, C]`` (rows = truth,
    columns = prediction); ``nan`` for a class absent from truth and prediction."""
    rows = cm.tolist()
    n = len(rows)
    out = []
    for c in range(n):
        inter = rows[c][c]
        union = sum(rows[c]) + sum(rows[r][c] for r in range(n)) - inter
        out.append(inter / union if union > 0 else math.nan)
    return torch.tensor(out, dtype=torch.float64)


def _random_cm(g: torch.Generator, c: int, high: int = 50) -> Tensor:
    return torch.randint(0, high, (c, c), generator=g)


def _iou_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    return [
        Case((torch.tensor([[3, 1], [2, 4]]),), name="hand example"),
        Case((torch.tensor([[5, 0, 0], [0, 0, 0], [1, 0, 2]]),), name="absent class -> nan"),
        Case((_random_cm(g, 6, 1000),), name="6 classes, random counts"),
    ]


def _iou_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(41)
    never_predicted = _random_cm(g, 4)
    never_predicted[:, 2] = 0
    return [
        Case((torch.zeros(3, 3, dtype=torch.int64),), name="empty matrix: all nan"),
        Case((torch.tensor([[7]]),), name="one class"),
        Case((torch.diag(torch.tensor([4, 0, 9])),), name="perfect prediction, one class absent"),
        Case((never_predicted,), name="a class never predicted (IoU 0, not nan)"),
        Case((torch.tensor([[0, 5], [3, 0]]),), name="everything wrong: IoU 0"),
        Case((_random_cm(g, 21, 10_000),), name="21 classes (PASCAL VOC), large counts"),
    ]


def upsample_bilinear(x: Tensor, s: int, align_corners: bool = False) -> Tensor:
    """``x [B, C, H, W]`` -> ``[B, C, s*H, s*W]``, one output pixel at a time.

    Output pixel ``o`` reads the input at ``(o + 0.5) / s - 0.5`` clamped to ``[0, n - 1]``
    (``align_corners=False``), or at ``o * (n - 1) / (s * n - 1)`` (``align_corners=True``: the
    corner pixels of input and output coincide; ``0`` when the output has one pixel).
    """
    B, C, H, W = x.shape

    def source(o: int, n: int) -> float:
        if align_corners:
            return o * (n - 1) / (s * n - 1) if s * n > 1 else 0.0
        return min(max((o + 0.5) / s - 0.5, 0.0), n - 1)

    out = torch.zeros(B, C, s * H, s * W, dtype=x.dtype)
    for i, j in itertools.product(range(s * H), range(s * W)):
        u, v = source(i, H), source(j, W)
        i0, j0 = int(u), int(v)
        i1, j1, a, b = min(i0 + 1, H - 1), min(j0 + 1, W - 1), u - i0, v - j0
        out[:, :, i, j] = (
            (1 - a) * (1 - b) * x[:, :, i0, j0]
            + (1 - a) * b * x[:, :, i0, j1]
            + a * (1 - b) * x[:, :, i1, j0]
            + a * b * x[:, :, i1, j1]
        )
    return out


def _up_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    settings = {
        "2x, 3x3": ((1, 1, 3, 3), 2, False),
        "4x, 2x5 (not square)": ((1, 2, 2, 5), 4, False),
        "3x (odd factor)": ((2, 1, 3, 4), 3, False),
        "8x, a 1x1 map": ((1, 3, 1, 1), 8, False),
        "2x, 3x3, align_corners=True": ((1, 1, 3, 3), 2, True),
        "3x, 2x4, align_corners=True": ((1, 2, 2, 4), 3, True),
    }
    return [
        Case((torch.randn(shape, generator=g), s, ac), name=name) for name, (shape, s, ac) in settings.items()
    ]


def _up_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(42)
    settings = {
        "1x (identity)": ((1, 1, 3, 4), 1, False),
        "1x, align_corners=True (identity)": ((1, 1, 3, 4), 1, True),
        "5x, 1xW row map": ((1, 2, 1, 6), 5, False),
        "4x, a 1x1 map, align_corners=True": ((1, 1, 1, 1), 4, True),
        "2x, Hx1 column map, align_corners=True": ((2, 1, 5, 1), 2, True),
        "2x, an FCN-sized score map (6 classes)": ((1, 6, 4, 4), 2, False),
        "7x, 3x2": ((1, 1, 3, 2), 7, False),
    }
    cases = [
        Case((torch.randn(shape, generator=g), s, ac), name=name) for name, (shape, s, ac) in settings.items()
    ]
    cases.append(
        Case((torch.randn(1, 1, 4, 4, generator=g).double(), 2, False), name="float64 input keeps its dtype")
    )
    return cases


def transposed_conv2d(x: Tensor, weight: Tensor, stride: int = 1, padding: int = 0) -> Tensor:
    """Transposed convolution, one input pixel at a time (``F.conv_transpose2d``, no bias).

    Args:
        x (Tensor[B, C_in, H, W]): input.
        weight (Tensor[C_in, C_out, kh, kw]): ``nn.ConvTranspose2d``'s layout (input channels first).
        stride, padding: input pixel ``(i, j)`` adds ``x[b, ci, i, j] * weight[ci, co]`` to the output
            block whose top-left corner is ``(i * stride - padding, j * stride - padding)``; what
            falls outside the output is dropped.

    Returns:
        Tensor[B, C_out, (H - 1) * stride - 2 * padding + kh, (W - 1) * stride - 2 * padding + kw],
        in ``x``'s dtype.
    """
    B, C_in, H, W = x.shape
    _, C_out, kh, kw = weight.shape
    Ho, Wo = (H - 1) * stride - 2 * padding + kh, (W - 1) * stride - 2 * padding + kw
    if Ho < 1 or Wo < 1:
        raise ValueError(f"padding {padding} leaves no output for a {H}x{W} input and a {kh}x{kw} kernel")
    xs, ws = x.tolist(), weight.tolist()
    out = [[[[0.0] * Wo for _ in range(Ho)] for _ in range(C_out)] for _ in range(B)]
    for b, ci, i, j in itertools.product(range(B), range(C_in), range(H), range(W)):
        for co, u, v in itertools.product(range(C_out), range(kh), range(kw)):
            r, c = i * stride - padding + u, j * stride - padding + v
            if 0 <= r < Ho and 0 <= c < Wo:
                out[b][co][r][c] += xs[b][ci][i][j] * ws[ci][co][u][v]
    return torch.tensor(out, dtype=x.dtype).reshape(B, C_out, Ho, Wo)


def _tconv_case(
    g: torch.Generator, x_shape: tuple, w_shape: tuple, stride: int, padding: int, name: str
) -> Case:
    return Case(
        (torch.randn(x_shape, generator=g), torch.randn(w_shape, generator=g), stride, padding), name=name
    )


def _tconv_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    return [
        Case(
            (torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]), torch.ones(1, 1, 3, 3), 1, 0),
            name="by hand: 2x2 input, 3x3 kernel of ones (overlaps add up)",
        ),
        _tconv_case(g, (1, 2, 3, 3), (2, 3, 3, 3), 2, 0, "stride 2, 3x3 kernel, 2 -> 3 channels"),
        _tconv_case(
            g, (2, 3, 4, 4), (3, 2, 4, 4), 2, 1, "FCN's 2x upsampling: 4x4 kernel, stride 2, padding 1"
        ),
    ]


def _tconv_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(43)
    bilinear = bilinear_kernel(2, 2, 8)  # FCN's 4x upsampling at initialisation
    return [
        _tconv_case(g, (1, 1, 1, 1), (1, 2, 3, 3), 1, 0, "a 1x1 input: the kernel itself"),
        _tconv_case(g, (1, 1, 3, 3), (1, 1, 2, 2), 3, 0, "stride 3 > kernel 2: rows of zeros between"),
        _tconv_case(g, (1, 2, 2, 3), (2, 1, 1, 1), 2, 0, "1x1 kernel, stride 2"),
        _tconv_case(g, (2, 2, 3, 5), (2, 3, 2, 3), 2, 1, "2x3 kernel, 3x5 input (not square)"),
        _tconv_case(g, (1, 4, 4, 4), (4, 1, 3, 3), 1, 2, "padding 2 > kernel overlap: output smaller"),
        Case(
            (torch.randn(1, 2, 4, 4, generator=g), bilinear, 4, 2),
            name="FCN's bilinear kernel, 8x8, stride 4, padding 2",
        ),
        Case(
            (
                torch.randn(1, 1, 3, 3, generator=g).double(),
                torch.randn(1, 1, 4, 4, generator=g).double(),
                2,
                1,
            ),
            name="float64 input keeps its dtype",
        ),
    ]


INTERPOLATE = (
    "torch.nn.functional.interpolate",
    "torch.nn.functional.upsample",
    "torch.nn.functional.upsample_bilinear",
    "torch.nn.Upsample",
    "torch.nn.UpsamplingBilinear2d",
    "torch._C._nn.upsample_bilinear2d",
    "torch.nn.functional.grid_sample",
    "torch.grid_sampler",
    "torch.grid_sampler_2d",
    "torch.nn.functional.affine_grid",
    "torch.nn.functional.conv_transpose2d",
    "torch.nn.ConvTranspose2d",
    "torchvision.transforms.functional.resize",
    "torchvision.transforms.Resize",
    "lecture_lib.segmentation.BilinearUpsample",
    "lecture_lib.segmentation.upsampling.BilinearUpsample",
    "lecture_lib.segmentation.upsampling.bilinear_kernel",
)
# with INTERPOLATE (F.conv_transpose2d, nn.ConvTranspose2d) and AUTOGRAD (the gradient of a
# convolution with respect to its input is a transposed convolution): the other ways to run one
TRANSPOSED_CONV = (
    "torch.conv_transpose2d",
    "torch.nn.grad.conv2d_input",
    "torch.nn.functional.conv2d",
    "torch.conv2d",
    "torch.nn.Conv2d",
    "torch.convolution",
    "torch._convolution",
    "torch.ops.aten.convolution_backward",
    "torch.nn.functional.fold",
    "torch.nn.Fold",
    "torch._C._nn.col2im",
)


EXERCISES = Exercises(
    "04_segmentation",
    [
        Exercise(
            name="iou_per_class",
            title="IoU from a confusion matrix",
            reference=iou_per_class,
            cases=_iou_cases,
            hidden=_iou_hidden,
            forbidden=(
                "lecture_lib.metrics.iou_from_confusion",
                "lecture_lib.metrics.segmentation.iou_from_confusion",
                "lecture_lib.metrics.mean_iou",
                "lecture_lib.metrics.segmentation.mean_iou",
                "sklearn.metrics.jaccard_score",
            ),
        ),
        Exercise(
            name="upsample_bilinear",
            title="bilinear upsampling",
            reference=upsample_bilinear,
            cases=_up_cases,
            hidden=_up_hidden,
            forbidden=INTERPOLATE,
            compare=LOOSE,
            points=3,
        ),
        Exercise(
            name="transposed_conv2d",
            title="transposed convolution",
            reference=transposed_conv2d,
            cases=_tconv_cases,
            hidden=_tconv_hidden,
            forbidden=(*INTERPOLATE, *TRANSPOSED_CONV, *AUTOGRAD),
            compare=LOOSE,
            points=3,
        ),
    ],
)
