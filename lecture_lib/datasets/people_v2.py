"""People, second edition: left and right told apart by anatomy only, as in photographs.

The first edition (``make_people``) paints the person's right limbs warm and the left limbs cool,
which removes pose estimation's classic left/right confusion by design. Here both sides are drawn
alike (the same clothes, texture and skin on both arms and both legs), and the side can only be
inferred from which way the figure faces, as an annotator does on a photograph:

- **front view** (facing the camera, the person's right on the image's left): a face (skin, with
  dark eyes and a mouth) under the hair, a V-neck of skin and a button line on the shirt, shoes
  with light toe caps;
- **back view** (the person's right on the image's right): the head is hair only, the shirt is
  plain, the shoes show dark heels.

The skeleton, joint limits, body proportions and keypoint conventions are the first edition's
(``lecture_lib.datasets.people``: 14 LSP joints, the person's own left/right, ``FLIP``). Clothes
are cut from photographs (``lecture_lib.datasets.textures``), backgrounds are photographs with
clutter, light falls from a random side, and with probability ``p_occluder`` a textured blob or
bar covers part of the figure (joints under it are not visible). Which side is drawn nearer the
camera is random, so depth order carries no side information either.

A horizontally mirrored image with its left and right keypoints swapped (``flip_people``) is again
a valid sample: a mirrored front view is a front view whose image-left limbs are the person's right.

Example:
    >>> train = make_people_v2(1000, seed=0)
    >>> train.images.shape, train.parts.shape          # (1000, 3, 64, 64), (1000, 64, 64)
    >>> mirrored = flip_people(train)                  # images flipped, left <-> right swapped
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lecture_lib.datasets.people import (
    _OWN_PARTS,
    _PARTS,
    FLIP,
    K,
    People,
    _capsule,
    _hsv,
    _polygon,
    _skeleton,
)
from lecture_lib.datasets.scenes import _draw_clutter
from lecture_lib.datasets.textures import (
    clutter_piece,
    contrast_colour,
    draw_textured_clutter,
    lighting,
    photo_patch,
    textured_fill,
)

PARTS: tuple[str, ...] = _PARTS
"""Body part names; ``PeopleV2.parts`` holds their index (-1: background, clutter or occluder)."""

PART_FLIP: tuple[int, ...] = tuple(
    PARTS.index({"r_": "l_", "l_": "r_"}.get(p[:2], p[:2]) + p[2:]) for p in PARTS
)
"""Index of the mirror part (``r_thigh`` <-> ``l_thigh``; torso and head map to themselves)."""


@dataclass
class PeopleV2(People):
    """``People`` plus the part map.

    Attributes:
        parts (Tensor[N, S, S]): int64 index into ``PARTS`` of the body part seen at each pixel,
            -1 where no body part is seen.
    """

    parts: Tensor | None = None


def _render(rng: np.random.Generator, size: int, pts: np.ndarray, facing: bool, height: float, p: dict):
    """Paint one figure; returns the image (S, S, 3) float32 and the part map (S, S) int64."""
    img = 0.1 + 0.8 * photo_patch(rng, size, size)
    draw_textured_clutter(img, rng, int(rng.integers(0, p["max_clutter"] + 1)), (0.08, 0.3))
    _draw_clutter(img, rng, int(rng.integers(0, p["max_marks"] + 1)))
    bg = img.reshape(-1, 3).mean(0)

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    width = height * rng.uniform(0.035, 0.06)  # limb radius
    skin = _hsv(rng, (0.02, 0.11), sat=(0.25, 0.7), val=(0.35, 1.0))
    hair = _hsv(rng, (0.03, 0.12), sat=(0.2, 0.8), val=(0.05, 0.45))
    shirt = textured_fill(rng, size, size, contrast_colour(rng, bg, (0.25, 0.7)), (0.3, 0.8))
    trousers = textured_fill(rng, size, size, contrast_colour(rng, bg, (0.25, 0.7)), (0.3, 0.8))
    shoes = _hsv(rng, (0.0, 1.0), sat=(0.0, 0.5), val=(0.05, 0.35))
    sleeves = shirt if rng.random() < 0.5 else None  # long sleeves, else bare forearms
    head_c = pts[12] + 0.6 * (pts[13] - pts[12])
    head_r = 0.45 * float(np.linalg.norm(pts[13] - pts[12])) + 0.6
    shapes = {
        "torso": _polygon(xx, yy, pts[[8, 9, 3, 2]])
        | _capsule(xx, yy, pts[8], pts[9], width)
        | _capsule(xx, yy, pts[2], pts[3], width),
        "head": _capsule(xx, yy, head_c, head_c, head_r) | _capsule(xx, yy, pts[12], pts[13], 0.6 * width),
    }
    for s, (sh, el, wr, hp, kn, an) in (("r", (8, 7, 6, 2, 1, 0)), ("l", (9, 10, 11, 3, 4, 5))):
        shapes[f"{s}_upper_arm"] = _capsule(xx, yy, pts[sh], pts[el], width)
        shapes[f"{s}_forearm"] = _capsule(xx, yy, pts[el], pts[wr], 0.85 * width)
        shapes[f"{s}_thigh"] = _capsule(xx, yy, pts[hp], pts[kn], 1.25 * width)
        shapes[f"{s}_shin"] = _capsule(xx, yy, pts[kn], pts[an], 1.1 * width)
        shapes[f"{s}_hand"] = _capsule(xx, yy, pts[wr], pts[wr], 1.3 * width)
        shapes[f"{s}_foot"] = _capsule(xx, yy, pts[an], pts[an], 1.4 * width)

    # depth: legs behind the torso, arms in front or behind; the nearer side is random
    depth = {"torso": 0.0, "head": 0.5}
    near_side = "r" if rng.random() < 0.5 else "l"
    for side in ("r", "l"):
        near = 0.1 if side == near_side else -0.1
        depth[f"{side}_thigh"] = depth[f"{side}_shin"] = -1.0 + near + rng.uniform(-0.05, 0.05)
        arm_depth = rng.choice([-0.6, 1.0]) + near + rng.uniform(-0.05, 0.05)
        depth[f"{side}_upper_arm"] = depth[f"{side}_forearm"] = arm_depth
        depth[f"{side}_hand"], depth[f"{side}_foot"] = arm_depth + 0.01, depth[f"{side}_shin"] + 0.01

    down = (pts[2] + pts[3]) / 2 - pts[12]
    down = down / max(float(np.linalg.norm(down)), 1e-6)  # neck -> pelvis unit vector (x, y)
    up_dist = (xx - head_c[0]) * -down[0] + (yy - head_c[1]) * -down[1]  # towards the head top
    part_map = np.full((size, size), -1)
    for name in sorted(PARTS, key=lambda n: depth[n]):
        mask = shapes[name]
        if name == "torso":
            img[mask] = shirt[mask]
            if facing:  # V-neck of skin and a line of buttons: the shirt's front
                neck_v = _polygon(
                    xx,
                    yy,
                    np.array(
                        [
                            pts[8] * 0.7 + pts[9] * 0.3,
                            pts[9] * 0.7 + pts[8] * 0.3,
                            pts[12] + 0.35 * (((pts[2] + pts[3]) / 2) - pts[12]),
                        ]
                    ),
                )
                img[mask & neck_v] = skin
                mid = (pts[2] + pts[3]) / 2
                for t in (0.5, 0.68, 0.86):
                    b = pts[12] + t * (mid - pts[12])
                    img[mask & _capsule(xx, yy, b, b, 0.7)] = shirt.reshape(-1, 3).mean(0) * 0.3
        elif name == "head":
            if facing:  # face below the hair line, dark eyes and mouth
                img[mask] = skin
                img[mask & (up_dist > 0.35 * head_r)] = hair
                side_v = np.array([-down[1], down[0]])
                for off in (-0.4, 0.4):
                    e = head_c + off * head_r * side_v
                    img[_capsule(xx, yy, e, e, 0.5) & mask] = hair * 0.3
                m = head_c + 0.55 * head_r * down
                img[_capsule(xx, yy, m, m, 0.5) & mask] = skin * 0.45
            else:  # the back of the head: hair only
                img[mask] = hair
        elif name.endswith(("thigh", "shin")):
            img[mask] = trousers[mask]
        elif name.endswith("upper_arm"):
            img[mask] = shirt[mask]
        elif name.endswith("forearm"):
            img[mask] = sleeves[mask] if sleeves is not None else skin
        elif name.endswith("hand"):
            img[mask] = skin
        else:  # foot: light toe cap seen from the front, darker heel from the back
            img[mask] = shoes
            a = pts[0] if name == "r_foot" else pts[5]
            cap = _capsule(xx, yy, a + 0.7 * width * down, a + 0.7 * width * down, 0.8 * width) & mask
            img[cap] = np.clip(shoes + 0.45, 0, 1) if facing else shoes * 0.4
        part_map[mask] = PARTS.index(name)

    if rng.random() < p["p_occluder"]:  # a textured blob or bar in front, centred near a joint
        y0, x0, local = clutter_piece(rng, size, (0.15, 0.4))
        h, w = local.shape
        cx, cy = pts[int(rng.integers(K))] + rng.uniform(-0.3, 0.3, 2) * (w, h)
        y0, x0 = int(np.clip(round(cy - h / 2), 0, size - h)), int(np.clip(round(cx - w / 2), 0, size - w))
        colour = rng.uniform(0.1, 0.9, 3).astype(np.float32)
        img[y0 : y0 + h, x0 : x0 + w][local] = textured_fill(rng, h, w, colour)[local]
        part_map[y0 : y0 + h, x0 : x0 + w][local] = -1
    img = img * lighting(rng, size, size, (0.2, 0.6))
    img = img + rng.uniform(0.0, p["noise"]) * rng.standard_normal(img.shape).astype(np.float32)
    return np.clip(img, 0.0, 1.0).astype(np.float32), part_map


def _one_person_v2(rng: np.random.Generator, size: int, p: dict):
    height = size * rng.uniform(0.65, 0.9)
    pts, facing, angles = _skeleton(rng, height)
    lo, hi = pts.min(0), pts.max(0)
    spread = 0.3 if rng.random() < p["truncation"] else 0.1
    pts = pts - (lo + hi) / 2 + size / 2 - 0.5 + rng.uniform(-spread, spread, 2) * size
    img, part_map = _render(rng, size, pts, facing, height, p)
    rc = np.round(pts).astype(int)
    inside = (pts[:, 0] >= -0.5) & (pts[:, 0] < size - 0.5) & (pts[:, 1] >= -0.5) & (pts[:, 1] < size - 0.5)
    visible = np.zeros(K, dtype=bool)
    for j in np.flatnonzero(inside):
        top = part_map[min(max(rc[j, 1], 0), size - 1), min(max(rc[j, 0], 0), size - 1)]
        visible[j] = top >= 0 and PARTS[top] in _OWN_PARTS[j]
    return img, pts.astype(np.float32), visible, inside, facing, angles, part_map


def make_people_v2(
    n: int,
    *,
    seed: int,
    size: int = 64,
    truncation: float = 0.15,
    p_occluder: float = 0.3,
    max_clutter: int = 3,
    max_marks: int = 3,
    noise: float = 0.04,
) -> PeopleV2:
    """``n`` second-edition images of one figure each, deterministic in ``seed`` (image ``i``: ``(seed, i)``).

    Args:
        n: number of images (>= 0).
        seed: integer seed (train and test splits use different seeds; global RNGs are untouched).
        size: image side in pixels (>= 32).
        truncation: probability that a figure is shifted far enough for joints to leave the image.
        p_occluder: probability of a textured blob or bar in front of the figure.
        max_clutter: at most this many textured blobs / bars on the background.
        max_marks: at most this many thin marks (lines, dots, arcs) on the background.
        noise: the pixel noise's standard deviation is drawn from [0, noise] per image.

    Returns:
        PeopleV2: images Tensor[n, 3, S, S] float32 in [0, 1], keypoints Tensor[n, 14, 2] (x, y)
        in LSP order with the person's own left/right, visible / inside Tensor[n, 14] bool,
        facing_camera Tensor[n] bool (front view), angles Tensor[n, 8], parts Tensor[n, S, S] int64.
    """
    for name, val in (
        ("n", n),
        ("seed", seed),
        ("size", size),
        ("max_clutter", max_clutter),
        ("max_marks", max_marks),
    ):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool):
            raise TypeError(f"{name} must be an int, got {type(val).__name__} ({val!r})")
    if n < 0:
        raise ValueError(f"n must be an int >= 0, got {n}")
    if size < 32:
        raise ValueError(f"size must be an int >= 32 (pixels), got {size}")
    for name, prob in (("truncation", truncation), ("p_occluder", p_occluder)):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {prob}")
    if max_clutter < 0 or max_marks < 0 or not noise >= 0:
        raise ValueError(
            f"max_clutter, max_marks and noise must be >= 0, got {max_clutter}, {max_marks}, {noise}"
        )
    p = {
        "truncation": truncation,
        "p_occluder": p_occluder,
        "max_clutter": max_clutter,
        "max_marks": max_marks,
        "noise": noise,
    }
    out = [_one_person_v2(np.random.default_rng([int(seed) % 2**63, i, 5]), size, p) for i in range(n)]
    if n == 0:
        empty = torch.zeros(0, K, dtype=torch.bool)
        return PeopleV2(
            torch.zeros(0, 3, size, size),
            torch.zeros(0, K, 2),
            empty,
            empty.clone(),
            torch.zeros(0, dtype=torch.bool),
            torch.zeros(0, 8),
            int(seed),
            meta={"edition": 2, "size": size, **p},
            parts=torch.zeros(0, size, size, dtype=torch.int64),
        )
    imgs, pts, vis, ins, facing, angles, parts = zip(*out)
    return PeopleV2(
        images=torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous(),
        keypoints=torch.from_numpy(np.stack(pts)),
        visible=torch.from_numpy(np.stack(vis)),
        inside=torch.from_numpy(np.stack(ins)),
        facing_camera=torch.tensor(facing),
        angles=torch.from_numpy(np.stack(angles)),
        seed=int(seed),
        meta={"edition": 2, "size": size, **p},
        parts=torch.from_numpy(np.stack(parts)).long(),
    )


def flip_keypoints(keypoints: Tensor, size: int) -> Tensor:
    """Keypoints of the horizontally mirrored image, left and right swapped (LSP's flip).

    Args:
        keypoints (Tensor[N, 14, 2]): (x, y) in LSP order, pixel centres at integers.
        size: image width in pixels.

    Returns:
        Tensor[N, 14, 2]: joint ``j`` of the mirrored image is joint ``FLIP[j]`` at ``x -> size - 1 - x``.
    """
    if not isinstance(keypoints, Tensor) or keypoints.ndim != 3 or keypoints.shape[1:] != (K, 2):
        got = tuple(keypoints.shape) if isinstance(keypoints, Tensor) else type(keypoints).__name__
        raise ValueError(f"keypoints must be a Tensor of shape (N, {K}, 2), got {got}")
    out = keypoints[:, list(FLIP)].clone()
    out[..., 0] = size - 1 - out[..., 0]
    return out


def flip_people(people: People) -> People:
    """The mirrored sample set: images flipped left-right, keypoints / visibility / parts swapped.

    A mirrored front view is a front view (the person's right is still on the image's left), so
    ``facing_camera`` is unchanged. Angles are swapped right <-> left.
    """
    if not isinstance(people, People):
        raise TypeError(f"people must be People (make_people / make_people_v2), got {type(people).__name__}")
    flip = list(FLIP)
    mirrored = dataclasses.replace(
        people,
        images=people.images.flip(-1),
        keypoints=flip_keypoints(people.keypoints, people.size),
        visible=people.visible[:, flip],
        inside=people.inside[:, flip],
        facing_camera=people.facing_camera.clone(),
        angles=people.angles[:, [4, 5, 6, 7, 0, 1, 2, 3]],
        seed=people.seed,
        meta={**people.meta, "flipped": not people.meta.get("flipped", False)},
    )
    if isinstance(mirrored, PeopleV2) and mirrored.parts is not None:
        remap = torch.tensor([*PART_FLIP, -1])  # index -1 (background) maps to -1
        mirrored.parts = remap[mirrored.parts.flip(-1)]
    return mirrored
