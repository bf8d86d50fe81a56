"""Data sources: offline sample images, verified atomic downloads, safe archive extraction,
and the full profile's torchvision datasets / pretrained weights with one clear offline message.

Quick profile data never touches the network: it comes from ``lecture_lib``'s generators or from
files inside installed wheels (scikit-learn, scikit-image, matplotlib).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np

from lecture_lib import smoke
from lecture_lib.io import load_image
from lecture_lib.paths import cache_dir


class OfflineError(RuntimeError):
    """A download was needed but failed (no network, or the host moved). Says what to do."""


OFFLINE_HINT = "No network? Use the quick profile (LECTURE_PROFILE=quick), which needs no downloads."

# Where to get a dataset by hand when torchvision's download link has rotted.
MANUAL_HINTS = {
    "VOCDetection": (
        "PASCAL VOC 2007/2012 mirrors (e.g. a Kaggle or academic mirror of VOCtrainval tar files)"
    ),
    "VOCSegmentation": "PASCAL VOC 2012 trainval tar (VOCtrainval_11-May-2012.tar) from a mirror",
    "Caltech256": (
        "256_ObjectCategories.tar from CaltechDATA (data.caltech.edu) — or use Flowers102/OxfordIIITPet"
    ),
    "Caltech101": "caltech-101.zip from CaltechDATA (data.caltech.edu)",
    "LFWPeople": "lfw-funneled.tgz from a figshare/Kaggle mirror of Labeled Faces in the Wild",
    "LFWPairs": "lfw-funneled.tgz and pairs files from a figshare/Kaggle mirror of Labeled Faces in the Wild",
    "CelebA": "the CelebA Google-Drive folder (img_align_celeba.zip and the list_*.txt files)",
    "OxfordIIITPet": "images.tar.gz and annotations.tar.gz from the Oxford VGG pets page",
    "Flowers102": "102flowers.tgz, imagelabels.mat, setid.mat from the Oxford VGG flowers page",
    "MNIST": "the four MNIST idx .gz files from a mirror (torchvision lists several)",
}


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_sha256(sha256) -> str:
    if (
        not isinstance(sha256, str)
        or len(sha256) != 64
        or any(c not in "0123456789abcdef" for c in sha256.lower())
    ):
        raise ValueError(f"sha256 must be a 64-character hex digest, got {sha256!r}")
    return sha256.lower()


def download(url: str, sha256: str, dest: str | os.PathLike, *, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` if not already there with the right SHA-256.

    The bytes go to a temporary file next to ``dest``; only when the transfer is complete and the
    hash matches is it renamed onto ``dest`` (atomic on one file system). A wrong hash, a cut
    transfer or a network error leaves ``dest`` untouched and no temporary file behind.

    Raises:
        ValueError: the downloaded bytes do not have the expected SHA-256 (or are incomplete).
        OfflineError: the host could not be reached.
    """
    sha256 = _check_sha256(sha256)
    dest = Path(dest)
    if dest.is_file() and sha256_file(dest) == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    expected_len = response.headers.get("Content-Length")
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        h.update(chunk)
                        received += len(chunk)
            except urllib.error.HTTPError as exc:
                raise OfflineError(
                    f"Download of {url} failed: HTTP {exc.code} {exc.reason}. {OFFLINE_HINT}"
                ) from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise OfflineError(f"Download of {url} failed ({reason}). {OFFLINE_HINT}") from None
        if expected_len is not None and received != int(expected_len):
            raise ValueError(
                f"Download of {url} was cut short: got {received} of {expected_len} bytes; "
                f"nothing was saved to {dest.name}"
            )
        digest = h.hexdigest()
        if digest != sha256:
            raise ValueError(
                f"Download of {url} has SHA-256 {digest}, expected {sha256}; nothing was saved to {dest.name}"
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _safe_member_name(name: str, archive: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ValueError(f"{archive.name}: member {name!r} has an absolute path; refusing to extract")
    if ".." in path.parts:
        raise ValueError(
            f"{archive.name}: member {name!r} escapes the target folder ('..'); refusing to extract"
        )
    return path


MAX_EXTRACT_BYTES = 64 * 1024**3  # the largest total size extract_archive writes (VOC, CelebA: a few GB)
MAX_EXTRACT_RATIO = 200  # total size / archive size above this is a compression bomb (images: ~1)


def _check_sizes(total: int, archive: Path, max_bytes: int, max_ratio: float) -> None:
    """Refuse an archive whose members add up to more than ``max_bytes`` or ``max_ratio`` x its size."""
    size = max(1, archive.stat().st_size)
    if total > max_bytes or total > max_ratio * size:
        raise ValueError(
            f"{archive.name}: its members add up to {total:,} bytes from a {size:,}-byte archive "
            f"(ratio {total / size:.0f}); the limits are {max_bytes:,} bytes and a ratio of "
            f"{max_ratio:g} (a compression bomb?); refusing to extract"
        )


def _check_tar(tf: tarfile.TarFile, archive: Path) -> None:
    for member in tf.getmembers():
        _safe_member_name(member.name, archive)
        if member.issym() or member.islnk():
            raise ValueError(f"{archive.name}: member {member.name!r} is a link; refusing to extract")
        if not (member.isfile() or member.isdir()):
            raise ValueError(f"{archive.name}: member {member.name!r} is a device or special file; refusing")


def _check_zip(zf: zipfile.ZipFile, archive: Path) -> None:
    for info in zf.infolist():
        _safe_member_name(info.filename, archive)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ValueError(f"{archive.name}: member {info.filename!r} is a link; refusing to extract")


def extract_archive(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    max_bytes: int = MAX_EXTRACT_BYTES,
    max_ratio: float = MAX_EXTRACT_RATIO,
) -> Path:
    """Extract a ``.zip`` or ``.tar[.gz|.bz2|.xz]`` into ``dest``, refusing hostile members.

    Every member is checked first (absolute paths, ``..``, symbolic/hard links, device files:
    ``ValueError``, nothing written). Extraction goes to a temporary sibling folder that is
    renamed onto ``dest`` at the end, so a half-extracted dataset never looks complete.
    ``dest`` must not exist yet (or be an empty folder). The members' declared sizes must add
    up to at most ``max_bytes`` and ``max_ratio`` times the archive's size (checked before
    anything is written; zip also checks the sizes while it extracts). A truncated or corrupt
    archive is a ``ValueError`` naming the file.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise ValueError(f"archive {archive} does not exist")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"{dest} already exists and is not empty; remove it or choose another folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part"))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                _check_zip(zf, archive)
                _check_sizes(sum(i.file_size for i in zf.infolist()), archive, max_bytes, max_ratio)
                zf.extractall(tmp)  # zipfile stops at a member's declared size
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                _check_tar(tf, archive)
                _check_sizes(sum(m.size for m in tf.getmembers()), archive, max_bytes, max_ratio)
                tf.extractall(tmp, filter="data")
        else:
            raise ValueError(f"{archive.name} is neither a zip nor a tar archive")
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except (EOFError, tarfile.TarError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{archive.name} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


_NETWORK_ERRORS = (OSError, RuntimeError, urllib.error.URLError, tarfile.TarError, zipfile.BadZipFile)


def full_profile_dataset(cls: Callable, root: str | os.PathLike | None = None, **kwargs):
    """Build a torchvision dataset for the full profile, downloading it if needed.

    A dataset already in ``root`` is used as it is, without network (torchvision's VOC classes
    would otherwise fetch their archive again whenever ``download=True``).

    Any failure to fetch it (no network, a host that moved, a corrupt archive) becomes one
    ``OfflineError`` with a manual-download hint instead of a traceback wall.
    """
    name = getattr(cls, "__name__", str(cls))
    root = Path(root) if root is not None else cache_dir() / "datasets"
    if smoke.active():  # the fixture in the real layout is already there (lecture_lib.datasets.fixtures)
        return cls(root=str(root), download=False, **kwargs)
    try:  # already there (downloaded before, or put there by hand as the OfflineError says): no network
        return cls(root=str(root), download=False, **kwargs)
    except (RuntimeError, OSError):
        pass  # torchvision's "Dataset not found or corrupted": download it
    try:
        return cls(root=str(root), download=True, **kwargs)
    except _NETWORK_ERRORS as exc:
        hint = MANUAL_HINTS.get(name, "the dataset's home page")
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise OfflineError(
            f"Could not get {name} ({first}). Its download host may be unreachable or have "
            f"moved: fetch it by hand from {hint} into {root}. {OFFLINE_HINT}"
        ) from None


def pretrained(builder: Callable, **kwargs):
    """``builder(**kwargs)`` (e.g. ``resnet18, weights=ResNet18_Weights.DEFAULT``) with a clear
    ``OfflineError`` if the weights cannot be downloaded.

    In the full profile's smoke run (``lecture_lib.smoke``) the same architecture is built with
    ``weights=None`` (and ``weights_backbone=None``), with the class count the weights would set
    (detectors also resize their input to 224-320 px instead of 800-1333 px, to run on a CPU).
    """
    if smoke.active():
        return builder(**_untrained_kwargs(builder, kwargs))
    try:
        return builder(**kwargs)
    except (OSError, urllib.error.URLError) as exc:
        weights = kwargs.get("weights")
        raise OfflineError(
            f"Could not download pretrained weights {weights} for {builder.__name__} "
            f"({getattr(exc, 'reason', exc)}). {OFFLINE_HINT}"
        ) from None


def _untrained_kwargs(builder: Callable, kwargs: dict) -> dict:
    """``kwargs`` for the same architecture without any download: what the weights would set
    (``num_classes``, ``num_keypoints``, ``aux_loss``) is set from their metadata instead."""
    import inspect

    kwargs = dict(kwargs)
    weights = kwargs.pop("weights", None)
    params = inspect.signature(builder).parameters
    kwargs["weights"] = None
    if "weights_backbone" in params:
        kwargs["weights_backbone"] = None
    meta = getattr(weights, "meta", None) or {}
    if "categories" in meta and "num_classes" not in kwargs:
        kwargs["num_classes"] = len(meta["categories"])
    if "keypoint_names" in meta and "num_keypoints" not in kwargs and "num_keypoints" in params:
        kwargs["num_keypoints"] = len(meta["keypoint_names"])
    if weights is not None and "aux_loss" in params and kwargs.get("aux_loss") is None:
        kwargs["aux_loss"] = True  # torchvision's segmentation weights carry the auxiliary head
    if builder.__module__.startswith("torchvision.models.detection"):
        # smoke run on a CPU: the detectors' own resize to 800 px would take minutes per notebook
        kwargs.setdefault("min_size", 224)
        kwargs.setdefault("max_size", 320)
    return kwargs


# ----------------------------------------------------------------------------- offline images
def _skimage(name: str) -> np.ndarray:
    from skimage import data as skdata

    return getattr(skdata, name)()


def _sklearn(fname: str) -> np.ndarray:
    from sklearn.datasets import load_sample_image

    return load_sample_image(fname)


def _matplotlib(fname: str) -> np.ndarray:
    from matplotlib import cbook

    with open(cbook.get_sample_data(fname, asfileobj=False), "rb") as fh:
        return load_image(fh.read(), max_side=None)


SAMPLE_IMAGES: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": lambda: _skimage("astronaut"),
    "camera": lambda: _skimage("camera"),
    "chelsea": lambda: _skimage("chelsea"),
    "coffee": lambda: _skimage("coffee"),
    "coins": lambda: _skimage("coins"),
    "rocket": lambda: _skimage("rocket"),
    "horse": lambda: _skimage("horse"),
    "china": lambda: _sklearn("china.jpg"),
    "flower": lambda: _sklearn("flower.jpg"),
    "grace_hopper": lambda: _matplotlib("grace_hopper.jpg"),
}


def sample_image(name: str, *, max_side: int | None = None) -> np.ndarray:
    """A real photo that ships inside an installed wheel (works offline), as RGB uint8 ``[H, W, 3]``.

    Names: astronaut, camera, chelsea (cat), coffee, coins, rocket, horse (silhouette), china,
    flower (scikit-learn), grace_hopper (matplotlib).
    """
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"unknown sample image {name!r}; choose one of {sorted(SAMPLE_IMAGES)}")
    return load_image(SAMPLE_IMAGES[name](), max_side=max_side)
