"""lecture_lib.datasets.digits: the fixed scikit-learn split, loaders, and the MNIST path (faked)."""

from __future__ import annotations

import urllib.error
from collections import Counter

import pytest
import torch
import torchvision

from lecture_lib.data import OfflineError
from lecture_lib.datasets import digits


def test_split_shapes_range_and_stratification():
    split = digits.load_digits_split()
    assert split.x_train.shape == (1437, 1, 8, 8) and split.x_test.shape == (360, 1, 8, 8)
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert 0.0 <= float(split.x_train.min()) and float(split.x_train.max()) <= 1.0
    counts = torch.bincount(split.y_test, minlength=10)
    assert int(counts.min()) >= 35 and int(counts.max()) <= 37  # ~36 of each digit


def test_split_is_fixed_and_seed_dependent():
    a, b = digits.load_digits_split(), digits.load_digits_split()
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    c = digits.load_digits_split(seed=1)
    assert not torch.equal(a.y_test, c.y_test)


def test_upscale_is_nearest_neighbour():
    small, big = digits.load_digits_split(), digits.load_digits_split(upscale=2)
    assert big.x_test.shape == (360, 1, 16, 16)
    expected = torch.nn.functional.interpolate(small.x_test, scale_factor=2, mode="nearest")
    torch.testing.assert_close(big.x_test, expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"test_size must be a float in \(0, 1\), got 1.5"):
        digits.load_digits_split(test_size=1.5)
    with pytest.raises(ValueError, match="upscale must be an int >= 1, got 0"):
        digits.load_digits_split(upscale=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        digits.tensor_loaders(digits.load_digits_split(), batch_size=0)


def test_loaders_are_deterministic():
    split = digits.load_digits_split()
    first = next(iter(digits.tensor_loaders(split, batch_size=32, seed=3)[0]))
    again = next(iter(digits.tensor_loaders(split, batch_size=32, seed=3)[0]))
    assert first[0].shape == (32, 1, 8, 8) and torch.equal(first[1], again[1])
    test_loader = digits.tensor_loaders(split)[1]
    assert sum(len(b[1]) for b in test_loader) == 360


class _FakeMNIST(torchvision.datasets.FakeData):
    calls: list[dict] = []

    def __init__(self, root, train, transform, download):
        _FakeMNIST.calls.append({"root": root, "train": train, "download": download})
        if not download:  # as torchvision when the files are not there yet
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        super().__init__(
            size=20 if train else 10, image_size=(1, 28, 28), num_classes=10, transform=transform
        )


def test_mnist_goes_through_torchvision_with_download(monkeypatch, tmp_path):
    _FakeMNIST.calls.clear()
    monkeypatch.setattr(torchvision.datasets, "MNIST", _FakeMNIST)
    train, test = digits.mnist_loaders(tmp_path, batch_size=8)
    x, y = next(iter(train))
    assert x.shape == (8, 1, 28, 28) and x.dtype == torch.float32 and y.shape == (8,)
    # each split: first without download (use what is on disk), then with it
    assert [(c["train"], c["download"]) for c in _FakeMNIST.calls] == [
        (True, False),
        (True, True),
        (False, False),
        (False, True),
    ]
    assert all(c["root"] == str(tmp_path) for c in _FakeMNIST.calls)
    assert len(test.dataset) == 10


def test_mnist_offline_gives_one_clear_error(monkeypatch, tmp_path):
    def offline(**kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    offline.__name__ = "MNIST"
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(OfflineError, match="Could not get MNIST.*quick profile"):
        digits.load_mnist(tmp_path, train=True)


def test_by_name_helpers_equal_the_explicit_calls(monkeypatch, tmp_path):
    train, _ = digits.digit_loaders("sklearn-digits", batch_size=32)
    ref, _ = digits.tensor_loaders(digits.load_digits_split(upscale=2, seed=0), batch_size=32, seed=0)
    (xa, ya), (xb, yb) = next(iter(train)), next(iter(ref))
    assert torch.equal(xa, xb) and torch.equal(ya, yb) and xa.shape[-1] == 16
    x, y = digits.training_tensors("sklearn-digits")
    split = digits.load_digits_split(seed=0)
    assert torch.equal(x, split.x_train) and torch.equal(y, split.y_train)
    monkeypatch.setattr(torchvision.datasets, "MNIST", _FakeMNIST)
    x, y = digits.training_tensors("mnist", limit=6, root=tmp_path)
    assert x.shape == (6, 1, 28, 28) and y.shape == (6,)
    train, test = digits.digit_loaders("mnist", batch_size=4, root=tmp_path)
    assert next(iter(train))[0].shape == (4, 1, 28, 28) and len(test.dataset) == 10
    with pytest.raises(ValueError, match=r"needs a limit"):
        digits.training_tensors("mnist", root=tmp_path)
    with pytest.raises(
        ValueError, match=r"dataset must be one of \('sklearn-digits', 'mnist'\), got 'emnist'"
    ):
        digits.digit_loaders("emnist", batch_size=4)


def test_validation_split_is_disjoint_stratified_and_padded():
    train, val, test = digits.digit_loaders_with_validation("sklearn-digits", batch_size=64, pad=1)
    xs = {
        name: torch.cat([b[0] for b in loader])
        for name, loader in (("train", train), ("val", val), ("test", test))
    }
    assert [len(x) for x in xs.values()] == [1149, 288, 360]  # 1437 training images -> 80/20
    assert xs["train"].shape[1:] == (1, 34, 34) and float(xs["train"][..., 0, :].abs().max()) == 0.0
    pool = torch.nn.functional.pad(digits.load_digits_split(upscale=4).x_train, (1, 1, 1, 1))
    rows = Counter(tuple(r.tolist()) for r in torch.cat([xs["train"], xs["val"]]).flatten(1))
    assert rows == Counter(tuple(r.tolist()) for r in pool.flatten(1))  # train + val = the pool, once each
    val_y = torch.cat([b[1] for b in val])
    assert int(torch.bincount(val_y, minlength=10).min()) >= 27  # ~29 of each digit
    with pytest.raises(ValueError, match=r"val_fraction must be a float in \(0, 1\), got 0"):
        digits.digit_loaders_with_validation("sklearn-digits", batch_size=8, val_fraction=0)
    with pytest.raises(ValueError, match="pad must be an int >= 0, got -1"):
        digits.digit_loaders_with_validation("sklearn-digits", batch_size=8, pad=-1)


def test_mnist_validation_split_padded_to_32(monkeypatch, tmp_path):
    monkeypatch.setattr(torchvision.datasets, "MNIST", _FakeMNIST)
    train, val, test = digits.digit_loaders_with_validation(
        "mnist", batch_size=4, val_fraction=0.25, pad=2, root=tmp_path
    )
    assert len(train.dataset) == 15 and len(val.dataset) == 5 and len(test.dataset) == 10
    assert next(iter(train))[0].shape == (4, 1, 32, 32)
