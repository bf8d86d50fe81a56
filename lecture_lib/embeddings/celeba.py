"""CelebA for 07's full profile: the aligned faces and their 40 binary attributes.

``load_celeba`` gets the data through torchvision's ``CelebA`` (Google-Drive download, every file
checked against torchvision's MD5 list; any failure becomes one ``lecture_lib.data.OfflineError``
saying where to fetch it by hand), then ``read_celeba`` reads CelebA's on-disk layout directly:

    <root>/celeba/img_align_celeba/000001.jpg ...      (178 x 218 aligned faces)
    <root>/celeba/list_attr_celeba.txt                  (N, the 40 names, then "file  1 -1 ...")
    <root>/celeba/list_eval_partition.txt               ("file 0|1|2": train, valid, test)

Faces are cropped to the central 178 x 178 square (rows 20..198, as in DCGAN/VAE work on CelebA)
and resized to ``size``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from lecture_lib import smoke
from lecture_lib.data import full_profile_dataset
from lecture_lib.paths import cache_dir

__all__ = ["SPLITS", "CelebAFaces", "load_celeba", "read_celeba"]

SPLITS = {"train": 0, "valid": 1, "test": 2}
CROP = (0, 20, 178, 198)  # left, top, right, bottom of the face square in a 178 x 218 image


@dataclass(frozen=True)
class CelebAFaces:
    """``images`` Tensor[N, 3, size, size] in [0, 1]; ``attributes`` {name: Tensor[N] bool};
    ``files`` the N image names."""

    images: Tensor
    attributes: dict[str, Tensor]
    files: list[str]

    def __len__(self) -> int:
        return len(self.files)


def _read_attributes(path: Path) -> tuple[list[str], dict[str, list[int]]]:
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        raise ValueError(f"{path} is not CelebA's attribute list (expected a count, names, rows)")
    names = lines[1].split()
    rows: dict[str, list[int]] = {}
    for k, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1 or any(v not in ("1", "-1") for v in parts[1:]):
            raise ValueError(f"{path.name} line {k}: expected a file name and {len(names)} values of 1/-1")
        rows[parts[0]] = [int(v) for v in parts[1:]]
    return names, rows


def read_celeba(
    folder: str | os.PathLike,
    *,
    split: str = "train",
    size: int = 64,
    limit: int | None = None,
    attributes: tuple[str, ...] | None = None,
) -> CelebAFaces:
    """Read CelebA from its on-disk layout (see the module docstring) without downloading.

    Args:
        folder: the ``celeba`` folder (holding ``img_align_celeba/`` and the ``list_*.txt`` files).
        split: "train", "valid", "test" or "all".
        size: output side in pixels.
        limit: read only the first ``limit`` faces of the split.
        attributes: the attribute names to return (default: all 40).
    """
    folder = Path(folder)
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of {[*SPLITS, 'all']}, got {split!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    needed = [
        folder / "list_attr_celeba.txt",
        folder / "list_eval_partition.txt",
        folder / "img_align_celeba",
    ]
    missing = [p.name for p in needed if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {missing}: not CelebA's layout (see lecture_lib.embeddings.celeba)"
        )
    names, rows = _read_attributes(needed[0])
    wanted = list(attributes) if attributes is not None else names
    unknown = [a for a in wanted if a not in names]
    if unknown:
        raise ValueError(f"unknown CelebA attribute(s) {unknown}; known: {names}")
    files = []
    for line in needed[1].read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and (split == "all" or int(parts[1]) == SPLITS[split]):
            files.append(parts[0])
    files = files[:limit] if limit is not None else files
    if not files:
        raise ValueError(f"{folder} has no faces in split {split!r}")
    images = []
    for f in files:
        with Image.open(needed[2] / f) as src:
            rgb: Image.Image = src.convert("RGB")
        if rgb.size == (178, 218):
            rgb = rgb.crop(CROP)
        rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
        images.append(torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1))
    col = {a: names.index(a) for a in wanted}
    attr = {a: torch.tensor([rows[f][j] == 1 for f in files]) for a, j in col.items()}
    return CelebAFaces(torch.stack(images).float() / 255, attr, files)


def load_celeba(
    root: str | os.PathLike | None = None,
    *,
    split: str = "train",
    size: int = 64,
    limit: int | None = None,
    attributes: tuple[str, ...] | None = ("Eyeglasses", "Smiling", "Blond_Hair"),
) -> CelebAFaces:
    """CelebA faces and attributes (full profile): download and verify once, then ``read_celeba``.

    Raises:
        lecture_lib.data.OfflineError: the files are absent and cannot be downloaded (the message
            says where to fetch ``img_align_celeba.zip`` and the ``list_*.txt`` files by hand).
    """
    import torchvision

    root = Path(root) if root is not None else cache_dir() / "datasets"
    if not smoke.active():  # the smoke run's fixture cannot carry CelebA's MD5s: it is read unverified
        full_profile_dataset(torchvision.datasets.CelebA, root, split="all", target_type="attr")
    return read_celeba(root / "celeba", split=split, size=size, limit=limit, attributes=attributes)
