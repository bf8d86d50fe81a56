"""lecture_lib.transfer.pretrained: the full profile offline (weights=None, fake data), one OfflineError."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import torch
import torchvision

from lecture_lib import transfer
from lecture_lib.data import OfflineError
from lecture_lib.transfer import pretrained


# ------------------------------------------------------------------------------ full profile
class FakeCaltech(torchvision.datasets.FakeData):
    """Stands in for torchvision.datasets.Caltech256 (offline): same constructor, ``y`` and ``categories``."""

    def __init__(self, root, download, transform=None):
        super().__init__(size=40, image_size=(3, 40, 30), num_classes=4, transform=transform, random_offset=0)
        self.y = [i % 4 for i in range(40)]
        self.categories = ["ant", "bee", "cat", "dog"]

    def __getitem__(self, index):
        img, _ = super().__getitem__(index)
        return img, index % 4


def test_full_profile_path_offline_with_fakes(tmp_path):
    model, weights = pretrained.imagenet_resnet("resnet18", weights=None)
    ds = pretrained.target_dataset("Caltech256", weights=weights, root=tmp_path, dataset_cls=FakeCaltech)
    assert pretrained.class_names(ds) == ["ant", "bee", "cat", "dog"]
    assert pretrained.dataset_labels(ds).tolist() == [i % 4 for i in range(40)]
    train_x, train_y, test_x, test_y = pretrained.split_tensors(ds, train_per_class=6, test_per_class=2)
    assert train_x.shape == (24, 3, 224, 224) and train_x.dtype == torch.float16 and test_x.shape[0] == 8
    assert torch.bincount(train_y).tolist() == [6] * 4 and torch.bincount(test_y).tolist() == [2] * 4
    feats = transfer.extract_features(model, test_x[:3])
    assert feats.shape == (3, 512)
    assert len(weights.meta["categories"]) == 1000  # ImageNet labels ship with torchvision, no download
    with pytest.raises(ValueError, match="fewer than 2 classes have 50 images"):
        pretrained.split_tensors(ds, train_per_class=40, test_per_class=10)


def test_full_profile_without_network_one_clear_error(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(OfflineError, match="Could not get Caltech256.*CaltechDATA"):
        pretrained.target_dataset("Caltech256", root=tmp_path / "data")
    with pytest.raises(OfflineError, match="Could not download pretrained weights"):
        pretrained.imagenet_resnet("resnet18")
    with pytest.raises(ValueError, match="target must be one of"):
        pretrained.target_dataset("ImageNet")
    with pytest.raises(ValueError, match="torchvision ResNet name"):
        pretrained.imagenet_resnet("vgg16")


def test_imagenet_to_caltech_falls_back_when_caltech_is_offline(monkeypatch, capsys):
    real_target_dataset = pretrained.target_dataset

    def fake_target(name, *, weights=None, root=None, dataset_cls=None):
        if name == "Caltech256":
            raise OfflineError("Could not get Caltech256 (host down).")
        return real_target_dataset("Caltech256", weights=weights, root=root, dataset_cls=FakeCaltech)

    monkeypatch.setattr(pretrained, "target_dataset", fake_target)
    task = pretrained.imagenet_to_caltech(weights=None, train_per_class=6, test_per_class=2)
    assert task.num_classes == 4 and task.class_names == ["ant", "bee", "cat", "dog"]
    assert task.train_x.shape == (24, 3, 224, 224) and task.test_y.tolist().count(0) == 2
    assert task.make_model().fc.out_features == 4 and task.weights is not None
    assert "Falling back to Flowers102" in capsys.readouterr().out
