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
from torch.nn import functional as F

from lecture_lib.checkpoints import model_entry
from lecture_lib.datasets.faces import FaceSet, face_split, verification_pairs
from lecture_lib.faces.models import FaceClassifier, FaceEmbedder, embed
from lecture_lib.faces.triplets import PKBatches, mine_triplets, pairwise_sq_distances, triplet_loss
from lecture_lib.metrics.verification import verification_auc
from lecture_lib.train import History, RandomBatches, fit

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


def _val_metrics(val: FaceSet, seed: int):
    pairs = verification_pairs(val.labels, pairs_per_fold=100, folds=2, seed=seed + 5)

    def eval_fn(model) -> dict[str, float]:
        e = embed(model, val.images)
        d = (e[pairs["i"]] - e[pairs["j"]]).pow(2).sum(1)
        return {
            "val_auc": verification_auc(d, pairs["same"]),
            "spread": pairwise_sq_distances(e).mean().item(),
        }

    return eval_fn


def _schedule(model, lr: float, steps: int):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)


def _model_kwargs(t: dict) -> dict:
    return dict(
        width=t["width"],
        hidden=t["hidden"],
        embedding_dim=t["embedding_dim"],
        image_size=DATA["size"],
        seed=t["seed"],
    )


def train_softmax(
    train: FaceSet, val: FaceSet, t: dict, *, image_size: int, model=None, device="cpu"
) -> tuple[FaceClassifier, History]:
    """DeepFace-style: cross-entropy over the training identities, random batches of P·K faces.
    ``model``: any net whose forward gives logits over the training labels and which has ``embed``
    (default: a new ``FaceClassifier`` as ``t`` says; the full profile passes a ``ResNetFace``)."""
    if model is None:
        model = FaceClassifier(
            num_classes=int(train.labels.max()) + 1, **dict(_model_kwargs(t), image_size=image_size)
        )
    per_eval = t["steps"] // t["evals"]
    loader = RandomBatches(
        train.images, train.labels, batch_size=t["P"] * t["K"], steps=per_eval, seed=t["seed"] + 1
    )
    opt, sched = _schedule(model, t["lr"], per_eval * t["evals"])
    hist = fit(
        model,
        loader,
        epochs=t["evals"],
        optimizer=opt,
        scheduler=sched,
        scheduler_step="batch",
        loss_fn=lambda m, b: F.cross_entropy(m(b[0]), b[1]),
        eval_fn=_val_metrics(val, t["seed"]),
        progress=False,
        desc="softmax",
        device=device,
    )
    return model, hist


def triplet_loss_fn(strategy: str, margin: float, seed: int = 0):
    """``loss_fn(model, (x, y))`` for ``fit``: embed the batch, mine triplets, FaceNet's loss (mean
    over the mined triplets; 0 with a gradient path when none is mined)."""
    g = torch.Generator().manual_seed(seed)

    def loss_fn(model, batch):
        e = model(batch[0])
        a, p, n = mine_triplets(e, batch[1], margin, strategy, generator=g)
        if a.numel() == 0:
            return e.sum() * 0.0
        return triplet_loss(e[a], e[p], e[n], margin)

    return loss_fn


def train_triplet(
    train: FaceSet,
    val: FaceSet,
    t: dict,
    *,
    strategy: str,
    margin: float,
    image_size: int,
    model=None,
    device="cpu",
) -> tuple[FaceEmbedder, History]:
    """FaceNet-style: triplet loss on P identities × K images per batch, online mining.
    ``model``: any net whose forward gives normalised embeddings (default: a new ``FaceEmbedder``)."""
    if model is None:
        model = FaceEmbedder(**dict(_model_kwargs(t), image_size=image_size))
    per_eval = t["steps"] // t["evals"]
    loader = PKBatches(train.images, train.labels, P=t["P"], K=t["K"], steps=per_eval, seed=t["seed"] + 1)
    opt, sched = _schedule(model, t["lr"], per_eval * t["evals"])
    hist = fit(
        model,
        loader,
        epochs=t["evals"],
        optimizer=opt,
        scheduler=sched,
        scheduler_step="batch",
        loss_fn=triplet_loss_fn(strategy, margin, t["seed"] + 2),
        eval_fn=_val_metrics(val, t["seed"]),
        progress=False,
        desc=f"triplet {strategy}",
        device=device,
    )
    return model, hist


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
                **dict(_model_kwargs(t), image_size=d["size"]),
            )
        else:
            model, hist = train_triplet(
                train_set, val, t, strategy=strategy, margin=margin, image_size=d["size"]
            )
            out[name] = model_entry(FaceEmbedder, model, **dict(_model_kwargs(t), image_size=d["size"]))
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
