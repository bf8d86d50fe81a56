"""FCN-32s / FCN-16s / FCN-8s and a crop classifier trained on the procedural scenes.

Used by 04_segmentation.ipynb. The three FCN decoders sit on one shared encoder and are trained
jointly on the sum of their three cross-entropy losses: the same data (scenes, flips, batch
order), the same optimiser, the same number of steps and the same encoder features, so the
comparison isolates what the skip connections add. The crop classifier (centre-pixel class of
28 x 28 windows) is the "CNN" that the notebook convolutionalises.

Regenerate with ``python tools/make_checkpoints.py fcn_scenes`` (about 10 minutes on one CPU thread;
the FCNs reach validation mIoU 0.45 / 0.57 / 0.66 for 32s / 16s / 8s).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

import lecture_lib
from lecture_lib.datasets.scenes import make_scenes
from lecture_lib.metrics.segmentation import iou_from_confusion
from lecture_lib.segmentation import FCN, crop_classifier, predict, sample_crops, segmentation_confusions

NAME = "fcn_scenes.pt"

SCENES = {"n_train": 1200, "train_seed": 100, "val_seed": 101, "n_val": 60, "test_seed": 200}
ARCH = {"widths": [8, 16, 48, 96, 128], "convs_per_stage": [1, 1, 2, 2, 2], "fc_width": 128}
TRAIN = {"epochs": 20, "batch_size": 16, "lr": 3e-3, "seed": 0}
CLF = {"crop": 28, "n_crops": 20000, "epochs": 6, "batch_size": 128, "lr": 3e-3}


def train_fcn(train, val) -> tuple[dict, dict]:
    torch.manual_seed(TRAIN["seed"])
    model = FCN(train.num_classes, variant="all", widths=tuple(ARCH["widths"]),
                convs_per_stage=tuple(ARCH["convs_per_stage"]), fc_width=ARCH["fc_width"])
    n, bs = len(train), TRAIN["batch_size"]
    steps = TRAIN["epochs"] * (n // bs)
    opt = torch.optim.Adam(model.parameters(), lr=TRAIN["lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(TRAIN["seed"])
    hist = {"train_loss": {v: [] for v in FCN.VARIANTS}, "val_miou": {v: [] for v in FCN.VARIANTS},
            "val_boundary_miou": {v: [] for v in FCN.VARIANTS}, "seconds": 0.0, "steps": steps}
    start = time.perf_counter()
    for epoch in range(TRAIN["epochs"]):
        model.train()
        perm = torch.randperm(n, generator=g)
        totals = dict.fromkeys(FCN.VARIANTS, 0.0)
        for i in range(0, n - bs + 1, bs):
            idx = perm[i:i + bs]
            x, y = train.images[idx], train.masks[idx]  # whole scenes: random crops trained markedly slower
            if torch.rand(1, generator=g).item() < 0.5:
                x, y = x.flip(-1), y.flip(-1)
            losses = {v: F.cross_entropy(out, y) for v, out in model(x).items()}
            opt.zero_grad(set_to_none=True)
            sum(losses.values()).backward()
            opt.step()
            sched.step()
            for v in losses:
                totals[v] += losses[v].item()
        for v in FCN.VARIANTS:
            cm, cb = segmentation_confusions(predict(model.head(v), val.images), val.masks, val.num_classes)
            hist["train_loss"][v].append(totals[v] / (n // bs))
            hist["val_miou"][v].append(iou_from_confusion(cm)["miou"])
            hist["val_boundary_miou"][v].append(iou_from_confusion(cb)["miou"])
        print(f"  epoch {epoch + 1}: " + ", ".join(
            f"{v} loss {hist['train_loss'][v][-1]:.3f} mIoU {hist['val_miou'][v][-1]:.3f} "
            f"bnd {hist['val_boundary_miou'][v][-1]:.3f}" for v in FCN.VARIANTS)
            + f" ({time.perf_counter() - start:.0f} s)", flush=True)
    hist["seconds"] = time.perf_counter() - start
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, hist


def train_classifier(train) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    crops, labels = sample_crops(train.images, train.masks, CLF["n_crops"], CLF["crop"], generator=g)
    model = crop_classifier(train.num_classes, crop=CLF["crop"])
    opt = torch.optim.Adam(model.parameters(), lr=CLF["lr"])
    hist = {"train_loss": []}
    for _ in range(CLF["epochs"]):
        perm, total, count = torch.randperm(len(crops), generator=g), 0.0, 0
        for i in range(0, len(crops), CLF["batch_size"]):
            idx = perm[i:i + CLF["batch_size"]]
            loss = F.cross_entropy(model(crops[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, count = total + loss.item(), count + 1
        hist["train_loss"].append(total / count)
        print(f"  classifier loss {hist['train_loss'][-1]:.3f}", flush=True)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, hist


def build() -> dict:
    lecture_lib.setup("quick", verbose=False)
    torch.set_num_threads(1)  # two threads on a busy 2-core machine are many times slower than one
    train = make_scenes(SCENES["n_train"], seed=SCENES["train_seed"])
    val = make_scenes(SCENES["n_val"], seed=SCENES["val_seed"])  # model selection only; the test split is separate
    clf_state, clf_hist = train_classifier(train)
    fcn_state, fcn_hist = train_fcn(train, val)
    return {"scenes": dict(SCENES), "arch": dict(ARCH), "train": dict(TRAIN), "classifier_cfg": dict(CLF),
            "classifier_state": clf_state, "classifier_history": clf_hist,
            "fcn_state": fcn_state, "fcn_history": fcn_hist}
