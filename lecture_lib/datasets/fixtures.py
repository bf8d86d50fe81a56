"""Tiny stand-ins for the full profile's real datasets, written in each one's on-disk layout.

The smoke run of the full profile (``make smoke-full``, ``LECTURE_SMOKE=1``) executes every
notebook's full-profile cells offline; these fixtures are what torchvision's dataset classes then
read (with ``download=False``), so the real loading code runs on a few small generated images:

- ``write_mnist``: ``MNIST/raw/*-idx?-ubyte`` (idx files, 28x28, train + t10k);
- ``write_caltech256``: ``caltech256/256_ObjectCategories/NNN.name/NNN_XXXX.jpg``;
- ``write_voc_detection``: ``VOCdevkit/VOC2007`` (JPEGImages, Annotations/*.xml, ImageSets/Main/test.txt);
- ``write_voc_segmentation``: ``VOCdevkit/VOC2012`` (JPEGImages, SegmentationClass/*.png in VOC's
  palette with 255 borders, ImageSets/Segmentation/val.txt);
- ``write_lfw``: ``lfw-py`` (lfw_funneled/<Name>/<Name>_NNNN.jpg, pairs.txt 10 folds, the
  lfw-funneled.tgz archive), returning the ``LFW_FILES``-style checksums of the fixture files.

``write_all(root)`` writes them all (a few MB, about a second) and records what it wrote in
``root/SMOKE_FIXTURES.json``. Images are smooth random blobs, generated from ``seed``.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from lecture_lib.data import sha256_file
from lecture_lib.datasets.text import analogy_questions

MARKER = "SMOKE_FIXTURES.json"
VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
               "train", "tvmonitor")  # fmt: skip
CALTECH_CLASSES = ("ak47", "american-flag")


def _image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth RGB uint8 image ``[h, w, 3]`` (compresses well as JPEG)."""
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR))


def write_mnist(root: str | os.PathLike, *, n_train: int = 64, n_test: int = 32, seed: int = 0) -> Path:
    """``root/MNIST/raw`` with the four uncompressed idx files torchvision's ``MNIST`` reads."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">iiii", 2051, n, 28, 28) + images.tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, n) + labels.tobytes())
    return raw


def write_caltech256(root: str | os.PathLike, *, per_class: int = 42, side: int = 48, seed: int = 0) -> Path:
    """``root/caltech256/256_ObjectCategories`` with ``len(CALTECH_CLASSES)`` classes of ``per_class`` jpgs
    (42 >= the 30 + 10 images per class the full profile of 02 splits off)."""
    base = Path(root) / "caltech256" / "256_ObjectCategories"
    rng = np.random.default_rng(seed)
    for c, name in enumerate(CALTECH_CLASSES, start=1):
        folder = base / f"{c:03d}.{name}"
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(1, per_class + 1):
            Image.fromarray(_image(rng, side, side + 8 * (k % 3))).save(folder / f"{c:03d}_{k:04d}.jpg")
    return base


def _voc_xml(name: str, size: tuple[int, int], objects: list[tuple[str, list[int], int]]) -> str:
    h, w = size
    objs = "".join(
        f"<object><name>{cls}</name><pose>Unspecified</pose><truncated>0</truncated>"
        f"<difficult>{difficult}</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for cls, b, difficult in objects
    )
    return (
        f"<annotation><folder>VOC2007</folder><filename>{name}.jpg</filename>"
        f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size>"
        f"<segmented>0</segmented>{objs}</annotation>"
    )


def write_voc_detection(root: str | os.PathLike, *, n: int = 4, seed: int = 0) -> Path:
    """``root/VOCdevkit/VOC2007`` with ``n`` test images, one or two boxes each (one difficult)."""
    base = Path(root) / "VOCdevkit" / "VOC2007"
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = [f"{k:06d}" for k in range(1, n + 1)]
    for k, name in enumerate(ids):
        h, w = 96, 128
        Image.fromarray(_image(rng, h, w)).save(base / "JPEGImages" / f"{name}.jpg")
        objects = [(VOC_CLASSES[k % 20], [10, 12, 60, 70], 0)]
        if k % 2:
            objects.append((VOC_CLASSES[(k + 7) % 20], [70, 20, 120, 90], 1))
        (base / "Annotations" / f"{name}.xml").write_text(_voc_xml(name, (h, w), objects))
    (base / "ImageSets" / "Main" / "test.txt").write_text("\n".join(ids) + "\n")
    return base


def _voc_palette() -> list[int]:
    """VOC's colour map (bit-interleaved class index), 256 RGB entries."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def write_voc_segmentation(root: str | os.PathLike, *, n: int = 3, seed: int = 0) -> Path:
    """``root/VOCdevkit/VOC2012`` with ``n`` val images and palette masks (classes 0-20, 255 borders)."""
    base = Path(root) / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = [f"2007_{k:06d}" for k in range(1, n + 1)]
    palette = _voc_palette()
    for k, name in enumerate(ids):
        h, w = 80, 112
        Image.fromarray(_image(rng, h, w)).save(base / "JPEGImages" / f"{name}.jpg")
        mask = np.zeros((h, w), dtype=np.uint8)
        mask[15:60, 20:80] = 255  # VOC's "void" border around the object
        mask[17:58, 22:78] = 1 + k % 20
        png = Image.fromarray(mask, mode="P")
        png.putpalette(palette)
        png.save(base / "SegmentationClass" / f"{name}.png")
    (base / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(ids) + "\n")
    return base


def write_lfw(root: str | os.PathLike, *, people: int = 70, seed: int = 0) -> dict[str, tuple[str, str]]:
    """``root/lfw-py``: funneled 250x250 jpgs of 4 pair people + ``people`` others (the full
    profile's finetuning on people outside the pairs keeps 50 of them for validation and needs
    16 per batch for training),
    a 10-fold ``pairs.txt`` (1 same + 1 different pair per fold) and the ``lfw-funneled.tgz`` archive.

    Returns ``{file name: (file:// URL, sha256)}`` for ``lecture_lib.faces.pretrained.LFW_FILES``.
    """
    base = Path(root) / "lfw-py"
    images = base / "lfw_funneled"
    rng = np.random.default_rng(seed)
    names = {"Ada_Lovelace": 3, "Alan_Turing": 2, "Grace_Hopper": 2, "Kurt_Goedel": 1}
    # the first 20 (training, P=16 per batch, K=4) with 4 photos, the last 50 (validation) with 2
    names.update({f"Person_{k:03d}": 4 if k < people - 50 else 2 for k in range(people)})
    for name, n in names.items():
        (images / name).mkdir(parents=True, exist_ok=True)
        for k in range(1, n + 1):
            Image.fromarray(_image(rng, 250, 250)).save(images / name / f"{name}_{k:04d}.jpg")
    lines = ["10\t1"]
    for _ in range(10):
        lines += ["Ada_Lovelace\t1\t2", "Alan_Turing\t1\tGrace_Hopper\t2"]
    (base / "pairs.txt").write_text("\n".join(lines) + "\n")
    archive = base / "lfw-funneled.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(images, arcname="lfw_funneled")
    return {
        name: ((base / name).as_uri(), sha256_file(base / name)) for name in ("lfw-funneled.tgz", "pairs.txt")
    }


def write_glove(folder: str | os.PathLike, name: str = "glove-wiki-gigaword-100", *, dim: int = 100) -> Path:
    """``folder/<name>/<name>.gz``: gensim-data's cached GloVe file (word2vec text format) with the
    words of the Google analogy questions and random vectors; ``folder`` plays ``GENSIM_DATA_DIR``."""
    words = sorted({w for q in analogy_questions() for w in (q.a, q.b, q.c, q.d)})[:2000]
    rng = np.random.default_rng(0)
    path = Path(folder) / name / f"{name}.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(f"{len(words)} {dim}\n")
        for w in words:
            f.write(w + " " + " ".join(f"{v:.4f}" for v in rng.standard_normal(dim)) + "\n")
    return path


CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair "
    "Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face "
    "Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair "
    "Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


def write_celeba(root: str | os.PathLike, *, n: int = 48, seed: int = 0) -> Path:
    """``root/celeba``: 178x218 jpgs in ``img_align_celeba/``, ``list_attr_celeba.txt`` (40 attributes,
    random +-1) and ``list_eval_partition.txt`` (train / valid / test thirds)."""
    base = Path(root) / "celeba"
    (base / "img_align_celeba").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for f in files:
        Image.fromarray(_image(rng, 218, 178)).save(base / "img_align_celeba" / f)
    rows = [f + " " + " ".join(str(v) for v in rng.choice([-1, 1], len(CELEBA_ATTRIBUTES))) for f in files]
    (base / "list_attr_celeba.txt").write_text("\n".join([str(n), " ".join(CELEBA_ATTRIBUTES), *rows]) + "\n")
    (base / "list_eval_partition.txt").write_text("".join(f"{f} {3 * i // n}\n" for i, f in enumerate(files)))
    return base


def write_all(root: str | os.PathLike) -> dict:
    """Every fixture under ``root`` (skipped if ``root/SMOKE_FIXTURES.json`` is there); returns the record
    that ``smoke.fixture`` answers: ``"lfw_files"`` (``write_lfw``), ``"gensim_data_dir"``."""
    root = Path(root)
    marker = root / MARKER
    if marker.is_file():
        return _with_folders(json.loads(marker.read_text()), root)
    root.mkdir(parents=True, exist_ok=True)
    write_mnist(root)
    write_caltech256(root)
    write_voc_detection(root)
    write_voc_segmentation(root)
    write_celeba(root)
    write_glove(root / "gensim-data")
    record = {"lfw_files": write_lfw(root)}
    tmp = marker.with_suffix(".part")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, marker)  # written last: a half-written fixture folder is never taken as complete
    return _with_folders(record, root)


def _with_folders(record: dict, root: Path) -> dict:
    return {**record, "gensim_data_dir": str(root / "gensim-data")}
