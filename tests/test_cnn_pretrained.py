"""lecture_lib.cnn.pretrained: torchvision classifiers offline (weights=None), one OfflineError offline."""

import urllib.error

import numpy as np
import pytest
import torch
import torchvision

from lecture_lib.cnn import activation_maps
from lecture_lib.cnn.pretrained import image_transform, imagenet_classifier
from lecture_lib.data import OfflineError


def test_random_weights_offline_and_the_explorer_path():
    model, entry = imagenet_classifier("resnet18", weights=None)
    assert not model.training and entry == torchvision.models.ResNet18_Weights.DEFAULT
    image = np.random.default_rng(0).integers(0, 256, (120, 90, 3), dtype=np.uint8)
    x = image_transform(entry)(image)
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    assert activation_maps(model, "layer4", x).shape == (1, 512, 7, 7)


def test_weights_names_are_checked():
    with pytest.raises(
        TypeError, match=r"weights must be 'DEFAULT', None or one of \['IMAGENET1K_V1'.*got bool True"
    ):
        imagenet_classifier("resnet18", weights=True)
    with pytest.raises(ValueError, match="weights must be 'DEFAULT', None or one of.*got 'IMAGENET'"):
        imagenet_classifier("resnet18", weights="IMAGENET")
    with pytest.raises(ValueError, match="arch must be a torchvision classifier name.*got 'resnet7'"):
        imagenet_classifier("resnet7", weights=None)
    with pytest.raises(ValueError, match=r"RGB array \[H, W, 3\], got shape \(4, 4\)"):
        image_transform(torchvision.models.ResNet18_Weights.DEFAULT)(np.zeros((4, 4), dtype=np.uint8))


def test_without_network_one_clear_error(monkeypatch):
    def offline(**kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.models, "resnet18", offline)
    with pytest.raises(OfflineError, match="Could not download pretrained weights"):
        imagenet_classifier("resnet18", weights="IMAGENET1K_V1")
