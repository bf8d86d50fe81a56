"""Selective Search region proposals (Uijlings et al., IJCV 2013), the proposals of R-CNN.

The algorithm, as in the paper:

1. Over-segment the image with Felzenszwalb & Huttenlocher's graph-based segmentation
   (``skimage.segmentation.felzenszwalb``): the starting regions.
2. Hierarchical grouping: repeatedly merge the two most similar *neighbouring* regions until one
   region is left; every region ever formed (starting ones and merges) gives a box. Similarity is
   a sum of four terms in [0, 1]: colour (histogram intersection of 25-bin colour histograms per
   channel), texture (histogram intersection of gradient histograms: 8 orientations x 10 bins per
   channel, from Gaussian derivatives with sigma = 1), size (small regions merge first) and fill
   (regions whose union fills its bounding box merge first).
3. Diversification: several hierarchies (colour spaces x Felzenszwalb scales x similarity
   combinations; the paper's "fast" mode is HSV and Lab, k in {50, 100}, C+T+S+F and T+S+F).
4. Ranking: in each hierarchy the region formed last (the whole image) gets position 1, the one
   before it 2, ...; each box gets ``position x RND`` (RND uniform in [0, 1], seeded) and all
   boxes are sorted by that value; duplicates keep their best rank.

Used in 03a_rcnn and 03b_fast_rcnn (proposals of R-CNN and Fast R-CNN) and 03c_faster_rcnn (compared
with the RPN); slides "R-CNN Pipeline", "Region proposals: Selective Search".
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np
import torch
from scipy import ndimage
from skimage import color
from skimage.segmentation import felzenszwalb
from torch import Tensor

from lecture_lib.boxes import box_iou
from lecture_lib.checks import (
    check_int,
    check_number,
    check_probability,
    check_tensor,
    check_tensor_list,
)

COLOUR_BINS, TEXTURE_BINS, ORIENTATIONS = 25, 10, 8
SIMILARITIES = {
    "CTSF": (1, 1, 1, 1),
    "TSF": (0, 1, 1, 1),
    "F": (0, 0, 0, 1),
    "S": (0, 0, 1, 0),
    "C": (1, 0, 0, 0),
}


def _colour_space(image: np.ndarray, name: str) -> np.ndarray:
    """The image in a colour space, every channel scaled to [0, 1]."""
    if name == "rgb":
        return image
    if name == "hsv":
        return color.rgb2hsv(image)
    if name == "lab":
        lab = color.rgb2lab(image)
        return np.stack((lab[..., 0] / 100, (lab[..., 1] + 128) / 255, (lab[..., 2] + 128) / 255), -1).clip(
            0, 1
        )
    raise ValueError(f"colour space must be one of 'rgb', 'hsv', 'lab', got {name!r}")


def _texture_bins(image: np.ndarray) -> np.ndarray:
    """(H, W, C * 8) texture-histogram bin index of every pixel, channel and orientation."""
    out = []
    for c in range(image.shape[-1]):
        gy = ndimage.gaussian_filter(image[..., c], sigma=1.0, order=(1, 0))
        gx = ndimage.gaussian_filter(image[..., c], sigma=1.0, order=(0, 1))
        for k in range(ORIENTATIONS):  # derivative along 8 directions, 45 degrees apart (signed)
            a = 2 * np.pi * k / ORIENTATIONS
            r = np.maximum(np.cos(a) * gx + np.sin(a) * gy, 0.0)
            q = np.minimum((r / (r.max() + 1e-12) * TEXTURE_BINS).astype(np.int64), TEXTURE_BINS - 1)
            out.append(q + (c * ORIENTATIONS + k) * TEXTURE_BINS)
    return np.stack(out, axis=-1)


def _histograms(labels: np.ndarray, bins: np.ndarray, n_regions: int, n_bins: int) -> np.ndarray:
    """(R, n_bins) L1-normalised histograms of per-pixel bin indices ``bins`` (H, W, K) per region."""
    idx = (labels[..., None] * n_bins + bins).ravel()
    hist = np.bincount(idx, minlength=n_regions * n_bins).reshape(n_regions, n_bins).astype(np.float64)
    return hist / hist.sum(axis=1, keepdims=True)


def _initial_regions(
    labels: np.ndarray, image: np.ndarray, texture: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sizes, boxes, colour and texture histograms and neighbour pairs of the starting regions."""
    h, w = labels.shape
    n = int(labels.max()) + 1
    size = np.bincount(labels.ravel(), minlength=n).astype(np.float64)
    ys, xs = np.mgrid[0:h, 0:w]
    box = np.empty((n, 4))
    box[:, 0] = ndimage.minimum(xs, labels, np.arange(n))
    box[:, 1] = ndimage.minimum(ys, labels, np.arange(n))
    box[:, 2] = ndimage.maximum(xs, labels, np.arange(n)) + 1  # xyxy: a pixel covers [x, x + 1]
    box[:, 3] = ndimage.maximum(ys, labels, np.arange(n)) + 1
    q = np.minimum((image * COLOUR_BINS).astype(np.int64), COLOUR_BINS - 1)
    q = q + np.arange(image.shape[-1]) * COLOUR_BINS  # channel c uses bins c*25 .. c*25+24
    colour = _histograms(labels, q, n, COLOUR_BINS * image.shape[-1])
    tex = _histograms(labels, texture, n, TEXTURE_BINS * ORIENTATIONS * image.shape[-1])
    pairs = np.concatenate(
        [
            np.stack((labels[:, :-1].ravel(), labels[:, 1:].ravel()), 1),  # horizontal neighbours
            np.stack((labels[:-1, :].ravel(), labels[1:, :].ravel()), 1),  # vertical neighbours
        ]
    )
    pairs = np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1)
    codes = np.unique(pairs[:, 0] * n + pairs[:, 1])  # each unordered pair once
    pairs = np.stack((codes // n, codes % n), axis=1)
    return size, box, colour, tex, pairs


def _group(
    size: np.ndarray,
    box: np.ndarray,
    colour: np.ndarray,
    tex: np.ndarray,
    pairs: np.ndarray,
    weights: tuple[int, int, int, int],
    image_area: float,
) -> np.ndarray:
    """Hierarchical grouping; returns the boxes of all regions in the order they were formed."""
    n = len(size)
    total = 2 * n - 1  # n starting regions + n - 1 merges (if the image is connected)
    a_col, a_tex, a_size, a_fill = weights
    # colour and texture histograms side by side: one intersection gives a_col*s_col + a_tex*s_tex
    hist = np.concatenate([h for h, a in ((colour, a_col), (tex, a_tex)) if a] or [np.zeros((n, 0))], axis=1)
    hist = np.concatenate((hist, np.zeros((n - 1, hist.shape[1]))))
    size = np.concatenate((size, np.zeros(n - 1)))
    box = np.concatenate((box, np.zeros((n - 1, 4))))

    def similarity(i: int, js: np.ndarray) -> np.ndarray:  # similarity of region i with regions js
        s = np.zeros(len(js))
        if a_col or a_tex:  # histogram intersection
            s += np.minimum(hist[i], hist[js]).sum(axis=1)
        if a_size:  # small regions first
            s += 1 - (size[i] + size[js]) / image_area
        if a_fill:  # regions that fill their joint box first
            lo = np.minimum(box[i, :2], box[js, :2])
            hi = np.maximum(box[i, 2:], box[js, 2:])
            bb = (hi - lo).prod(axis=1)
            s += 1 - (bb - size[i] - size[js]) / image_area
        return s

    neighbours: list[set[int]] = [set() for _ in range(total)]
    for i, j in pairs:
        neighbours[i].add(int(j))
        neighbours[j].add(int(i))
    # (-similarity, i, j); entries of merged regions are skipped when popped
    heap: list[tuple[float, int, int]] = []
    for i in range(n):
        js = np.array(sorted(j for j in neighbours[i] if j > i), dtype=np.int64)
        if len(js):
            heap.extend(zip(-similarity(i, js), [i] * len(js), js.tolist()))
    heapq.heapify(heap)
    alive = np.zeros(total, dtype=bool)
    alive[:n] = True
    k = n
    while heap:
        _, i, j = heapq.heappop(heap)
        if not (alive[i] and alive[j]):
            continue
        # merge i and j into region k: sizes add, histograms are size-weighted means, boxes unite
        size[k] = size[i] + size[j]
        hist[k] = (size[i] * hist[i] + size[j] * hist[j]) / size[k]
        box[k, :2] = np.minimum(box[i, :2], box[j, :2])
        box[k, 2:] = np.maximum(box[i, 2:], box[j, 2:])
        alive[i] = alive[j] = False
        alive[k] = True
        neighbours[k] = {m for m in neighbours[i] | neighbours[j] if alive[m]}
        for m in neighbours[k]:
            neighbours[m].add(k)
        js = np.array(sorted(neighbours[k]), dtype=np.int64)
        for s, m in zip(similarity(k, js), js.tolist()):
            heapq.heappush(heap, (-s, m, k))
        k += 1
    return box[:k]


def selective_search(
    image: np.ndarray,
    *,
    scale: float | Sequence[float] = (50, 100),
    sigma: float = 0.8,
    min_size: int = 10,
    colour_spaces: Sequence[str] = ("hsv", "lab"),
    similarities: Sequence[str] = ("CTSF", "TSF"),
    max_proposals: int | None = 2000,
    seed: int = 0,
) -> Tensor:
    """Selective Search proposals for one image, ranked as in the paper.

    Args:
        image (np.ndarray[H, W, 3]): RGB, uint8 or float in [0, 1].
        scale: Felzenszwalb's ``k`` (bigger -> larger starting regions); one value or several
            (one hierarchy each).
        sigma: Gaussian smoothing before the segmentation.
        min_size: smallest starting region in pixels.
        colour_spaces: any of ``"hsv"``, ``"lab"``, ``"rgb"``; one hierarchy each.
        similarities: any of ``"CTSF"`` (colour + texture + size + fill), ``"TSF"``, ``"F"``,
            ``"S"``, ``"C"``; one hierarchy each. The defaults are the paper's "fast" mode.
        max_proposals: keep the best-ranked this many (``None``: all).
        seed: seed of the random ranking factor (the result is deterministic in it).

    Returns:
        Tensor[N, 4]: float32 xyxy pixel boxes, unique, best-ranked first, inside the image.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        got = image.shape if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image must be a NumPy array of shape (H, W, 3) (RGB), got {got}")
    if image.dtype == np.uint8:
        image = image.astype(np.float64) / 255
    elif np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
            raise ValueError(
                "float images must be finite and in [0, 1], got values in "
                f"[{np.nanmin(image):.3g}, {np.nanmax(image):.3g}]"
            )
        image = image.astype(np.float64)
    else:
        raise TypeError(f"image must be uint8 or float, got dtype {image.dtype}")
    scales = [scale] if isinstance(scale, (int, float)) else list(scale)
    for i, k in enumerate(scales):
        check_number(k, "scale" if len(scales) == 1 and k is scale else f"scale[{i}]")
    check_number(sigma, "sigma", low=0.0)
    check_int(min_size, "min_size", low=0)
    check_int(seed, "seed", low=0)
    for name, names in (("colour_spaces", colour_spaces), ("similarities", similarities)):
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise TypeError(f"{name} must be a sequence of strings such as ('hsv', 'lab'), got {names!r}")
    if not colour_spaces:
        raise ValueError("colour_spaces must name at least one colour space, got ()")
    for space in colour_spaces:  # refused before any work, with _colour_space's message
        _colour_space(np.zeros((1, 1, 3)), space)
    if not scales or any(k <= 0 for k in scales):
        raise ValueError(f"scale must be positive (one value or a sequence), got {scale!r}")
    bad = [s for s in similarities if s not in SIMILARITIES]
    if bad or not similarities:
        raise ValueError(
            f"similarities must be a non-empty subset of {list(SIMILARITIES)}, got {list(similarities)}"
        )
    if max_proposals is not None:
        check_int(max_proposals, "max_proposals", low=None)
    if max_proposals is not None and max_proposals < 1:
        raise ValueError(f"max_proposals must be a positive int or None, got {max_proposals}")
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    all_boxes, all_rank = [], []
    for space in colour_spaces:
        img = _colour_space(image, space)
        texture = _texture_bins(img)
        for k in scales:
            labels = felzenszwalb(img, scale=k, sigma=sigma, min_size=min_size, channel_axis=-1)
            labels = np.unique(labels, return_inverse=True)[1].reshape(h, w)  # ids 0..n-1, none missing
            regions = _initial_regions(labels, img, texture)
            for name in similarities:
                boxes = _group(*regions, SIMILARITIES[name], float(h * w))
                position = np.arange(len(boxes), 0, -1)  # the last merge (whole image) is 1
                all_boxes.append(boxes)
                all_rank.append(position * rng.random(len(boxes)))
    boxes, rank = np.concatenate(all_boxes), np.concatenate(all_rank)
    order = np.argsort(rank, kind="stable")
    boxes = boxes[order]
    _, first = np.unique(boxes, axis=0, return_index=True)  # duplicates keep their best rank
    boxes = boxes[np.sort(first)][:max_proposals]
    return torch.from_numpy(boxes.astype(np.float32))


def proposal_recall(
    proposals_per_image: Sequence[Tensor],
    gt_boxes_per_image: Sequence[Tensor],
    iou: float = 0.7,
    top_k: int | Sequence[int] | None = None,
) -> float | Tensor:
    """Fraction of ground-truth boxes covered by a proposal with IoU >= ``iou``.

    Args:
        proposals_per_image: one Tensor[N_i, 4] of ranked xyxy proposals per image.
        gt_boxes_per_image: one Tensor[M_i, 4] of xyxy ground-truth boxes per image.
        iou: IoU needed to count a ground-truth box as found (0.5 or 0.7 in the papers).
        top_k: use only the best ``top_k`` proposals of each image; ``None`` uses all; a
            sequence gives the recall-vs-number-of-proposals curve.

    Returns:
        float, or Tensor[len(top_k)] (float64) when ``top_k`` is a sequence.
    """
    for name, per_image in (
        ("proposals_per_image", proposals_per_image),
        ("gt_boxes_per_image", gt_boxes_per_image),
    ):
        for i, b in enumerate(check_tensor_list(per_image, name)):
            check_tensor(b, f"{name}[{i}]", "(N, 4)", dtype="number")
    check_probability(iou, "iou")
    if len(proposals_per_image) != len(gt_boxes_per_image):
        raise ValueError(
            f"need one proposal tensor per image, got {len(proposals_per_image)} proposal "
            f"tensors and {len(gt_boxes_per_image)} ground-truth tensors"
        )
    ks: list[int | None]
    if top_k is None or isinstance(top_k, (int, np.integer)):
        single = True
        ks = [None if top_k is None else int(top_k)]
    else:
        single = False
        if isinstance(top_k, str) or not isinstance(top_k, (Sequence, np.ndarray, Tensor)):
            raise TypeError(f"top_k must be an int, a sequence of ints or None, got {top_k!r}")
        ks = [check_int(k, f"top_k[{i}]", low=None) for i, k in enumerate(top_k)]
    if any(k is not None and k < 0 for k in ks):
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    found = torch.zeros(len(ks), dtype=torch.float64)
    total = 0
    for props, gt in zip(proposals_per_image, gt_boxes_per_image):
        total += len(gt)
        if len(gt) == 0:
            continue
        ious = box_iou(gt.float(), props.float())  # (M, N)
        for i, k in enumerate(ks):
            sub = ious[:, : int(k)] if k is not None else ious
            if sub.shape[1]:
                found[i] += (sub.max(dim=1).values >= iou).sum()
    recall = found / max(total, 1)
    return float(recall[0]) if single else recall
