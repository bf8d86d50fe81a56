"""How ``data/faces_*.pt`` are trained (``python tools/make_checkpoints.py faces_methods`` ...).

The same backbone (``FaceEmbedder``), the same training faces and the same budget (``steps``
batches of ``P × K`` images, Adam with a cosine learning-rate decay) for every run:

- ``faces_methods.pt``: DeepFace-style softmax over the training identities vs FaceNet's triplet
  loss with online semi-hard mining (margin 0.2);
- ``faces_mining.pt``: the triplet loss with random and with hard negatives (vs semi-hard above);
- ``faces_margins.pt``: semi-hard mining with a smaller and a larger margin.

Each run stores its model entry and its history (per-batch loss; after every ``steps / evals``
batches: validation AUC and the embeddings' spread, the mean squared distance between validation
faces, which falls to 0 when the embedding collapses). Validation faces are identities of their
own, disjoint from train and test (``face_data``). All randomness comes from ``seed``; 1 thread.
"""

from __future__ import annotations

import torch

from lecture_lib.checkpoints import model_entry
from lecture_lib.datasets.faces import FaceSet, face_split, verification_pairs
from lecture_lib.faces.models import FaceClassifier, FaceEmbedder
from lecture_lib.faces.training import model_kwargs, train_softmax, train_triplet

DATA = dict(
    n_train=500,
    n_test=300,
    train_images=24,
    test_images=10,
    n_val=60,
    val_images=6,
    size=32,
    strength=0.6,
    seed=0,
)
TRAIN = dict(steps=800, P=16, K=8, lr=2e-3, evals=8, width=16, hidden=128, embedding_dim=64, seed=0)
MARGIN, MARGINS = 0.2, (0.05, 0.5)


def face_data(
    *,
    n_train: int,
    n_test: int,
    train_images: int,
    test_images: int,
    n_val: int,
    val_images: int,
    size: int,
    strength: float,
    seed: int,
    parts=("train", "test", "val"),
) -> dict[str, FaceSet]:
    """``{part: FaceSet}`` for the requested parts, people disjoint across parts (``face_split``);
    labels: train ``0..n_train-1``, then test, then val."""
    spec = {
        "train": (n_train, train_images, 0),
        "test": (n_test, test_images, n_train),
        "val": (n_val, val_images, n_train + n_test),
    }
    return {
        p: face_split(
            p, spec[p][0], spec[p][1], seed=seed, first_label=spec[p][2], size=size, strength=strength
        )
        for p in parts
    }


def test_pairs(test: FaceSet, seed: int) -> dict:
    """LFW's layout on the test identities: 10 identity-disjoint folds of 300 same + 300 different."""
    return verification_pairs(test.labels, pairs_per_fold=300, folds=10, seed=seed + 3)


def _runs(specs: dict[str, tuple[str, float]], data: dict | None = None, train: dict | None = None) -> dict:
    d, t = {**DATA, **(data or {})}, {**TRAIN, **(train or {})}
    torch.set_num_threads(1)
    sets = face_data(**d, parts=("train", "val"))
    train_set, val = sets["train"], sets["val"]
    out: dict = {"data": d, "train": t, "histories": {}, "margins": {}, "strategies": {}}
    for name, (strategy, margin) in specs.items():
        if strategy == "softmax":
            classifier, hist = train_softmax(train_set, val, t, image_size=d["size"])
            out[name] = model_entry(
                FaceClassifier,
                classifier,
                num_classes=classifier.classifier.out_features,
                **model_kwargs(t, d["size"]),
            )
        else:
            model, hist = train_triplet(
                train_set, val, t, strategy=strategy, margin=margin, image_size=d["size"]
            )
            out[name] = model_entry(FaceEmbedder, model, **model_kwargs(t, d["size"]))
        out["histories"][name] = hist.as_dict()
        out["margins"][name], out["strategies"][name] = float(margin), strategy
    return out


def build_methods(data: dict | None = None, train: dict | None = None) -> dict:
    """Softmax (DeepFace-style) vs triplet + semi-hard mining, same backbone, data and budget."""
    return _runs({"softmax": ("softmax", 0.0), "semi_hard": ("semi-hard", MARGIN)}, data, train)


def build_mining(data: dict | None = None, train: dict | None = None) -> dict:
    """Random and hard negatives (margin 0.2), to compare with semi-hard in ``faces_methods.pt``."""
    return _runs({"random": ("random", MARGIN), "hard": ("hard", MARGIN)}, data, train)


def build_margins(data: dict | None = None, train: dict | None = None) -> dict:
    """Semi-hard mining with margins ``MARGINS`` (0.2 is in ``faces_methods.pt``)."""
    return _runs({f"margin_{m:g}": ("semi-hard", m) for m in MARGINS}, data, train)


CHECKPOINTS = {
    "faces_methods.pt": build_methods,
    "faces_mining.pt": build_mining,
    "faces_margins.pt": build_margins,
}
