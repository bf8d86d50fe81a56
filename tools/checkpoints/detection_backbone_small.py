"""Pretrain the "small" detection backbone as a crop classifier (03a-03c notebooks).

The slides' R-CNN starts from an ImageNet-pretrained AlexNet/VGG16; here the stand-in is a tiny
CNN trained to classify 64x64 warped crops of scene objects (jittered ground-truth boxes, their
class) and of background (IoU < 0.3 with every object), on training scenes (seed 100).
"""

from __future__ import annotations

import time

import torch
from torch.nn import functional as F

import lecture_lib
from lecture_lib.datasets.scenes import NUM_CLASSES, make_scenes
from lecture_lib.detection.backbone import CropClassifier, sample_training_crops

NAME = "detection_backbone_small.pt"
TRAIN_SEED, VAL_SEED = 100, 7
N_TRAIN, N_VAL, EPOCHS, WARP, DEPTH = 240, 40, 5, 64, "small"


def build() -> dict:
    lecture_lib.setup("quick", seed=0, verbose=False)
    torch.set_num_threads(1)
    train, val = make_scenes(N_TRAIN, seed=TRAIN_SEED), make_scenes(N_VAL, seed=VAL_SEED)
    x, y = sample_training_crops(train.images, train.boxes, train.labels, per_image=6, size=WARP, seed=0)
    xv, yv = sample_training_crops(val.images, val.boxes, val.labels, per_image=6, size=WARP, seed=1)
    out: dict = {"warp": WARP, "num_classes": NUM_CLASSES, "train_crops": len(x), "val_crops": len(xv)}
    for depth in (DEPTH,):
        torch.manual_seed(0)
        model = CropClassifier(NUM_CLASSES, depth)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        steps = EPOCHS * ((len(x) + 63) // 64)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
        g = torch.Generator().manual_seed(0)
        losses, val_acc, start = [], [], time.perf_counter()
        for _ in range(EPOCHS):
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
