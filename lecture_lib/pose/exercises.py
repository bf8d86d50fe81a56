"""The exercises of 05_pose.ipynb: references, visible and hidden cases, refused shortcuts.

- ``my_disk_heatmaps(keypoints, size, radius, visible=None)``: the slide's disk targets with
  broadcasting, invisible joints giving an empty map (about 7 lines).
- ``my_decode(heatmaps)``: argmax decoding refined to sub-pixel precision by a parabola through the
  peak and its neighbours, plus the confidence (about 15 lines).

The references are pixel-by-pixel loops, independent of ``lecture_lib.pose.heatmaps``.
"""

from __future__ import annotations

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
    ],
)
