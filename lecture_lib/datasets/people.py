"""Seeded procedural articulated people with exact keypoints (14 LSP joints) and visibility.

Used in 05_pose.ipynb (slides "FCNs for Human Pose Estimation", "Heat Map Predictions from FCN").
Each image shows one stick-and-capsule figure on a cluttered background (the textures and
distractor marks of ``lecture_lib.datasets.scenes``):

- 14 joints in LSP order (``JOINTS``): right ankle, right knee, right hip, left hip, left knee,
  left ankle, right wrist, right elbow, right shoulder, left shoulder, left elbow, left wrist,
  neck, head top;
- the **person's** left and right, as LSP annotates them: the figure faces the camera (its right
  side on the image's left) or turns its back (right side on the image's right), and its right
  limbs wear warm colours (red-orange-yellow), its left limbs cool ones (green-cyan-blue), so the
  side can be told from the image, as a real annotator tells it from the body;
- random poses within joint limits (torso lean, head tilt, shoulder 0-170 deg from the body,
  elbow 0-150 deg, hip -25-80 deg, knee 0-130 deg), varied body proportions, limb widths,
  clothing and skin colours, scale and position;
- self-occlusion (limbs drawn in a random depth order; a joint is occluded when a part it does
  not belong to covers its pixel) and truncation (figures shifted so some joints leave the image).

Keypoints are exact, in pixels of the ``size x size`` image: ``(x, y) = (column, row)``, pixel
centres at integers (pixel ``(i, j)`` covers ``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]``).

Example:
    >>> train = make_people(1000, seed=0)
    >>> test = make_people(200, seed=1)                 # disjoint: another seed
    >>> train.images.shape, train.keypoints.shape       # (1000, 3, 64, 64), (1000, 14, 2)
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from lecture_lib.checks import check_int, check_memory, check_number
from lecture_lib.datasets.scenes import _background, _draw_clutter

JOINTS: tuple[str, ...] = (
    "right ankle",
    "right knee",
    "right hip",
    "left hip",
    "left knee",
    "left ankle",
    "right wrist",
    "right elbow",
    "right shoulder",
    "left shoulder",
    "left elbow",
    "left wrist",
    "neck",
    "head top",
)
"""The 14 LSP joints in LSP order (left/right are the person's own)."""

K = len(JOINTS)
MAX_CLUTTER, MAX_SIZE = 1000, 2048  # caps of make_people's loops and images
# Bones of the skeleton as joint index pairs (drawing, and the parts each joint belongs to).
SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1),
    (1, 2),
    (5, 4),
    (4, 3),
    (6, 7),
    (7, 8),
    (11, 10),
    (10, 9),
    (8, 9),
    (2, 3),
    (8, 2),
    (9, 3),
    (12, 13),
)
# Joint index of the mirror joint (right <-> left): used to count left/right swaps.
FLIP: tuple[int, ...] = (5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 12, 13)

# Body parts (painted in depth order) and the joints that belong to each part.
_PARTS = (
    "torso",
    "head",
    "r_upper_arm",
    "r_forearm",
    "l_upper_arm",
    "l_forearm",
    "r_thigh",
    "r_shin",
    "l_thigh",
    "l_shin",
    "r_hand",
    "l_hand",
    "r_foot",
    "l_foot",
)
_OWN_PARTS: tuple[tuple[str, ...], ...] = (
    ("r_shin", "r_foot"),
    ("r_thigh", "r_shin"),
    ("r_thigh", "torso"),
    ("l_thigh", "torso"),
    ("l_thigh", "l_shin"),
    ("l_shin", "l_foot"),
    ("r_forearm", "r_hand"),
    ("r_upper_arm", "r_forearm"),
    ("r_upper_arm", "torso"),
    ("l_upper_arm", "torso"),
    ("l_upper_arm", "l_forearm"),
    ("l_forearm", "l_hand"),
    ("torso", "head"),
    ("head",),
)

# Joint limits in degrees (documented in the module docstring).
LIMITS = {
    "lean": (-25.0, 25.0),
    "head_tilt": (-25.0, 25.0),
    "shoulder": (0.0, 170.0),
    "elbow": (0.0, 150.0),
    "hip": (-25.0, 80.0),
    "knee": (0.0, 130.0),
}


@dataclass
class People:
    """A batch of generated figures.

    Attributes:
        images (Tensor[N, 3, S, S]): float32 RGB in [0, 1].
        keypoints (Tensor[N, K, 2]): float32 (x, y) pixel coordinates of the 14 joints (may lie
            outside the image for truncated figures).
        visible (Tensor[N, K]): bool, inside the image and not covered by another body part.
        inside (Tensor[N, K]): bool, inside the image (annotated, as LSP annotates occluded joints).
        facing_camera (Tensor[N]): bool, True if the person's right side is on the image's left.
        angles (Tensor[N, 8]): float32 sampled shoulder, elbow, hip, knee angles (deg), right then left.
        seed: the seed of the generator.
    """

    images: Tensor
    keypoints: Tensor
    visible: Tensor
    inside: Tensor
    facing_camera: Tensor
    angles: Tensor
    seed: int | None = None
    meta: dict = field(default_factory=dict)

    JOINTS = JOINTS

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def size(self) -> int:
        return self.images.shape[-1]

    @property
    def occluded(self) -> Tensor:
        """Tensor[N, K] bool: inside the image but covered by another part."""
        return self.inside & ~self.visible

    @property
    def truncated(self) -> Tensor:
        """Tensor[N] bool: at least one joint lies outside the image."""
        return ~self.inside.all(dim=1)


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _hsv(rng: np.random.Generator, hue: tuple[float, float], sat=(0.55, 1.0), val=(0.45, 1.0)) -> np.ndarray:
    h = rng.uniform(*hue) % 1.0
    return np.array(colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val)), dtype=np.float32)


def _skeleton(rng: np.random.Generator, height: float) -> tuple[np.ndarray, bool, np.ndarray]:
    """Joint positions (K, 2) of one figure with its neck at the origin, before placement."""
    u = lambda lo, hi: rng.uniform(lo, hi)  # noqa: E731
    head, torso = 0.16 * height * u(0.85, 1.15), 0.30 * height * u(0.9, 1.1)
    shoulder_w, hip_w = 0.10 * height * u(0.8, 1.25), 0.065 * height * u(0.8, 1.25)
    arm = (0.16 * height * u(0.9, 1.1), 0.15 * height * u(0.9, 1.1))
    leg = (0.23 * height * u(0.9, 1.1), 0.22 * height * u(0.9, 1.1))
    down = _rot(np.array([0.0, 1.0]), u(*LIMITS["lean"]))  # neck -> pelvis direction (y points down)
    lateral = np.array([down[1], -down[0]])  # image-right when upright
    facing = bool(rng.random() < 0.6)
    right_sign = -1.0 if facing else 1.0  # facing the camera: right side at image left
    pts = np.zeros((K, 2))
    neck = np.zeros(2)
    pelvis = neck + torso * down
    pts[12] = neck
    pts[13] = neck - head * _rot(down, u(*LIMITS["head_tilt"]))
    angles = []
    for side, (sh, el, wr, hp, kn, an) in ((1.0, (8, 7, 6, 2, 1, 0)), (-1.0, (9, 10, 11, 3, 4, 5))):
        s = right_sign * side  # +1: this side lies toward image-right
        pts[sh] = neck + s * shoulder_w * lateral
        pts[hp] = pelvis + s * hip_w * lateral
        a_sh, a_el = u(*LIMITS["shoulder"]), u(*LIMITS["elbow"]) * rng.choice([-1.0, 1.0])
        upper = _rot(down, -s * a_sh)  # rotate from "hanging" outward
        pts[el] = pts[sh] + arm[0] * upper
        pts[wr] = pts[el] + arm[1] * _rot(upper, -s * a_el)
        a_hp, a_kn = u(*LIMITS["hip"]), u(*LIMITS["knee"]) * rng.choice([-1.0, 1.0])
        thigh = _rot(down, -s * a_hp)
        pts[kn] = pts[hp] + leg[0] * thigh
        pts[an] = pts[kn] + leg[1] * _rot(thigh, -s * a_kn)
        angles += [a_sh, a_el, a_hp, a_kn]
    return pts, facing, np.array(angles, dtype=np.float32)


def _capsule(xx: np.ndarray, yy: np.ndarray, p: np.ndarray, q: np.ndarray, radius: float) -> np.ndarray:
    """(S, S) bool: pixel centres within ``radius`` of the segment p-q."""
    d = q - p
    t = np.clip(((xx - p[0]) * d[0] + (yy - p[1]) * d[1]) / max(float(d @ d), 1e-9), 0.0, 1.0)
    return (xx - p[0] - t * d[0]) ** 2 + (yy - p[1] - t * d[1]) ** 2 <= radius * radius


def _polygon(xx: np.ndarray, yy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """(S, S) bool: pixel centres inside a convex polygon (vertices in either order)."""
    edges = zip(poly, np.roll(poly, -1, axis=0))
    signs = np.stack([(b[0] - a[0]) * (yy - a[1]) - (b[1] - a[1]) * (xx - a[0]) for a, b in edges])
    return np.asarray((signs >= 0).all(0) | (signs <= 0).all(0))


def _one_person(rng: np.random.Generator, size: int, truncation: float, max_clutter: int, noise: float):
    height = size * rng.uniform(0.65, 0.9)
    pts, facing, angles = _skeleton(rng, height)
    lo, hi = pts.min(0), pts.max(0)
    # centre the figure's box, then shift: small jitter, or (probability ``truncation``)
    # far enough to cut joints off
    spread = 0.3 if rng.random() < truncation else 0.1
    centre = size / 2 - 0.5 + rng.uniform(-spread, spread, 2) * size
    pts = pts - (lo + hi) / 2 + centre

    img = 0.3 + 0.45 * _background(size, rng)  # muted textures: the figure stands out
    _draw_clutter(img, rng, int(rng.integers(0, max_clutter + 1)))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    width = height * rng.uniform(0.035, 0.06)  # limb radius
    skin = _hsv(rng, (0.02, 0.11), sat=(0.25, 0.7), val=(0.35, 1.0))
    shirt = _hsv(rng, (0.0, 1.0), sat=(0.0, 1.0), val=(0.2, 0.9))
    right = [_hsv(rng, (-0.05, 0.16)) for _ in range(2)]  # warm: the person's right limbs
    left = [_hsv(rng, (0.33, 0.66)) for _ in range(2)]  # cool: the person's left limbs
    shoes = _hsv(rng, (0.0, 1.0), sat=(0.0, 0.5), val=(0.05, 0.35))  # dark shoes
    shapes = {
        "torso": (
            _polygon(xx, yy, pts[[8, 9, 3, 2]])
            | _capsule(xx, yy, pts[8], pts[9], width)
            | _capsule(xx, yy, pts[2], pts[3], width),
            shirt,
        ),
        "head": (
            _capsule(
                xx,
                yy,
                pts[12] + 0.6 * (pts[13] - pts[12]),
                pts[12] + 0.6 * (pts[13] - pts[12]),
                0.45 * float(np.linalg.norm(pts[13] - pts[12])) + 0.6,
            )
            | _capsule(xx, yy, pts[12], pts[13], 0.6 * width),
            skin,
        ),
        "r_upper_arm": (_capsule(xx, yy, pts[8], pts[7], width), right[0]),
        "r_forearm": (_capsule(xx, yy, pts[7], pts[6], 0.85 * width), right[1]),
        "l_upper_arm": (_capsule(xx, yy, pts[9], pts[10], width), left[0]),
        "l_forearm": (_capsule(xx, yy, pts[10], pts[11], 0.85 * width), left[1]),
        "r_thigh": (_capsule(xx, yy, pts[2], pts[1], 1.25 * width), right[0] * 0.8),
        "r_shin": (_capsule(xx, yy, pts[1], pts[0], 1.1 * width), right[1] * 0.8),
        "l_thigh": (_capsule(xx, yy, pts[3], pts[4], 1.25 * width), left[0] * 0.8),
        "l_shin": (_capsule(xx, yy, pts[4], pts[5], 1.1 * width), left[1] * 0.8),
        "r_hand": (_capsule(xx, yy, pts[6], pts[6], 1.3 * width), skin),
        "l_hand": (_capsule(xx, yy, pts[11], pts[11], 1.3 * width), skin),
        "r_foot": (_capsule(xx, yy, pts[0], pts[0], 1.4 * width), shoes),
        "l_foot": (_capsule(xx, yy, pts[5], pts[5], 1.4 * width), shoes),
    }
    # depth: legs behind the torso, arms in front or behind (random), head in front of the torso;
    # the side nearer the camera (right if facing the camera) is drawn last among equals.
    depth = {"torso": 0.0, "head": 0.5}
    for side in ("r", "l"):
        near = 0.1 if (side == "r") == facing else -0.1
        depth[f"{side}_thigh"] = depth[f"{side}_shin"] = -1.0 + near + rng.uniform(-0.05, 0.05)
        arm_depth = rng.choice([-0.6, 1.0]) + near + rng.uniform(-0.05, 0.05)
        depth[f"{side}_upper_arm"] = depth[f"{side}_forearm"] = arm_depth
        depth[f"{side}_hand"], depth[f"{side}_foot"] = arm_depth + 0.01, depth[f"{side}_shin"] + 0.01
    part_map = np.full((size, size), -1)
    for name in sorted(_PARTS, key=lambda n: depth[n]):
        mask, colour = shapes[name]
        img[mask] = colour
        part_map[mask] = _PARTS.index(name)
    if noise > 0:
        img = img + rng.normal(0.0, noise, img.shape).astype(np.float32)
    img = np.clip(img, 0.0, 1.0).astype(np.float32)

    rc = np.round(pts).astype(int)  # pixel of each joint (x = col, y = row)
    inside = (pts[:, 0] >= -0.5) & (pts[:, 0] < size - 0.5) & (pts[:, 1] >= -0.5) & (pts[:, 1] < size - 0.5)
    visible = np.zeros(K, dtype=bool)
    for j in np.flatnonzero(inside):
        top = part_map[min(max(rc[j, 1], 0), size - 1), min(max(rc[j, 0], 0), size - 1)]
        visible[j] = top >= 0 and _PARTS[top] in _OWN_PARTS[j]
    return img, pts.astype(np.float32), visible, inside, facing, angles


def make_people(
    n: int, *, seed: int, size: int = 64, truncation: float = 0.15, max_clutter: int = 4, noise: float = 0.02
) -> People:
    """``n`` images of one articulated figure each, deterministic in ``seed``.

    Args:
        n: number of images (>= 0).
        seed: seed of the generator's own ``numpy.random.Generator`` (train and test splits use
            different seeds; the global RNGs are never touched).
        size: image side in pixels (64: keypoint radii and PCK thresholds are in these pixels).
        truncation: probability that a figure is shifted far enough for joints to leave the image.
        max_clutter: at most this many distractor marks (lines, dots, arcs) on the background.
        noise: standard deviation of the added pixel noise.

    Returns:
        People with images Tensor[n, 3, size, size] and keypoints Tensor[n, 14, 2].
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 32:
        raise ValueError(f"size must be an int >= 32 (pixels), got {size!r}")
    if not 0.0 <= truncation <= 1.0:
        raise ValueError(f"truncation must be a probability in [0, 1], got {truncation}")
    check_int(max_clutter, "max_clutter", low=0, high=MAX_CLUTTER)  # bounds the clutter loop
    check_int(size, "size", low=32, high=MAX_SIZE)
    check_memory(n * size * size * 3 * 4, f"make_people({n}, size={size})")
    check_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    out = [_one_person(rng, size, truncation, max_clutter, noise) for _ in range(n)]
    if n == 0:
        return People(
            torch.zeros(0, 3, size, size),
            torch.zeros(0, K, 2),
            torch.zeros(0, K, dtype=torch.bool),
            torch.zeros(0, K, dtype=torch.bool),
            torch.zeros(0, dtype=torch.bool),
            torch.zeros(0, 8),
            seed,
        )
    imgs, pts, vis, ins, facing, angles = zip(*out)
    return People(
        images=torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous(),
        keypoints=torch.from_numpy(np.stack(pts)),
        visible=torch.from_numpy(np.stack(vis)),
        inside=torch.from_numpy(np.stack(ins)),
        facing_camera=torch.tensor(facing),
        angles=torch.from_numpy(np.stack(angles)),
        seed=seed,
        meta={"size": size, "truncation": truncation, "max_clutter": max_clutter, "noise": noise},
    )
