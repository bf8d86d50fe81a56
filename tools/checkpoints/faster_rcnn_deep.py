"""Train Faster R-CNN (deep backbone): RPN + Fast R-CNN head, four losses jointly (03c notebook)."""

from __future__ import annotations

import torch

import lecture_lib
from lecture_lib.checkpoints import load_checkpoint
from lecture_lib.datasets.scenes import NUM_CLASSES, make_scenes
from lecture_lib.detection.faster_rcnn import FasterRCNN, fit_faster_rcnn

NAME = "faster_rcnn_deep.pt"
TRAIN_SEED, N_TRAIN, EPOCHS, DEPTH = 100, 800, 7, "deep"


def build() -> dict:
    lecture_lib.setup("quick", seed=0, verbose=False)
    torch.set_num_threads(1)
    bb = load_checkpoint(f"detection_backbone_{DEPTH}.pt")
    train = make_scenes(N_TRAIN, seed=TRAIN_SEED)
    torch.manual_seed(0)
    model = FasterRCNN(NUM_CLASSES, DEPTH)
    model.load_pretrained(bb["state"])
    curve = fit_faster_rcnn(model, train.images, train.to_detection_targets(), epochs=EPOCHS, lr=3e-3, progress=True)
    print(f"Faster R-CNN ({DEPTH}): training {curve['seconds']:.0f} s, loss {curve['loss'][0]:.3f} -> {curve['loss'][-1]:.3f}")
    return {"depth": DEPTH, "state": model.state_dict(), "curve": curve, "n_train_images": N_TRAIN, "epochs": EPOCHS}
