"""Several processes (``torchrun --nproc_per_node=N``) for the full profile's heavy models.

``lecture_lib.train.fit`` already wraps the loss in DistributedDataParallel when a process group
is up (gradients averaged over processes, losses recorded as one process on the global batch
would record them). What is left for a training script:

- ``init_from_env()``: join the process group ``torchrun`` describes in the environment (NCCL on
  GPUs, gloo on CPUs), pick this process's device; a no-op in a plain single process;
- ``GlobalBatches(dataset, batch_size=, steps=, seed=, collate=)``: the same seeded global batches
  in every process, each process loading only its share (items ``rank::world_size`` of the batch),
  for datasets of images of different sizes (detection, segmentation) where ``RandomBatches``'
  stacked tensors do not fit;
- ``freeze_batchnorm(model)``: BatchNorm layers with their running statistics frozen (torchvision's
  ``FrozenBatchNorm2d``), as torchvision's detectors already are: with a few images per GPU batch
  statistics are noise, and frozen ones make N processes compute what one process would;
- ``finetune(build, dataset, loss_fn, ...)``: the loop all of the above serve: the same initial
  weights in every process, BatchNorm frozen, SGD with momentum on ``GlobalBatches`` through ``fit``.

The concept packages hold what is specific to a model (``segmentation.training.finetune_fcn``,
``detection.training.finetune_detector``); ``tools/train_full.py`` parses arguments and calls them.
Tested with two gloo processes in ``tests/test_train_full.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from lecture_lib.train import History, fit, rank, world_size


def init_from_env() -> torch.device:
    """Join ``torchrun``'s process group (``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR`` ... in the
    environment) if there is one and it is not joined yet; return this process's device."""
    cuda = torch.cuda.is_available()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def collate_pairs(items: Sequence[tuple[Any, Any]]) -> tuple[list, list]:
    """``[(image, target), ...] -> ([images], [targets])`` (torchvision's detection input)."""
    return [x for x, _ in items], [t for _, t in items]


class GlobalBatches:
    """``steps`` seeded global batches of ``batch_size`` dataset items per pass; this process loads
    and yields its share (items ``rank::world_size``), collated by ``collate``.

    Every process draws the same permutation from its own ``torch.Generator`` (the global RNG is
    never touched), so N processes together see exactly the batches one process would see.
    """

    def __init__(
        self,
        dataset,
        *,
        batch_size: int,
        steps: int | None = None,
        seed: int = 0,
        collate: Callable[[Sequence[Any]], Any] = collate_pairs,
    ):
        n = len(dataset)
        if n == 0:
            raise ValueError("dataset is empty")
        if not isinstance(batch_size, int) or batch_size < 1 or batch_size % world_size():
            raise ValueError(
                f"batch_size must be a positive multiple of the {world_size()} processes, got {batch_size!r}"
            )
        self.dataset, self.batch_size, self.collate = dataset, batch_size, collate
        self.steps = steps if steps is not None else max(1, n // batch_size)
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = torch.cat(
            [
                torch.randperm(n, generator=self.generator)
                for _ in range(-(-self.steps * self.batch_size // n))
            ]
        )
        for step in range(self.steps):
            batch = order[step * self.batch_size : (step + 1) * self.batch_size]
            yield self.collate([self.dataset[int(i)] for i in batch[rank() :: world_size()]])


def freeze_batchnorm(model: nn.Module) -> nn.Module:
    """Replace every ``BatchNorm2d`` of ``model`` (in place) by a ``FrozenBatchNorm2d`` holding its
    running statistics and affine parameters; returns ``model``."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    for name, child in list(model.named_children()):
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            with torch.no_grad():
                frozen.weight.copy_(child.weight)
                frozen.bias.copy_(child.bias)
                frozen.running_mean.copy_(child.running_mean)
                frozen.running_var.copy_(child.running_var)
            setattr(model, name, frozen)
        else:
            freeze_batchnorm(child)
    return model


def finetune(
    build: Callable[[], nn.Module],
    dataset,
    loss_fn: Callable[[nn.Module, Any], dict[str, torch.Tensor]],
    *,
    steps: int = 100,
    batch_size: int = 8,
    lr: float = 0.01,
    seed: int = 0,
    dropout: float | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[nn.Module, History]:
    """Finetune ``build()`` for ``steps`` global batches of ``batch_size`` items of ``dataset``, in
    this process's share (``init_from_env``); returns ``(model, History)``.

    Args:
        build: the model to finetune (called under ``torch.manual_seed(seed)``, so every process
            starts from the same weights; the caller's random state is left as it was).
        loss_fn: ``loss_fn(model, batch) -> {name: loss}`` for ``train.fit`` (batches as
            ``GlobalBatches`` collates them, moved to the model's device and dtype by ``loss_fn``).
        steps, batch_size, seed: the ``GlobalBatches``; ``batch_size`` is the global batch.
        lr: SGD's learning rate (momentum 0.9, weight decay 1e-4, as torchvision's references).
        dropout: if given, every ``nn.Dropout``'s rate (0 makes runs with different process counts
            comparable step by step: dropout masks are drawn per process).
        dtype: the parameters' dtype (float64 lets tests compare process counts at 1e-7).
    """
    if dropout is not None and not 0 <= dropout < 1:
        raise ValueError(f"dropout must be None or in [0, 1), got {dropout!r}")
    device = init_from_env()
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # the same initial weights in every process
        model = freeze_batchnorm(build().train()).to(device=device, dtype=dtype)
    if dropout is not None:
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = dropout
    batches = GlobalBatches(dataset, batch_size=batch_size, steps=steps, seed=seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    history = fit(
        model, batches, epochs=1, optimizer=optimizer, loss_fn=loss_fn, device=device, progress=rank() == 0
    )
    return model, history
