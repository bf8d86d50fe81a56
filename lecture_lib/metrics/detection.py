"""Detection average precision, computed as COCO's evaluation does at one IoU threshold.

For each class: detections of all images, best first, are matched greedily to the best still
unmatched ground-truth box of their image with IoU >= threshold (true positive) or not (false
positive); precision is made monotone (the max to its right) and read at the 101 recall points
0, 0.01, ..., 1 (0 beyond the highest recall reached); AP is their mean. At most 100 detections
per image and class are counted; classes without ground truth are left out of the mean.
``tests/test_metrics_detection.py`` checks the numbers against pycocotools' ``COCOeval`` (bbox,
``iouThrs=[threshold]``, area "all", ``maxDets=100``) to 1e-6; pycocotools is never needed here.

Used in 03a_rcnn, 03b_fast_rcnn and 03c_faster_rcnn (slides: R-CNN, Fast R-CNN, Faster R-CNN results,
mAP on VOC); ``bootstrap_map`` gives every mAP there its interval.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from lecture_lib.checks import check_int, check_probability

RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)  # COCO's p.recThrs


def _check_inputs(predictions, targets) -> None:
    if not isinstance(predictions, (list, tuple)) or not isinstance(targets, (list, tuple)):
        raise TypeError(
            f"predictions and targets must be lists of dicts (one per image), got "
            f"{type(predictions).__name__} and {type(targets).__name__}"
        )
    if len(predictions) != len(targets):
        raise ValueError(
            f"need one prediction dict per target image, got {len(predictions)} predictions "
            f"and {len(targets)} targets"
        )
    for kind, items, keys in (
        ("predictions", predictions, ("boxes", "scores", "labels")),
        ("targets", targets, ("boxes", "labels")),
    ):
        for i, d in enumerate(items):
            if not isinstance(d, dict) or any(k not in d for k in keys):
                got = sorted(d) if isinstance(d, dict) else type(d).__name__
                raise ValueError(f"{kind}[{i}] must be a dict with keys {list(keys)}, got {got}")
            boxes = torch.as_tensor(d["boxes"])
            if boxes.ndim != 2 or boxes.shape[-1] != 4:
                raise ValueError(
                    f"{kind}[{i}]['boxes'] must have shape (N, 4) in xyxy format, got {tuple(boxes.shape)}"
                )
            if not torch.isfinite(boxes).all():
                raise ValueError(f"{kind}[{i}]['boxes'] must be finite, got nan or inf")
            if (boxes[:, 2:] < boxes[:, :2]).any():
                j = int((boxes[:, 2:] < boxes[:, :2]).any(dim=1).nonzero()[0])
                raise ValueError(
                    f"{kind}[{i}]['boxes'][{j}] = {boxes[j].tolist()} has x2 < x1 or y2 < y1 "
                    "(expected xyxy boxes)"
                )
            labels = torch.as_tensor(d["labels"])
            if labels.is_floating_point() and (~torch.isfinite(labels) | (labels != labels.round())).any():
                bad = labels[~torch.isfinite(labels) | (labels != labels.round())][0].item()
                raise ValueError(f"{kind}[{i}]['labels'] must be whole class numbers, got {bad}")
            for k in keys[1:]:
                v = torch.as_tensor(d[k])
                if v.shape != (boxes.shape[0],):
                    raise ValueError(
                        f"{kind}[{i}]['{k}'] must have shape ({boxes.shape[0]},) (one per box), "
                        f"got {tuple(v.shape)}"
                    )
            if "scores" in keys and not torch.isfinite(torch.as_tensor(d["scores"]).float()).all():
                raise ValueError(f"{kind}[{i}]['scores'] must be finite, got nan or inf")


def _np(x, dtype=np.float64) -> np.ndarray:
    return torch.as_tensor(x).detach().cpu().numpy().astype(dtype)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU (D, G) in float64 like pycocotools' bbox IoU (0 where boxes do not overlap)."""
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=inter > 0)


def _match_class(predictions, targets, label: int, iou_threshold: float, max_detections: int):
    """Scores and true-positive flags of every counted detection of ``label``, and the GT count."""
    scores_all, tp_all, num_gt = [], [], 0
    for pred, tgt in zip(predictions, targets):
        gt = _np(tgt["boxes"])[_np(tgt["labels"], np.int64) == label]  # (G, 4)
        sel = _np(pred["labels"], np.int64) == label
        scores, boxes = _np(pred["scores"])[sel], _np(pred["boxes"])[sel]
        order = np.argsort(-scores, kind="mergesort")[:max_detections]  # best first, ties keep input order
        scores, boxes = scores[order], boxes[order]
        num_gt += len(gt)
        iou = _iou(boxes, gt)  # (D, G)
        matched = np.zeros(len(gt), dtype=bool)
        tp = np.zeros(len(boxes), dtype=bool)
        for d in range(len(boxes)):
            candidates = np.where(matched, -1.0, iou[d])  # a GT box is matched at most once
            if len(gt) and candidates.max() >= min(iou_threshold, 1 - 1e-10):
                g = len(gt) - 1 - int(np.argmax(candidates[::-1]))  # best IoU (the last one on ties, as COCO)
                matched[g], tp[d] = True, True
        scores_all.append(scores)
        tp_all.append(tp)
    scores = np.concatenate(scores_all) if scores_all else np.zeros(0)
    tp = np.concatenate(tp_all) if tp_all else np.zeros(0, dtype=bool)
    order = np.argsort(-scores, kind="mergesort")  # all images' detections, best first
    return scores[order], tp[order], num_gt


def _pr(tp: np.ndarray, num_gt: int):
    """Recall, raw precision, and the interpolated precision at the 101 recall points."""
    tp_sum = np.cumsum(tp).astype(float)
    fp_sum = np.cumsum(~tp).astype(float)
    recall = tp_sum / num_gt
    precision = tp_sum / (tp_sum + fp_sum + np.spacing(1))
    envelope = (
        np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    )  # max to the right
    idx = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")  # first detection reaching each recall
    interpolated = np.zeros(len(RECALL_THRESHOLDS))  # recall never reached -> precision 0
    reached = idx < len(envelope)
    interpolated[reached] = envelope[idx[reached]]
    return recall, precision, interpolated


def precision_recall_curve(
    predictions: list[dict[str, Tensor]],
    targets: list[dict[str, Tensor]],
    *,
    label: int,
    iou_threshold: float = 0.5,
    max_detections: int = 100,
) -> dict:
    """Precision-recall curve of one class, from the same matching as :func:`detection_ap`.

    Args:
        predictions, targets: as in :func:`detection_ap`.
        label: the class.
        iou_threshold, max_detections: as in :func:`detection_ap`.

    Returns:
        dict with ``"recall"``, ``"precision"``, ``"scores"`` (Tensor[D], one point per detection,
        best first), ``"interpolated"`` (Tensor[101]: monotone precision at ``"recall_thresholds"``),
        ``"ap"`` (float, the mean of ``"interpolated"``; nan without ground truth) and ``"num_gt"``.
    """
    _check_inputs(predictions, targets)
    label = check_int(label, "label", low=None)
    check_probability(iou_threshold, "iou_threshold")
    check_int(max_detections, "max_detections", low=1)  # a negative count would slice from the end
    scores, tp, num_gt = _match_class(predictions, targets, label, iou_threshold, max_detections)
    if num_gt == 0:
        nan = torch.full((len(tp),), float("nan"), dtype=torch.float64)
        return {
            "recall": nan,
            "precision": nan,
            "scores": torch.from_numpy(scores),
            "ap": float("nan"),
            "interpolated": torch.zeros(101, dtype=torch.float64),
            "recall_thresholds": torch.from_numpy(RECALL_THRESHOLDS.copy()),
            "num_gt": 0,
        }
    recall, precision, interpolated = _pr(tp, num_gt)
    return {
        "recall": torch.from_numpy(recall),
        "precision": torch.from_numpy(precision),
        "scores": torch.from_numpy(scores),
        "interpolated": torch.from_numpy(interpolated),
        "recall_thresholds": torch.from_numpy(RECALL_THRESHOLDS.copy()),
        "ap": float(interpolated.mean()),
        "num_gt": num_gt,
    }


def detection_ap(
    predictions: list[dict[str, Tensor]],
    targets: list[dict[str, Tensor]],
    iou_threshold: float = 0.5,
    *,
    max_detections: int = 100,
) -> dict:
    """Mean average precision at one IoU threshold, as COCOeval (``iouThrs=[iou_threshold]``).

    Args:
        predictions: one dict per image with ``"boxes"`` (Tensor[N, 4] xyxy), ``"scores"``
            (Tensor[N]) and ``"labels"`` (Tensor[N] int), torchvision's detection output format.
        targets: one dict per image with ``"boxes"`` (Tensor[M, 4] xyxy) and ``"labels"`` (Tensor[M]).
        iou_threshold: a detection is a true positive when its IoU with an unmatched ground-truth
            box of its class is >= this (0.5: PASCAL VOC's "mAP@0.5").
        max_detections: detections counted per image and class, best first (COCO: 100).

    Returns:
        dict: ``"map"`` (float, mean over classes with ground truth; nan if there are none) and
        ``"ap_per_class"`` ({label: AP} for every class with ground truth).
    """
    _check_inputs(predictions, targets)
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    if not isinstance(max_detections, int) or isinstance(max_detections, bool) or max_detections < 1:
        raise ValueError(f"max_detections must be a positive int, got {max_detections!r}")
    check_probability(iou_threshold, "iou_threshold")
    gt_labels = sorted({int(v) for t in targets for v in torch.as_tensor(t["labels"]).tolist()})
    ap_per_class = {}
    for label in gt_labels:
        _, tp, num_gt = _match_class(predictions, targets, label, iou_threshold, max_detections)
        ap_per_class[label] = float(_pr(tp, num_gt)[2].mean())
    mean = float(np.mean(list(ap_per_class.values()))) if ap_per_class else float("nan")
    return {"map": mean, "ap_per_class": ap_per_class}


def bootstrap_map(
    predictions: list[dict[str, Tensor]],
    targets: list[dict[str, Tensor]],
    iou_threshold: float = 0.5,
    *,
    max_detections: int = 100,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict:
    """:func:`detection_ap`'s mAP with a percentile bootstrap interval over *images*.

    Each bootstrap sample draws ``len(targets)`` images with replacement and recomputes the mAP
    exactly as :func:`detection_ap` would on that list of images (a detection is matched within
    its own image, so each image's true/false positives are computed once and reweighted). The
    resampled images depend only on ``seed`` and the number of images: two detectors scored with
    the same seed on the same test set share their resamples, so ``samples_a - samples_b`` is the
    paired bootstrap of their difference.

    Args:
        predictions, targets, iou_threshold, max_detections: as in :func:`detection_ap`.
        n_boot: bootstrap samples. level: coverage of the interval (0.95: 2.5th-97.5th percentile).
        seed: the resampling seed (``numpy.random.default_rng``).

    Returns:
        dict: ``"map"`` (the mAP on all images), ``"low"``, ``"high"`` (the interval) and
        ``"samples"`` (np.ndarray[n_boot], the mAP of each resample).
    """
    _check_inputs(predictions, targets)
    if not isinstance(n_boot, int) or isinstance(n_boot, bool) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    check_probability(iou_threshold, "iou_threshold")
    check_int(max_detections, "max_detections", low=1)
    n_images = len(targets)
    if n_images == 0:
        raise ValueError("bootstrap_map needs at least one image, got 0")
    draws = np.random.default_rng(seed).multinomial(n_images, np.full(n_images, 1.0 / n_images), size=n_boot)
    counts = np.vstack([np.ones((1, n_images), dtype=draws.dtype), draws])  # row 0: the test set itself
    gt_labels = sorted({int(v) for t in targets for v in torch.as_tensor(t["labels"]).tolist()})
    ap = np.full((n_boot + 1, len(gt_labels)), np.nan)
    for k, label in enumerate(gt_labels):
        tp, image_idx, gt_per_image = [], [], np.zeros(n_images)
        for i in range(n_images):  # match each image alone: [pred_i], [target_i]
            scores_i, tp_i, gt_i = _match_class(
                [predictions[i]], [targets[i]], label, iou_threshold, max_detections
            )
            tp.append((scores_i, tp_i))
            image_idx.append(np.full(len(tp_i), i))
            gt_per_image[i] = gt_i
        scores = np.concatenate([s for s, _ in tp]) if tp else np.zeros(0)
        flags = np.concatenate([f for _, f in tp]).astype(float) if tp else np.zeros(0)
        owner = np.concatenate(image_idx) if image_idx else np.zeros(0, dtype=int)
        order = np.argsort(-scores, kind="mergesort")  # one global order serves every resample
        flags, owner = flags[order], owner[order]
        num_gt = counts @ gt_per_image  # (n_boot,)
        for start in range(0, n_boot + 1, 200):  # chunks keep the (chunk, D) arrays small
            w = counts[start : start + 200][:, owner]  # (b, D): copies of each detection
            tp_sum, fp_sum = np.cumsum(w * flags, axis=1), np.cumsum(w * (1 - flags), axis=1)
            for b in range(len(w)):
                if num_gt[start + b] == 0:
                    continue  # class absent from this resample: left out of its mean, as in detection_ap
                recall = tp_sum[b] / num_gt[start + b]
                precision = tp_sum[b] / (tp_sum[b] + fp_sum[b] + np.spacing(1))
                envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
                idx = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
                reached = idx < len(envelope)
                ap[start + b, k] = envelope[idx[reached]].sum() / len(RECALL_THRESHOLDS)
    present = ~np.isnan(ap)  # a resample without any ground truth has no mAP (nan), as detection_ap
    total = np.where(present, ap, 0.0).sum(axis=1)
    maps = np.where(present.any(axis=1), total / np.maximum(present.sum(axis=1), 1), np.nan)
    point, samples = float(maps[0]), maps[1:]
    tail = (1.0 - level) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return {"map": point, "low": float(low), "high": float(high), "samples": samples}
