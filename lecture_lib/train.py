"""Training, batched inference and timing: the one way every notebook does each.

- ``fit`` trains any ``nn.Module`` whose loss can be computed from a batch by a ``loss_fn``;
  it returns a ``History`` (per-epoch train loss, optional validation metrics, wall time).
- ``RandomBatches``: a seeded loader of ``steps`` random mini-batches from tensors.
- ``predict``: a model over a big tensor in chunks, under ``torch.inference_mode``, without
  changing the caller's train/eval state.
- ``timed``: the timing protocol of every speed number (warm-up, repeats, median and spread; CUDA
  work synchronised before each clock reading).
"""

from __future__ import annotations

import functools
import operator
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from lecture_lib import smoke
from lecture_lib.checks import check_int, check_memory, check_number, check_tensor
from lecture_lib.runtime import evaluating

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
        return {
            "train_loss": list(self.train_loss),
            "metrics": {k: list(v) for k, v in self.metrics.items()},
            "batch_loss": list(self.batch_loss),
            "seconds": float(self.seconds),
            "batch_parts": {k: list(v) for k, v in self.batch_parts.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(
            train_loss=[float(x) for x in d["train_loss"]],
            metrics={k: [float(x) for x in v] for k, v in d.get("metrics", {}).items()},
            batch_loss=[float(x) for x in d.get("batch_loss", [])],
            seconds=float(d.get("seconds", 0.0)),
            batch_parts={k: [float(x) for x in v] for k, v in d.get("batch_parts", {}).items()},
        )


def classification_loss(model: nn.Module, batch: Batch) -> Tensor:
    """Default ``loss_fn``: cross-entropy of ``model(x)`` (logits ``[B, C]``) against ``y`` ``[B]``."""
    x, y = batch[0], batch[1]
    return nn.functional.cross_entropy(model(x), y)


@torch.no_grad()
def accuracy(model: nn.Module, loader: Iterable[Batch], device: torch.device | str = "cpu") -> float:
    """Top-1 accuracy of a classifier over a loader of ``(x [B, ...], y [B])`` batches."""
    correct = total = 0
    with evaluating(model):
        for batch in loader:
            x, y = batch[0].to(device), batch[1].to(device)
            correct += (model(x).argmax(dim=1) == y).sum().item()
            total += y.numel()
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

    Several processes (``torchrun --nproc_per_node=N``, after ``torch.distributed.init_process_group``):
    the loss computation is wrapped in ``DistributedDataParallel``, so gradients are averaged over
    the processes; each process must see its own share of every global batch (``RandomBatches``
    does that by itself). The recorded losses are the means over the processes, so the History is
    the one a single process would record on the global batches (models with BatchNorm differ:
    each process normalises with its own share's statistics).

    Returns:
        History with per-epoch mean train loss, metrics, per-batch losses and wall seconds.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if optimizer is None:
        check_number(lr, "lr", low=0.0, low_open=True)
    model.to(device)
    if optimizer is None:
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("model has no parameters with requires_grad=True: nothing to train")
        optimizer = torch.optim.Adam(params, lr=lr)
    history = History()
    compute_loss = (
        _distributed_loss(model, loss_fn) if world_size() > 1 else functools.partial(loss_fn, model)
    )
    max_steps = smoke.SMOKE_STEPS if smoke.active() else None  # smoke run of the full profile: 2 batches
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=desc, disable=not progress or rank() > 0, leave=False)
    for _ in bar:
        model.train()
        total, count = 0.0, 0
        for step, batch in enumerate(loader):
            if max_steps is not None and step >= max_steps:
                break
            batch = _to_device(batch, device)
            out = compute_loss(batch)
            parts: dict[str, Tensor] = out if isinstance(out, dict) else {}
            # the multi-task loss is the plain sum of its parts, added in order
            loss: Tensor = functools.reduce(operator.add, parts.values()) if parts else out  # type: ignore[assignment]
            if not torch.isfinite(loss):
                empty = any(isinstance(b, Tensor) and b.ndim and b.shape[0] == 0 for b in batch)
                hint = (
                    f"batch {step} is empty (0 examples); the loss function must handle empty batches "
                    "(return 0 with a gradient) or the loader must not yield them"
                    if empty
                    else "try a smaller lr"
                )
                raise FloatingPointError(f"loss became {loss.item()} ({hint})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler_step == "batch":
                scheduler.step()
            if world_size() > 1:  # record what one process on the global batch would record
                loss, parts = (
                    _mean_over_processes(loss),
                    {k: _mean_over_processes(v) for k, v in parts.items()},
                )
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
            for name, metric in eval_fn(model).items():
                history.metrics.setdefault(name, []).append(float(metric))
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}")
    history.seconds = time.perf_counter() - start
    model.eval()
    return history


def world_size() -> int:
    """Number of training processes (1 unless ``torch.distributed`` is initialised, e.g. by torchrun)."""
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's index among ``world_size()`` (0 when not distributed)."""
    dist = torch.distributed
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


class _LossModule(nn.Module):
    """``loss_fn(model, batch)`` as a module, so that DistributedDataParallel can wrap any loss
    (also multi-task losses that call model methods such as ``model.losses(...)``)."""

    def __init__(self, model: nn.Module, loss_fn: Callable):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch: Batch) -> Tensor | dict[str, Tensor]:
        return self.loss_fn(self.model, batch)


def _distributed_loss(model: nn.Module, loss_fn: Callable) -> Callable:
    from torch.nn.parallel import DistributedDataParallel

    ddp = DistributedDataParallel(_LossModule(model, loss_fn))  # gradients averaged in backward()
    return ddp


def _mean_over_processes(value: Tensor) -> Tensor:
    value = value.detach().clone()
    torch.distributed.all_reduce(value)
    return value / world_size()


class RandomBatches:
    """``steps`` random mini-batches ``(x[idx], y[idx])`` per pass (a loader for ``fit``).

    Each pass draws fresh permutations from its own seeded generator (reproducible, and the
    global RNG is never touched). Under several processes (``world_size() > 1``) every process
    draws the same global batch and keeps its share (rows ``rank::world_size``).

    Args:
        x (Tensor[N, ...]), y (Tensor[N]): the examples.
        batch_size, steps: batches per pass and their size.
        seed: seed of the loader's own ``torch.Generator``.
        device: where the batches are sent (as float32 for ``x``).
    """

    def __init__(
        self,
        x: Tensor,
        y: Tensor,
        *,
        batch_size: int,
        steps: int,
        seed: int = 0,
        device: torch.device | str = "cpu",
    ):
        check_tensor(x, "x", "(N, ...)")
        check_tensor(y, "y", "(N, ...)")
        if x.shape[0] != y.shape[0] or x.shape[0] == 0:
            raise ValueError(
                f"x and y must hold the same, non-zero number of examples, got {x.shape[0]} and {y.shape[0]}"
            )
        batch_size, steps = check_int(batch_size, "batch_size", low=None), check_int(steps, "steps", low=None)
        if batch_size < 1 or steps < 1:
            raise ValueError(f"batch_size and steps must be >= 1, got {batch_size} and {steps}")
        check_memory(batch_size * 8, f"a batch of batch_size = {batch_size} indices")
        seed = check_int(seed, "seed", low=None)
        self.x, self.y, self.batch_size, self.steps, self.device = x, y, batch_size, steps, device
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        # Permutations are drawn lazily, when the next batch needs them: the same draws in the same
        # order as concatenating all ceil(steps * batch_size / n) permutations up front, without
        # building them (steps=10**9 yields its first batch at once).
        n = self.x.shape[0]
        order = torch.zeros(0, dtype=torch.int64)
        for _ in range(self.steps):
            while len(order) < self.batch_size:
                order = torch.cat((order, torch.randperm(n, generator=self.generator)))
            idx, order = order[: self.batch_size], order[self.batch_size :]
            if world_size() > 1:
                idx = idx[rank() :: world_size()]
            yield self.x[idx].to(self.device, torch.float32), self.y[idx].to(self.device)

    def __len__(self) -> int:
        return self.steps


def predict(
    model: nn.Module | Callable[[Tensor], Tensor],
    x: Tensor,
    *,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> Tensor:
    """``model`` applied to ``x`` (Tensor[N, ...]) in chunks of ``batch_size``; outputs on the CPU.

    Runs under ``torch.inference_mode`` with the model in eval mode, and restores the caller's
    train/eval state afterwards. ``device`` defaults to the model's (CPU for a plain callable).

    Returns:
        Tensor[N, ...]: the concatenated outputs (e.g. logits Tensor[N, C]).
    """
    if not isinstance(x, Tensor) or x.ndim == 0:
        raise ValueError(f"x must be a Tensor[N, ...], got {type(x).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not callable(model):
        raise TypeError(
            f"model must be an nn.Module or a callable Tensor -> Tensor, got {type(model).__name__}"
        )
    module = model if isinstance(model, nn.Module) else None
    if device is None:
        first = next(iter(module.parameters()), None) if module is not None else None
        device = first.device if first is not None else torch.device("cpu")
    with evaluating(module) if module is not None else nullcontext(), torch.inference_mode():
        outs = [model(x[i : i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)]
    if not outs:
        raise ValueError("predict() got an empty input (N = 0)")
    return torch.cat(outs)


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of repeated calls: ``median`` (the number to quote), ``min``/``max`` spread."""

    times: tuple[float, ...]
    warmup: int

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def max(self) -> float:
        return max(self.times)

    @property
    def repeat(self) -> int:
        return len(self.times)

    def __str__(self) -> str:
        scale, unit = (1e3, "ms") if self.median < 1 else (1.0, "s")
        return (
            f"{self.median * scale:.3g} {unit} (median of {self.repeat}, "
            f"min {self.min * scale:.3g}, max {self.max * scale:.3g})"
        )


def timed(
    fn: Callable[[], Any], *, repeat: int = 5, warmup: int = 1, device: torch.device | str | None = None
) -> Timing:
    """Time ``fn()`` the one way the course times things: ``warmup`` untimed calls, then ``repeat``
    timed calls; report the median and the min-max spread.

    Use it for every speed number (a notebook never calls ``time.perf_counter`` itself), so that
    two methods are always compared with the same protocol. The return value of ``fn`` is dropped;
    compute results outside the timing.

    GPU work is asynchronous: on a CUDA ``device`` (or, when ``device`` is None, whenever CUDA is
    initialised in this process) the device is synchronised before each clock reading, so a
    time covers the kernels ``fn`` launched, not only their launch.

    Returns:
        Timing with ``.median``, ``.min``, ``.max`` (seconds) and ``.times``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable with no arguments, got {type(fn).__name__}")
    for name, value, low in (("repeat", repeat, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if device is not None and not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a torch.device, a string such as 'cuda' or None, got {device!r}")
    if isinstance(device, str):
        try:
            torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"device must name a torch device such as 'cpu' or 'cuda:0', got {device!r}"
            ) from exc
    sync = _synchronizer(device)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return Timing(tuple(times), warmup)


def _synchronizer(device: torch.device | str | None) -> Callable[[], None]:
    """What ``timed`` calls before reading the clock: ``torch.cuda.synchronize`` on a CUDA device
    (``device`` None: the current one, if CUDA is initialised), else nothing."""
    if device is None:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            return torch.cuda.synchronize
        return lambda: None
    device = torch.device(device)
    if device.type == "cuda":
        return functools.partial(torch.cuda.synchronize, device)
    return lambda: None
