"""The transfer-learning experiment: four ways to learn a small target task, same data, same
budget, and the linear probe. Used in 02_transfer_learning.ipynb (slides "Transfer Learning with
CNNs", "The Learned Features are Generic").

(a) ``scratch``        -- random initialisation, train everything;
(b) ``fixed features`` -- "chop off the last layer": features of the frozen pretrained network,
                          then a scikit-learn linear classifier (logistic regression);
(c) ``finetune top``   -- pretrained weights, new head, train only the top stage(s) + head;
(d) ``finetune all``   -- pretrained weights, new head, train every layer (smaller learning rate).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from lecture_lib.checkpoints import build_model, load_checkpoint
from lecture_lib.checks import check_int, check_number, check_tensor
from lecture_lib.train import History, RandomBatches, fit, predict
from lecture_lib.transfer.features import extract_features, replace_head, split_top, unfreeze_top

METHODS = ("scratch", "fixed features", "finetune top", "finetune all")


@dataclass
class TransferTask:
    """A pretrained source network and a labelled target task.

    ``train_x`` (Tensor[N, C, H, W]) / ``train_y`` (Tensor[N]) is the pool the experiment draws
    its few training images from; ``test_x`` / ``test_y`` the fixed test set. ``make_model()``
    builds a fresh, randomly initialised net for the target (the "scratch" baseline).
    """

    source_net: nn.Module
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    class_names: list[str]
    make_model: Callable[[], nn.Module]
    weights: object | None = None  # full profile: the torchvision weights entry (preprocessing, categories)
    source_history: History | None = None  # quick profile: the stored pretraining run
    settings: dict = field(default_factory=dict)  # quick profile: the recipe's settings

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def per_class_indices(
    labels: Tensor, per_class: int | None, *, seed: int = 0, candidates: Tensor | None = None
) -> Tensor:
    """Indices of ``per_class`` random examples of every class (all of them for ``None``).

    Args:
        labels (Tensor[N]): class of every example.
        per_class: how many to take of each class; a class with fewer examples raises ValueError.
        seed: which examples.
        candidates (Tensor[M], optional): only pick among these indices.

    Returns:
        Tensor[K] sorted indices into ``labels``.
    """
    labels = torch.as_tensor(labels)
    check_tensor(labels, "labels", "(N)", dtype="int")
    check_int(seed, "seed", low=0)
    if isinstance(candidates, Tensor):
        check_tensor(candidates, "candidates", "(M)", dtype="int")
    pool = (
        torch.arange(labels.numel()) if candidates is None else torch.as_tensor(candidates, dtype=torch.long)
    )
    if per_class is not None:
        if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
            raise ValueError(f"per_class must be a positive int or None (all), got {per_class!r}")
        per_class = int(per_class)
    g = torch.Generator().manual_seed(seed)
    pool = pool[torch.randperm(pool.numel(), generator=g)]
    chosen = []
    for c in torch.unique(labels[pool]).tolist():
        idx = pool[labels[pool] == c]
        if per_class is not None and idx.numel() < per_class:
            raise ValueError(f"class {c} has only {idx.numel()} examples, asked for per_class={per_class}")
        chosen.append(idx if per_class is None else idx[:per_class])
    return torch.cat(chosen).sort().values if chosen else torch.zeros(0, dtype=torch.long)


def linear_probe(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    C: float = 0.1,
) -> tuple[float, Tensor]:
    """Standardise, fit scikit-learn's ``LogisticRegression`` on frozen features, score the test set.

    Returns:
        (accuracy in [0, 1], Tensor[N_test] predicted labels).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for name, x in (("train_features", train_features), ("test_features", test_features)):
        check_tensor(x, name, dtype="float", finite=True)
    check_number(C, "C", low=0.0, low_open=True)
    if (
        train_features.ndim != 2
        or test_features.ndim != 2
        or train_features.shape[1] != test_features.shape[1]
    ):
        raise ValueError(
            f"features must be [N, D] with the same D, got {tuple(train_features.shape)} "
            f"and {tuple(test_features.shape)}"
        )
    check_tensor(train_labels, "train_labels", "(N)", dtype="int", sizes={"N": len(train_features)})
    check_tensor(test_labels, "test_labels", "(N)", dtype="int", sizes={"N": len(test_features)})
    classes = torch.unique(train_labels)
    if classes.numel() < 2:
        raise ValueError(f"a linear probe needs examples of >= 2 classes, got {classes.tolist()}")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    clf.fit(train_features.double().numpy(), train_labels.numpy())
    pred = torch.as_tensor(clf.predict(test_features.double().numpy()))
    return float((pred == test_labels).float().mean()), pred


@dataclass
class TransferRun:
    """One cell of the experiment: ``method`` trained on ``per_class`` images/class (``None`` = all)."""

    method: str
    per_class: int | None
    seed: int
    accuracy: float
    predictions: Tensor  # [N_test] predicted labels
    seconds: float
    model: nn.Module | None = None  # the trained network (``keep_models=True``; None for fixed features)


def run_transfer_experiment(
    make_model: Callable[[], nn.Module],
    pretrained: nn.Module,
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    *,
    per_class: Sequence[int | None] = (1, 2, 6, 20, None),
    seeds: Sequence[int] = (0, 1, 2),
    methods: Sequence[str] = METHODS,
    epochs: int = 5,
    min_steps: int = 50,
    batch_size: int = 64,
    lr_scratch: float = 3e-3,
    lr_finetune: float = 1e-3,
    top_stages: int = 1,
    probe_C: float = 0.1,
    device: torch.device | str = "cpu",
    keep_models: bool = False,
    progress: bool = True,
) -> list[TransferRun]:
    """Target test accuracy of each method for each images-per-class budget and seed.

    Every trained method gets the same budget: ``max(min_steps, epochs * ceil(n / batch_size))``
    Adam steps on the same ``n`` training images (drawn per seed with ``per_class_indices``). Each
    run's initialisation is seeded with its seed inside ``torch.random.fork_rng`` (the global RNG
    is left as it was).

    Args:
        make_model: builds a fresh randomly initialised network for the target task (scratch).
        pretrained: the source network (its head is replaced; it is not modified).
        train_x, train_y: the pool of labelled target images Tensor[N, C, H, W] / Tensor[N].
        test_x, test_y: the fixed test set.
        per_class: images per class to try; ``None`` means the whole pool.
        top_stages: how many stages ``finetune top`` trains besides the head.
        keep_models: store each trained network in ``TransferRun.model`` (on the CPU).

    Returns:
        One ``TransferRun`` per (per_class, seed, method).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")
    num_classes = int(train_y.max()) + 1
    test_features = (
        extract_features(pretrained, test_x, device=device) if "fixed features" in methods else None
    )
    runs = []
    jobs = [(k, s) for k in per_class for s in seeds]
    for k, seed in tqdm(jobs, desc="transfer runs", disable=not progress, leave=False):
        idx = per_class_indices(train_y, k, seed=1000 + seed)
        x, y = train_x[idx], train_y[idx]
        bs = min(batch_size, len(idx))
        steps = max(min_steps, epochs * math.ceil(len(idx) / bs))
        for method in methods:
            start = time.perf_counter()
            with torch.random.fork_rng():  # same head / scratch init per seed; the caller's RNG is untouched
                torch.manual_seed(seed)
                acc, pred, model = _run_method(
                    method,
                    make_model,
                    pretrained,
                    x,
                    y,
                    test_x,
                    test_y,
                    test_features,
                    num_classes=num_classes,
                    batch_size=bs,
                    steps=steps,
                    seed=seed,
                    lr_scratch=lr_scratch,
                    lr_finetune=lr_finetune,
                    top_stages=top_stages,
                    probe_C=probe_C,
                    device=device,
                )
            kept = model.cpu().eval() if keep_models and model is not None else None
            runs.append(TransferRun(method, k, seed, acc, pred, time.perf_counter() - start, kept))
    return runs


def _run_method(
    method: str,
    make_model: Callable[[], nn.Module],
    pretrained: nn.Module,
    x: Tensor,
    y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    test_features: Tensor | None,
    *,
    num_classes: int,
    batch_size: int,
    steps: int,
    seed: int,
    lr_scratch: float,
    lr_finetune: float,
    top_stages: int,
    probe_C: float,
    device: torch.device | str,
) -> tuple[float, Tensor, nn.Module | None]:
    """One method on one training set.

    Returns:
        ``(test accuracy, Tensor[N_test] predictions, trained net or None)``.
    """
    if method == "fixed features":
        if test_features is None:
            raise ValueError(
                "method 'fixed features' needs test_features (the test set's features), got None"
            )
        acc, pred = linear_probe(
            extract_features(pretrained, x, device=device), y, test_features, test_y, C=probe_C
        )
        return acc, pred, None
    if method == "scratch":
        model, lr = make_model(), lr_scratch
    else:
        model, lr = replace_head(copy.deepcopy(pretrained), num_classes), lr_finetune
    net: nn.Module  # what fit trains: the whole model, or only its top on the cached bottom outputs
    if method == "finetune top":  # frozen bottom: compute its output once, train the top on it
        bottom, top = split_top(unfreeze_top(model, top_stages), top_stages)
        inputs = predict(bottom.to(device), x.float(), batch_size=256)
        net, data = (
            top,
            RandomBatches(inputs, y, batch_size=batch_size, steps=steps, seed=seed, device=device),
        )
    else:
        net, data = model, RandomBatches(x, y, batch_size=batch_size, steps=steps, seed=seed, device=device)
    fit(net, data, epochs=1, lr=lr, device=device, progress=False)
    pred = predict(model.to(device), test_x.float(), batch_size=512).argmax(1)
    return float((pred == test_y).float().mean()), pred, model


def summarize(runs: Sequence[TransferRun]) -> dict[str, dict[int | None, tuple[float, float]]]:
    """``{method: {per_class: (mean accuracy, std over seeds)}}``."""
    table: dict[str, dict[int | None, list[float]]] = {}
    for r in runs:
        table.setdefault(r.method, {}).setdefault(r.per_class, []).append(r.accuracy)
    return {m: {k: (float(np.mean(v)), float(np.std(v))) for k, v in d.items()} for m, d in table.items()}


def correctness(runs: Sequence[TransferRun], method: str, per_class: int | None, labels: Tensor) -> Tensor:
    """Per-test-item correctness of one method and budget, one row per seed (sorted by seed).

    Args:
        runs: ``TransferRun`` s of ``run_transfer_experiment`` or ``load_experiment``.
        method: one of ``METHODS``. per_class: the budget (``None`` = the whole pool).
        labels (Tensor[N]): the test labels the runs' predictions refer to.

    Returns:
        Tensor[S, N] float: 1.0 where seed ``s``'s run classified test item ``n`` correctly; the
        ``(S, N)`` scores ``metrics.paired_bootstrap`` resamples over seeds and items.
    """
    if not isinstance(labels, Tensor) or labels.ndim != 1:
        raise ValueError(
            f"labels must be a Tensor[N] of test labels, got {getattr(labels, 'shape', labels)!r}"
        )
    chosen = sorted(
        (r for r in runs if r.method == method and r.per_class == per_class), key=lambda r: r.seed
    )
    if not chosen:
        have = sorted({(r.method, str(r.per_class)) for r in runs})
        raise ValueError(f"no run of method {method!r} with per_class={per_class!r}; the runs hold {have}")
    seeds = [r.seed for r in chosen]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{method!r} at per_class={per_class!r} has a seed twice: {seeds}")
    for r in chosen:
        if r.predictions.shape != labels.shape:
            raise ValueError(
                f"run {method!r} seed {r.seed} has {tuple(r.predictions.shape)} predictions, "
                f"the labels {tuple(labels.shape)}"
            )
    return torch.stack([(r.predictions == labels).float() for r in chosen])


def load_experiment(
    name: str = "transfer_experiment.pt", *, folder: str | None = None
) -> tuple[list[TransferRun], dict]:
    """The runs stored by ``recipes.build_experiment`` (``make checkpoints``) and their settings.

    Every stored run comes back as a ``TransferRun``; the ``finetune all`` run on the whole pool with
    the first seed carries its trained network in ``.model`` (the others have ``model=None``).
    """
    ckpt = load_checkpoint(name, folder=folder)
    s = ckpt["settings"]
    kept = build_model(ckpt["finetuned_all"])
    runs = []
    for r in ckpt["runs"]:
        with_model = r["method"] == "finetune all" and r["per_class"] is None and r["seed"] == s["seeds"][0]
        runs.append(
            TransferRun(
                r["method"],
                r["per_class"],
                r["seed"],
                float(r["accuracy"]),
                r["predictions"].long(),
                float(r["seconds"]),
                kept if with_model else None,
            )  # fmt: skip
        )
    return runs, s
