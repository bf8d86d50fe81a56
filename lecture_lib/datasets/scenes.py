"""Seeded procedural multi-object scenes with exact boxes and masks.

One generator for detection and segmentation: every scene has a textured background (gradient,
stripes, smooth noise or checkerboard), distractor marks (short lines, dots, small arcs that
belong to no class), and 1..``max_objects`` objects of five classes with random colour, scale,
aspect ratio and occlusion (later objects paint over earlier ones). Colour carries no class
information: only shape does. Two classes are thin structures (the cross's arms and the ring)
so that a segmentation network without skip connections visibly loses them; ``thin_width`` sets
how thin (the default 2..4 px arms are a fraction of one cell of a stride-8 output).

Used in 03_* notebooks (slides: R-CNN, Fast R-CNN, Faster R-CNN) and 04_segmentation
(slides: FCN, U-Net).

Example:
    >>> train = make_scenes(500, seed=0)
    >>> test = make_scenes(100, seed=1)          # a fixed test split is just another seed
    >>> train.images.shape, train.masks.shape    # (500, 3, 128, 128), (500, 128, 128)
    >>> targets = train.to_detection_targets()   # [{"boxes": Tensor[M, 4], "labels": Tensor[M]}]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from lecture_lib.checks import check_int, check_memory

CLASSES: tuple[str, ...] = ("background", "circle", "square", "triangle", "cross", "ring")
"""Class names; index 0 is background, 1..5 are object classes (the values in masks and labels).
Circles and squares get random aspect ratios too (ellipses, rectangles); only shape tells classes apart."""

MAX_CLUTTER, MAX_OBJECTS, MAX_IMAGE_SIZE = 1000, 100, 2048  # caps of make_scenes' loops
NUM_CLASSES = len(CLASSES)  # including background, as torchvision's detection models count


@dataclass
class Scenes:
    """A batch of generated scenes.

    Attributes:
        images (Tensor[N, 3, H, W]): float32 RGB in [0, 1].
        masks (Tensor[N, H, W]): int64 class id of the visible pixel (0 = background).
        boxes (list[Tensor[M_i, 4]]): float32 xyxy pixel boxes of each object's visible extent
            (a pixel (row r, col c) is the square [c, c + 1] x [r, r + 1]).
        labels (list[Tensor[M_i]]): int64 class ids in 1..C, aligned with ``boxes``.
        instances (Tensor[N, H, W]): int64 instance map: 0 background, j + 1 = object j of
            ``boxes[i]`` / ``labels[i]``.
    """

    images: Tensor
    masks: Tensor
    boxes: list[Tensor]
    labels: list[Tensor]
    instances: Tensor
    seed: int | None = None
    CLASSES: ClassVar[tuple[str, ...]] = CLASSES
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def num_classes(self) -> int:
        """Number of classes including background (6)."""
        return len(CLASSES)

    def __getitem__(self, idx):
        """``scenes[i]`` -> ``(image, target)``; a slice / index list / tensor -> ``Scenes``.

        ``target`` is ``{"boxes", "labels", "mask"}`` (torchvision detection format plus the
        semantic mask), so ``Scenes`` can be passed to a ``DataLoader`` directly.
        """
        if isinstance(idx, (int, np.integer)) or (isinstance(idx, Tensor) and idx.ndim == 0):
            i = int(idx)
            if not -len(self) <= i < len(self):
                raise IndexError(f"scene index {i} out of range for {len(self)} scenes")
            target = {"boxes": self.boxes[i], "labels": self.labels[i], "mask": self.masks[i]}
            return self.images[i], target
        return self.subset(idx)

    def subset(self, idx) -> Scenes:
        """The scenes at ``idx`` (slice, list of ints, int64 tensor or bool mask), as ``Scenes``."""
        if isinstance(idx, slice):
            order = list(range(len(self)))[idx]
        else:
            t = torch.as_tensor(idx)
            if t.dtype == torch.bool:
                if t.shape != (len(self),):
                    raise ValueError(f"bool index must have shape ({len(self)},), got {tuple(t.shape)}")
                t = t.nonzero().flatten()
            if t.ndim != 1 or t.dtype not in (torch.int64, torch.int32):
                raise ValueError(f"index must be a slice or 1-D int list/tensor, got {idx!r}")
            order = [int(i) for i in t]
            bad = [i for i in order if not -len(self) <= i < len(self)]
            if bad:
                raise IndexError(f"scene indices {bad} out of range for {len(self)} scenes")
        sel = torch.as_tensor(order, dtype=torch.int64)
        return Scenes(
            images=self.images[sel],
            masks=self.masks[sel],
            boxes=[self.boxes[i] for i in order],
            labels=[self.labels[i] for i in order],
            instances=self.instances[sel],
            seed=self.seed,
            meta=dict(self.meta),
        )

    def to_detection_targets(self) -> list[dict[str, Tensor]]:
        """Torchvision-style targets: one ``{"boxes": Tensor[M, 4], "labels": Tensor[M]}`` per image."""
        return [{"boxes": b.clone(), "labels": lab.clone()} for b, lab in zip(self.boxes, self.labels)]


# ---------------------------------------------------------------------------------------------
# shapes: boolean masks on a local (h, w) grid; u, v in [-1, 1] across the object's box


THIN_WIDTH_DEFAULT: tuple[float, float] = (1.0, 2.0)
"""Default range of the cross's half arm width in pixels.

Arms are 2..4 px wide; the ring's thickness scales with it.
"""


def _shape_mask(
    cls: int, h: int, w: int, rng: np.random.Generator, thin_width: tuple[float, float] = THIN_WIDTH_DEFAULT
) -> np.ndarray:
    v = (np.arange(h, dtype=np.float32) + 0.5) / h * 2 - 1
    u = (np.arange(w, dtype=np.float32) + 0.5) / w * 2 - 1
    v, u = v[:, None], u[None, :]
    name = CLASSES[cls]
    if name == "circle":
        return u * u + v * v <= 1.0
    if name == "square":
        return np.ones((h, w), dtype=bool)
    if name == "triangle":
        if rng.random() < 0.5:
            v = -v  # pointing down instead of up
        return np.abs(u) <= (v + 1) / 2
    if name == "cross":  # thin arms, 2 * thin_width pixels wide (2..4 by default) whatever the object's size
        half_u = rng.uniform(*thin_width) / w * 2  # half arm width in px, and one pixel is 2 / w in u
        half_v = rng.uniform(*thin_width) / h * 2
        return (np.abs(u) <= half_u) | (np.abs(v) <= half_v)
    if name == "ring":  # thin annulus
        r2 = u * u + v * v
        scale = (thin_width[0] + thin_width[1]) / sum(THIN_WIDTH_DEFAULT)  # 1.0 by default
        t = min(rng.uniform(0.18, 0.3) * scale, 0.8)  # thickness as a fraction of the radius
        return (r2 <= 1.0) & (r2 >= (1 - t) ** 2)
    raise ValueError(f"unknown class id {cls}")


# ---------------------------------------------------------------------------------------------
# backgrounds and distractors


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A (size, size, 3) float32 textured background."""
    c1 = rng.uniform(0.15, 0.85, 3).astype(np.float32)
    c2 = np.clip(c1 + rng.uniform(-0.3, 0.3, 3), 0, 1).astype(np.float32)
    xx = np.arange(size, dtype=np.float32)[None, :] / size  # (1, S), broadcasts against yy
    yy = np.arange(size, dtype=np.float32)[:, None] / size  # (S, 1)
    kind = rng.integers(4)
    if kind == 0:  # linear gradient in a random direction
        a = rng.uniform(0, 2 * np.pi)
        t = (xx * np.cos(a) + yy * np.sin(a)) / np.sqrt(2) + 0.5
    elif kind == 1:  # stripes
        a = rng.uniform(0, np.pi)
        f = rng.uniform(3, 12)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * f * (xx * np.cos(a) + yy * np.sin(a)) + rng.uniform(0, 6.3))
    elif kind == 2:  # smooth noise: a coarse random grid upsampled bilinearly
        g = int(rng.integers(3, 8))
        coarse = torch.from_numpy(rng.random((1, 1, g, g), dtype=np.float32))
        t = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
        t = t[0, 0].numpy()
    else:  # checkerboard
        p = rng.uniform(6, 20)
        t = ((np.floor(xx * size / p) + np.floor(yy * size / p)) % 2).astype(np.float32)
    t = np.clip(np.broadcast_to(t, (size, size)), 0, 1)[..., None]
    return c1 + (c2 - c1) * t


def _draw_clutter(img: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Distractor marks (no class): short line segments, dots and small arcs, painted in place."""
    size = img.shape[0]
    for _ in range(count):
        colour = rng.uniform(0, 1, 3).astype(np.float32)
        kind = rng.integers(3)
        if kind == 0:  # line segment, 1-2 px thick
            x0, y0 = rng.uniform(0, size, 2)
            a, length = rng.uniform(0, 2 * np.pi), rng.uniform(0.08, 0.3) * size
            t = np.linspace(0, 1, int(length * 2) + 2)
            xs, ys = x0 + t * length * np.cos(a), y0 + t * length * np.sin(a)
            thick = int(rng.integers(1, 3))
        elif kind == 1:  # dot
            r = rng.uniform(1.0, 2.5)
            x0, y0 = rng.uniform(0, size, 2)
            yy, xx = np.mgrid[-3:4, -3:4]
            keep = xx**2 + yy**2 <= r * r
            xs, ys = x0 + xx[keep], y0 + yy[keep]
            thick = 1
        else:  # small arc (part of a circle: not a ring, not a circle)
            x0, y0 = rng.uniform(0, size, 2)
            r = rng.uniform(0.03, 0.1) * size
            a0 = rng.uniform(0, 2 * np.pi)
            t = np.linspace(a0, a0 + rng.uniform(0.8, 2.5), int(r * 4) + 4)
            xs, ys = x0 + r * np.cos(t), y0 + r * np.sin(t)
            thick = 1
        xs = np.clip(np.round(xs).astype(int), 0, size - thick)
        ys = np.clip(np.round(ys).astype(int), 0, size - thick)
        for dy in range(thick):
            for dx in range(thick):
                img[ys + dy, xs + dx] = colour


def _object_colour(bg_mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random colour that stands out from the background (distance >= 0.35 when possible)."""
    best, best_d = np.zeros(3, dtype=np.float32), -1.0
    for _ in range(20):
        c = rng.uniform(0, 1, 3).astype(np.float32)
        d = float(np.linalg.norm(c - bg_mean))
        if d > best_d:
            best, best_d = c, d
        if d >= 0.35:
            break
    return best


# ---------------------------------------------------------------------------------------------


def _one_scene(
    rng: np.random.Generator,
    size: int,
    min_objects: int,
    max_objects: int,
    max_clutter: int,
    scale_range: tuple[float, float],
    min_visible: float,
    noise: float,
    thin_width: tuple[float, float] = THIN_WIDTH_DEFAULT,
):
    img = _background(size, rng)
    _draw_clutter(img, rng, int(rng.integers(0, max_clutter + 1)))
    bg_mean = img.reshape(-1, 3).mean(0)

    # 1) sample objects and paint an instance map (later objects on top)
    k = int(rng.integers(min_objects, max_objects + 1))
    objects = []  # (cls, y0, x0, local bool mask)
    inst = np.zeros((size, size), dtype=np.int64)
    for j in range(k):
        cls = int(rng.integers(1, len(CLASSES)))
        s = rng.uniform(*scale_range) * size
        aspect = np.exp(rng.uniform(np.log(0.6), np.log(1.6)))  # w / h
        w = int(np.clip(round(s * np.sqrt(aspect)), 8, size))
        h = int(np.clip(round(s / np.sqrt(aspect)), 8, size))
        y0, x0 = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
        local = _shape_mask(cls, h, w, rng, thin_width)
        objects.append((cls, y0, x0, local))
        inst[y0 : y0 + h, x0 : x0 + w][local] = j + 1

    # 2) drop mostly hidden objects, then repaint the instance map without them
    counts = np.bincount(inst.ravel(), minlength=k + 1)
    kept = [j for j, o in enumerate(objects) if counts[j + 1] >= max(min_visible * o[3].sum(), 12)]
    inst[:] = 0
    for new_j, j in enumerate(kept):
        _, y0, x0, local = objects[j]
        h, w = local.shape
        inst[y0 : y0 + h, x0 : x0 + w][local] = new_j + 1

    # 3) render the visible pixels of each kept object: random colour, a shading ramp, noise
    boxes, labels = [], []
    sem = np.zeros((size, size), dtype=np.int64)
    for new_j, j in enumerate(kept):
        cls, y0, x0, local = objects[j]
        h, w = local.shape
        region = inst[y0 : y0 + h, x0 : x0 + w] == new_j + 1
        colour = _object_colour(bg_mean, rng)
        a = rng.uniform(0, 2 * np.pi)
        yy, xx = np.arange(h, dtype=np.float32)[:, None] / h, np.arange(w, dtype=np.float32)[None, :] / w
        ramp = ((xx - 0.5) * np.cos(a) + (yy - 0.5) * np.sin(a))[..., None]  # (h, w, 1)
        shaded = np.clip(colour * (1 + 0.3 * ramp), 0, 1)
        img[y0 : y0 + h, x0 : x0 + w][region] = shaded[region]
        sem[y0 : y0 + h, x0 : x0 + w][region] = cls
        rows, cols = np.nonzero(region)
        boxes.append([x0 + cols.min(), y0 + rows.min(), x0 + cols.max() + 1, y0 + rows.max() + 1])
        labels.append(cls)

    if noise > 0:
        img += noise * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(img, 0, 1, out=img), sem, inst, boxes, labels


def make_scenes(
    n: int,
    *,
    seed: int,
    image_size: int = 128,
    max_objects: int = 4,
    min_objects: int = 1,
    max_clutter: int = 6,
    scale_range: tuple[float, float] = (0.15, 0.45),
    min_visible: float = 0.4,
    noise: float = 0.03,
    thin_width: tuple[float, float] = THIN_WIDTH_DEFAULT,
) -> Scenes:
    """Generate ``n`` seeded scenes (deterministic in ``seed``; no global random state).

    Scene ``i`` depends only on ``(seed, i)``, so ``make_scenes(10, seed=s)`` equals the first
    10 scenes of ``make_scenes(100, seed=s)``. Use different seeds for train and test splits.

    Args:
        n: number of scenes (>= 0).
        seed: integer seed.
        image_size: side of the square images in pixels (>= 32).
        max_objects, min_objects: objects drawn per scene (before dropping hidden ones).
        max_clutter: at most this many distractor marks (lines, dots, arcs; class background).
        scale_range: object size as a fraction of ``image_size`` (before the aspect change).
        min_visible: an object less than this fraction visible (occluded) is removed.
        noise: standard deviation of the per-pixel Gaussian noise.
        thin_width: (low, high) range of the cross's half arm width in pixels (arms are
            ``2 * thin_width`` px wide); the ring's thickness scales by the same factor relative to
            the default ``(1.0, 2.0)``. Wider values make the thin classes resolvable by coarser
            segmentation outputs (04_segmentation uses ``(5.0, 8.0)``: arms of 10..16 px).

    Returns:
        Scenes: images (Tensor[n, 3, S, S] float32 in [0, 1]), masks (Tensor[n, S, S] int64),
        boxes (list of Tensor[M_i, 4] float32 xyxy), labels (list of Tensor[M_i] int64 in 1..5),
        instances (Tensor[n, S, S] int64).
    """
    for name, val in (
        ("n", n),
        ("seed", seed),
        ("image_size", image_size),
        ("max_objects", max_objects),
        ("min_objects", min_objects),
        ("max_clutter", max_clutter),
    ):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool):
            raise TypeError(f"{name} must be an int, got {type(val).__name__} ({val!r})")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32 pixels, got {image_size}")
    if not 1 <= min_objects <= max_objects:
        raise ValueError(
            f"need 1 <= min_objects <= max_objects, got min_objects={min_objects}, max_objects={max_objects}"
        )
    if max_clutter < 0:
        raise ValueError(f"max_clutter must be >= 0, got {max_clutter}")
    # caps keep every loop of the generator bounded (a typo such as 10**6 is refused, not run)
    check_int(max_clutter, "max_clutter", low=0, high=MAX_CLUTTER)
    check_int(max_objects, "max_objects", low=1, high=MAX_OBJECTS)
    check_int(image_size, "image_size", low=32, high=MAX_IMAGE_SIZE)
    check_memory(
        int(n) * int(image_size) ** 2 * (3 * 4 + 2 * 8), f"make_scenes({n}, image_size={image_size})"
    )
    lo, hi = scale_range
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"scale_range must satisfy 0 < low <= high <= 1, got {scale_range}")
    if not 0 <= min_visible <= 1:
        raise ValueError(f"min_visible must be in [0, 1], got {min_visible}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    try:
        tw_lo, tw_hi = (float(v) for v in thin_width)
    except (TypeError, ValueError):
        raise ValueError(
            f"thin_width must be a (low, high) pair of pixel widths, got {thin_width!r}"
        ) from None
    if not 0.5 <= tw_lo <= tw_hi <= image_size / 4:
        raise ValueError(
            f"thin_width must satisfy 0.5 <= low <= high <= image_size / 4 "
            f"({image_size / 4:g}), got {thin_width!r}"
        )

    images = np.empty((n, 3, image_size, image_size), dtype=np.float32)
    masks = np.zeros((n, image_size, image_size), dtype=np.int64)
    instances = np.zeros((n, image_size, image_size), dtype=np.int64)
    boxes, labels = [], []
    for i in range(n):
        rng = np.random.default_rng([int(seed) % 2**63, i])
        img, sem, inst, b, lab = _one_scene(
            rng,
            image_size,
            min_objects,
            max_objects,
            max_clutter,
            (lo, hi),
            min_visible,
            noise,
            (tw_lo, tw_hi),
        )
        images[i], masks[i], instances[i] = img.transpose(2, 0, 1), sem, inst
        boxes.append(torch.tensor(b, dtype=torch.float32).reshape(-1, 4))
        labels.append(torch.tensor(lab, dtype=torch.int64))
    return Scenes(
        images=torch.from_numpy(images),
        masks=torch.from_numpy(masks),
        boxes=boxes,
        labels=labels,
        instances=torch.from_numpy(instances),
        seed=int(seed),
        meta={"image_size": image_size, "max_objects": max_objects, "thin_width": (tw_lo, tw_hi)},
    )


class FreshScenes:
    """A loader of newly generated scenes every epoch (the FCN's training data, 04_segmentation).

    Pass ``e`` over the loader yields batches ``(images Tensor[B, 3, H, W], masks Tensor[B, H, W])``
    of ``make_scenes(n, seed=seed + 1000 * e, **kwargs)`` in a shuffled order, each batch flipped
    left-right and/or upside down with probability 1/2. All randomness comes from ``seed`` and
    ``generator`` (the global RNG is not used), so the network never sees a scene twice and a
    run is reproducible.

    Args:
        n: scenes per epoch (a last partial batch is dropped).
        seed: seed of epoch 0's scenes.
        batch_size: scenes per batch.
        generator: draws the order and the flips.
        kwargs: passed to ``make_scenes``.
    """

    def __init__(self, n: int, seed: int, batch_size: int, generator: torch.Generator, **kwargs):
        if batch_size < 1 or n < batch_size:
            raise ValueError(f"need 1 <= batch_size <= n, got batch_size={batch_size}, n={n}")
        self.n, self.seed, self.batch_size, self.generator, self.kwargs = (
            n,
            seed,
            batch_size,
            generator,
            kwargs,
        )
        self.epoch = 0

    def __len__(self) -> int:
        return self.n // self.batch_size

    def __iter__(self):
        scenes = make_scenes(self.n, seed=self.seed + 1000 * self.epoch, **self.kwargs)
        self.epoch += 1
        perm = torch.randperm(self.n, generator=self.generator)
        for i in range(0, self.n - self.batch_size + 1, self.batch_size):
            x, y = scenes.images[perm[i : i + self.batch_size]], scenes.masks[perm[i : i + self.batch_size]]
            for dim in (-1, -2):
                if torch.rand(1, generator=self.generator).item() < 0.5:
                    x, y = x.flip(dim), y.flip(dim)
            yield x, y
