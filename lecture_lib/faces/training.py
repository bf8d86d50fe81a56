"""Face verification training: DeepFace-style softmax and FaceNet's triplet loss, through ``train.fit``.

- ``train_softmax(train, val, t, image_size=...)``: cross-entropy over the training identities.
- ``train_triplet(train, val, t, strategy=..., margin=..., image_size=...)``: P × K batches, online
  triplet mining (``triplets.mine_triplets``), FaceNet's loss.
- ``triplet_loss_fn(strategy, margin, seed)``: the ``loss_fn`` of ``fit`` for the triplet runs.

``t`` holds the budget (``steps``, ``P``, ``K``, ``lr``, ``evals``) and the net's size (``width``,
``hidden``, ``embedding_dim``, ``seed``); ``recipes.TRAIN`` is the committed checkpoints' ``t``.
After every ``steps / evals`` batches the history records validation AUC and the embeddings' spread.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from lecture_lib.datasets.faces import FaceSet, verification_pairs
from lecture_lib.faces.models import FaceClassifier, FaceEmbedder, embed
from lecture_lib.faces.triplets import PKBatches, mine_triplets, pairwise_sq_distances, triplet_loss
from lecture_lib.metrics.verification import verification_auc
from lecture_lib.train import History, RandomBatches, fit


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


def model_kwargs(t: dict, image_size: int) -> dict:
    """The constructor arguments of ``FaceEmbedder``/``FaceClassifier`` for training settings ``t``."""
    return dict(
        width=t["width"],
        hidden=t["hidden"],
        embedding_dim=t["embedding_dim"],
        image_size=image_size,
        seed=t["seed"],
    )


def train_softmax(
    train: FaceSet, val: FaceSet, t: dict, *, image_size: int, model=None, device="cpu"
) -> tuple[FaceClassifier, History]:
    """DeepFace-style: cross-entropy over the training identities, random batches of P·K faces.
    ``model``: any net whose forward gives logits over the training labels and which has ``embed``
    (default: a new ``FaceClassifier`` as ``t`` says; the full profile passes a ``ResNetFace``)."""
    if model is None:
        model = FaceClassifier(num_classes=int(train.labels.max()) + 1, **model_kwargs(t, image_size))
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
        model = FaceEmbedder(**model_kwargs(t, image_size))
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
