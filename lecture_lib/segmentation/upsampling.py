"""Upsampling a coarse score map back to pixels (04_segmentation.ipynb, slide "Encoder-Decoder
Architecture"; FCN paper, Long et al. 2015, Sec. 3.3).

- ``bilinear_kernel`` / ``BilinearUpsample``: learnable upsampling (a transposed convolution)
  initialised to bilinear interpolation, as in the FCN paper;
- ``ideal_coarse_labels``: the finest label map a stride-``s`` score map can draw through bilinear
  upsampling (how much an output stride alone costs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lecture_lib.checks import check_int, check_number

__all__ = ["BilinearUpsample", "bilinear_kernel", "ideal_coarse_labels"]


def bilinear_kernel(in_channels: int, out_channels: int, kernel_size: int) -> Tensor:
    """Weights of a ``ConvTranspose2d`` that performs bilinear interpolation.

    The 1-D profile is a triangle ``1 - |k - center| / factor`` (``factor = ceil(kernel_size / 2)``),
    the 2-D kernel its outer product; channel ``i`` is upsampled from channel ``i`` only (the
    FCN paper's ``upsample_filt``). With ``kernel_size = 2s``, ``stride = s``, ``padding = s/2``
    it equals ``F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)`` away from
    the border (see ``BilinearUpsample`` for the border).

    Returns:
        Tensor[in_channels, out_channels, kernel_size, kernel_size] (ConvTranspose2d layout).
    """
    check_int(in_channels, "in_channels", low=None)
    check_int(out_channels, "out_channels", low=None)
    check_int(kernel_size, "kernel_size", low=None)
    if in_channels != out_channels or in_channels < 1:
        raise ValueError(
            f"bilinear upsampling maps each channel to itself: need in_channels == "
            f"out_channels >= 1, got {in_channels} and {out_channels}"
        )
    if kernel_size < 1:
        raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    k = torch.arange(kernel_size, dtype=torch.float64)
    profile = 1 - (k - center).abs() / factor  # (k,)
    weight = torch.zeros(in_channels, out_channels, kernel_size, kernel_size, dtype=torch.float64)
    weight[range(in_channels), range(in_channels)] = profile[:, None] * profile[None, :]
    return weight.float()


def ideal_coarse_labels(
    target: Tensor, stride: int, num_classes: int, *, steps: int = 150, lr: float = 0.3
) -> Tensor:
    """The label map drawn by the best stride-``stride`` scores under bilinear upsampling.

    A decoder whose last step upsamples a coarse score map bilinearly by ``stride`` (FCN-32s/16s/8s
    at initialisation) can only draw what some coarse map ``Z`` gives. This searches for that map:
    ``Z`` (Tensor[B, C, H/stride, W/stride]) starts at the one-hot target averaged over
    ``stride x stride`` cells (``steps=0`` returns that simple reference) and is then fitted by
    Adam to minimise the cross-entropy of ``F.interpolate(Z, scale_factor=stride, mode="bilinear")``
    against the target. Sharp, large scores place an edge anywhere between two cell centres, so
    the fitted map draws much finer detail than the averaged one. Found by search, it slightly
    underestimates the best bilinear result; a decoder whose upsampling kernel is *learned* (as
    FCN's is after training) is not bound by it.

    Args:
        target (Tensor[B, H, W]): class ids in ``[0, num_classes)``; ``H`` and ``W`` divisible by ``stride``.

    Returns:
        Tensor[B, H, W] int64: the argmax of the upsampled fitted scores.
    """
    if not isinstance(target, Tensor):
        raise TypeError(f"target must be a Tensor[B, H, W] of class ids, got {type(target).__name__}")
    if target.ndim != 3 or target.dtype.is_floating_point:
        raise ValueError(
            f"target must be integer class ids [B, H, W], got {target.dtype} {tuple(target.shape)}"
        )
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be an int >= 1, got {stride!r}")
    if target.shape[1] % stride or target.shape[2] % stride:
        raise ValueError(f"image side {tuple(target.shape[1:])} must be divisible by stride {stride}")
    check_int(num_classes, "num_classes", low=1)
    check_int(steps, "steps", low=0)
    check_number(lr, "lr", low=0.0, low_open=True)
    if target.numel() and (target.min() < 0 or target.max() >= num_classes):
        raise ValueError(f"target values must lie in [0, {num_classes}), got {target.min()}..{target.max()}")
    onehot = F.one_hot(target, num_classes).permute(0, 3, 1, 2).float()  # Tensor[B, C, H, W]
    z = F.avg_pool2d(onehot, stride).mul(8.0).requires_grad_(True)  # averaged map, sharpened
    opt = torch.optim.Adam([z], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            up = F.interpolate(z, scale_factor=stride, mode="bilinear", align_corners=False)
            loss = F.cross_entropy(up, target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        return F.interpolate(z, scale_factor=stride, mode="bilinear", align_corners=False).argmax(1)


class BilinearUpsample(nn.Module):
    """Learnable ``factor``x upsampling: ``ConvTranspose2d(C, C, 2*factor, stride=factor,
    padding=factor/2)`` initialised with ``bilinear_kernel``. ``depthwise=True`` (the default) gives
    each channel its own kernel (``groups=C``; C times cheaper, the same function at initialisation).

    ``pad_edges=True`` replicates the border pixel once before and crops ``factor`` pixels after,
    so that at initialisation the output equals ``F.interpolate(..., mode="bilinear",
    align_corners=False)`` everywhere, border included (the plain transposed convolution sees
    zeros beyond the border and darkens a ``factor/2``-wide frame).
    """

    def __init__(
        self,
        channels: int,
        factor: int,
        *,
        pad_edges: bool = True,
        learnable: bool = True,
        depthwise: bool = True,
    ):
        super().__init__()
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2 or factor % 2:
            raise ValueError(f"factor must be an even integer >= 2, got {factor!r}")
        check_int(channels, "channels", low=1)
        for name, flag in (("pad_edges", pad_edges), ("learnable", learnable), ("depthwise", depthwise)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__} {flag!r}")
        self.factor, self.pad_edges = factor, pad_edges
        groups = channels if depthwise else 1
        self.up = nn.ConvTranspose2d(
            channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False, groups=groups
        )
        with torch.no_grad():
            w = bilinear_kernel(channels, channels, 2 * factor)  # (C, C, k, k), diagonal in channels
            if depthwise:  # groups=C: weight (C, 1, k, k) holds the diagonal w[c, c]
                w = w[range(channels), range(channels)][:, None]
            self.up.weight.copy_(w)
        self.up.weight.requires_grad_(learnable)

    def forward(self, x: Tensor) -> Tensor:
        """Tensor[B, C, H, W] -> Tensor[B, C, factor*H, factor*W]."""
        if not self.pad_edges:
            return self.up(x)
        y = self.up(F.pad(x, (1, 1, 1, 1), mode="replicate"))
        f = self.factor
        return y[..., f:-f, f:-f]
