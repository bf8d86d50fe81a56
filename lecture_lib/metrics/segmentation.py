"""Semantic-segmentation metrics: confusion matrix, per-class IoU, mean IoU, pixel accuracy.

Used in 04_segmentation.ipynb (slides "Semantic Image Segmentation"). The definitions follow the
FCN paper's evaluation (Long, Shelhamer & Darrell, CVPR 2015, Sec. 5): with ``n_ij`` the number of
pixels of class ``i`` predicted as class ``j``,

    pixel accuracy = sum_i n_ii / sum_ij n_ij
    IoU_i          = n_ii / (sum_j n_ij + sum_j n_ji - n_ii)      (intersection over union)
    mean IU        = mean of IoU_i over the classes that occur (in the target or the prediction)

The confusion matrix is accumulated over the whole dataset before dividing (summing per-image
matrices, never averaging per-image IoUs): ``iou_from_confusion(sum of confusion_matrix(...)``).

Because mIoU is not a mean over images, its 95% interval resamples *images* and re-accumulates
their confusion matrices: ``image_confusions`` keeps one matrix per image, ``bootstrap_miou`` draws
the same images for two models and returns the paired difference of their mIoU as an ``Estimate``.

The boundary measure (``boundary_iou``, the "trimap" evaluation of DeepLab, Chen et al. 2015) is
the same mean IoU counted only on pixels within ``width`` px of a ground-truth edge: where a
coarse output goes wrong and skip connections help.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lecture_lib.checks import check_int, check_memory
from lecture_lib.claims import Estimate
from lecture_lib.metrics.bootstrap import bootstrap_statistic

__all__ = [
    "boundary_band",
    "boundary_iou",
    "bootstrap_miou",
    "check_label_maps",
    "confusion_matrix",
    "image_confusions",
    "iou_from_confusion",
    "mean_iou",
    "segmentation_confusions",
]


def check_label_maps(pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = 255) -> None:
    """Raise ``ValueError``/``TypeError`` unless ``pred`` and ``target`` are valid label maps.

    Args:
        pred (Tensor[B, H, W]): predicted class ids, integer dtype, values in ``[0, num_classes)``
            wherever the target is not ``ignore_index``.
        target (Tensor[B, H, W]): ground-truth class ids, integer dtype, values in
            ``[0, num_classes)`` or equal to ``ignore_index``.
        num_classes: number of classes ``C`` (>= 1).
        ignore_index: target value whose pixels are left out (VOC marks object borders 255).
    """
    try:  # NumPy and 0-d tensor ints are ints too
        num_classes = check_int(num_classes, "num_classes", low=1)
    except (TypeError, ValueError):
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}") from None
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
        raise ValueError(f"ignore_index must be an int or None, got {ignore_index!r}")
    for name, t in (("pred", pred), ("target", target)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of class ids, got {type(t).__name__}")
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
            raise ValueError(
                f"{name} must hold integer class ids (e.g. torch.int64), got dtype {t.dtype}; "
                "for scores [B, C, H, W] take .argmax(dim=1) first"
            )
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target must have the same shape [B, H, W], got pred {tuple(pred.shape)} "
            f"and target {tuple(target.shape)}"
        )
    valid = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    bad_t = valid & ((target < 0) | (target >= num_classes))
    if bad_t.any():
        v = int(target[bad_t][0])
        raise ValueError(
            f"target holds label {v}, expected values in [0, {num_classes}) or ignore_index={ignore_index}"
        )
    bad_p = valid & ((pred < 0) | (pred >= num_classes))
    if bad_p.any():
        v = int(pred[bad_p][0])
        raise ValueError(
            f"pred holds label {v} at a non-ignored pixel, expected values in [0, {num_classes})"
        )


def confusion_matrix(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = 255
) -> Tensor:
    """Pixel confusion matrix of a batch (sum over images and pixels).

    Args:
        pred (Tensor[B, H, W]): predicted class ids (integer dtype).
        target (Tensor[B, H, W]): ground-truth class ids; pixels equal to ``ignore_index`` are skipped.
        num_classes: ``C``.
        ignore_index: target value to skip (``None``: skip nothing).

    Returns:
        Tensor[C, C] (int64): ``cm[i, j]`` = number of pixels of true class ``i`` predicted as ``j``
        (rows = target, columns = prediction, as ``sklearn.metrics.confusion_matrix``). Add the
        matrices of several batches to accumulate over a dataset.
    """
    check_label_maps(pred, target, num_classes, ignore_index)
    num_classes = int(num_classes)
    check_memory(num_classes * num_classes * 8, f"a confusion matrix of num_classes = {num_classes}")
    t, p = target.reshape(-1).long(), pred.reshape(-1).long()
    if ignore_index is not None:
        keep = t != ignore_index
        t, p = t[keep], p[keep]
    flat = torch.bincount(t * num_classes + p, minlength=num_classes * num_classes)  # (C*C,)
    return flat.reshape(num_classes, num_classes).cpu()


def image_confusions(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = 255
) -> Tensor:
    """One confusion matrix per image: ``image_confusions(p, t, C).sum(0) == confusion_matrix(p, t, C)``.

    Args:
        pred (Tensor[B, H, W]), target (Tensor[B, H, W]): class ids, as ``confusion_matrix``.

    Returns:
        Tensor[B, C, C] (int64): ``cm[b, i, j]`` = pixels of image ``b`` of true class ``i``
        predicted as ``j`` (``ignore_index`` pixels skipped).
    """
    check_label_maps(pred, target, num_classes, ignore_index)
    num_classes, batch = int(num_classes), int(pred.shape[0])
    check_memory(
        batch * num_classes * num_classes * 8, f"{batch} confusion matrices of {num_classes} classes"
    )
    t, p = target.reshape(batch, -1).long(), pred.reshape(batch, -1).long()  # (B, HW)
    image = torch.arange(batch, device=t.device)[:, None].expand_as(t)
    keep = t != ignore_index if ignore_index is not None else torch.ones_like(t, dtype=torch.bool)
    flat = (image * num_classes + t) * num_classes + p
    counts = torch.bincount(flat[keep], minlength=batch * num_classes * num_classes)
    return counts.reshape(batch, num_classes, num_classes).cpu()


def _miou(cm: np.ndarray) -> float:
    inter = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - inter
    present = union > 0
    return float((inter[present] / union[present]).mean()) if present.any() else math.nan


def bootstrap_miou(
    confusions_a: Tensor,
    confusions_b: Tensor | None = None,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    item: str = "images",
) -> Estimate:
    """mIoU of model A (minus model B's) with a percentile interval over resampled images.

    Each resample draws ``B`` images with replacement, the *same* ones for both models, sums
    their confusion matrices and computes each mIoU from the sum (as the dataset's mIoU is).

    Args:
        confusions_a (Tensor[B, C, C]): ``image_confusions`` of model A on the test images.
        confusions_b (Tensor[B, C, C], optional): model B on the same images, in the same order.
        n_resamples, level, seed, item: as ``metrics.bootstrap_statistic``.

    Returns:
        Estimate: point = the mIoU (difference) on all images; one training seed.
    """
    mats = []
    for name, cm in (("confusions_a", confusions_a), ("confusions_b", confusions_b)):
        if cm is None:
            continue
        if not isinstance(cm, Tensor) or cm.ndim != 3 or cm.shape[1] != cm.shape[2] or cm.shape[0] == 0:
            raise ValueError(
                f"{name} must be a Tensor[B, C, C] of per-image confusion matrices (image_confusions), "
                f"got {getattr(cm, 'shape', type(cm).__name__)}"
            )
        if cm.dtype.is_floating_point or (cm < 0).any():
            raise ValueError(f"{name} must hold non-negative integer pixel counts, got dtype {cm.dtype}")
        mats.append(cm.numpy().astype(np.int64))
    if len(mats) == 2 and mats[0].shape != mats[1].shape:
        raise ValueError(
            f"confusions_a and confusions_b must be paired (same images and classes), "
            f"got {mats[0].shape} and {mats[1].shape}"
        )

    def statistic(idx: np.ndarray) -> float:
        values = [_miou(m[idx].sum(0)) for m in mats]
        return values[0] - values[1] if len(values) == 2 else values[0]

    return bootstrap_statistic(
        statistic, mats[0].shape[0], n_resamples=n_resamples, level=level, seed=seed, item=item
    )


def iou_from_confusion(cm: Tensor) -> dict:
    """Per-class IoU, mean IoU and pixel accuracy from a (dataset-accumulated) confusion matrix.

    Args:
        cm (Tensor[C, C]): counts, rows = target, columns = prediction (``confusion_matrix``).

    Returns:
        dict with ``"miou"`` (float, mean over classes whose union is non-empty; NaN if none),
        ``"iou_per_class"`` (Tensor[C] float64, NaN where the class is in neither target nor
        prediction), ``"pixel_accuracy"`` (float, NaN for zero pixels) and ``"confusion"`` (the input).
    """
    if not isinstance(cm, Tensor):
        raise TypeError(f"cm must be a torch.Tensor [C, C], got {type(cm).__name__}")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"cm must be a square matrix [C, C] with C >= 1, got shape {tuple(cm.shape)}")
    if cm.dtype.is_floating_point and not torch.isfinite(cm).all():
        raise ValueError("cm must hold finite counts")
    if (cm < 0).any():
        raise ValueError("cm must hold non-negative counts")
    cm = cm.double()
    inter = cm.diag()  # (C,) true positives
    union = cm.sum(dim=1) + cm.sum(dim=0) - inter  # (C,) target + predicted - both
    iou = torch.where(union > 0, inter / union.clamp(min=1e-300), torch.full_like(inter, math.nan))
    present = ~torch.isnan(iou)
    miou = float(iou[present].mean()) if present.any() else math.nan
    total = float(cm.sum())
    acc = float(inter.sum()) / total if total > 0 else math.nan
    return {"miou": miou, "iou_per_class": iou, "pixel_accuracy": acc, "confusion": cm.long()}


def mean_iou(pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = 255) -> dict:
    """Mean IoU, per-class IoU and pixel accuracy of predicted label maps.

    Args:
        pred (Tensor[B, H, W]): predicted class ids (integer dtype).
        target (Tensor[B, H, W]): ground-truth class ids (``ignore_index`` pixels are skipped).
        num_classes: ``C``.
        ignore_index: target value to skip.

    Returns:
        dict: ``"miou"``, ``"iou_per_class"`` (Tensor[C], NaN for classes absent from both maps),
        ``"pixel_accuracy"``, ``"confusion"`` — see ``iou_from_confusion``.
    """
    return iou_from_confusion(confusion_matrix(pred, target, num_classes, ignore_index))


def boundary_band(target: Tensor, width: int = 3) -> Tensor:
    """Pixels within ``width`` pixels (Chebyshev distance) of a label change in ``target``.

    Args:
        target (Tensor[B, H, W]): class ids.

    Returns:
        Tensor[B, H, W] bool: True in the band around every edge between two labels.
    """
    if target.ndim != 3:
        raise ValueError(f"target must be [B, H, W], got shape {tuple(target.shape)}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 0:
        raise ValueError(f"width must be an int >= 0, got {width!r}")
    edge = torch.zeros_like(target, dtype=torch.bool)
    dy = target[:, 1:, :] != target[:, :-1, :]  # (B, H-1, W) a change between rows r and r+1
    dx = target[:, :, 1:] != target[:, :, :-1]  # (B, H, W-1)
    edge[:, 1:, :] |= dy
    edge[:, :-1, :] |= dy
    edge[:, :, 1:] |= dx
    edge[:, :, :-1] |= dx
    if width == 0:
        return edge
    grown = F.max_pool2d(edge[:, None].float(), 2 * width + 1, stride=1, padding=width)
    return grown[:, 0] > 0


def boundary_iou(
    pred: Tensor, target: Tensor, num_classes: int, *, width: int = 3, ignore_index: int = 255
) -> dict:
    """mIoU counted only on pixels within ``width`` px of a ground-truth edge ("trimap" IoU).

    Returns ``iou_from_confusion`` of the band pixels (keys ``miou``, ``iou_per_class``, ...).
    """
    return iou_from_confusion(
        segmentation_confusions(pred, target, num_classes, width=width, ignore_index=ignore_index)[1]
    )


def segmentation_confusions(
    pred: Tensor,
    target: Tensor,
    num_classes: int,
    *,
    width: int = 3,
    ignore_index: int = 255,
    per_image: bool = False,
) -> tuple[Tensor, Tensor]:
    """Confusion matrices ``(all pixels, boundary band only)``, each Tensor[C, C]; sum them over a
    dataset and pass each to ``iou_from_confusion``. ``per_image=True``: each Tensor[B, C, C], one
    matrix per image (``image_confusions``), for ``bootstrap_miou``."""
    check_label_maps(pred, target, num_classes, ignore_index)
    band_target = torch.where(boundary_band(target, width), target, torch.full_like(target, ignore_index))
    count = image_confusions if per_image else confusion_matrix
    return (
        count(pred, target, num_classes, ignore_index),
        count(pred, band_target, num_classes, ignore_index),
    )
