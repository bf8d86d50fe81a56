"""Handwritten digits as tensors: scikit-learn's 8x8 digits (quick profile, ships with
scikit-learn, offline) and MNIST's 28x28 digits (full profile, downloaded by torchvision).
Used in 01_cnn_recap.ipynb (LeNet, slide "Recap: Convolutional Neural Networks").
"""

from __future__ import annotations

import os
from collections.abc import Sized
from typing import NamedTuple, cast

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, TensorDataset, random_split

from lecture_lib.data import full_profile_dataset
from lecture_lib.paths import cache_dir


class DigitsSplit(NamedTuple):
    """Images ``Tensor[N, 1, H, W]`` (float32 in [0, 1]) and labels ``Tensor[N]`` (int64, 0-9)."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


def load_digits_split(*, test_size: float = 0.2, seed: int = 0, upscale: int = 1) -> DigitsSplit:
    """scikit-learn's 1,797 digits (8x8, 10 classes) split into train/test, stratified by class.

    The split is fixed by ``seed`` (the same images land in the test set on every machine).

    Args:
        test_size: fraction of images held out, in (0, 1).
        seed: ``random_state`` of ``sklearn.model_selection.train_test_split``.
        upscale: each pixel becomes an ``upscale x upscale`` block (nearest neighbour), e.g. 2 for
            16x16 images, so that LeNet's 5x5 filters and two poolings have room.

    Returns:
        DigitsSplit: pixel values 0-16 rescaled to [0, 1]; ``x_*`` is
        ``Tensor[N, 1, 8 * upscale, 8 * upscale]``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not isinstance(test_size, float) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a float in (0, 1), got {test_size!r}")
    if not isinstance(upscale, int) or isinstance(upscale, bool) or upscale < 1:
        raise ValueError(f"upscale must be an int >= 1, got {upscale!r}")
    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32)[:, None] / 16.0  # [N, 1, 8, 8]
    images = images.repeat_interleave(upscale, dim=2).repeat_interleave(upscale, dim=3)
    labels = torch.as_tensor(digits.target, dtype=torch.int64)
    train_idx, test_idx = train_test_split(
        torch.arange(len(labels)).numpy(), test_size=test_size, random_state=seed, stratify=labels.numpy()
    )
    train_idx, test_idx = torch.as_tensor(train_idx), torch.as_tensor(test_idx)
    return DigitsSplit(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx])


def tensor_loaders(
    split: DigitsSplit, *, batch_size: int = 64, seed: int = 0
) -> tuple[DataLoader, DataLoader]:
    """``(train_loader, test_loader)`` over a ``DigitsSplit``; training batches shuffled with ``seed``."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    train = DataLoader(
        TensorDataset(split.x_train, split.y_train),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    test = DataLoader(TensorDataset(split.x_test, split.y_test), batch_size=256)
    return train, test


def load_mnist(root: str | os.PathLike, *, train: bool, pad: int = 0) -> Dataset:
    """MNIST (60,000 train / 10,000 test 28x28 digits) through ``torchvision.datasets.MNIST``.

    Downloads into ``root`` on first use (full profile). Without network this ends in one
    ``lecture_lib.data.OfflineError`` with a manual-download hint. Items are
    ``(Tensor[1, 28 + 2 * pad, 28 + 2 * pad]`` in [0, 1], ``int)``; ``pad=2`` centres the digits in
    the 32x32 field LeNet-5 was published with.
    """
    import torchvision

    _check_pad(pad)
    transform = torchvision.transforms.ToTensor()
    if pad:
        transform = torchvision.transforms.Compose([torchvision.transforms.Pad(pad), transform])
    return full_profile_dataset(torchvision.datasets.MNIST, root, train=train, transform=transform)


def _check_pad(pad: int) -> None:
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
        raise ValueError(f"pad must be an int >= 0, got {pad!r}")


def mnist_loaders(
    root: str | os.PathLike, *, batch_size: int = 128, seed: int = 0
) -> tuple[DataLoader, DataLoader]:
    """``(train_loader, test_loader)`` over MNIST (full profile); ``num_workers=0``."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    train = DataLoader(
        load_mnist(root, train=True),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    test = DataLoader(load_mnist(root, train=False), batch_size=512)
    return train, test


DATASETS = ("sklearn-digits", "mnist")


def _check_dataset(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")


def digit_loaders(
    name: str, *, batch_size: int, upscale: int = 2, seed: int = 0, root: str | os.PathLike | None = None
) -> tuple[DataLoader, DataLoader]:
    """``(train_loader, test_loader)`` of ``name``: ``"sklearn-digits"`` (quick profile, offline;
    ``upscale`` x 8 px) or ``"mnist"`` (full profile, 28 px, downloaded into ``root``, default
    ``<cache>/datasets``). Training batches are shuffled with ``seed``."""
    _check_dataset(name)
    if name == "sklearn-digits":
        return tensor_loaders(load_digits_split(upscale=upscale, seed=seed), batch_size=batch_size, seed=seed)
    return mnist_loaders(_root(root), batch_size=batch_size, seed=seed)


def digit_loaders_with_validation(
    name: str,
    *,
    batch_size: int,
    val_fraction: float = 0.2,
    upscale: int = 4,
    pad: int = 0,
    seed: int = 0,
    root: str | os.PathLike | None = None,
) -> tuple[DataLoader, DataLoader, DataLoader]:
    """``(train_loader, val_loader, test_loader)``: the training images of ``name`` split once more,
    so that choices (epochs, checkpoints) are made on the validation part and the test set is read once.

    Args:
        name: ``"sklearn-digits"`` (quick: ``8 * upscale + 2 * pad`` px, stratified split with
            ``seed``) or ``"mnist"`` (full: ``28 + 2 * pad`` px, a seeded random split).
        val_fraction: share of the training images held out for validation, in (0, 1).
        upscale: scikit-learn digits only (nearest neighbour); 4 gives LeNet-5's 32x32 input.
        pad: zeros around each image (MNIST: 2 gives 32x32).
    """
    from sklearn.model_selection import train_test_split

    _check_dataset(name)
    _check_pad(pad)
    if not isinstance(val_fraction, float) or not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be a float in (0, 1), got {val_fraction!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if name == "sklearn-digits":
        split = load_digits_split(upscale=upscale, seed=seed)
        x_pool, x_test = (torch.nn.functional.pad(x, (pad,) * 4) for x in (split.x_train, split.x_test))
        train_idx, val_idx = train_test_split(
            torch.arange(len(split.y_train)).numpy(),
            test_size=val_fraction,
            random_state=seed,
            stratify=split.y_train.numpy(),
        )
        train_set: Dataset = TensorDataset(x_pool[train_idx], split.y_train[train_idx])
        val_set: Dataset = TensorDataset(x_pool[val_idx], split.y_train[val_idx])
        test_set: Dataset = TensorDataset(x_test, split.y_test)
    else:
        pool = load_mnist(_root(root), train=True, pad=pad)
        n_pool = len(pool)  # type: ignore[arg-type]
        n_val = int(round(val_fraction * n_pool))
        train_set, val_set = random_split(
            pool,
            [n_pool - n_val, n_val],
            generator=torch.Generator().manual_seed(seed),
        )
        test_set = load_mnist(_root(root), train=False, pad=pad)
    train = DataLoader(
        train_set, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    return train, DataLoader(val_set, batch_size=512), DataLoader(test_set, batch_size=512)


def training_tensors(
    name: str,
    *,
    limit: int | None = None,
    upscale: int = 1,
    seed: int = 0,
    root: str | os.PathLike | None = None,
) -> tuple[Tensor, Tensor]:
    """The training images ``Tensor[N, 1, H, W]`` and labels ``Tensor[N]`` of ``name`` as tensors
    (the first ``limit`` of them, or all if there are fewer, as slicing does; MNIST needs a limit,
    it is 60,000 images)."""
    _check_dataset(name)
    if name == "sklearn-digits":
        x, y = load_digits_split(seed=seed, upscale=upscale)[:2]
        return x[:limit], y[:limit]
    if limit is None:
        raise ValueError("training_tensors('mnist') needs a limit (e.g. 4096)")
    dataset = load_mnist(_root(root), train=True)
    n = min(limit, len(cast(Sized, dataset)))  # torchvision's MNIST is sized; Dataset's type is not
    items = [dataset[i] for i in range(n)]
    return torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])


def _root(root: str | os.PathLike | None) -> os.PathLike | str:
    return cache_dir() / "datasets" if root is None else root
