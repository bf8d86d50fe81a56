"""Transfer learning's operations: "chop off the last layer" feature extraction, stage-wise
features for linear probes, and the freezing helpers. Used in 02_transfer_learning.ipynb
(slides "Transfer Learning with CNNs", "The Learned Features are Generic").

Every helper works on any ResNet-shaped network: children ``conv1, bn1, relu, [maxpool],
layer1 ... layerK, avgpool, fc`` run in that order -- torchvision's ``resnet18/50`` and
``lecture_lib.transfer.models.SmallResNet`` alike. "Stages" are the ``layerN`` children, the head is ``fc``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from typing import Any, overload

import torch
from torch import Tensor, nn

from lecture_lib.runtime import evaluating

_STAGE = re.compile(r"^layer\d+$")


def check_num_classes(num_classes) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__} ({num_classes!r})")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")


def stage_names(model: nn.Module) -> list[str]:
    """Names of the ResNet stages (``layer1``, ``layer2``, ...), low to high."""
    _check_model(model)
    names = [name for name, _ in model.named_children() if _STAGE.match(name)]
    if not names:
        raise ValueError(
            "expected a ResNet-style model with stages layer1, layer2, ...; "
            f"got children {[n for n, _ in model.named_children()]}"
        )
    return names


def get_head(model: nn.Module) -> nn.Linear:
    """The classification layer ``model.fc`` (the one "chopped off" for transfer)."""
    _check_model(model)
    head = getattr(model, "fc", None)
    if not isinstance(head, nn.Linear):
        raise ValueError(
            "expected a ResNet-style model whose last layer `fc` is an nn.Linear, got "
            f"fc={type(head).__name__ if head is not None else 'missing'}"
        )
    return head


def chop_head(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with the last layer replaced by ``nn.Identity``, in eval mode and frozen:
    it maps images to the features the old head saw (Tensor[B, D], D = ``fc.in_features``)."""
    get_head(model)
    trunk = copy.deepcopy(model)
    trunk.fc = nn.Identity()
    return freeze(trunk).eval()


@overload
def extract_features(
    model: nn.Module, images: Tensor, *, batch_size: int = 256, device: torch.device | str = "cpu"
) -> Tensor: ...


@overload
def extract_features(
    model: nn.Module,
    images: Iterable[Sequence[Any]],
    *,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor]: ...


@torch.no_grad()
def extract_features(
    model: nn.Module,
    images: Tensor | Iterable[Sequence[Any]],
    *,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> Tensor | tuple[Tensor, Tensor]:
    """Features of the frozen network without its last layer ("fixed feature extractor").

    Args:
        model: a ResNet-style classifier (its ``fc`` is ignored; the model is not modified).
        images: Tensor[N, C, H, W], or an iterable of ``(images, labels)`` batches (a DataLoader).
        batch_size: for a tensor input.

    Returns:
        Tensor[N, D] on the CPU -- or ``(Tensor[N, D], Tensor[N] labels)`` for a loader.
    """
    trunk = chop_head(model).to(device)
    if isinstance(images, Tensor):
        if images.ndim != 4:
            raise ValueError(f"images must be Tensor[N, C, H, W], got shape {tuple(images.shape)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        chunks = [
            trunk(images[i : i + batch_size].to(device, torch.float32)).cpu()
            for i in range(0, images.shape[0], batch_size)
        ]
        return torch.cat(chunks) if chunks else torch.zeros(0, get_head(model).in_features)
    feats, labels = [], []
    for batch in images:
        feats.append(trunk(batch[0].to(device, torch.float32)).cpu())
        labels.append(torch.as_tensor(batch[1]))
    if not feats:
        raise ValueError("extract_features() got an empty loader")
    return torch.cat(feats), torch.cat(labels)


@torch.no_grad()
def stage_features(
    model: nn.Module,
    images: Tensor,
    *,
    stages: Sequence[str] | None = None,
    pool: int | None = None,
    batch_size: int | None = None,
) -> dict[str, Tensor]:
    """Outputs of each stage for ``images``, recorded with forward hooks (model in eval mode).

    Args:
        images (Tensor[B, C, H, W]): input batch.
        stages: which stages (default: all ``layerN``).
        pool: if given, adaptive-average-pool each map to ``pool x pool`` and flatten -> Tensor[B, D].
        batch_size: run the images through in chunks of this size (results are concatenated).

    Returns:
        ``{stage: Tensor[B, C_s, H_s, W_s]}`` (or ``Tensor[B, C_s * pool * pool]``), low to high.
    """
    available = stage_names(model)
    stages = list(available if stages is None else stages)
    unknown = [s for s in stages if s not in available]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; the model has {available}")
    if pool is not None and (not isinstance(pool, int) or pool < 1):
        raise ValueError(f"pool must be a positive int or None, got {pool!r}")
    if batch_size is not None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
        chunks = [
            stage_features(model, images[i : i + batch_size], stages=stages, pool=pool)
            for i in range(0, images.shape[0], batch_size)
        ]
        return {s: torch.cat([c[s] for c in chunks]) for s in stages}
    out: dict[str, Tensor] = {}
    hooks = [
        getattr(model, s).register_forward_hook(lambda _m, _i, o, s=s: out.__setitem__(s, o)) for s in stages
    ]
    try:
        with evaluating(model):
            model(images)
    finally:
        for h in hooks:
            h.remove()
    if pool is not None:
        out = {s: torch.flatten(nn.functional.adaptive_avg_pool2d(v, pool), 1) for s, v in out.items()}
    return {s: out[s] for s in stages}


def freeze(model: nn.Module) -> nn.Module:
    """Set ``requires_grad=False`` on every parameter (in place); returns ``model``.

    Note: BatchNorm's running statistics still change in ``train()`` mode -- keep frozen parts in
    ``eval()`` (or precompute their outputs, as ``run_transfer_experiment`` does).
    """
    _check_model(model)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def unfreeze_top(model: nn.Module, k: int) -> nn.Module:
    """Freeze everything, then make the head ``fc`` and the top ``k`` stages trainable (in place).

    ``k=0``: only the head learns (fixed feature extractor); ``k=len(stage_names(model))``: all
    stages learn (the stem ``conv1/bn1`` stays frozen).
    """
    stages = stage_names(model)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(stages):
        raise ValueError(f"k must be an int in [0, {len(stages)}] (the model has stages {stages}), got {k!r}")
    freeze(model)
    for module in [get_head(model)] + [getattr(model, s) for s in stages[len(stages) - k :]]:
        for p in module.parameters():
            p.requires_grad_(True)
    return model


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Swap the last layer for a fresh, trainable ``nn.Linear(fc.in_features, num_classes)`` (in place)."""
    check_num_classes(num_classes)
    old = get_head(model)
    model.fc = nn.Linear(old.in_features, num_classes).to(old.weight.device)
    return model


def trainable_names(model: nn.Module) -> list[str]:
    """Names of the parameters with ``requires_grad=True``."""
    _check_model(model)
    return [n for n, p in model.named_parameters() if p.requires_grad]


def split_top(model: nn.Module, k: int) -> tuple[nn.Sequential, nn.Sequential]:
    """Cut a ResNet-style model into ``bottom`` (stem + all but the top ``k`` stages) and ``top``
    (top ``k`` stages, ``avgpool``, flatten, ``fc``), sharing the model's modules, so that
    ``top(bottom(x)) == model(x)``. Lets the frozen bottom's outputs be computed once."""
    stages = stage_names(model)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(stages):
        raise ValueError(f"k must be an int in [0, {len(stages)}] (the model has stages {stages}), got {k!r}")
    head = get_head(model)
    children = list(model.named_children())
    cut = (
        [n for n, _ in children].index(stages[len(stages) - k])
        if k
        else [n for n, _ in children].index("avgpool")
    )
    bottom = nn.Sequential(*[m for _, m in children[:cut]])
    top = [m for n, m in children[cut:] if n != "fc"] + [nn.Flatten(1), head]
    return bottom, nn.Sequential(*top)
