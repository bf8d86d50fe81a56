"""Tests for lecture_lib.datasets.glyphs and lecture_lib.datasets.transfer_full (notebook 02)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import torch
import torchvision
from sklearn.datasets import load_digits

from lecture_lib.data import OfflineError
from lecture_lib.datasets import glyphs, transfer_full


def test_glyphs_look_like_nist_digits():
    t = glyphs.glyph_templates(12, seed=0)
    assert t.ctrl.shape == (12, 3, 4, 2) and t.mask.shape == (12, 3) and t.mask[:, 0].all()
    img8 = glyphs.render_glyphs(t, torch.arange(12).repeat(3), seed=1)
    assert img8.shape == (36, 1, 8, 8)
    # same value range and ink as scikit-learn's digits: integer counts 0..16 from 4x4 blocks
    assert img8.min() >= 0 and img8.max() == 16 and torch.equal(img8, img8.round())
    digits = torch.tensor(load_digits().images, dtype=torch.float32)
    ink, ink_digits = img8.mean().item(), digits.mean().item()
    assert 0.4 * ink_digits < ink < 2.0 * ink_digits


def test_glyph_dataset_deterministic_and_seeded():
    x, y = glyphs.glyph_dataset(5, 4, seed=0)
    x2, y2 = glyphs.glyph_dataset(5, 4, seed=0)
    x3, _ = glyphs.glyph_dataset(5, 4, seed=1)
    assert x.shape == (20, 1, 16, 16) and torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(x, x3)  # new drawings ...
    assert y.tolist() == [c for c in range(5) for _ in range(4)]  # ... of the same classes
    assert 0 <= x.min() and x.max() <= 1


def test_glyph_classes_differ_more_than_drawings():
    x, y = glyphs.glyph_dataset(10, 10, seed=0, size=16)
    flat = x.flatten(1)
    d = torch.cdist(flat, flat)
    same = d[y[:, None] == y[None, :]].mean()
    other = d[y[:, None] != y[None, :]].mean()
    assert same < other


def test_digits_dataset_and_views():
    x, y = glyphs.digits_dataset()
    assert x.shape == (1797, 1, 16, 16) and y.shape == (1797,) and set(y.tolist()) == set(range(10))
    assert 0 <= x.min() and x.max() <= 1
    # without jitter the view is the plain bilinear upsampling of count / 16
    img8 = torch.tensor(load_digits().images[:5], dtype=torch.float32)[:, None]
    plain = glyphs.random_view(img8, max_rotation=0, max_shift=0, scale=(1.0, 1.0))
    want = torch.nn.functional.interpolate(img8 / 16, size=(16, 16), mode="bilinear", align_corners=False)
    torch.testing.assert_close(plain, want.clamp(0, 1), atol=1e-5, rtol=0)
    assert glyphs.random_view(img8[:0]).shape == (0, 1, 16, 16)


def test_bad_inputs():
    t = glyphs.glyph_templates(3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got \[0, 5\]"):
        glyphs.render_glyphs(t, torch.tensor([0, 5]))
    with pytest.raises(ValueError, match=r"Tensor\[N, 1, H, W\], got shape \(8, 8\)"):
        glyphs.random_view(torch.zeros(8, 8))
    with pytest.raises(TypeError, match="num_classes must be an int, got float"):
        glyphs.glyph_templates(2.5)
    with pytest.raises(ValueError, match="per_class must be >= 1, got 0"):
        glyphs.glyph_dataset(3, 0)
    with pytest.raises(ValueError, match="templates hold 3 classes, num_classes is 4"):
        glyphs.glyph_dataset(4, 2, templates=t)
    assert glyphs.render_glyphs(t, torch.zeros(0, dtype=torch.long)).shape == (0, 1, 8, 8)


@pytest.mark.parametrize("seed", range(4))
def test_per_class_indices(seed):
    y = torch.tensor([0] * 5 + [1] * 3 + [2] * 7)
    idx = glyphs.per_class_indices(y, 3, seed=seed)
    assert torch.bincount(y[idx]).tolist() == [3, 3, 3] and len(set(idx.tolist())) == 9
    assert torch.equal(idx, glyphs.per_class_indices(y, 3, seed=seed))
    assert torch.equal(glyphs.per_class_indices(y, None, seed=seed), torch.arange(15))
    sub = glyphs.per_class_indices(y, 1, seed=seed, candidates=torch.tensor([1, 2, 9, 10, 14]))
    assert set(sub.tolist()) <= {1, 2, 9, 10, 14} and sorted(y[sub].tolist()) == [0, 2]
    with pytest.raises(ValueError, match="class 1 has only 3 examples, asked for per_class=4"):
        glyphs.per_class_indices(y, 4)


# ------------------------------------------------------------------------------ full profile
class FakeCaltech(torchvision.datasets.FakeData):
    """Stands in for torchvision.datasets.Caltech256 (offline): same constructor, ``y`` and ``categories``."""

    def __init__(self, root, download, transform=None):
        super().__init__(size=40, image_size=(3, 40, 30), num_classes=4, transform=transform,
                         random_offset=0)
        self.y = [i % 4 for i in range(40)]
        self.categories = ["ant", "bee", "cat", "dog"]

    def __getitem__(self, index):
        img, _ = super().__getitem__(index)
        return img, index % 4


def test_full_profile_path_offline_with_fakes(tmp_path):
    model, weights = transfer_full.imagenet_resnet("resnet18", weights=False)
    ds = transfer_full.target_dataset("Caltech256", weights=weights, root=tmp_path, dataset_cls=FakeCaltech)
    assert transfer_full.class_names(ds) == ["ant", "bee", "cat", "dog"]
    assert transfer_full.dataset_labels(ds).tolist() == [i % 4 for i in range(40)]
    train_x, train_y, test_x, test_y = transfer_full.split_tensors(ds, train_per_class=6, test_per_class=2)
    assert train_x.shape == (24, 3, 224, 224) and train_x.dtype == torch.float16 and test_x.shape[0] == 8
    assert torch.bincount(train_y).tolist() == [6] * 4 and torch.bincount(test_y).tolist() == [2] * 4
    from lecture_lib import transfer

    feats = transfer.extract_features(model, test_x[:3])
    assert feats.shape == (3, 512)
    assert len(weights.meta["categories"]) == 1000  # ImageNet labels ship with torchvision, no download
    with pytest.raises(ValueError, match="fewer than 2 classes have 50 images"):
        transfer_full.split_tensors(ds, train_per_class=40, test_per_class=10)


def test_full_profile_without_network_one_clear_error(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(OfflineError, match="Could not get Caltech256.*CaltechDATA"):
        transfer_full.target_dataset("Caltech256", root=tmp_path / "data")
    with pytest.raises(OfflineError, match="Could not download pretrained weights"):
        transfer_full.imagenet_resnet("resnet18")
    with pytest.raises(ValueError, match="target must be one of"):
        transfer_full.target_dataset("ImageNet")
    with pytest.raises(ValueError, match="torchvision ResNet name"):
        transfer_full.imagenet_resnet("vgg16")
