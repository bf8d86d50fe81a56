"""FCN-32s / FCN-16s / FCN-8s and a crop classifier trained on the procedural scenes.

Used by 04_segmentation.ipynb. The three FCN decoders sit on one shared encoder and are trained
jointly on the sum of their three cross-entropy losses: the same data (scenes, flips, batch
order), the same optimiser, the same number of steps and the same encoder features, so the
comparison isolates what the skip connections add. Every epoch sees freshly generated scenes
(scene ``i`` of epoch ``e`` is ``make_scenes(..., seed=train_seed + 1000 * e)[i]``), so the
network never sees the same scene twice and the test seed is never used. The crop classifier
(centre-pixel class of 28 x 28 windows) is the "CNN" that the notebook convolutionalises.

Both train through ``lecture_lib.train.fit``. Regenerate with
``python tools/make_checkpoints.py fcn_scenes`` (about 30 minutes on one CPU thread).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

import lecture_lib
from lecture_lib.datasets.scenes import make_scenes
from lecture_lib.metrics.segmentation import iou_from_confusion, segmentation_confusions
from lecture_lib.segmentation import FCN, crop_classifier, predict, sample_crops
from lecture_lib.train import fit

NAME = "fcn_scenes.pt"

# ``make_scenes`` keyword arguments of the segmentation scenes. Cross arms 10..16 px wide (ring
# thickness scaled alike) and objects of 25..55 % of the image: thin next to FCN-32s's 32 px output
# cells, resolvable by FCN-8s's 8 px cells (make_scenes' default 2..4 px arms are not).
SCENE_KWARGS = {"thin_width": [5.0, 8.0], "scale_range": [0.25, 0.55], "max_objects": 3}
SCENES = {"n_train": 1200, "train_seed": 100, "val_seed": 101, "n_val": 60, "test_seed": 200,
          "kwargs": SCENE_KWARGS}
ARCH = {"widths": [12, 24, 48, 96, 128], "convs_per_stage": [2, 2, 3, 3, 3], "fc_width": 128}
TRAIN = {"epochs": 40, "batch_size": 16, "lr": 4e-3, "weight_decay": 1e-4, "pct_start": 0.2, "seed": 0}
CLF = {"crop": 28, "n_crops": 60000, "epochs": 20, "batch_size": 128, "lr": 2e-3}


class FreshScenes:
    """Batches ``(images [B, 3, H, W], masks [B, H, W])`` of newly generated scenes every epoch,
    shuffled, each batch flipped left-right and/or upside down with probability 1/2."""

    def __init__(self, n: int, seed: int, batch_size: int, generator: torch.Generator, **kwargs):
        self.n, self.seed, self.batch_size, self.g, self.kwargs = n, seed, batch_size, generator, kwargs
        self.epoch = 0

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        scenes = make_scenes(self.n, seed=self.seed + 1000 * self.epoch, **self.kwargs)
        self.epoch += 1
        perm = torch.randperm(self.n, generator=self.g)
        for i in range(0, self.n - self.batch_size + 1, self.batch_size):
            x, y = scenes.images[perm[i:i + self.batch_size]], scenes.masks[perm[i:i + self.batch_size]]
            for dim in (-1, -2):
                if torch.rand(1, generator=self.g).item() < 0.5:
                    x, y = x.flip(dim), y.flip(dim)
            yield x, y


def train_fcn(val) -> tuple[dict, dict]:
    torch.manual_seed(TRAIN["seed"])
    model = FCN(val.num_classes, variant="all", widths=tuple(ARCH["widths"]),
                convs_per_stage=tuple(ARCH["convs_per_stage"]), fc_width=ARCH["fc_width"])
    loader = FreshScenes(SCENES["n_train"], SCENES["train_seed"], TRAIN["batch_size"],
                         torch.Generator().manual_seed(TRAIN["seed"]), **SCENE_KWARGS)
    steps = TRAIN["epochs"] * (SCENES["n_train"] // TRAIN["batch_size"])
    opt = torch.optim.AdamW(model.parameters(), lr=TRAIN["lr"], weight_decay=TRAIN["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=TRAIN["lr"], total_steps=steps,
                                                pct_start=TRAIN["pct_start"])

    def losses(m, batch):  # one encoder pass, the three decoders' losses (summed by fit)
        x, y = batch
        return {v: F.cross_entropy(out, y) for v, out in m(x).items()}

    def evaluate(m):
        metrics = {}
        for v in FCN.VARIANTS:
            cm, cb = segmentation_confusions(predict(m.head(v), val.images), val.masks, val.num_classes)
            metrics[f"val_miou_{v}"] = iou_from_confusion(cm)["miou"]
            metrics[f"val_boundary_miou_{v}"] = iou_from_confusion(cb)["miou"]
        print(f"  epoch {len(hist_seen) + 1}: " + ", ".join(
            f"{v} mIoU {metrics[f'val_miou_{v}']:.3f} bnd {metrics[f'val_boundary_miou_{v}']:.3f}"
            for v in FCN.VARIANTS), flush=True)
        hist_seen.append(metrics)
        return metrics

    hist_seen: list[dict] = []
    hist = fit(model, loader, epochs=TRAIN["epochs"], optimizer=opt, scheduler=sched, scheduler_step="batch",
               loss_fn=losses, eval_fn=evaluate, progress=False)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, hist.as_dict()


def train_classifier(train) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    crops, labels = sample_crops(train.images, train.masks, CLF["n_crops"], CLF["crop"], generator=g)
    model = crop_classifier(train.num_classes, crop=CLF["crop"])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(crops, labels), batch_size=CLF["batch_size"],
                                         shuffle=True, generator=g)
    hist = fit(model, loader, epochs=CLF["epochs"], lr=CLF["lr"], progress=False)
    print("  classifier loss " + " ".join(f"{x:.3f}" for x in hist.train_loss), flush=True)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, hist.as_dict()


def build() -> dict:
    lecture_lib.setup("quick", verbose=False)
    torch.set_num_threads(1)  # two threads on a busy 2-core machine are many times slower than one
    train = make_scenes(SCENES["n_train"], seed=SCENES["train_seed"], **SCENE_KWARGS)  # the classifier's crops
    val = make_scenes(SCENES["n_val"], seed=SCENES["val_seed"], **SCENE_KWARGS)  # monitoring only; test is separate
    clf_state, clf_hist = train_classifier(train)
    fcn_state, fcn_hist = train_fcn(val)
    return {"scenes": dict(SCENES), "arch": dict(ARCH), "train": dict(TRAIN), "classifier_cfg": dict(CLF),
            "classifier_state": clf_state, "classifier_history": clf_hist,
            "fcn_state": fcn_state, "fcn_history": fcn_hist}
