"""How ``data/fcn_scenes.pt`` is trained: FCN-32s / 16s / 8s and the window classifier on the
procedural scenes (04_segmentation.ipynb).

The three FCN decoders sit on one shared encoder and are trained jointly on the sum of their three
cross-entropy losses: the same data (scenes, flips, batch order), the same optimiser, the same
number of steps and the same encoder features, so the comparison isolates what the skip
connections add. Every epoch sees freshly generated scenes (``lecture_lib.datasets.scenes.FreshScenes``),
so the network never sees the same scene twice and the test seed is never used. The window
classifier (centre-pixel class of 28 x 28 windows) is the "CNN" that the notebook convolutionalises.

Both train through ``lecture_lib.train.fit``; the checkpoint holds the model entries ``"model"``
(the FCN, ``variant="all"``) and ``"classifier"``, their histories and the settings below.

    python tools/make_checkpoints.py fcn_scenes      # about 30 minutes on one CPU thread
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from lecture_lib.checkpoints import model_entry
from lecture_lib.datasets.scenes import FreshScenes, make_scenes
from lecture_lib.metrics.segmentation import iou_from_confusion, segmentation_confusions
from lecture_lib.segmentation.models import FCN, window_classifier
from lecture_lib.segmentation.windows import sample_crops
from lecture_lib.train import fit, predict

# ``make_scenes`` keyword arguments of the segmentation scenes. Cross arms 10..16 px wide (ring
# thickness scaled alike) and objects of 25..55 % of the image: thin next to FCN-32s's 32 px output
# cells, resolvable by FCN-8s's 8 px cells (make_scenes' default 2..4 px arms are not).
SCENE_KWARGS = {"thin_width": [5.0, 8.0], "scale_range": [0.25, 0.55], "max_objects": 3}
SETTINGS: dict[str, Any] = {
    "scenes": {
        "n_train": 1200,
        "train_seed": 100,
        "val_seed": 101,
        "n_val": 60,
        "test_seed": 200,
        "kwargs": SCENE_KWARGS,
    },
    "arch": {"widths": [12, 24, 48, 96, 128], "convs_per_stage": [2, 2, 3, 3, 3], "fc_width": 128},
    "train": {"epochs": 40, "batch_size": 16, "lr": 4e-3, "weight_decay": 1e-4, "pct_start": 0.2, "seed": 0},
    "classifier_cfg": {"crop": 28, "n_crops": 60000, "epochs": 20, "batch_size": 128, "lr": 2e-3},
}


def train_fcn(s: dict, val, *, progress: bool = False) -> tuple[FCN, dict]:
    """The FCN with all three decoders, trained on fresh scenes; validated on ``val`` every epoch."""
    sc, tr = s["scenes"], s["train"]
    with torch.random.fork_rng():  # seeded initialisation; the caller's RNG is untouched
        torch.manual_seed(tr["seed"])
        model = FCN(val.num_classes, variant="all", **s["arch"])
    loader = FreshScenes(
        sc["n_train"],
        sc["train_seed"],
        tr["batch_size"],
        torch.Generator().manual_seed(tr["seed"]),
        **sc["kwargs"],
    )
    opt = torch.optim.AdamW(model.parameters(), lr=tr["lr"], weight_decay=tr["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=tr["lr"], total_steps=tr["epochs"] * len(loader), pct_start=tr["pct_start"]
    )

    def losses(m, batch):  # one encoder pass, the three decoders' losses (summed by fit)
        x, y = batch
        return {v: F.cross_entropy(out, y) for v, out in m(x).items()}

    def evaluate(m):
        metrics = {}
        for v in FCN.VARIANTS:
            pred = predict(m.head(v), val.images, batch_size=32).argmax(1)
            cm, cb = segmentation_confusions(pred, val.masks, val.num_classes)
            metrics[f"val_miou_{v}"] = iou_from_confusion(cm)["miou"]
            metrics[f"val_boundary_miou_{v}"] = iou_from_confusion(cb)["miou"]
        return metrics

    hist = fit(
        model,
        loader,
        epochs=tr["epochs"],
        optimizer=opt,
        scheduler=sched,
        scheduler_step="batch",
        loss_fn=losses,
        eval_fn=evaluate,
        progress=progress,
    )
    return model, hist.as_dict()


def train_classifier(s: dict, train, *, progress: bool = False) -> tuple[torch.nn.Module, dict]:
    """The window classifier, trained on crops of ``train`` labelled by their centre pixel."""
    cfg = s["classifier_cfg"]
    g = torch.Generator().manual_seed(1)
    crops, labels = sample_crops(train.images, train.masks, cfg["n_crops"], cfg["crop"], generator=g)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = window_classifier(train.num_classes, crop=cfg["crop"])
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(crops, labels), batch_size=cfg["batch_size"], shuffle=True, generator=g
    )
    hist = fit(model, loader, epochs=cfg["epochs"], lr=cfg["lr"], progress=progress)
    return model, hist.as_dict()


def build(settings: dict | None = None, *, progress: bool = False) -> dict:
    """Train both nets with ``settings`` (default ``SETTINGS``; tests pass smaller ones) on one CPU thread."""
    s = copy.deepcopy(SETTINGS if settings is None else settings)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on a busy 2-core machine are many times slower than one
    try:
        sc = s["scenes"]
        train = make_scenes(sc["n_train"], seed=sc["train_seed"], **sc["kwargs"])  # the classifier's crops
        val = make_scenes(
            sc["n_val"], seed=sc["val_seed"], **sc["kwargs"]
        )  # monitoring only; test is separate
        clf, clf_hist = train_classifier(s, train, progress=progress)
        fcn, fcn_hist = train_fcn(s, val, progress=progress)
    finally:
        torch.set_num_threads(threads)
    return {
        "model": model_entry(FCN, fcn, num_classes=val.num_classes, variant="all", **s["arch"]),
        "classifier": model_entry(
            window_classifier, clf, num_classes=train.num_classes, crop=s["classifier_cfg"]["crop"]
        ),
        **s,
        "classifier_history": clf_hist,
        "fcn_history": fcn_hist,
    }


CHECKPOINTS = {"fcn_scenes.pt": build}
