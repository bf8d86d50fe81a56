"""The one training loop of the course. Used by every notebook that trains a network.

``fit`` trains any ``nn.Module`` whose loss can be computed from a batch by a ``loss_fn``;
it returns a ``History`` (per-epoch train loss, optional validation metrics, wall time).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

Batch = tuple[Tensor, ...] | list[Tensor]


@dataclass
class History:
    """What ``fit`` measured. ``train_loss[e]`` is the mean loss over epoch ``e``'s batches;
    ``metrics[name][e]`` the value of ``eval_fn``'s ``name`` after epoch ``e``."""

    train_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    batch_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    batch_parts: dict[str, list[float]] = field(default_factory=dict)  # named losses per batch (multi-task)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict:
        """Plain-Python form (lists of floats), safe to save with ``torch.save``/JSON."""
        return {"train_loss": list(self.train_loss), "metrics": {k: list(v) for k, v in self.metrics.items()},
                "batch_loss": list(self.batch_loss), "seconds": float(self.seconds),
                "batch_parts": {k: list(v) for k, v in self.batch_parts.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(train_loss=[float(x) for x in d["train_loss"]],
                   metrics={k: [float(x) for x in v] for k, v in d.get("metrics", {}).items()},
                   batch_loss=[float(x) for x in d.get("batch_loss", [])],
                   seconds=float(d.get("seconds", 0.0)),
                   batch_parts={k: [float(x) for x in v] for k, v in d.get("batch_parts", {}).items()})


def classification_loss(model: nn.Module, batch: Batch) -> Tensor:
    """Default ``loss_fn``: cross-entropy of ``model(x)`` (logits ``[B, C]``) against ``y`` ``[B]``."""
    x, y = batch[0], batch[1]
    return nn.functional.cross_entropy(model(x), y)


@torch.no_grad()
def accuracy(model: nn.Module, loader: Iterable[Batch], device: torch.device | str = "cpu") -> float:
    """Top-1 accuracy of a classifier over a loader of ``(x [B, ...], y [B])`` batches."""
    was_training = model.training
    model.eval()
    correct = total = 0
    for batch in loader:
        x, y = batch[0].to(device), batch[1].to(device)
        correct += (model(x).argmax(dim=1) == y).sum().item()
        total += y.numel()
    model.train(was_training)
    if total == 0:
        raise ValueError("accuracy() got an empty loader (0 samples)")
    return correct / total


def _to_device(batch: Batch, device: torch.device | str) -> Batch:
    return type(batch)(b.to(device) if isinstance(b, Tensor) else b for b in batch)


def fit(
    model: nn.Module,
    loader: Iterable[Batch],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    loss_fn: Callable[[nn.Module, Batch], Tensor | dict[str, Tensor]] = classification_loss,
    eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    scheduler_step: str = "epoch",
    device: torch.device | str = "cpu",
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``.

    Args:
        model: the network; moved to ``device``.
        loader: iterable of batches (tuples/lists of tensors), e.g. a ``DataLoader``.
        epochs: number of passes (>= 1).
        optimizer: defaults to Adam over the parameters that require grad, with ``lr``.
        loss_fn: ``loss_fn(model, batch) -> scalar Tensor``, or a dict of named losses that are
            summed (a multi-task loss, e.g. Faster R-CNN's four); default cross-entropy on ``(x, y)``.
        eval_fn: called after each epoch with the model in eval mode; returns named metrics.
        scheduler: learning-rate schedule, stepped once per ``scheduler_step`` ("epoch" or "batch").
        device: where to train.
        progress: show a ``tqdm.auto`` bar (widget in Jupyter, text elsewhere).
        desc: the bar's label.

    Returns:
        History with per-epoch mean train loss, metrics, per-batch losses and wall seconds.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    model.to(device)
    if optimizer is None:
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("model has no parameters with requires_grad=True: nothing to train")
        optimizer = torch.optim.Adam(params, lr=lr)
    history = History()
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for _ in bar:
        model.train()
        total, count = 0.0, 0
        for batch in loader:
            batch = _to_device(batch, device)
            loss = loss_fn(model, batch)
            parts = loss if isinstance(loss, dict) else {}
            if parts:
                loss = sum(parts.values())
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} (try a smaller lr)")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler_step == "batch":
                scheduler.step()
            total += loss.item()
            count += 1
            history.batch_loss.append(loss.item())
            for name, value in parts.items():
                history.batch_parts.setdefault(name, []).append(value.item())
        if count == 0:
            raise ValueError("fit() got an empty loader (0 batches)")
        if scheduler is not None and scheduler_step == "epoch":
            scheduler.step()
        history.train_loss.append(total / count)
        if eval_fn is not None:
            model.eval()
            for name, value in eval_fn(model).items():
                history.metrics.setdefault(name, []).append(float(value))
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}")
    history.seconds = time.perf_counter() - start
    model.eval()
    return history
