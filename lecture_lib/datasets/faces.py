"""Procedural faces with many identities: the quick profile's stand-in for LFW / CelebA.
Used in 06_faces.ipynb (slides "Face Verification", "Discriminative Face Embeddings") and
07 (attributes as labels).

A face is drawn from two sets of numbers:

* **identity parameters** (fixed per person, ``sample_identities``): face width/height and jaw
  squareness, skin colour, hair colour (one of ``HAIR_COLOURS``) and style (hairline height,
  volume, length), eye spacing/height/size/shape and iris colour, brow length/thickness/angle,
  nose length/width, mouth width/height/thickness and resting curvature.
* **nuisance factors** (fresh for every image, ``sample_nuisances``): pose (in-plane rotation,
  yaw, scale, translation), lighting (direction, strength, brightness, colour cast), background,
  expression (smile, eye openness), glasses, a partial occlusion, pixel noise.

``render_faces(identity, nuisance, size=32)`` draws them (soft-edged shapes on a coordinate grid,
vectorised over the batch). ``make_faces`` renders ``images_per_identity`` images of each of a set
of identities; ``face_split`` / ``face_parts`` make train, test and val sets of *disjoint* identities (face
verification is judged on people never seen in training); ``verification_pairs`` draws same /
different pairs in identity-disjoint folds, the layout of LFW's 10-fold ``pairs.txt``.

Attributes that are not identity (``glasses``, ``smiling``) and those that are (``hair_colour``)
are returned as labels (``FaceSet.attributes``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "HAIR_COLOURS",
    "PARTS",
    "FaceSet",
    "face_parts",
    "face_split",
    "make_faces",
    "render_faces",
    "sample_identities",
    "sample_nuisances",
    "verification_pairs",
]

HAIR_COLOURS = {
    "black": (0.08, 0.07, 0.06),
    "brown": (0.35, 0.22, 0.12),
    "blond": (0.85, 0.72, 0.42),
    "red": (0.62, 0.25, 0.10),
    "grey": (0.62, 0.62, 0.62),
    "white": (0.92, 0.90, 0.86),
}
_SKIN_LIGHT, _SKIN_DARK = torch.tensor([0.98, 0.83, 0.70]), torch.tensor([0.36, 0.22, 0.14])

# name: (low, high) of a uniform draw, per identity
_IDENTITY_RANGES = {
    "face_w": (0.42, 0.60),
    "face_h": (0.58, 0.76),
    "jaw": (1.7, 3.2),
    "skin": (0.0, 1.0),
    "hairline": (-0.62, -0.22),
    "hair_volume": (0.02, 0.20),
    "hair_length": (0.0, 0.75),
    "eye_dx": (0.15, 0.29),
    "eye_y": (-0.22, -0.02),
    "eye_w": (0.07, 0.13),
    "eye_h": (0.035, 0.075),
    "brow_gap": (0.07, 0.15),
    "brow_len": (0.07, 0.15),
    "brow_thick": (0.018, 0.05),
    "brow_angle": (-0.5, 0.5),
    "nose_len": (0.08, 0.22),
    "nose_w": (0.035, 0.09),
    "mouth_y": (0.25, 0.46),
    "mouth_w": (0.10, 0.24),
    "mouth_thick": (0.02, 0.05),
    "mouth_curve": (-1.2, 1.2),
}
IDENTITY_PARAMS = tuple(_IDENTITY_RANGES) + ("hair_colour", "hair_rgb", "skin_rgb", "iris_rgb")
NUISANCE_PARAMS = (
    "angle",
    "yaw",
    "scale",
    "shift",
    "light_dir",
    "light",
    "brightness",
    "cast",
    "background",
    "background_grad",
    "smile",
    "eye_open",
    "glasses",
    "glasses_rgb",
    "occluder",
    "occluder_rgb",
    "noise",
)


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _uniform(n: int, low: float, high: float, g: torch.Generator, *shape: int) -> Tensor:
    return low + (high - low) * torch.rand(n, *shape, generator=g)


def sample_identities(n: int, *, seed: int) -> dict[str, Tensor]:
    """Identity parameters of ``n`` people: ``{name: Tensor[n] or Tensor[n, 3] (colours)}``.

    ``hair_colour`` (Tensor[n] long) indexes ``list(HAIR_COLOURS)``; ``hair_rgb``, ``skin_rgb``,
    ``iris_rgb`` are Tensor[n, 3] in [0, 1].
    """
    n = _check_count(n, "n")
    g = torch.Generator().manual_seed(seed)
    ids = {k: _uniform(n, lo, hi, g) for k, (lo, hi) in _IDENTITY_RANGES.items()}
    palette = torch.tensor(list(HAIR_COLOURS.values()))
    ids["hair_colour"] = torch.randint(len(HAIR_COLOURS), (n,), generator=g)
    ids["hair_rgb"] = (palette[ids["hair_colour"]] + 0.06 * torch.randn(n, 3, generator=g)).clamp(0, 1)
    t = ids["skin"][:, None]
    ids["skin_rgb"] = ((1 - t) * _SKIN_LIGHT + t * _SKIN_DARK + 0.03 * torch.randn(n, 3, generator=g)).clamp(
        0, 1
    )
    ids["iris_rgb"] = torch.rand(n, 3, generator=g) * torch.tensor([0.5, 0.5, 0.6])
    return ids


def sample_nuisances(n: int, *, seed: int, strength: float = 1.0) -> dict[str, Tensor]:
    """Per-image nuisance factors for ``n`` images (pose, lighting, expression, glasses, occlusion,
    noise); ``strength`` scales pose and lighting ranges and the probabilities of glasses/occluders.

    Returns ``{name: Tensor[n] or Tensor[n, k]}``; ``glasses`` and ``occluder[:, 0]`` are 0/1 flags.
    """
    n = _check_count(n, "n")
    if not 0.0 <= strength <= 2.0:
        raise ValueError(f"strength must be in [0, 2], got {strength}")
    s, g = strength, torch.Generator().manual_seed(seed)
    nu = {
        "angle": _uniform(n, -0.35 * s, 0.35 * s, g),  # radians, in-plane rotation
        "yaw": _uniform(n, -0.7 * s, 0.7 * s, g),  # turn of the head (features slide)
        "scale": 2 ** _uniform(n, -0.25 * s, 0.15 * s, g),
        "shift": _uniform(n, -0.15 * s, 0.15 * s, g, 2),  # (x, y) in units of half the image
        "light_dir": _uniform(n, 0, 2 * math.pi, g),
        "light": _uniform(n, 0.0, 0.7 * s, g),  # strength of the lighting gradient
        "brightness": 2 ** _uniform(n, -0.7 * s, 0.4 * s, g),
        "cast": 2 ** _uniform(n, -0.3 * s, 0.3 * s, g, 3),  # white balance / colour cast
        "background": torch.rand(n, 3, generator=g),
        "background_grad": _uniform(n, -0.4, 0.4, g, 2),
        "smile": _uniform(n, -0.3, 1.0, g) * (torch.rand(n, generator=g) < 0.6),
        "eye_open": _uniform(n, 0.25, 1.1, g),
        "glasses": (torch.rand(n, generator=g) < 0.3 * s).float(),
        "glasses_rgb": torch.rand(n, 3, generator=g) * 0.6,
        # occluder: flag, x, y (centre), half-width, half-height
        "occluder": torch.cat(
            [
                (torch.rand(n, 1, generator=g) < 0.3 * s).float(),
                _uniform(n, -0.7, 0.7, g, 2),
                _uniform(n, 0.12, 0.35, g, 2),
            ],
            dim=1,
        ),
        "occluder_rgb": torch.rand(n, 3, generator=g),
        "noise": _uniform(n, 0.0, 0.06 * s, g),
    }
    return nu


def _soft(inside: Tensor, px: float) -> Tensor:
    """Soft mask from a signed 'inside' distance (positive inside), edges about one pixel wide."""
    return torch.sigmoid(inside / px)


def _ellipse(x: Tensor, y: Tensor, cx, cy, a, b, px: float, power: float | Tensor = 2.0) -> Tensor:
    r = ((x - cx).abs() / a) ** power + ((y - cy).abs() / b) ** power
    return _soft((1 - r ** (1 / power)) * torch.minimum(torch.as_tensor(a), torch.as_tensor(b)), px)


def _paint(img: Tensor, mask: Tensor, rgb: Tensor) -> Tensor:
    """``img`` [N, 3, H, W] with ``rgb`` [N, 3] painted where ``mask`` [N, H, W] is 1."""
    m = mask[:, None]
    return img * (1 - m) + rgb[:, :, None, None] * m


def _col(t: Tensor) -> Tensor:
    return t[:, None, None]


def render_faces(identity: dict[str, Tensor], nuisance: dict[str, Tensor], *, size: int = 32) -> Tensor:
    """Draw one face per row of ``identity`` / ``nuisance`` (the same N rows in both).

    Returns:
        Tensor[N, 3, size, size] float32 in [0, 1].
    """
    size = _check_count(size, "size")
    missing = [k for k in IDENTITY_PARAMS if k not in identity] + [
        k for k in NUISANCE_PARAMS if k not in nuisance
    ]
    if missing:
        raise ValueError(
            f"render_faces needs the parameters {missing}; got identity keys {sorted(identity)} "
            f"and nuisance keys {sorted(nuisance)}"
        )
    n = identity["face_w"].shape[0]
    if nuisance["angle"].shape[0] != n:
        raise ValueError(f"identity has {n} rows but nuisance has {nuisance['angle'].shape[0]}")
    I, U = identity, nuisance  # noqa: E741
    px = 2.0 / size
    lin = (torch.arange(size) + 0.5) * px - 1.0
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")  # (H, W) image coordinates in [-1, 1]
    # inverse pose: image -> face coordinates (rotate, scale, shift)
    ca, sa = _col(torch.cos(U["angle"])), _col(torch.sin(U["angle"]))
    dx, dy = gx[None] - _col(U["shift"][:, 0]), gy[None] - _col(U["shift"][:, 1])
    sc = _col(U["scale"])
    x, y = (ca * dx + sa * dy) / sc, (-sa * dx + ca * dy) / sc  # (N, H, W)
    fpx = px / U["scale"].min().item()
    yaw = _col(U["yaw"])

    grad = U["background_grad"]
    img = U["background"][:, :, None, None] * (1 + _col(grad[:, 0]) * gx + _col(grad[:, 1]) * gy)[:, None]
    fw, fh = _col(I["face_w"]) * (1 - 0.15 * yaw.abs()), _col(I["face_h"])
    face_cx = 0.10 * yaw
    # hair behind the head (volume around it, length down the sides)
    hv, hl = _col(I["hair_volume"]), _col(I["hair_length"])
    hair_back = _ellipse(x, y, face_cx, 0.05 + hl * 0.5 - 0.1, fw + hv, fh * 0.95 + hl * 0.5 + hv, fpx)
    hair_back = hair_back * _soft(0.05 + hl * 1.0 - y, fpx)  # cut the length
    img = _paint(img, hair_back, I["hair_rgb"])
    face = _ellipse(x, y, face_cx, 0.05, fw, fh, fpx, power=_col(I["jaw"]))
    img = _paint(img, face, I["skin_rgb"])
    # fringe: the part of the face above the hairline (a slight curve) is hair
    hairline = _col(I["hairline"]) + 0.6 * (x - face_cx) ** 2
    img = _paint(img, face * _soft(hairline - y, fpx), I["hair_rgb"])
    fx = 0.22 * yaw  # features slide with yaw
    ey, edx = _col(I["eye_y"]), _col(I["eye_dx"]) * (1 - 0.2 * yaw.abs())
    ew, eh = _col(I["eye_w"]), _col(I["eye_h"]) * _col(U["eye_open"])
    brow_rgb = I["hair_rgb"] * 0.6
    for side in (-1, 1):
        cx = fx + side * edx
        tilt = side * _col(I["brow_angle"])
        by = ey - _col(I["brow_gap"]) - eh + tilt * (x - cx)
        brow = _ellipse(x, y, cx, by, _col(I["brow_len"]), _col(I["brow_thick"]), fpx)
        img = _paint(img, brow * face, brow_rgb)
        white = _ellipse(x, y, cx, ey, ew, eh.clamp_min(0.012), fpx)
        img = _paint(img, white * face, torch.full((n, 3), 0.95))
        iris = _ellipse(x, y, cx + 0.3 * ew * yaw, ey, eh.clamp_min(0.012) * 1.1, eh.clamp_min(0.012), fpx)
        img = _paint(img, iris * white, I["iris_rgb"])
    # nose: a darker vertical ellipse below the eyes
    nose_y = ey + 0.08 + _col(I["nose_len"]) * 0.5
    nose = _ellipse(x, y, fx * 1.2, nose_y, _col(I["nose_w"]), _col(I["nose_len"]) * 0.5, fpx)
    img = _paint(img, nose * face, I["skin_rgb"] * 0.7)
    # mouth: a curved band; smiling bends the corners up and opens it
    my, mw = _col(I["mouth_y"]), _col(I["mouth_w"]) * (1 + 0.3 * _col(U["smile"]).clamp_min(0))
    curve = _col(I["mouth_curve"]) * 0.6 + 3.0 * _col(U["smile"])
    t = (x - fx) / mw
    centre = my - curve * mw * (t**2 - 0.33) * 0.5
    thick = _col(I["mouth_thick"]) * (1 + 0.8 * _col(U["smile"]).clamp_min(0))
    mouth = _soft(torch.minimum(thick - (y - centre).abs(), (1 - t.abs()) * mw), fpx)
    lip = torch.stack(
        [I["skin_rgb"][:, 0] * 0.75, I["skin_rgb"][:, 1] * 0.35, I["skin_rgb"][:, 2] * 0.35], dim=1
    )
    img = _paint(img, mouth * face, lip)
    # glasses: two rings and a bridge
    on = _col(U["glasses"])
    rad = edx * 0.75
    for side in (-1, 1):
        r = ((x - fx - side * edx) ** 2 + (y - ey) ** 2).sqrt()
        ring = _soft(0.035 - (r - rad).abs(), fpx)
        img = _paint(img, ring * on, U["glasses_rgb"])
    bridge = _soft(torch.minimum(0.03 - (y - ey).abs(), edx - rad - (x - fx).abs()), fpx)
    img = _paint(img, bridge * on, U["glasses_rgb"])
    # lighting: a linear gradient across the image, brightness and a colour cast
    lx, ly = torch.cos(U["light_dir"]), torch.sin(U["light_dir"])
    shade = 1 + _col(U["light"]) * (_col(lx) * gx + _col(ly) * gy)
    img = img * shade[:, None] * U["brightness"][:, None, None, None] * U["cast"][:, :, None, None]
    # occluder (a hand, a scarf, a microphone): a rectangle in image coordinates
    oc = U["occluder"]
    box = _soft(
        torch.minimum(
            _col(oc[:, 3]) - (gx - _col(oc[:, 1])).abs(), _col(oc[:, 4]) - (gy - _col(oc[:, 2])).abs()
        ),
        px,
    )
    img = _paint(img, box * _col(oc[:, 0]), U["occluder_rgb"])
    g = torch.Generator().manual_seed(int(U["noise"].sum().item() * 1e6) % (2**31))
    img = img + U["noise"][:, None, None, None] * torch.randn(img.shape, generator=g)
    return img.clamp(0, 1)


@dataclass(frozen=True)
class FaceSet:
    """Rendered faces: ``images`` Tensor[N, 3, H, W] float32 in [0, 1], ``labels`` Tensor[N] identity
    ids, ``attributes`` {name: Tensor[N]} (``glasses``, ``smiling``, ``hair_colour``, ``occluded``,
    ``yaw``), ``identity`` the identity parameters of each row's person."""

    images: Tensor
    labels: Tensor
    attributes: dict[str, Tensor]
    identity: dict[str, Tensor]

    def __len__(self) -> int:
        return self.labels.shape[0]


def make_faces(
    identities: dict[str, Tensor],
    images_per_identity: int,
    *,
    seed: int,
    size: int = 32,
    strength: float = 1.0,
    first_label: int = 0,
    chunk: int = 2048,
) -> FaceSet:
    """``images_per_identity`` images of every identity in ``identities`` (from ``sample_identities``),
    each with fresh nuisances. Labels are ``first_label + index of the identity``; rows are grouped
    by identity (0, 0, ..., 1, 1, ...)."""
    k = _check_count(images_per_identity, "images_per_identity")
    n_ids = identities["face_w"].shape[0]
    person = torch.arange(n_ids).repeat_interleave(k)
    ident = {name: v[person] for name, v in identities.items()}
    nu = sample_nuisances(person.numel(), seed=seed, strength=strength)
    images = torch.cat(
        [
            render_faces(
                {n: v[i : i + chunk] for n, v in ident.items()},
                {n: v[i : i + chunk] for n, v in nu.items()},
                size=size,
            )
            for i in range(0, person.numel(), chunk)
        ]
    )
    attributes = {
        "glasses": nu["glasses"].bool(),
        "smiling": nu["smile"] > 0.3,
        "hair_colour": ident["hair_colour"],
        "occluded": nu["occluder"][:, 0].bool(),
        "yaw": nu["yaw"],
    }
    return FaceSet(images, person + first_label, attributes, ident)


PARTS = {"train": 0, "test": 1, "val": 2}


def face_split(
    part: str,
    n_identities: int,
    images_per_identity: int,
    *,
    seed: int,
    first_label: int = 0,
    size: int = 32,
    strength: float = 1.0,
) -> FaceSet:
    """The faces of one part ("train", "test" or "val") of a data set: its own people (identity
    seed ``seed + 10 * k`` for the k-th part, so parts never share a person and each part does
    not depend on the size of the others), ``images_per_identity`` images each."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {list(PARTS)}, got {part!r}")
    k = PARTS[part]
    ids = sample_identities(_check_count(n_identities, "n_identities"), seed=seed + 10 * k)
    return make_faces(
        ids,
        images_per_identity,
        seed=seed + 10 * k + 1,
        size=size,
        strength=strength,
        first_label=first_label,
    )


def face_parts(
    spec: Mapping[str, tuple[int, int]],
    *,
    seed: int,
    parts: Sequence[str] | None = None,
    size: int = 32,
    strength: float = 1.0,
) -> dict[str, FaceSet]:
    """Faces of several parts of one data set, no person in two parts (``face_split`` each).

    Args:
        spec: ``{part: (n_identities, images_per_identity)}`` for every part of the data set, in
            label order: a part's labels follow those of the parts before it in ``spec``
            (``{"train": (20, 3), "test": (8, 2)}``: train ``0..19``, test ``20..27``).
        seed: the data set's seed (each part's people and images come from it, see ``face_split``).
        parts: the parts to make, in this order (default: all of ``spec``); the others are skipped,
            and the labels stay those of the whole data set.

    Returns:
        ``{part: FaceSet}`` in the order of ``parts``.
    """
    parts = list(spec) if parts is None else list(parts)
    unknown = [p for p in parts if p not in spec]
    if unknown:
        raise ValueError(f"parts must be among the spec's {list(spec)}, got {unknown}")
    first_label, start = {}, 0
    for part, (n_identities, _) in spec.items():
        first_label[part], start = start, start + n_identities
    return {
        p: face_split(
            p, spec[p][0], spec[p][1], seed=seed, first_label=first_label[p], size=size, strength=strength
        )
        for p in parts
    }


def verification_pairs(
    labels: Tensor, *, pairs_per_fold: int, folds: int = 10, seed: int
) -> dict[str, Tensor]:
    """Same / different pairs in identity-disjoint folds (LFW's ``pairs.txt`` layout: 10 folds of
    300 same + 300 different pairs). Identities are split into ``folds`` groups; each fold draws
    ``pairs_per_fold`` same pairs and as many different pairs among its own identities.

    Returns:
        {"i": Tensor[P], "j": Tensor[P], "same": Tensor[P] bool, "fold": Tensor[P]} indices into ``labels``.
    """
    if labels.ndim != 1:
        raise ValueError(f"labels must be Tensor[N], got shape {tuple(labels.shape)}")
    _check_count(pairs_per_fold, "pairs_per_fold")
    _check_count(folds, "folds")
    g = torch.Generator().manual_seed(seed)
    people = labels.unique()
    if people.numel() < 2 * folds:
        raise ValueError(f"need at least {2 * folds} identities for {folds} folds, got {people.numel()}")
    people = people[torch.randperm(people.numel(), generator=g)]
    out: dict[str, list[Tensor]] = {"i": [], "j": [], "same": [], "fold": []}
    for f, group in enumerate(people.chunk(folds)):
        rows = [torch.nonzero(labels == p).flatten() for p in group]
        rows = [r for r in rows if r.numel() >= 2]
        if len(rows) < 2:
            raise ValueError(f"fold {f} has fewer than 2 identities with >= 2 images")
        for same in (True, False):
            for _ in range(pairs_per_fold):
                a = int(torch.randint(len(rows), (1,), generator=g))
                if same:
                    i, j = rows[a][torch.randperm(rows[a].numel(), generator=g)[:2]].tolist()
                else:
                    b = (a + 1 + int(torch.randint(len(rows) - 1, (1,), generator=g))) % len(rows)
                    i = int(rows[a][torch.randint(rows[a].numel(), (1,), generator=g)])
                    j = int(rows[b][torch.randint(rows[b].numel(), (1,), generator=g)])
                out["i"].append(torch.tensor(i))
                out["j"].append(torch.tensor(j))
                out["same"].append(torch.tensor(same))
                out["fold"].append(torch.tensor(f))
    return {k: torch.stack(v) for k, v in out.items()}
