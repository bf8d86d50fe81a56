"""Pose training: flipped batches, heatmap and regression losses, decoding, the loop (``train.fit``).

- ``FlippedBatches``: seeded random batches, each figure mirrored with probability 1/2.
- ``batch_targets``, ``heatmap_loss`` (disk: BCE with logits; Gaussian: MSE), ``regression_loss``.
- ``decode(model, images, kind)``: predicted joints of a heatmap or regression model.
- ``train_pose(model, kind, loss_fn, data, val, train_cfg, epochs=..., steps=...)``: the loop of every
  committed pose checkpoint (settings and builders: ``recipes.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lecture_lib.pose.heatmaps import disk_heatmaps, gaussian_heatmaps, heatmaps_to_keypoints
from lecture_lib.pose.metrics import pck, torso_size
from lecture_lib.train import fit, predict


class FlippedBatches:
    """``steps`` random batches ``(images [B, 3, S, S], keypoints [B, K, 2], inside [B, K])`` per pass,
    each image mirrored left-right with probability 1/2 (keypoints x -> S - 1 - x), seeded."""

    def __init__(
        self, images: Tensor, keypoints: Tensor, inside: Tensor, *, batch_size: int, steps: int, seed: int
    ):
        self.images, self.keypoints, self.inside = images, keypoints, inside
        self.batch_size, self.steps = batch_size, steps
        self.g = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        n, size = self.images.shape[0], self.images.shape[-1]
        for _ in range(self.steps):
            idx = torch.randint(n, (self.batch_size,), generator=self.g)
            x, kp = self.images[idx].float() / 255.0, self.keypoints[idx].clone()
            flip = torch.rand(self.batch_size, generator=self.g) < 0.5
            x[flip] = x[flip].flip(-1)
            kp[flip, :, 0] = size - 1 - kp[flip, :, 0]
            yield x, kp, self.inside[idx]


def batch_targets(keypoints: Tensor, inside: Tensor, size: int, kind: str, value: float) -> Tensor:
    """Target maps Tensor[B, K, S, S] for a batch.

    ``kind`` is "disk" (radius ``value``) or "gaussian" (sigma ``value``).
    """
    b, k = keypoints.shape[:2]
    make = disk_heatmaps if kind == "disk" else gaussian_heatmaps
    return make(keypoints.reshape(b * k, 2), (size, size), value, inside.reshape(b * k)).reshape(
        b, k, size, size
    )


def heatmap_loss(kind: str, value: float, pos_weight: float = 1.0) -> Callable:
    """``loss_fn(model, batch)`` for ``fit``: BCE with logits on disks, MSE on Gaussians."""

    def loss(model: nn.Module, batch) -> Tensor:
        x, kp, inside = batch
        target = batch_targets(kp, inside, x.shape[-1], kind, value)
        out = model(x)
        if kind == "disk":
            return F.binary_cross_entropy_with_logits(out, target, pos_weight=torch.tensor(pos_weight))
        return F.mse_loss(out, target)

    return loss


def regression_loss(model: nn.Module, batch) -> Tensor:
    """MSE of the (x, y) of the joints inside the image, in fractions of the image side."""
    x, kp, inside = batch
    err = (model(x) - kp) / x.shape[-1]  # (B, K, 2)
    return (err.pow(2).sum(-1) * inside).sum() / inside.sum().clamp(min=1)


def decode(model: nn.Module, images: Tensor, kind: str, *, batch_size: int = 100) -> Tensor:
    """Predicted joints Tensor[N, K, 2] (pixels) of a heatmap ("disk", "gaussian") or "regression" model."""
    out = predict(model, images, batch_size=batch_size)
    if kind == "regression":
        return out
    return heatmaps_to_keypoints(out.sigmoid() if kind == "disk" else out)[0]


def pck_eval_fn(val, kind: str) -> Callable[[nn.Module], dict[str, float]]:
    """``eval_fn`` for ``fit``: validation PCK@0.2 (torso-normalised) of ``decode(m, val.images, kind)``."""
    norm = torso_size(val.keypoints)
    return lambda m: {"val_pck": pck(decode(m, val.images, kind), val.keypoints, val.visible, 0.2, norm)}


def train_pose(
    model: nn.Module,
    kind: str,
    loss_fn: Callable,
    data,
    val,
    train_cfg: dict,
    *,
    epochs: int,
    steps: int,
    progress: bool = False,
):
    """Train ``model`` with ``loss_fn`` on ``data`` = (images uint8, keypoints, inside) for ``epochs`` ×
    ``steps`` flipped batches (``FlippedBatches``), AdamW with a one-cycle schedule as ``train_cfg``
    says (``batch_size``, ``lr``, ``weight_decay``, ``seed``), validation PCK after each epoch."""
    loader = FlippedBatches(*data, batch_size=train_cfg["batch_size"], steps=steps, seed=train_cfg["seed"])
    opt = torch.optim.AdamW(model.parameters(), lr=train_cfg["lr"], weight_decay=train_cfg["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=train_cfg["lr"], total_steps=epochs * steps, pct_start=0.2
    )
    return fit(
        model,
        loader,
        epochs=epochs,
        optimizer=opt,
        loss_fn=loss_fn,
        eval_fn=pck_eval_fn(val, kind),
        scheduler=sched,
        scheduler_step="batch",
        progress=progress,
        desc=kind,
    )
