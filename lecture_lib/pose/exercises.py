"""The exercises of 05_pose.ipynb: references, visible and hidden cases, refused shortcuts.

- ``my_disk_heatmaps(keypoints, size, radius, visible=None)``: the slide's disk targets with
  broadcasting, invisible joints giving an empty map (about 7 lines).
- ``my_decode(heatmaps)``: argmax decoding refined to sub-pixel precision by a parabola through the
  peak and its neighbours, plus the confidence (about 15 lines).
- ``my_pck(pred, target, visible, alpha, norm="torso")``: PCK@alpha per joint and overall, invisible
  joints left out, the length (torso or bounding box) computed per person from the ground truth, a
  person of length 0 left out (about 15 lines).

The references are pixel-by-pixel (joint-by-joint) loops, independent of ``lecture_lib.pose.heatmaps``
and ``lecture_lib.pose.metrics``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.exercises import LOOSE, Case, Exercise, Exercises


def disk_heatmaps(
    keypoints: Tensor, size: tuple[int, int], radius: float, visible: Tensor | None = None
) -> Tensor:
    """``[K, H, W]`` float32: 1 where ``(j - x)^2 + (i - y)^2 <= radius^2`` for keypoint ``(x, y)``;
    all zero for a joint with ``visible[k] == False`` (``None``: all visible)."""
    h, w = size
    out = torch.zeros(len(keypoints), h, w)
    shown = [True] * len(keypoints) if visible is None else [bool(v) for v in visible.tolist()]
    for k, (x, y) in enumerate(keypoints.tolist()):
        for i in range(h):
            for j in range(w):
                out[k, i, j] = float(shown[k] and (j - x) ** 2 + (i - y) ** 2 <= radius**2)
    return out


def _disk_cases() -> list[Case]:
    g = torch.Generator().manual_seed(1)
    kp_rand = torch.rand(5, 2, generator=g) * 30 - 5  # some outside a 20 x 24 image
    return [
        Case((torch.tensor([[2.0, 1.0]]), (4, 5), 1.0), name="one joint, r = 1"),
        Case((kp_rand, (20, 24), 3.5), name="random joints, some outside"),
        Case(
            (kp_rand, (20, 24), 2.0, torch.tensor([True, False, True, True, False])),
            name="two joints not visible: empty maps",
        ),
    ]


def _disk_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(51)
    kp = torch.rand(14, 2, generator=g) * 64
    return [
        Case((torch.zeros(0, 2), (5, 6), 2.0), name="no joints"),
        Case((torch.tensor([[3.0, 2.0]]), (5, 7), 0.0), name="radius 0: the pixel itself"),
        Case((torch.tensor([[2.5, 1.5]]), (4, 5), 0.5), name="between pixels, r = 0.5 (nothing)"),
        Case((torch.tensor([[2.0, 2.0]]), (5, 5), 2.0), name="pixels exactly at distance r count"),
        Case((torch.tensor([[-10.0, 40.0]]), (8, 8), 3.0), name="far outside: empty map"),
        Case((kp, (64, 64), 2.0), name="14 joints on 64x64"),
        Case(
            (kp, (48, 30), 4.5, torch.rand(14, generator=g) > 0.5), name="14 joints, half visible, not square"
        ),
    ]


def decode(heatmaps: Tensor) -> tuple[Tensor, Tensor]:
    """``heatmaps [K, H, W]`` -> ``(xy [K, 2] float32, conf [K])``: the first maximum in reading
    order, moved along x (and along y) by ``(v[+1] - v[-1]) / (2 (2 v[0] - v[-1] - v[+1]))``,
    clamped to ``[-0.5, 0.5]``; no move at the border or where the denominator is <= 1e-12."""

    def offset(lo: float, mid: float, hi: float) -> float:
        denom = 2.0 * (2.0 * mid - lo - hi)
        return min(0.5, max(-0.5, (hi - lo) / denom)) if denom > 1e-12 else 0.0

    xy, conf = [], []
    for m in heatmaps.float().tolist():
        h, w = len(m), len(m[0])
        best, bi, bj = -float("inf"), 0, 0
        for i in range(h):
            for j in range(w):
                if m[i][j] > best:
                    best, bi, bj = m[i][j], i, j
        dx = offset(m[bi][bj - 1], best, m[bi][bj + 1]) if 0 < bj < w - 1 else 0.0
        dy = offset(m[bi - 1][bj], best, m[bi + 1][bj]) if 0 < bi < h - 1 else 0.0
        xy.append([bj + dx, bi + dy])
        conf.append(best)
    return torch.tensor(xy, dtype=torch.float32).reshape(-1, 2), torch.tensor(conf, dtype=torch.float32)


def _blobs(g: torch.Generator, k: int, h: int, w: int, sigma: float = 1.5) -> Tensor:
    """Gaussian blobs at random sub-pixel positions plus a little noise: peaks to refine."""
    centre = torch.rand(k, 2, generator=g) * torch.tensor([w - 1.0, h - 1.0])
    ys, xs = torch.arange(h, dtype=torch.float32)[:, None], torch.arange(w, dtype=torch.float32)[None]
    d2 = (xs - centre[:, 0, None, None]) ** 2 + (ys - centre[:, 1, None, None]) ** 2
    return torch.exp(-d2 / (2 * sigma**2)) + 0.01 * torch.rand(k, h, w, generator=g)


def _decode_cases() -> list[Case]:
    g = torch.Generator().manual_seed(2)
    peak = torch.zeros(1, 5, 5)
    peak[0, 2, 2], peak[0, 2, 3], peak[0, 1, 2] = 1.0, 0.5, 0.2
    return [
        Case((peak,), name="one peak, higher neighbour on the right and above"),
        Case((torch.rand(3, 9, 11, generator=g),), name="random maps"),
        Case((_blobs(g, 14, 32, 32),), name="14 blurred joints, 32x32"),
    ]


def _decode_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(52)
    border = torch.zeros(2, 4, 6)
    border[0, 0, 3], border[0, 1, 3] = 1.0, 0.7  # peak on the top row: no y refinement
    border[1, 2, 5], border[1, 2, 4] = 2.0, 1.9  # peak on the right column: no x refinement
    ties = torch.zeros(1, 4, 4)
    ties[0, 1, 1] = ties[0, 2, 3] = 1.0  # two equal maxima: the first in reading order
    flat = torch.ones(1, 3, 3)  # flat top: denominator 0, no refinement
    spike = torch.zeros(1, 3, 5)
    spike[0, 1, 2], spike[0, 1, 3] = 1.0, 1.0 - 1e-7  # offset exactly 0.5
    return [
        Case((border,), name="peaks on the border"),
        Case((ties,), name="two equal maxima"),
        Case((flat,), name="a flat map"),
        Case((spike,), name="a neighbour as high as the peak: half a pixel"),
        Case((-torch.rand(2, 6, 7, generator=g),), name="negative values (logits)"),
        Case((torch.rand(1, 1, 8, generator=g),), name="a single row"),
        Case((_blobs(g, 17, 48, 40, sigma=2.0),), name="17 joints, 48x40"),
    ]


LEFT_SHOULDER, RIGHT_HIP = 9, 2  # LSP order (lecture_lib.datasets.people.JOINTS)
NORMS = ("torso", "bbox")


def pck(
    pred: Tensor, target: Tensor, visible: Tensor, alpha: float, norm: str = "torso"
) -> tuple[Tensor, float]:
    """PCK@``alpha`` of each joint and of all joints together.

    Args:
        pred, target (Tensor[N, K, 2]): (x, y) pixels of N people, K joints.
        visible (Tensor[N, K] bool): which joints count.
        alpha: a joint is correct if ``||pred - target|| <= alpha * length`` of its person.
        norm: the length, from the person's ``target``: ``"torso"`` (LSP, K = 14: left shoulder to
            right hip) or ``"bbox"`` (the longer side of the box around all K true joints, Yang and
            Ramanan 2013). A person of length 0 cannot be judged: none of its joints count.

    Returns:
        (per_joint Tensor[K] float64, nan for a joint that never counts; overall float, correct
        joints over counted joints, nan if none counts).
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    n, k = target.shape[0], target.shape[1]
    if norm == "torso" and k != 14:
        raise ValueError(f"norm='torso' needs the 14 LSP joints, got K = {k}")
    p, t, v = pred.double().tolist(), target.double().tolist(), visible.bool().tolist()
    hits, counts = [0] * k, [0] * k
    for i in range(n):
        if norm == "torso":
            (x1, y1), (x2, y2) = t[i][LEFT_SHOULDER], t[i][RIGHT_HIP]
            length = math.hypot(x1 - x2, y1 - y2)
        else:
            xs, ys = [xy[0] for xy in t[i]], [xy[1] for xy in t[i]]
            length = max(max(xs) - min(xs), max(ys) - min(ys))
        if length <= 0:
            continue
        for j in range(k):
            if v[i][j]:
                counts[j] += 1
                error = math.hypot(p[i][j][0] - t[i][j][0], p[i][j][1] - t[i][j][1])
                hits[j] += error <= alpha * length
    per_joint = [h / c if c else math.nan for h, c in zip(hits, counts)]
    total = sum(counts)
    return torch.tensor(per_joint, dtype=torch.float64), sum(hits) / total if total else math.nan


def _people(g: torch.Generator, n: int, k: int, noise: float, p_visible: float) -> tuple:
    """``n`` random people of ``k`` joints in a 64 px image, predictions off by ``noise`` px (Gaussian)."""
    target = torch.rand(n, k, 2, generator=g) * 64
    pred = target + noise * torch.randn(n, k, 2, generator=g)
    return pred, target, torch.rand(n, k, generator=g) < p_visible


def _pck_cases() -> list[Case]:
    g = torch.Generator().manual_seed(3)
    target = torch.zeros(2, 14, 2)
    target[:, :, 0] = torch.arange(14.0)  # joints on a line; person 0: torso |9 - 2| = 7 px
    target[1] *= 2  # person 1: twice as large, torso 14 px
    pred = target.clone()
    pred[:, 0, 1] += 2.0  # joint 0 off by 2 px: right for person 1 only (alpha * torso = 1.4, 2.8)
    pred[:, 5, 0] += 10.0  # joint 5 off by 10 px: wrong for both, but not visible in person 0
    visible = torch.ones(2, 14, dtype=torch.bool)
    visible[0, 5] = False
    return [
        Case((pred, target, visible, 0.2), name="two people on a line, sizes 7 and 14 px"),
        Case((*_people(g, 30, 14, 3.0, 0.8), 0.2), name="30 people, 80% visible, PCK@0.2"),
        Case((*_people(g, 30, 14, 3.0, 0.8), 0.1, "bbox"), name="30 people, bounding-box length, PCK@0.1"),
    ]


def _pck_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(53)
    tie_t = torch.zeros(1, 14, 2)
    tie_t[0, RIGHT_HIP] = torch.tensor([6.0, 8.0])  # torso 10 px: PCK@0.2 accepts exactly 2 px
    tie_p = tie_t.clone()
    tie_p[0, :7, 1] += 2.0  # joints 0..6 exactly 2 px off
    tie_p[0, 7:, 1] += 2.5  # joints 7..13: 2.5 px off
    zero = _people(g, 5, 14, 2.0, 0.9)
    zero[1][2, LEFT_SHOULDER] = zero[1][2, RIGHT_HIP]  # person 2: torso of length 0 ...
    zero[0][2] = zero[1][2]  # ... and a perfect prediction, which still does not count
    never = _people(g, 12, 14, 4.0, 0.7)
    never[2][:, 13] = False  # the head top is never visible: nan
    flat = _people(g, 4, 17, 2.0, 1.0)
    flat[1][0] = 20.0  # person 0: all joints at one point, a box of size 0
    flat[0][0] = 20.0
    exact = _people(g, 6, 14, 0.0, 0.8)
    exact[0][:, ::2] += 0.01  # every other joint a hundredth of a pixel off
    return [
        Case((tie_p, tie_t, torch.ones(1, 14, dtype=torch.bool), 0.2), name="error exactly alpha * torso"),
        Case((*zero, 0.2), name="a person with a torso of length 0"),
        Case((*never, 0.2), name="a joint never visible"),
        Case((*_people(g, 3, 14, 2.0, 0.0), 0.2), name="no visible joint at all"),
        Case((*_people(g, 0, 14, 2.0, 0.5), 0.2), name="no people"),
        Case((*flat, 0.05, "bbox"), name="17 joints, bounding box; one of size 0"),
        Case((*exact, 0.0), name="alpha = 0: exact predictions only"),
        Case((*_people(g, 200, 14, 1.5, 0.85), 0.05), name="200 people, PCK@0.05"),
        Case((*_people(g, 7, 1, 5.0, 0.9), 0.3, "bbox"), name="one joint per person: box of size 0"),
    ]


EXERCISES = Exercises(
    "05_pose",
    [
        Exercise(
            name="my_disk_heatmaps",
            title="disk heatmaps",
            reference=disk_heatmaps,
            cases=_disk_cases,
            hidden=_disk_hidden,
            forbidden=(
                "lecture_lib.pose.disk_heatmaps",
                "lecture_lib.pose.heatmaps.disk_heatmaps",
                "lecture_lib.pose.gaussian_heatmaps",
                "lecture_lib.pose.heatmaps.gaussian_heatmaps",
                "lecture_lib.pose.heatmaps._squared_distances",
            ),
        ),
        Exercise(
            name="my_decode",
            title="argmax decoding with sub-pixel refinement",
            reference=decode,
            cases=_decode_cases,
            hidden=_decode_hidden,
            forbidden=(
                "lecture_lib.pose.heatmaps_to_keypoints",
                "lecture_lib.pose.heatmaps.heatmaps_to_keypoints",
                "lecture_lib.pose.training.decode",
                "torchvision.models.detection.roi_heads.heatmaps_to_keypoints",
            ),
            compare=LOOSE,
            points=2,
        ),
        Exercise(
            name="my_pck",
            title="PCK per joint and overall",
            reference=pck,
            cases=_pck_cases,
            hidden=_pck_hidden,
            forbidden=(
                "lecture_lib.pose.pck",
                "lecture_lib.pose.metrics.pck",
                "lecture_lib.pose.pck_per_joint",
                "lecture_lib.pose.metrics.pck_per_joint",
                "lecture_lib.pose.pck_curve",
                "lecture_lib.pose.metrics.pck_curve",
                "lecture_lib.pose.correct_keypoints",
                "lecture_lib.pose.metrics.correct_keypoints",
                "lecture_lib.pose.torso_size",
                "lecture_lib.pose.metrics.torso_size",
            ),
            compare=LOOSE,
            points=2,
        ),
    ],
)
