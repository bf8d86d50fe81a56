"""Photographic textures cut from the sample images that ship inside installed wheels (offline).

The second editions of the scenes and people generators (``scenes_v2``, ``people_v2``) paint their
backgrounds, object fills and clothes with crops of real photographs, so that region grouping and
segmentation meet real texture statistics (edges inside objects, textured backgrounds) rather than
flat colours. Every file below is part of the installed wheel; nothing is downloaded.

From scikit-image's ``skimage/data/`` (loaded with ``skimage.data.<name>()``):

- colour: ``astronaut.png``, ``coffee.png``, ``chelsea.png``, ``rocket.jpg``, ``ihc.png``
  (``immunohistochemistry``), ``hubble_deep_field.jpg``, ``retina.jpg``;
- greyscale (tinted with a random colour when used): ``brick.png``, ``grass.png``, ``gravel.png``,
  ``camera.png``, ``coins.png``, ``moon.png``, ``cell.png``, ``page.png``, ``text.png``,
  ``clock_motion.png`` (``clock``).

From matplotlib's ``mpl-data/sample_data/``: ``grace_hopper.jpg`` (colour) and
``Minduka_Present_Blue_Pack.png`` (colour).

Images are loaded once per process, downscaled by 2 (so a 128 px scene shows a fair amount of
each photograph's structure), converted to float32 RGB in [0, 1] and cached. The module also
paints what both second editions share: lighting, contrasting colours and clutter (photo-textured
blobs and bars that belong to no class).
"""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib
import numpy as np
import torch
from matplotlib import image as mpimg
from skimage import data as skdata
from skimage.transform import rescale

SKIMAGE_COLOUR: tuple[str, ...] = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
)
SKIMAGE_GREY: tuple[str, ...] = (
    "brick",
    "grass",
    "gravel",
    "camera",
    "coins",
    "moon",
    "cell",
    "page",
    "text",
    "clock",
)
MATPLOTLIB_SAMPLES: tuple[str, ...] = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")
"""Files in ``matplotlib/mpl-data/sample_data/`` used as photographs."""


def _as_rgb(img: np.ndarray, downscale: float) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] from a uint8/float grey, RGB or RGBA image."""
    x = np.asarray(img)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, axis=2)
    x = x[..., :3]
    if downscale != 1.0:
        x = rescale(x, 1.0 / downscale, channel_axis=2, anti_aliasing=True, preserve_range=True)
    return np.clip(x, 0.0, 1.0).astype(np.float32)


@functools.cache
def photographs() -> tuple[tuple[str, np.ndarray, bool], ...]:
    """All photographs as ``(name, image (H, W, 3) float32 in [0, 1], is_grey)``, cached."""
    out = []
    for name in SKIMAGE_COLOUR:
        out.append((name, _as_rgb(getattr(skdata, name)(), 2.0), False))
    for name in SKIMAGE_GREY:
        out.append((name, _as_rgb(getattr(skdata, name)(), 2.0), True))
    folder = Path(matplotlib.get_data_path()) / "sample_data"
    for fname in MATPLOTLIB_SAMPLES:
        img = mpimg.imread(str(folder / fname))
        out.append((fname, _as_rgb(img, 2.0), False))
    return tuple(out)


def photo_patch(rng: np.random.Generator, h: int, w: int, *, tint: bool = True) -> np.ndarray:
    """A random (h, w, 3) float32 crop of a random photograph (flipped / transposed at random).

    Greyscale photographs are tinted with a random colour when ``tint`` (so bricks and gravel come
    in several colours). A crop larger than the photograph is tiled by reflection.
    """
    photos = photographs()
    _, img, grey = photos[int(rng.integers(len(photos)))]
    if rng.random() < 0.5:
        img = img.transpose(1, 0, 2)
    ph, pw = img.shape[:2]
    if h > ph or w > pw:
        img = np.pad(img, ((0, max(h - ph, 0)), (0, max(w - pw, 0)), (0, 0)), mode="reflect")
        ph, pw = img.shape[:2]
    y0, x0 = int(rng.integers(0, ph - h + 1)), int(rng.integers(0, pw - w + 1))
    crop = img[y0 : y0 + h, x0 : x0 + w]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rng.random() < 0.5:
        crop = crop[::-1]
    crop = np.ascontiguousarray(crop, dtype=np.float32)
    if grey and tint:
        crop = crop * rng.uniform(0.4, 1.0, 3).astype(np.float32) + rng.uniform(0.0, 0.3, 3).astype(
            np.float32
        )
    return np.clip(crop, 0.0, 1.0)


def textured_fill(
    rng: np.random.Generator, h: int, w: int, colour: np.ndarray, contrast: tuple[float, float] = (0.4, 1.0)
) -> np.ndarray:
    """(h, w, 3) float32: ``colour`` plus the zero-mean texture of a photo crop, scaled by ``contrast``.

    The fill's mean colour is ``colour`` (so it can be chosen to stand out from its surroundings);
    its internal edges and texture come from a real photograph.
    """
    patch = photo_patch(rng, h, w)
    detail = patch - patch.reshape(-1, 3).mean(0)
    return np.clip(colour + rng.uniform(*contrast) * detail, 0.0, 1.0).astype(np.float32)


def lighting(rng: np.random.Generator, h: int, w: int, strength: tuple[float, float]) -> np.ndarray:
    """(h, w, 1) float32 multiplicative light: a linear ramp in a random direction plus a soft spot."""
    yy = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h - 0.5  # (h, 1)
    xx = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / w - 0.5  # (1, w)
    a = rng.uniform(0, 2 * np.pi)
    s = rng.uniform(*strength)
    ramp = s * (xx * np.cos(a) + yy * np.sin(a))  # in [-s/sqrt2, s/sqrt2]
    cy, cx = rng.uniform(-0.5, 0.5, 2)
    spot = 0.5 * s * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 0.25**2))
    return (1.0 + ramp + spot - 0.25 * s)[..., None].astype(np.float32)


# ---------------------------------------------------------------------------------------------
# clutter: textured blobs and bars that belong to no class (scenes and people, second edition)


def blob_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(h, w) bool irregular blob: smooth noise inside an elliptic envelope, thresholded."""
    g = int(rng.integers(3, 6))
    coarse = torch.from_numpy(rng.random((1, 1, g, g), dtype=np.float32))
    noise = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    v = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h * 2 - 1
    u = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / w * 2 - 1
    envelope = 1.0 - (u * u + v * v)  # > 0 inside the ellipse
    return (envelope + 0.6 * (noise[0, 0].numpy() - 0.5)) > 0.25


def bar_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(h, w) bool rotated thick bar across the box."""
    yy = np.arange(h, dtype=np.float32)[:, None] - (h - 1) / 2
    xx = np.arange(w, dtype=np.float32)[None, :] - (w - 1) / 2
    a = rng.uniform(0, np.pi)
    half = rng.uniform(0.1, 0.25) * min(h, w)
    return np.abs(-xx * np.sin(a) + yy * np.cos(a)) <= half


def clutter_piece(rng: np.random.Generator, size: int, scale: tuple[float, float]):
    """A random blob or bar: (y0, x0, local bool mask)."""
    s = np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1]))) * size
    h, w = (int(np.clip(round(s * f), 4, size)) for f in rng.uniform(0.6, 1.4, 2))
    local = blob_mask(rng, h, w) if rng.random() < 0.7 else bar_mask(rng, h, w)
    y0, x0 = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
    return y0, x0, local


def contrast_colour(rng: np.random.Generator, under: np.ndarray, distance: tuple[float, float]) -> np.ndarray:
    """A colour at a random distance in ``distance`` (RGB, L2) from ``under``, in a random direction."""
    d = rng.standard_normal(3).astype(np.float32)
    c = under + rng.uniform(*distance) * d / max(float(np.linalg.norm(d)), 1e-6)
    return np.clip(c, 0.05, 0.95).astype(np.float32)


def paint(img: np.ndarray, y0: int, x0: int, region: np.ndarray, fill: np.ndarray) -> None:
    img[y0 : y0 + region.shape[0], x0 : x0 + region.shape[1]][region] = fill[region]


def draw_textured_clutter(img: np.ndarray, rng: np.random.Generator, count: int, scale) -> None:
    """Paint ``count`` photo-textured blobs / bars of random colour onto ``img`` (S, S, 3) in place."""
    for _ in range(count):
        y0, x0, local = clutter_piece(rng, img.shape[0], scale)
        colour = rng.uniform(0.1, 0.9, 3).astype(np.float32)
        paint(img, y0, x0, local, textured_fill(rng, local.shape[0], local.shape[1], colour))
