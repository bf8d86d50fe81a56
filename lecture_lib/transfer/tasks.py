"""The source -> target tasks of 02_transfer_learning.ipynb, loaded in one call.

``load_task("glyphs->digits")`` (quick profile): the ``SmallResNet`` pretrained on 100 glyph
classes (``data/transfer_glyphs_resnet.pt``, recipe ``lecture_lib.transfer.recipes``) and
scikit-learn's real digits split into a training pool and a fixed test set of 50 per class.
``load_task("imagenet->caltech256")`` (full profile): torchvision's ImageNet ResNet-18 and
Caltech-256 (Flowers-102 if Caltech's host is down), see ``lecture_lib.transfer.pretrained``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from lecture_lib.checkpoints import load_checkpoint, load_model
from lecture_lib.datasets import glyphs
from lecture_lib.train import History
from lecture_lib.transfer.experiment import TransferTask, per_class_indices
from lecture_lib.transfer.models import SmallResNet
from lecture_lib.transfer.pretrained import imagenet_to_caltech

__all__ = ["TASKS", "TransferTask", "glyphs_to_digits", "load_task"]

SOURCE_CHECKPOINT = "transfer_glyphs_resnet.pt"


def glyphs_to_digits(*, test_per_class: int = 50) -> TransferTask:
    """Quick profile: the glyph-pretrained ``SmallResNet`` and the real 16x16 digits (10 classes)."""
    ckpt = load_checkpoint(SOURCE_CHECKPOINT)
    settings = ckpt["settings"]
    target_x, target_y = glyphs.digits_dataset(size=settings["size"])
    test_idx = per_class_indices(target_y, test_per_class, seed=0)  # fixed test set
    pool_mask = torch.ones(len(target_y), dtype=torch.bool)
    pool_mask[test_idx] = False
    pool_idx = pool_mask.nonzero().flatten()
    return TransferTask(
        load_model(SOURCE_CHECKPOINT),
        target_x[pool_idx],
        target_y[pool_idx],
        target_x[test_idx],
        target_y[test_idx],
        [str(d) for d in range(10)],
        partial(SmallResNet, 10, widths=tuple(settings["widths"])),
        source_history=History.from_dict(ckpt["history"]),
        settings=dict(settings),
    )


def _imagenet_to_caltech() -> TransferTask:
    return imagenet_to_caltech()


TASKS: dict[str, Callable[[], TransferTask]] = {
    "glyphs->digits": glyphs_to_digits,
    "imagenet->caltech256": _imagenet_to_caltech,
}


def load_task(name: str) -> TransferTask:
    """The task ``name``, one of ``TASKS`` (``"glyphs->digits"`` quick, ``"imagenet->caltech256"`` full)."""
    if name not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {name!r}")
    return TASKS[name]()
