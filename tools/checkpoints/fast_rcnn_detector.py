"""Train Fast R-CNN (small backbone, Selective Search proposals) end to end (03b, 03c notebooks)."""

from __future__ import annotations

import time

import torch

import lecture_lib
from lecture_lib.checkpoints import load_checkpoint
from lecture_lib.datasets.scenes import NUM_CLASSES, make_scenes
from lecture_lib.detection.fast_rcnn import FastRCNN, fit_fast_rcnn
from lecture_lib.detection.selective_search import selective_search

NAME = "fast_rcnn_detector.pt"
TRAIN_SEED, N_TRAIN, EPOCHS, DEPTH = 100, 120, 10, "small"


def build() -> dict:
    lecture_lib.setup("quick", seed=0, verbose=False)
    torch.set_num_threads(1)
    bb = load_checkpoint(f"detection_backbone_{DEPTH}.pt")
    train = make_scenes(N_TRAIN, seed=TRAIN_SEED)
    t0 = time.perf_counter()
    proposals = [selective_search(img.permute(1, 2, 0).numpy()) for img in train.images]
    ss_seconds = time.perf_counter() - t0
    torch.manual_seed(0)
    model = FastRCNN(NUM_CLASSES, DEPTH)
    model.load_pretrained(bb["state"])
    curve = fit_fast_rcnn(model, train.images, train.to_detection_targets(), proposals, epochs=EPOCHS)
    print(f"Fast R-CNN: SS {ss_seconds:.0f} s, training {curve['seconds']:.0f} s, "
          f"loss {curve['loss'][0]:.3f} -> {curve['loss'][-1]:.3f}")
    return {"depth": DEPTH, "state": model.state_dict(), "curve": curve, "ss_seconds": ss_seconds,
            "n_train_images": N_TRAIN, "epochs": EPOCHS}
