"""Full profile of 04_segmentation.ipynb: pretrained torchvision segmenters and a real dataset.

torchvision's ``fcn_resnet50`` / ``deeplabv3_resnet50`` (VOC's 21 classes, trained on a COCO
subset) are evaluated with the same metrics as the small FCNs of the quick profile
(``lecture_lib.metrics.segmentation``, ``lecture_lib.metrics.segmentation.segmentation_confusions``).
Offline, ``load_segmenter(..., weights=None)`` builds the same architecture with
``weights=None, weights_backbone=None`` (no download), which is how the tests exercise this code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

from lecture_lib.data import full_profile_dataset
from lecture_lib.data import pretrained as fetch_pretrained
from lecture_lib.io import as_uint8
from lecture_lib.metrics.segmentation import iou_from_confusion, segmentation_confusions
from lecture_lib.weights import IMAGENET_MEAN, IMAGENET_STD, resolve_weights

__all__ = [
    "ARCHS",
    "VOC_CLASSES",
    "VOCSegmentationTensors",
    "evaluate_on_voc",
    "evaluate_segmenter",
    "load_segmenter",
    "pair_to_tensors",
    "segment",
]

VOC_CLASSES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)


def _builders() -> dict:
    from torchvision.models import segmentation as tvseg

    return {
        "fcn_resnet50": (tvseg.fcn_resnet50, tvseg.FCN_ResNet50_Weights),
        "deeplabv3_resnet50": (tvseg.deeplabv3_resnet50, tvseg.DeepLabV3_ResNet50_Weights),
    }


ARCHS = ("fcn_resnet50", "deeplabv3_resnet50")


def load_segmenter(
    arch: str = "fcn_resnet50", *, weights: str | None = "DEFAULT", num_classes: int = 21
) -> tuple[nn.Module, dict]:
    """A torchvision segmenter in eval mode and its metadata.

    Args:
        arch: ``"fcn_resnet50"`` or ``"deeplabv3_resnet50"``.
        weights: name of a torchvision weights entry (``"DEFAULT"``, ``"COCO_WITH_VOC_LABELS_V1"``),
            downloaded if needed (``lecture_lib.data.OfflineError`` with one clear message without
            network); ``None`` builds the model with ``weights=None, weights_backbone=None``
            (random weights, no download at all).
        num_classes: classes of the untrained model (the pretrained one has VOC's 21).

    Returns:
        (model, meta) with ``meta["categories"]`` (class names) and ``meta["weights"]`` (str or None).
    """
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    builder, weights_enum = _builders()[arch]
    meta: dict[str, Any]
    entry = resolve_weights(weights, weights_enum)
    if entry is not None:
        model = fetch_pretrained(builder, weights=entry)
        meta = {"categories": tuple(entry.meta["categories"]), "weights": str(entry)}
    else:
        model = builder(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False)
        names = VOC_CLASSES if num_classes == 21 else tuple(f"class {i}" for i in range(num_classes))
        meta = {"categories": names, "weights": None}
    return model.eval(), meta


def pair_to_tensors(image, mask=None, *, max_side: int | None = 520) -> tuple[Tensor, Tensor | None]:
    """(PIL image or HxWx3 uint8 array, optional PIL/array mask) -> (Tensor[3, H, W] in [0, 1],
    Tensor[H, W] int64).

    The image is resized so that its longer side is at most ``max_side`` (bilinear); the mask with
    nearest neighbour, so that VOC's 255 "void" borders stay 255. Float arrays must hold values in
    [0, 1] and uint16 arrays are scaled to 8 bits (``lecture_lib.io.as_uint8``), never wrapped.
    """
    img = torch.from_numpy(np.array(as_uint8(np.asarray(image)), dtype=np.uint8, copy=True))
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be RGB [H, W, 3], got shape {tuple(img.shape)}")
    img = img.permute(2, 0, 1).float() / 255
    target = None if mask is None else torch.from_numpy(np.array(mask, dtype=np.int64, copy=True))
    if target is not None and target.shape != img.shape[1:]:
        raise ValueError(f"mask {tuple(target.shape)} and image {tuple(img.shape[1:])} differ in size")
    h, w = img.shape[1:]
    if max_side is not None and max(h, w) > max_side:
        s = max_side / max(h, w)
        size = (max(1, round(h * s)), max(1, round(w * s)))
        img = F.interpolate(img[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]
        if target is not None:
            target = F.interpolate(target[None, None].float(), size=size, mode="nearest")[0, 0].long()
    return img, target


@torch.no_grad()
def segment(model: nn.Module, image: Tensor) -> Tensor:
    """Class scores Tensor[C, H, W] of one image Tensor[3, H, W] in [0, 1] (ImageNet normalisation)."""
    dev = next(model.parameters()).device
    mean = torch.tensor(IMAGENET_MEAN, device=dev)[:, None, None]
    std = torch.tensor(IMAGENET_STD, device=dev)[:, None, None]
    out = model(((image.to(dev) - mean) / std)[None])
    out = out["out"] if isinstance(out, dict) else out
    return out[0].cpu()


def evaluate_segmenter(
    model: nn.Module,
    pairs: Iterable,
    *,
    num_classes: int = 21,
    max_images: int | None = None,
    max_side: int | None = 520,
    width: int = 3,
    ignore_index: int = 255,
) -> dict:
    """Mean IoU (and the boundary-band mIoU) of ``model`` over ``(image, mask)`` pairs.

    The confusion matrices are accumulated over the whole dataset, as in the FCN paper.

    Returns:
        dict: ``"miou"``, ``"iou_per_class"``, ``"pixel_accuracy"`` (all pixels),
        ``"boundary_miou"`` (pixels within ``width`` px of a true edge) and ``"images"``.
    """
    cm_all = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    cm_band = torch.zeros_like(cm_all)
    n = 0
    for image, mask in pairs:
        if max_images is not None and n >= max_images:
            break
        img, target = pair_to_tensors(image, mask, max_side=max_side)
        if target is None:
            raise ValueError("evaluate_segmenter() needs (image, mask) pairs with a mask, got mask None")
        pred = segment(model, img).argmax(0)
        a, b = segmentation_confusions(
            pred[None], target[None], num_classes, width=width, ignore_index=ignore_index
        )
        cm_all += a
        cm_band += b
        n += 1
    if n == 0:
        raise ValueError("evaluate_segmenter() got no (image, mask) pairs")
    out = iou_from_confusion(cm_all)
    out["boundary_miou"] = iou_from_confusion(cm_band)["miou"]
    out["images"] = n
    return out


def evaluate_on_voc(
    archs: Iterable[str],
    *,
    weights: str | None = "DEFAULT",
    max_images: int | None = 300,
    device: torch.device | str = "cpu",
    root=None,
    dataset_cls=None,
) -> dict[str, dict]:
    """``{arch: evaluate_segmenter(...)}`` of each torchvision segmenter in ``archs`` on PASCAL VOC 2012
    val (downloaded into ``root`` if needed; nothing is loaded when ``archs`` is empty).

    ``dataset_cls`` overrides ``torchvision.datasets.VOCSegmentation`` (tests pass a fake).
    """
    archs = list(archs)
    if not archs:
        return {}
    if dataset_cls is None:
        dataset_cls = torchvision.datasets.VOCSegmentation
    voc = full_profile_dataset(dataset_cls, root, year="2012", image_set="val")
    results = {}
    for arch in archs:
        model, _ = load_segmenter(arch, weights=weights)
        results[arch] = evaluate_segmenter(model.to(device), voc, max_images=max_images)
    return results


class VOCSegmentationTensors(torch.utils.data.Dataset):
    """PASCAL VOC 2012 segmentation pairs for finetuning (``training.finetune_fcn``):
    ``(image Tensor[3, S, S] ImageNet-normalised, mask Tensor[S, S] int64, void = 255)``.

    Images are resized to ``size`` x ``size`` (bilinear, antialiased), masks with nearest neighbour;
    the dataset comes through ``lecture_lib.data.full_profile_dataset`` (``root``: default the cache).
    """

    def __init__(self, root=None, image_set: str = "train", size: int = 320):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        self.voc = full_profile_dataset(
            torchvision.datasets.VOCSegmentation, root, year="2012", image_set=image_set
        )
        self.size = size

    def __len__(self) -> int:
        return len(self.voc)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        to_tensor = torchvision.transforms.functional.pil_to_tensor
        image, mask = self.voc[i]
        side = (self.size, self.size)
        x = F.interpolate(to_tensor(image).float()[None] / 255, size=side, mode="bilinear", antialias=True)[0]
        m = F.interpolate(to_tensor(mask)[None].float(), size=side, mode="nearest")[0, 0].long()
        return torchvision.transforms.functional.normalize(x, IMAGENET_MEAN, IMAGENET_STD), m
