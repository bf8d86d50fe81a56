"""Offline source and target tasks for transfer learning. Used in 02_transfer_learning.ipynb
(slides "Transfer Learning with CNNs", "The Learned Features are Generic").

The quick profile needs a stand-in for ImageNet -> Caltech-256 that runs on a CPU in seconds:

* **source** ("ImageNet"): many classes of procedurally drawn *glyphs*. Each class is a random
  template of 1-3 pen strokes (cubic Bezier curves); every image redraws it with jittered
  control points, a random slant/rotation/scale and pen width. Thousands of labelled images.
* **target** ("Caltech-256"): scikit-learn's real handwritten digits (1,797 images shipped in
  the wheel) -- classes that never occur in the source, few labels per class.

Both go through the same imaging pipeline, the one that produced the digits (NIST's 32x32
bitmaps summed over 4x4 blocks into 8x8 counts 0..16), then the same random "camera":
upsampled to 16x16, rotated, scaled and shifted. Source and target thus share image statistics
(as ImageNet and Caltech photos do) but not classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

MAX_STROKES = 3


@dataclass(frozen=True)
class GlyphTemplates:
    """Class templates: ``ctrl`` Tensor[C, 3, 4, 2] Bezier control points in [0, 1]^2 (x, y),
    ``mask`` Tensor[C, 3] bool, which of the 3 strokes a class uses."""

    ctrl: Tensor
    mask: Tensor

    @property
    def num_classes(self) -> int:
        return self.ctrl.shape[0]


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def glyph_templates(num_classes: int, *, seed: int = 0) -> GlyphTemplates:
    """Random stroke templates, one per class (1 to 3 cubic Bezier strokes each)."""
    num_classes = _check_positive_int(num_classes, "num_classes")
    g = torch.Generator().manual_seed(seed)
    ctrl = 0.15 + 0.7 * torch.rand(num_classes, MAX_STROKES, 4, 2, generator=g)
    strokes = torch.randint(1, MAX_STROKES + 1, (num_classes,), generator=g)
    mask = torch.arange(MAX_STROKES)[None, :] < strokes[:, None]
    return GlyphTemplates(ctrl, mask)


def _bezier(ctrl: Tensor, n: int = 48) -> Tensor:
    """Points on cubic Bezier curves: ctrl [..., 4, 2] -> [..., n, 2]."""
    t = torch.linspace(0, 1, n)[:, None]
    p0, p1, p2, p3 = (ctrl[..., i, None, :] for i in range(4))
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def render_glyphs(
    templates: GlyphTemplates, labels: Tensor, *, seed: int = 0, jitter: float = 0.04
) -> Tensor:
    """Draw one glyph per label the way NIST digits were made.

    Args:
        templates: the classes.
        labels (Tensor[N]): class of each image, in ``[0, C)``.
        seed: randomness of the handwriting (control-point jitter, slant, pen width).
        jitter: std of the control-point noise, in units of the glyph box.

    Returns:
        Tensor[N, 1, 8, 8]: counts 0..16 (32x32 bitmap summed over 4x4 blocks), like ``load_digits``.
    """
    labels = torch.as_tensor(labels, dtype=torch.long)
    if labels.ndim != 1:
        raise ValueError(f"labels must be Tensor[N], got shape {tuple(labels.shape)}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= templates.num_classes):
        raise ValueError(
            f"labels must lie in [0, {templates.num_classes}), got [{labels.min()}, {labels.max()}]"
        )
    n, res = labels.numel(), 32
    if n == 0:
        return torch.zeros(0, 1, 8, 8)
    g = torch.Generator().manual_seed(seed)
    ctrl = templates.ctrl[labels] + jitter * torch.randn(n, MAX_STROKES, 4, 2, generator=g)
    mask = templates.mask[labels]  # [N, 3]
    angle = (torch.rand(n, generator=g) - 0.5) * math.radians(30)
    shear = (torch.rand(n, generator=g) - 0.5) * 0.4
    cos, sin = torch.cos(angle), torch.sin(angle)
    affine = torch.stack([torch.stack([cos, -sin + shear], -1), torch.stack([sin, cos], -1)], -2)  # [N, 2, 2]
    pts = _bezier((ctrl - 0.5) @ affine.transpose(-1, -2)[:, None] + 0.5)  # [N, 3, 48, 2]
    # size-normalise each glyph into its box, as NIST centred and scaled the digits
    used = mask[:, :, None, None].expand_as(pts)
    lo = torch.where(used, pts, torch.inf).flatten(1, 2).min(1).values  # [N, 2]
    hi = torch.where(used, pts, -torch.inf).flatten(1, 2).max(1).values
    fill = 0.75 + 0.15 * torch.rand(n, generator=g)
    scale = fill / (hi - lo).max(1).values.clamp_min(0.2)
    pts = ((pts - ((lo + hi) / 2)[:, None, None]) * scale[:, None, None, None] + 0.5).clamp(0, 0.999)
    idx = (pts * res).long()
    flat = (idx[..., 1] * res + idx[..., 0]).reshape(n, -1)
    bitmap = torch.zeros(n, res * res).scatter_add_(1, flat, used[..., 0].reshape(n, -1).float())
    bitmap = (bitmap > 0).float().view(n, 1, res, res)
    thick = (torch.rand(n, generator=g) < 0.5)[:, None, None, None]  # pen width 3 or 4 pixels
    bitmap = torch.where(
        thick, F.max_pool2d(F.pad(bitmap, (1, 2, 1, 2)), 4, 1), F.max_pool2d(bitmap, 3, 1, 1)
    )
    return F.avg_pool2d(bitmap, 4) * 16


def random_view(
    images8: Tensor,
    *,
    seed: int = 0,
    size: int = 16,
    max_rotation: float = 20.0,
    max_shift: float = 0.15,
    scale: tuple[float, float] = (0.8, 1.15),
) -> Tensor:
    """The shared "camera": 8x8 counts -> ``size`` x ``size`` image in [0, 1], randomly rotated
    (+-``max_rotation`` degrees), scaled and shifted (fraction of the half-width).

    Args:
        images8 (Tensor[N, 1, 8, 8]): counts 0..16.

    Returns:
        Tensor[N, 1, size, size] float in [0, 1].
    """
    if images8.ndim != 4 or images8.shape[1] != 1:
        raise ValueError(f"images8 must be Tensor[N, 1, H, W], got shape {tuple(images8.shape)}")
    size = _check_positive_int(size, "size")
    n = images8.shape[0]
    x = F.interpolate(images8.float() / 16, size=(size, size), mode="bilinear", align_corners=False)
    if n == 0:
        return x
    g = torch.Generator().manual_seed(seed)
    angle = (torch.rand(n, generator=g) - 0.5) * math.radians(2 * max_rotation)
    zoom = 1 / (scale[0] + (scale[1] - scale[0]) * torch.rand(n, generator=g))
    shift = (torch.rand(n, 2, generator=g) - 0.5) * 2 * max_shift
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = torch.cos(angle) * zoom, -torch.sin(angle) * zoom
    theta[:, 1, 0], theta[:, 1, 1] = torch.sin(angle) * zoom, torch.cos(angle) * zoom
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros").clamp(0, 1)


def glyph_dataset(
    num_classes: int = 100,
    per_class: int = 200,
    *,
    seed: int = 0,
    size: int = 16,
    templates: GlyphTemplates | None = None,
) -> tuple[Tensor, Tensor]:
    """The source task: ``per_class`` images of each of ``num_classes`` glyph classes.

    ``templates`` defaults to ``glyph_templates(num_classes, seed=0)`` -- the *classes* stay the
    same for every ``seed``, which only changes the drawings (use different seeds for train/test).

    Returns:
        (Tensor[N, 1, size, size] in [0, 1], Tensor[N] labels), N = num_classes * per_class.
    """
    num_classes = _check_positive_int(num_classes, "num_classes")
    per_class = _check_positive_int(per_class, "per_class")
    templates = templates if templates is not None else glyph_templates(num_classes, seed=0)
    if templates.num_classes != num_classes:
        raise ValueError(f"templates hold {templates.num_classes} classes, num_classes is {num_classes}")
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    images = random_view(render_glyphs(templates, labels, seed=2 * seed + 1), seed=2 * seed + 2, size=size)
    return images, labels


def digits_dataset(*, seed: int = 3, size: int = 16) -> tuple[Tensor, Tensor]:
    """The target task: scikit-learn's 1,797 real handwritten digits through ``random_view``.

    Returns:
        (Tensor[1797, 1, size, size] in [0, 1], Tensor[1797] labels 0..9).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images8 = torch.tensor(digits.images, dtype=torch.float32)[:, None]
    return random_view(images8, seed=seed, size=size), torch.tensor(digits.target, dtype=torch.long)


def photo_to_digit(image: np.ndarray, *, size: int = 16) -> Tensor:
    """A photo of one handwritten digit as the digit networks read it: gray, light ink on a dark
    background (inverted if the paper is light), cropped around the ink and resized.

    Args:
        image: RGB uint8 array ``[H, W, 3]``.

    Returns:
        Tensor[1, 1, size, size] in [0, 1].
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be an RGB array [H, W, 3], got shape {image.shape}")
    gray = torch.as_tensor(image, dtype=torch.float32).mean(dim=2) / 255
    if gray.mean() > 0.5:
        gray = 1 - gray  # dark ink on light paper -> light ink on dark background
    ys, xs = (gray > gray.max() * 0.5).nonzero(as_tuple=True)
    if ys.numel() == 0:
        raise ValueError("the image is blank: no ink found")
    side = max(int(ys.max() - ys.min()), int(xs.max() - xs.min())) + 1
    cy, cx = int(ys.min() + ys.max()) // 2, int(xs.min() + xs.max()) // 2
    half = int(side * 0.6) + 1
    crop = F.pad(gray, (half, half, half, half))[cy : cy + 2 * half, cx : cx + 2 * half]
    return F.interpolate(crop[None, None], size=(size, size), mode="area").clamp(0, 1)


def digit_to_photo(digit: Tensor, *, side: int = 96) -> np.ndarray:
    """A digit image ``Tensor[H, W]`` in [0, 1] drawn dark on white at ``side x side`` pixels, as an RGB
    uint8 array ``[side, side, 3]`` (what a photo of a digit on paper looks like to ``photo_to_digit``)."""
    if digit.ndim != 2:
        raise ValueError(f"digit must be a Tensor[H, W], got shape {tuple(digit.shape)}")
    paper = (255 - digit * 255).to(torch.uint8)
    big = F.interpolate(paper[None, None].float(), size=(side, side), mode="bilinear")[0, 0].to(torch.uint8)
    return big[..., None].expand(-1, -1, 3).numpy()
