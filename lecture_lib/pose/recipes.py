"""How the committed pose checkpoints were trained (``make checkpoints``; used by 05_pose.ipynb).

- ``pose_heatmaps.pt``: ``PoseFCN`` on the slide's **disk** targets (radius ``TARGETS["radius"]``
  px, per-pixel sigmoid + binary cross-entropy as Rafi et al.; ``pos_weight`` up-weights the ~1 %
  disk pixels) and ``PoseFCN`` on **Gaussian** targets (sigma ``TARGETS["sigma"]`` px, MSE on the
  raw outputs, as Tompson et al. and Newell et al.).
- ``pose_regression.pt``: ``PoseRegressor``, DeepPose-style direct (x, y) regression on the same
  encoder (MSE on the coordinates as fractions of the image side).
- ``pose_radius_sweep_small.pt`` / ``_large.pt``: ``PoseFCN`` on disk targets of each radius in
  ``SWEEP["radii"]`` (split in two files to keep each under 2 MB), each with the same, smaller budget.

The three main networks see the same images, batches, optimiser (AdamW, one-cycle schedule) and
number of steps (``TRAIN``). Every net trains through ``lecture_lib.train.fit`` on one fixed set of
generated figures (``make_people(n_train, seed=train_seed)``) with random left-right flips (a
flipped figure is a valid figure: the colours still mark the person's sides, so the labels do not
change), one CPU thread, seeds passed explicitly. Targets are drawn for the joints inside the image
(occluded joints are annotated, as on LSP). Validation PCK@0.2 after each epoch uses ``val_seed``;
the notebook tests on ``test_seed``, which no build uses. Each file takes a few minutes to about
twenty on one CPU thread (``python tools/make_checkpoints.py pose_heatmaps``, ...).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lecture_lib.checkpoints import model_entry
from lecture_lib.datasets.people import make_people
from lecture_lib.pose.models import PoseFCN, PoseRegressor
from lecture_lib.pose.training import heatmap_loss, regression_loss, train_pose

DATA = {
    "size": 64,
    "n_train": 8000,
    "train_seed": 1000,
    "n_val": 200,
    "val_seed": 2000,
    "test_seed": 3000,
    "n_test": 400,
}
ARCH = {"widths": [16, 24, 32, 48, 64], "convs_per_stage": [1, 1, 2, 2, 2], "fc_width": 64, "refine": 16}
REG_HEAD = {"hidden": 256}
# Rafi et al.: r = 8 px on a 256 x 256 crop (2 px on our 64 x 64 images);
# a 3 px disk trained faster in pilot runs.
# Newell et al.: sigma ~1.75 px on 64 x 64 heatmaps. pos_weight: BCE weight of the ~1 % disk pixels.
TARGETS = {"radius": 3.0, "sigma": 1.75, "pos_weight": 20.0}
# Small batches learned far more per image seen than batch 32 in pilot runs (one CPU thread).
TRAIN = {"epochs": 12, "steps_per_epoch": 200, "batch_size": 8, "lr": 5e-3, "weight_decay": 1e-4, "seed": 0}
SWEEP: dict[str, Any] = {"radii": [1.0, 2.0, 4.0, 8.0], "epochs": 5, "steps_per_epoch": 100}


def _fresh(builder: type, seed: int, **kwargs) -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return builder(**kwargs)


def training_data(data_cfg: dict = DATA):
    """(train images uint8 [N, 3, S, S], keypoints, inside) and the validation ``People``."""
    train = make_people(data_cfg["n_train"], seed=data_cfg["train_seed"], size=data_cfg["size"])
    val = make_people(data_cfg["n_val"], seed=data_cfg["val_seed"], size=data_cfg["size"])
    images = (train.images * 255).round().to(torch.uint8)  # 4x less memory than float32
    return (images, train.keypoints, train.inside), val


def _build(
    kinds: tuple[str, ...], data_cfg: dict, arch: dict, train_cfg: dict, targets: dict, progress: bool
) -> dict:
    """Train each of ``kinds`` ("disk", "gaussian", "regression") on the same data and budget."""
    torch.set_num_threads(1)
    data, val = training_data(data_cfg)
    epochs, steps = train_cfg["epochs"], train_cfg["steps_per_epoch"]
    out = {
        "data": dict(data_cfg),
        "arch": dict(arch),
        "train": dict(train_cfg),
        "targets": dict(targets),
        "histories": {},
        "mean_pose": data[1].mean(dim=0),
    }  # Tensor[K, 2]: the mean training pose (baseline)
    losses = {
        "disk": heatmap_loss("disk", targets["radius"], targets["pos_weight"]),
        "gaussian": heatmap_loss("gaussian", targets["sigma"]),
        "regression": regression_loss,
    }
    for kind in kinds:
        if kind == "regression":
            kw = {
                **{k: v for k, v in arch.items() if k != "refine"},
                **REG_HEAD,
                "image_size": data_cfg["size"],
            }
            model = _fresh(PoseRegressor, train_cfg["seed"], **kw)
        else:
            kw = dict(arch)
            model = _fresh(PoseFCN, train_cfg["seed"], **kw)
        hist = train_pose(
            model, kind, losses[kind], data, val, train_cfg, epochs=epochs, steps=steps, progress=progress
        )
        out[kind] = model_entry(type(model), model, **kw)
        out["histories"][kind] = hist.as_dict()
    return out


def build_heatmaps(
    data_cfg: dict = DATA,
    arch: dict = ARCH,
    train_cfg: dict = TRAIN,
    targets: dict = TARGETS,
    *,
    progress: bool = False,
) -> dict:
    """``PoseFCN`` on disk and on Gaussian targets, same data and budget: the ``pose_heatmaps.pt`` dict."""
    return _build(("disk", "gaussian"), data_cfg, arch, train_cfg, targets, progress)


def build_regression(
    data_cfg: dict = DATA,
    arch: dict = ARCH,
    train_cfg: dict = TRAIN,
    targets: dict = TARGETS,
    *,
    progress: bool = False,
) -> dict:
    """``PoseRegressor`` with the heatmap models' encoder, data and budget.

    Returns the ``pose_regression.pt`` dict.
    """
    return _build(("regression",), data_cfg, arch, train_cfg, targets, progress)


def build_radius_sweep(
    data_cfg: dict = DATA,
    arch: dict = ARCH,
    train_cfg: dict = TRAIN,
    sweep: dict = SWEEP,
    targets: dict = TARGETS,
    *,
    progress: bool = False,
) -> dict:
    """``PoseFCN`` on disk targets of each radius in ``sweep["radii"]``, equal budgets."""
    torch.set_num_threads(1)
    data, val = training_data(data_cfg)
    out = {
        "data": dict(data_cfg),
        "arch": dict(arch),
        "train": dict(train_cfg),
        "sweep": dict(sweep),
        "targets": dict(targets),
        "histories": {},
    }
    for r in sweep["radii"]:
        model = _fresh(PoseFCN, train_cfg["seed"], **arch)
        hist = train_pose(
            model,
            "disk",
            heatmap_loss("disk", r, targets["pos_weight"]),
            data,
            val,
            train_cfg,
            epochs=sweep["epochs"],
            steps=sweep["steps_per_epoch"],
            progress=progress,
        )
        out[f"r{r:g}"] = model_entry(PoseFCN, model, **arch)
        out["histories"][f"r{r:g}"] = hist.as_dict()
    return out


def build_radius_sweep_small() -> dict:
    """The sweep's smaller radii (``pose_radius_sweep_small.pt``; split in two files to keep each < 2 MB)."""
    return build_radius_sweep(sweep={**SWEEP, "radii": SWEEP["radii"][:2]})


def build_radius_sweep_large() -> dict:
    """The sweep's larger radii (``pose_radius_sweep_large.pt``)."""
    return build_radius_sweep(sweep={**SWEEP, "radii": SWEEP["radii"][2:]})


CHECKPOINTS = {
    "pose_heatmaps.pt": build_heatmaps,
    "pose_regression.pt": build_regression,
    "pose_radius_sweep_small.pt": build_radius_sweep_small,
    "pose_radius_sweep_large.pt": build_radius_sweep_large,
}
