"""Keypoint heatmaps: the slide's disk targets, Gaussian targets, and decoding maps to joints.

Pixel convention (everywhere in ``lecture_lib.pose``): a keypoint is ``(x, y)`` in pixels, pixel
``(row i, column j)`` has its centre at ``(x = j, y = i)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lecture_lib.checks import check_tensor


def _check_targets(
    keypoints: Tensor,
    size: tuple[int, int],
    visible: Tensor | None,
    name: str,
    value: float,
) -> tuple[int, int, Tensor]:
    if not isinstance(keypoints, Tensor) or keypoints.ndim != 2 or keypoints.shape[1] != 2:
        got = tuple(keypoints.shape) if isinstance(keypoints, Tensor) else type(keypoints).__name__
        raise ValueError(f"keypoints must be a Tensor of shape (K, 2) holding (x, y) pixels, got {got}")
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
    ):
        raise ValueError(f"size must be (H, W) with two positive ints, got {size!r}")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0 (pixels), got {value!r}")
    k = keypoints.shape[0]
    if visible is None:
        visible = torch.ones(k, dtype=torch.bool, device=keypoints.device)
    elif not isinstance(visible, Tensor) or visible.shape != (k,):
        got = tuple(visible.shape) if isinstance(visible, Tensor) else type(visible).__name__
        raise ValueError(f"visible must be a Tensor of shape ({k},) (one flag per keypoint), got {got}")
    return size[0], size[1], visible.bool()


def _squared_distances(keypoints: Tensor, h: int, w: int) -> Tensor:
    """Tensor[K, H, W]: squared distance of every pixel centre to each keypoint."""
    kp = keypoints.float()
    rows = torch.arange(h, dtype=torch.float32, device=kp.device)  # y of pixel centres
    cols = torch.arange(w, dtype=torch.float32, device=kp.device)  # x of pixel centres
    dy2 = (rows[None, :] - kp[:, 1:2]) ** 2  # (K, H)
    dx2 = (cols[None, :] - kp[:, 0:1]) ** 2  # (K, W)
    return dy2[:, :, None] + dx2[:, None, :]  # (K, H, W) broadcast


def disk_heatmaps(
    keypoints: Tensor, size: tuple[int, int], radius: float, visible: Tensor | None = None
) -> Tensor:
    """The slide's target: one binary disk of radius ``radius`` around each keypoint.

    Args:
        keypoints (Tensor[K, 2]): (x, y) pixel coordinates; points outside the image are allowed
            (their disks are partial or empty).
        size: (H, W) of the maps.
        radius: disk radius in pixels (>= 0); a pixel is 1 iff (j - x)^2 + (i - y)^2 <= radius^2.
        visible (Tensor[K] bool, optional): joints with False get an all-zero map; None = all visible.

    Returns:
        Tensor[K, H, W] float32 in {0, 1}.
    """
    h, w, visible = _check_targets(keypoints, size, visible, "radius", radius)
    maps = (_squared_distances(keypoints, h, w) <= float(radius) ** 2).float()
    return maps * visible[:, None, None]


def gaussian_heatmaps(
    keypoints: Tensor, size: tuple[int, int], sigma: float, visible: Tensor | None = None
) -> Tensor:
    """Gaussian targets (Tompson et al. 2015, Newell et al. 2016): exp(-d^2 / (2 sigma^2)), peak 1.

    Args and pixel convention as ``disk_heatmaps``; ``sigma`` (> 0) in pixels.

    Returns:
        Tensor[K, H, W] float32 in [0, 1]; all-zero for invisible joints.
    """
    h, w, visible = _check_targets(keypoints, size, visible, "sigma", sigma)
    if sigma == 0:
        raise ValueError("sigma must be > 0 (pixels), got 0")
    maps = torch.exp(-_squared_distances(keypoints, h, w) / (2.0 * float(sigma) ** 2))
    return maps * visible[:, None, None]


def heatmaps_to_keypoints(heatmaps: Tensor, *, subpixel: bool = True) -> tuple[Tensor, Tensor]:
    """Decode each map to its peak: argmax, optionally refined to sub-pixel precision.

    The refinement fits a parabola through the peak and its two neighbours along x and along y
    (``dx = (v[+1] - v[-1]) / (2 (2 v[0] - v[-1] - v[+1]))``, clamped to half a pixel; no
    refinement at the image border or on a flat top).

    Args:
        heatmaps (Tensor[..., K, H, W]): one score map per joint (probabilities or logits).
        subpixel: refine the integer argmax (default True).

    Returns:
        (Tensor[..., K, 2], Tensor[..., K]): (x, y) in pixels (same convention as the targets) and
        the confidence, the map's value at its argmax.
    """
    if not isinstance(heatmaps, Tensor) or heatmaps.ndim < 3:
        got = tuple(heatmaps.shape) if isinstance(heatmaps, Tensor) else type(heatmaps).__name__
        raise ValueError(f"heatmaps must be a Tensor of shape (..., K, H, W), got {got}")
    *lead, h, w = heatmaps.shape
    if h == 0 or w == 0:
        raise ValueError(f"heatmaps must have H, W >= 1, got {(h, w)}")
    # one NaN pixel would win the argmax and send the joint to (0, 0)
    check_tensor(heatmaps, "heatmaps", "(..., K, H, W)", dtype="number", finite=True)
    if heatmaps.numel() == 0:  # no images (or no joints): no keypoints
        return heatmaps.new_zeros((*lead, 2), dtype=torch.float32), heatmaps.new_zeros(
            lead, dtype=torch.float32
        )
    flat = heatmaps.reshape(-1, h, w).float()  # (M, H, W), M = prod(lead)
    conf, idx = flat.reshape(flat.shape[0], -1).max(dim=1)
    row, col = idx // w, idx % w
    x, y = col.float(), row.float()
    if subpixel:
        m = torch.arange(flat.shape[0], device=flat.device)

        def offset(center, lo_val, hi_val, ok):
            denom = 2.0 * (2.0 * center - lo_val - hi_val)
            d = torch.where(
                ok & (denom > 1e-12), (hi_val - lo_val) / denom.clamp(min=1e-12), torch.zeros_like(center)
            )
            return d.clamp(-0.5, 0.5)

        okx = (col > 0) & (col < w - 1)
        oky = (row > 0) & (row < h - 1)
        cl, cr = (col - 1).clamp(min=0), (col + 1).clamp(max=w - 1)
        ru, rd = (row - 1).clamp(min=0), (row + 1).clamp(max=h - 1)
        x = x + offset(conf, flat[m, row, cl], flat[m, row, cr], okx)
        y = y + offset(conf, flat[m, ru, col], flat[m, rd, col], oky)
    return torch.stack([x, y], dim=-1).reshape(*lead, 2), conf.reshape(*lead)
