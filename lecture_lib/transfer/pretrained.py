"""Full profile of 02_transfer_learning.ipynb: torchvision's ImageNet-pretrained ResNet and
Caltech-256 (the slide's experiment), with Flowers-102 or Oxford-IIIT Pet as fallback targets when
Caltech's download host is unreachable.

Downloads go through ``lecture_lib.data`` so that a missing network ends in one ``OfflineError``.
``weights`` follows torchvision: ``"DEFAULT"``, a weights name, or ``None`` (random, no download).
"""

from __future__ import annotations

import os
from functools import partial

import torch
import torchvision
from torch import Tensor, nn

from lecture_lib.cnn.pretrained import imagenet_classifier
from lecture_lib.data import OfflineError, full_profile_dataset
from lecture_lib.transfer.experiment import TransferTask, per_class_indices

# target name -> constructor kwargs besides root/download/transform
TARGETS = {"Caltech256": {}, "Flowers102": {"split": "test"}, "OxfordIIITPet": {"split": "trainval"}}


RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


def imagenet_resnet(arch: str = "resnet18", *, weights: str | None = "DEFAULT") -> tuple[nn.Module, object]:
    """torchvision ResNet ``arch`` with ImageNet weights ``weights`` (``"DEFAULT"``, a weights name
    such as ``"IMAGENET1K_V1"``, or ``None``: random init, no download -- what the offline tests use).

    Returns ``(model in eval mode, weights entry)``; ``entry.transforms()`` and
    ``entry.meta["categories"]`` need no download.
    """
    if arch not in RESNETS:
        raise ValueError(f"arch must be a torchvision ResNet name, one of {RESNETS}, got {arch!r}")
    return imagenet_classifier(arch, weights=weights)


def _to_rgb(image):
    return image.convert("RGB")  # Caltech-256 holds some grayscale and CMYK JPEGs


def target_dataset(
    name: str = "Caltech256", *, weights=None, root: str | os.PathLike | None = None, dataset_cls=None
):
    """The target dataset (downloaded if needed) with the pretrained network's preprocessing.

    Args:
        name: one of ``TARGETS``.
        weights: a torchvision weights enum; its ``transforms()`` preprocess every image.
        dataset_cls: override the torchvision class (tests pass a fake).

    Raises:
        lecture_lib.data.OfflineError: the download failed (one message, with a manual-download hint).
    """
    if name not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {name!r}")
    steps = [_to_rgb] + (
        [weights.transforms()] if weights is not None else [torchvision.transforms.ToTensor()]
    )
    cls = dataset_cls if dataset_cls is not None else getattr(torchvision.datasets, name)
    return full_profile_dataset(cls, root, transform=torchvision.transforms.Compose(steps), **TARGETS[name])


def dataset_labels(dataset) -> Tensor:
    """Labels of a torchvision classification dataset without decoding its images."""
    for attr in ("y", "_labels", "targets"):
        labels = getattr(dataset, attr, None)
        if labels is not None:
            return torch.as_tensor(list(labels), dtype=torch.long)
    return torch.as_tensor([int(dataset[i][1]) for i in range(len(dataset))], dtype=torch.long)


def class_names(dataset) -> list[str]:
    """Human-readable class names (``categories``/``classes``), else ``class 0``, ``class 1`` ..."""
    names = getattr(dataset, "categories", None) or getattr(dataset, "classes", None)
    if names:
        return [str(n) for n in names]
    return [f"class {i}" for i in range(int(dataset_labels(dataset).max()) + 1)]


def split_tensors(
    dataset, *, train_per_class: int, test_per_class: int, seed: int = 0, dtype: torch.dtype = torch.float16
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-class random split into a training pool and a test set, loaded as tensors.

    Classes with fewer than ``train_per_class + test_per_class`` images are dropped (and the
    labels re-numbered densely). Images are stored as ``dtype`` (float16 halves the memory).

    Returns:
        (train_x Tensor[N, 3, H, W], train_y Tensor[N], test_x Tensor[M, 3, H, W], test_y Tensor[M]).
    """
    labels = dataset_labels(dataset)
    need = train_per_class + test_per_class
    counts = torch.bincount(labels)
    keep = (counts >= need).nonzero().flatten()
    if keep.numel() < 2:
        raise ValueError(f"fewer than 2 classes have {need} images (train_per_class + test_per_class)")
    remap = torch.full((counts.numel(),), -1, dtype=torch.long)
    remap[keep] = torch.arange(keep.numel())
    candidates = (remap[labels] >= 0).nonzero().flatten()
    chosen = per_class_indices(labels, need, seed=seed, candidates=candidates)
    g = torch.Generator().manual_seed(seed)
    chosen = chosen[torch.randperm(chosen.numel(), generator=g)]
    test_idx = per_class_indices(labels, test_per_class, seed=seed, candidates=chosen)
    train_idx = chosen[~torch.isin(chosen, test_idx)].sort().values

    def load(indices: Tensor) -> tuple[Tensor, Tensor]:  # Tensor[K] of dataset indices
        xs = torch.stack([dataset[int(i)][0].to(dtype) for i in indices])
        return xs, remap[labels[torch.as_tensor(indices)]]

    return (*load(train_idx), *load(test_idx))


def imagenet_to_caltech(
    arch: str = "resnet18",
    *,
    weights: str | None = "DEFAULT",
    target: str = "Caltech256",
    fallback: str = "Flowers102",
    train_per_class: int = 30,
    test_per_class: int = 10,
):
    """Full profile of 02: the ImageNet ResNet and the target ``target`` (``fallback`` if its download
    fails), split per class into a training pool and a test set. Returns a ``TransferTask``."""
    source_net, entry = imagenet_resnet(arch, weights=weights)
    try:
        dataset = target_dataset(target, weights=entry)
    except OfflineError as exc:  # Caltech's links have broken before: fall back
        print(f"{exc}\nFalling back to {fallback}.")
        dataset = target_dataset(fallback, weights=entry)
    train_x, train_y, test_x, test_y = split_tensors(
        dataset, train_per_class=train_per_class, test_per_class=test_per_class
    )
    num_classes = int(train_y.max()) + 1
    names = class_names(dataset)
    if len(names) != num_classes:  # classes with too few images were dropped and renumbered
        names = [f"class {i}" for i in range(num_classes)]
    builder = torchvision.models.get_model_builder(arch)
    return TransferTask(
        source_net,
        train_x,
        train_y,
        test_x,
        test_y,
        names,
        partial(builder, weights=None, num_classes=num_classes),
        weights=entry,
    )
