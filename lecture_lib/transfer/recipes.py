"""How ``data/transfer_glyphs_resnet.pt`` is trained: the source network of 02_transfer_learning.ipynb.

The "ImageNet" of the quick profile: a ``SmallResNet`` trained on 100 procedurally drawn glyph
classes x 200 images (``lecture_lib.datasets.glyphs``), 8 epochs of Adam with a cosine schedule,
through ``lecture_lib.train.fit`` with seeded ``RandomBatches``. Stores the model entry
(``"model"``), the training curve (loss per epoch, held-out source accuracy) and the settings.

    python tools/make_checkpoints.py transfer_glyphs_resnet      # about 2 minutes on one CPU thread
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lecture_lib.checkpoints import model_entry
from lecture_lib.datasets.glyphs import glyph_dataset
from lecture_lib.runtime import single_thread
from lecture_lib.train import RandomBatches, accuracy, fit
from lecture_lib.transfer.experiment import run_transfer_experiment
from lecture_lib.transfer.models import SmallResNet
from lecture_lib.transfer.tasks import load_task

SETTINGS = {
    "num_classes": 100,
    "per_class": 200,
    "val_per_class": 20,
    "widths": [16, 32, 64],
    "epochs": 8,
    "batch_size": 128,
    "lr": 3e-3,
    "size": 16,
    "seed": 0,
}


def build(settings: dict | None = None, *, progress: bool = False) -> dict:
    """Train the source network with ``settings`` (default ``SETTINGS``; tests pass smaller ones) on one
    CPU thread (the committed weights are reproducible bit for bit only with the same thread count)."""
    with single_thread():
        return _build(dict(SETTINGS if settings is None else settings), progress)


def _build(s: dict, progress: bool) -> dict:
    x, y = glyph_dataset(s["num_classes"], s["per_class"], seed=s["seed"], size=s["size"])
    xv, yv = glyph_dataset(s["num_classes"], s["val_per_class"], seed=s["seed"] + 1, size=s["size"])
    with torch.random.fork_rng():  # seeded initialisation; the caller's RNG is untouched
        torch.manual_seed(s["seed"])
        model = SmallResNet(s["num_classes"], widths=tuple(s["widths"]))
    batches = RandomBatches(x, y, batch_size=s["batch_size"], steps=len(y) // s["batch_size"], seed=s["seed"])
    optimizer = torch.optim.Adam(model.parameters(), lr=s["lr"])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=s["epochs"])
    val = [(xv[i : i + 500], yv[i : i + 500]) for i in range(0, len(yv), 500)]
    history = fit(
        model,
        batches,
        epochs=s["epochs"],
        optimizer=optimizer,
        scheduler=scheduler,
        eval_fn=lambda m: {"source val accuracy": accuracy(m, val)},
        progress=progress,
    )
    print(
        f"source val accuracy {history.metrics['source val accuracy'][-1]:.3f} after {history.seconds:.0f} s"
    )
    return {
        "model": model_entry(SmallResNet, model, num_classes=s["num_classes"], widths=list(s["widths"])),
        "history": history.as_dict(),
        "settings": s,
    }


CHECKPOINTS: dict[str, Callable[..., dict]] = {"transfer_glyphs_resnet.pt": build}


# ----------------------------------------------------------------------------------------------
# The experiment of 02's section 3, run once offline with more seeds than a notebook could afford.

EXPERIMENT_SETTINGS = {
    "task": "glyphs->digits",
    "per_class": [1, 2, 6, 20, None],
    "seeds": [0, 1, 2, 3, 4],
    "budget": {"epochs": 4, "min_steps": 50, "batch_size": 64, "lr_finetune": 2e-3},
}


def build_experiment(settings: dict | None = None) -> dict:
    """Run ``run_transfer_experiment`` on the quick task for every (images/class, seed, method) on one
    CPU thread; store each run's accuracy and test predictions, and the network of ``finetune all``
    on the whole pool with the first seed (the notebook's feature plot and upload demo use it).

        python tools/make_checkpoints.py transfer_experiment     # about 3 minutes on one CPU thread
    """
    s = dict(EXPERIMENT_SETTINGS if settings is None else settings)
    with single_thread():
        task = load_task(s["task"])
        runs = run_transfer_experiment(
            task.make_model, task.source_net, task.train_x, task.train_y, task.test_x, task.test_y,
            per_class=tuple(s["per_class"]), seeds=tuple(s["seeds"]), keep_models=True, progress=False,
            **s["budget"],
        )  # fmt: skip
    kept = next(
        r for r in runs if r.method == "finetune all" and r.per_class is None and r.seed == s["seeds"][0]
    )
    assert kept.model is not None
    widths = list(task.settings["widths"])
    return {
        "runs": [
            {
                "method": r.method,
                "per_class": r.per_class,
                "seed": r.seed,
                "accuracy": r.accuracy,
                "predictions": r.predictions.to(torch.uint8),
                "seconds": r.seconds,
            }
            for r in runs
        ],
        "finetuned_all": model_entry(SmallResNet, kept.model, num_classes=task.num_classes, widths=widths),
        "settings": s,
    }


CHECKPOINTS["transfer_experiment.pt"] = build_experiment
# What each build loads: the experiment's task is the stored glyph-pretrained source network.
NEEDS = {"transfer_experiment.pt": ("transfer_glyphs_resnet.pt",)}
