"""Full profile of 01_cnn_recap.ipynb (and 02's source network): torchvision's ImageNet classifiers.

One signature, torchvision's: ``weights="DEFAULT"`` (or a weights name such as
``"IMAGENET1K_V1"``, or ``None`` for random weights and no download at all -- what the offline
tests use). A missing network ends in one ``lecture_lib.data.OfflineError``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torchvision
from torch import Tensor, nn

from lecture_lib.data import pretrained
from lecture_lib.weights import resolve_weights

__all__ = ["image_transform", "imagenet_classifier"]


def imagenet_classifier(
    arch: str = "resnet18", *, weights: str | None = "DEFAULT"
) -> tuple[nn.Module, object]:
    """A torchvision ImageNet classifier in eval mode, and its weights entry.

    Args:
        arch: a ``torchvision.models`` classifier name (``"resnet18"``, ``"vgg16"``, ...).
        weights: ``"DEFAULT"``, a weights name of ``arch`` (``"IMAGENET1K_V1"``), or ``None``
            (random initialisation, nothing downloaded).

    Returns:
        ``(model, entry)``: ``entry`` is the weights entry used (``DEFAULT``'s when ``weights=None``);
        its ``transforms()`` and ``meta["categories"]`` need no download.
    """
    if not isinstance(arch, str) or arch not in torchvision.models.list_models(torchvision.models):
        raise ValueError(f"arch must be a torchvision classifier name like 'resnet18', got {arch!r}")
    enum = torchvision.models.get_model_weights(arch)
    chosen = resolve_weights(weights, enum)
    entry = enum.DEFAULT if chosen is None else chosen
    builder = getattr(torchvision.models, arch)
    model = builder(weights=None) if chosen is None else pretrained(builder, weights=entry)
    return model.eval(), entry


def image_transform(entry, device: torch.device | str = "cpu") -> Callable[[np.ndarray], Tensor]:
    """``image (H x W x 3 uint8) -> Tensor[1, 3, h, w]``, preprocessed as ``entry`` (weights) expects."""
    preprocess = entry.transforms()

    def transform(image: np.ndarray) -> Tensor:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be an RGB array [H, W, 3], got shape {image.shape}")
        return preprocess(torch.as_tensor(image).permute(2, 0, 1))[None].to(device)

    return transform
