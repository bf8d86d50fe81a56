"""How ``data/fcn_scenes.pt`` is trained: FCN-32s / 16s / 8s and the window classifier on the
procedural scenes (04_segmentation.ipynb).

The three FCN decoders sit on one shared encoder and are trained jointly on the sum of their three
cross-entropy losses: the same data (scenes, flips, batch order), the same optimiser, the same
number of steps and the same encoder features, so the comparison isolates what the skip
connections add. Every epoch sees freshly generated scenes (``lecture_lib.datasets.scenes.FreshScenes``),
so the network never sees the same scene twice and the test seed is never used. The window
classifier (centre-pixel class of 28 x 28 windows) is the "CNN" that the notebook convolutionalises.

Both train through ``lecture_lib.train.fit`` (``training.py``); the checkpoint holds the model
entries ``"model"`` (the FCN, ``variant="all"``) and ``"classifier"``, their histories and the
settings below.

    python tools/make_checkpoints.py fcn_scenes      # about 30 minutes on one CPU thread
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from lecture_lib.checkpoints import model_entry
from lecture_lib.datasets.scenes import make_scenes
from lecture_lib.segmentation.models import FCN, window_classifier
from lecture_lib.segmentation.training import train_classifier, train_fcn

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
