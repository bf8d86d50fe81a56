"""Training recipes shared by the detection checkpoint builders (03a-03c notebooks).

The builders next to this file pick a depth ("small": 3 conv layers, "deep": 6) and call these.
"""

from __future__ import annotations

import time

import torch
from torch.nn import functional as F

import lecture_lib
from lecture_lib.checkpoints import load_checkpoint
from lecture_lib.datasets.scenes import NUM_CLASSES, make_scenes
from lecture_lib.detection.backbone import CropClassifier, sample_training_crops
from lecture_lib.detection.faster_rcnn import FasterRCNN, fit_faster_rcnn

TRAIN_SEED, VAL_SEED = 100, 7


def pretrain_backbone(depth: str, *, epochs: int, n_train: int = 240, n_val: int = 40, warp: int = 64) -> dict:
    """Pretrain a detection backbone as a crop classifier.

    The slides' R-CNN starts from an ImageNet-pretrained AlexNet/VGG16; here the stand-in is a tiny
    CNN trained to classify ``warp`` x ``warp`` warped crops of scene objects (jittered ground-truth
    boxes, their class) and of background (IoU < 0.3 with every object), on training scenes.
    """
    lecture_lib.setup("quick", seed=0, verbose=False)
    torch.set_num_threads(1)
    train, val = make_scenes(n_train, seed=TRAIN_SEED), make_scenes(n_val, seed=VAL_SEED)
    x, y = sample_training_crops(train.images, train.boxes, train.labels, per_image=6, size=warp, seed=0)
    xv, yv = sample_training_crops(val.images, val.boxes, val.labels, per_image=6, size=warp, seed=1)
    out: dict = {"warp": warp, "num_classes": NUM_CLASSES, "train_crops": len(x), "val_crops": len(xv)}
    torch.manual_seed(0)
    model = CropClassifier(NUM_CLASSES, depth)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps = epochs * ((len(x) + 63) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)  # stepped per batch
    g = torch.Generator().manual_seed(0)
    losses, val_acc, start = [], [], time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            val_acc.append((model(xv).argmax(1) == yv).float().mean().item())
    out.update({"depth": depth, "state": model.state_dict(), "loss": losses, "val_acc": val_acc,
                "seconds": time.perf_counter() - start})
    print(f"{depth}: val acc {val_acc}, {out['seconds']:.0f} s")
    return out


def train_faster_rcnn(depth: str, *, n_train: int = 800, epochs: int = 7) -> dict:
    """Faster R-CNN on a pretrained backbone: RPN + Fast R-CNN head, four losses jointly."""
    lecture_lib.setup("quick", seed=0, verbose=False)
    torch.set_num_threads(1)
    bb = load_checkpoint(f"detection_backbone_{depth}.pt")
    train = make_scenes(n_train, seed=TRAIN_SEED)
    torch.manual_seed(0)
    model = FasterRCNN(NUM_CLASSES, depth)
    model.load_pretrained(bb["state"])
    curve = fit_faster_rcnn(model, train.images, train.to_detection_targets(), epochs=epochs, lr=3e-3, progress=True)
    print(f"Faster R-CNN ({depth}): training {curve['seconds']:.0f} s, loss {curve['loss'][0]:.3f} -> {curve['loss'][-1]:.3f}")
    return {"depth": depth, "state": model.state_dict(), "curve": curve, "n_train_images": n_train, "epochs": epochs}
