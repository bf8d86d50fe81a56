"""Exercise 5 of 01_cnn_recap.ipynb: batch normalisation of a conv layer, forward and backward.

The slide "Recap: CNN Structure" lists "(Normalization)" as the fourth step of a stage, and
section 8 of the notebook measures what BatchNorm does for deep plain networks. The student
writes the layer in training mode, forward and backward, for a ``[B, C, H, W]`` input: the
statistics of each channel are taken over its ``B * H * W`` values (the batch and every
position), as ``torch.nn.BatchNorm2d`` does while training.

The reference below is plain Python arithmetic in float64 (one channel at a time), independent
of ``torch.nn.functional.batch_norm`` which the exercise refuses (and which
``tests/test_exercises_references.py`` compares it with).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.exercises import Case

# every way to have PyTorch normalise over (B, H, W) per channel: BatchNorm itself, and the
# other norms, which do the same after a transpose (instance norm of x.transpose(0, 1)[None], ...)
NORM_LAYERS = (
    "torch.nn.functional.batch_norm",
    "torch.batch_norm",
    "torch.native_batch_norm",
    "torch._native_batch_norm_legit",
    "torch.ops.aten.native_batch_norm_backward",
    "torch.nn.BatchNorm1d",
    "torch.nn.BatchNorm2d",
    "torch.nn.BatchNorm3d",
    "torch.nn.LazyBatchNorm2d",
    "torch.nn.SyncBatchNorm",
    "torch.nn.functional.instance_norm",
    "torch.instance_norm",
    "torch.nn.InstanceNorm2d",
    "torch.nn.functional.layer_norm",
    "torch.layer_norm",
    "torch.native_layer_norm",
    "torch.nn.LayerNorm",
    "torch.nn.functional.group_norm",
    "torch.group_norm",
    "torch.native_group_norm",
    "torch.nn.GroupNorm",
)


def batch_norm_forward_backward(
    x: Tensor, gamma: Tensor, beta: Tensor, grad_out: Tensor, eps: float = 1e-5
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """BatchNorm in training mode, forward and backward, one channel at a time.

    Per channel ``c`` over its ``n = B * H * W`` values: ``mean``, the biased variance ``var``
    (divided by ``n``), ``x_hat = (x - mean) / sqrt(var + eps)`` and ``out = gamma[c] * x_hat +
    beta[c]``. Backward with ``g = gamma[c] * grad_out`` (the gradient with respect to ``x_hat``):
    ``grad_x = (n * g - sum(g) - x_hat * sum(g * x_hat)) / (n * sqrt(var + eps))``.

    Args:
        x: ``[B, C, H, W]``; gamma, beta: ``[C]``; grad_out: ``[B, C, H, W]``, the gradient of the
            loss with respect to ``out``; eps: added to the variance.

    Returns:
        ``(out [B, C, H, W], grad_x [B, C, H, W], grad_gamma [C], grad_beta [C])`` in ``x``'s dtype.
    """
    B, C, H, W = x.shape
    n = B * H * W
    out, grad_x = torch.zeros_like(x), torch.zeros_like(x)
    grad_gamma, grad_beta = torch.zeros(C, dtype=x.dtype), torch.zeros(C, dtype=x.dtype)
    for c in range(C):
        values = x[:, c].double().flatten().tolist()
        grads = grad_out[:, c].double().flatten().tolist()
        scale, shift = float(gamma[c]), float(beta[c])
        mean = sum(values) / n
        var = sum((v - mean) ** 2 for v in values) / n
        inv_std = 1.0 / math.sqrt(var + eps)
        x_hat = [(v - mean) * inv_std for v in values]
        g_hat = [scale * g for g in grads]  # d loss / d x_hat
        sum_g, sum_gx = sum(g_hat), sum(g * h for g, h in zip(g_hat, x_hat))
        out[:, c] = torch.tensor([scale * h + shift for h in x_hat]).reshape(B, H, W)
        grad_c = [inv_std / n * (n * g - sum_g - h * sum_gx) for g, h in zip(g_hat, x_hat)]
        grad_x[:, c] = torch.tensor(grad_c).reshape(B, H, W)
        grad_gamma[c] = sum(g * h for g, h in zip(grads, x_hat))
        grad_beta[c] = sum(grads)
    return out, grad_x, grad_gamma, grad_beta


def _bn_case(
    g: torch.Generator,
    name: str,
    shape: tuple[int, int, int, int],
    x: Tensor | None = None,
    gamma: Tensor | None = None,
    eps: float | None = None,
) -> Case:
    c = shape[1]
    x = torch.randn(shape, generator=g) if x is None else x
    gamma = torch.rand(c, generator=g) + 0.5 if gamma is None else gamma
    beta, grad_out = torch.randn(c, generator=g), torch.randn(shape, generator=g)
    return Case((x, gamma, beta, grad_out), {} if eps is None else {"eps": eps}, name=name)


def bn_cases() -> list[Case]:
    """The visible cases: ordinary batches, a non-square map, a constant channel."""
    g = torch.Generator().manual_seed(5)
    constant = torch.randn(2, 2, 3, 3, generator=g)
    constant[:, 1] = 3.0  # variance 0: only eps keeps the division finite
    return [
        _bn_case(
            g, "4 images, 3 channels, 5x5", (4, 3, 5, 5), x=2 * torch.randn(4, 3, 5, 5, generator=g) + 1
        ),
        _bn_case(g, "gamma = 1, beta = 0 (standardisation)", (3, 2, 4, 4), gamma=torch.ones(2)),
        _bn_case(g, "one image, 4x6 (statistics over the positions)", (1, 2, 4, 6)),
        _bn_case(g, "a constant channel (variance 0)", (2, 2, 3, 3), x=constant),
    ]


def bn_hidden() -> list[Case]:
    """The hidden cases: 1x1 maps, eps given, gamma 0 or negative, an offset, many channels."""
    g = torch.Generator().manual_seed(6)
    return [
        _bn_case(g, "1x1 maps (statistics over the batch only)", (5, 3, 1, 1)),
        _bn_case(g, "two values per channel", (2, 4, 1, 1)),
        _bn_case(g, "eps = 0.1", (3, 2, 3, 3), eps=0.1),
        _bn_case(g, "gamma 0 and negative", (2, 3, 4, 4), gamma=torch.tensor([0.0, -1.5, 2.0])),
        _bn_case(g, "values far from 0", (4, 2, 3, 3), x=torch.randn(4, 2, 3, 3, generator=g) * 0.5 + 8.0),
        _bn_case(g, "odd sizes, 8 channels", (3, 8, 5, 3)),
    ]
