"""Anchor boxes of Faster R-CNN's Region Proposal Network, for one feature map.

Same anchors in the same order as ``torchvision.models.detection.anchor_utils.AnchorGenerator``
(checked in ``tests/test_detection_anchors.py``). Used by the Region Proposal Network
(``lecture_lib.detection.rpn``) and in 03c_faster_rcnn.ipynb (slides "Region Proposal Networks",
"Faster R-CNN").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from lecture_lib.checks import check_number


def _positive_numbers(values, name: str) -> Tensor:
    if isinstance(values, (int, float)):
        values = (values,)
    if not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of positive numbers, got {values!r}")
    for i, v in enumerate(values):
        check_number(v, f"{name}[{i}]", finite=False)  # a real number, not a bool; values below
    t = torch.as_tensor(values, dtype=torch.float32)
    if t.ndim != 1 or not torch.isfinite(t).all() or (t <= 0).any():
        raise ValueError(f"{name} must be a non-empty sequence of positive numbers, got {values!r}")
    return t


def cell_anchors(sizes: Sequence[float], aspect_ratios: Sequence[float]) -> Tensor:
    """The A = len(aspect_ratios) * len(sizes) anchors centred on (0, 0).

    An anchor of size ``s`` and aspect ratio ``r = h / w`` has area ``s**2``:
    ``w = s / sqrt(r)``, ``h = s * sqrt(r)``. Ordered ratio-major, size-minor and rounded to
    whole pixels, as torchvision.

    Returns:
        Tensor[A, 4]: xyxy anchors around the origin.
    """
    scales = _positive_numbers(sizes, "sizes")
    ratios = _positive_numbers(aspect_ratios, "aspect_ratios")
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)  # (A,) ratio-major
    hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
    return (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()


def make_anchors(
    feature_size: tuple[int, int],
    stride: int | tuple[int, int],
    sizes: Sequence[float],
    aspect_ratios: Sequence[float],
) -> Tensor:
    """All anchors of one feature map: the cell anchors shifted to every feature-map location.

    Location ``(i, j)`` of an ``H x W`` feature map sits at image pixel ``(x, y) = (j * stride,
    i * stride)``; its ``A`` anchors are :func:`cell_anchors` shifted there.

    Args:
        feature_size: ``(H, W)`` of the feature map.
        stride: image pixels per feature-map cell (``int`` or ``(stride_y, stride_x)``).
        sizes: anchor sizes in pixels (sqrt of the area), e.g. ``(32, 64, 128)``.
        aspect_ratios: height / width ratios, e.g. ``(0.5, 1.0, 2.0)``.

    Returns:
        Tensor[H * W * A, 4]: xyxy anchors, location-major (row by row), then the ``A`` anchors
        of each location: the order of ``AnchorGenerator(sizes=(sizes,),
        aspect_ratios=(aspect_ratios,))`` and of an RPN head's ``(A, H, W)`` outputs flattened
        as torchvision does.
    """
    if (
        not isinstance(feature_size, Sequence)
        or len(feature_size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in feature_size)
    ):
        raise ValueError(f"feature_size must be (H, W) with non-negative ints, got {feature_size!r}")
    if not isinstance(stride, (int, Sequence)) or (isinstance(stride, Sequence) and len(stride) != 2):
        raise ValueError(f"stride must be a positive int or (stride_y, stride_x), got {stride!r}")
    sy, sx = (stride, stride) if isinstance(stride, int) else tuple(stride)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (sy, sx)):
        raise ValueError(f"stride must be a positive int or (stride_y, stride_x), got {stride!r}")
    base = cell_anchors(sizes, aspect_ratios)  # (A, 4)
    h, w = feature_size
    shift_y, shift_x = torch.meshgrid(torch.arange(h) * sy, torch.arange(w) * sx, indexing="ij")  # (H, W)
    shifts = (
        torch.stack((shift_x, shift_y, shift_x, shift_y), dim=-1).reshape(-1, 1, 4).float()
    )  # (H*W, 1, 4)
    return (shifts + base[None]).reshape(-1, 4)  # (H*W*A, 4)
