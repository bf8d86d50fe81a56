"""Train R-CNN's per-class linear SVMs (hard-negative mining) and box regressors (03a notebook).

Selective Search proposals on training scenes (seed 100), every region warped to 64x64 and run
through the pretrained "small" CNN (``detection_backbones.pt``); the fc7/pool5 features of all
regions are cached (their size on disk is recorded), then the SVMs and ridge regressors are fit.
"""

from __future__ import annotations

import time

import torch

import lecture_lib
from lecture_lib.checkpoints import load_checkpoint
from lecture_lib.datasets.scenes import NUM_CLASSES, make_scenes
from lecture_lib.detection.backbone import CropClassifier
from lecture_lib.detection.rcnn import (
    cache_bytes,
    extract_features,
    region_statistics,
    train_box_regressors,
    train_svms,
)
from lecture_lib.detection.selective_search import selective_search

NAME = "rcnn_detector.pt"
TRAIN_SEED, N_TRAIN, DEPTH = 100, 60, "small"


def build() -> dict:
    lecture_lib.setup("quick", seed=0, verbose=False)
    torch.set_num_threads(1)
    bb = load_checkpoint(f"detection_backbone_{DEPTH}.pt")
    cnn = CropClassifier(NUM_CLASSES, DEPTH)
    cnn.load_state_dict(bb["state"])
    cnn.eval()
    train = make_scenes(N_TRAIN, seed=TRAIN_SEED)
    t0 = time.perf_counter()
    proposals = [selective_search(img.permute(1, 2, 0).numpy()) for img in train.images]
    ss_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    feats, pool5s, fc7s, stats, is_gt, regions = [], [], [], [], [], []
    for img, gt, lab, props in zip(train.images, train.boxes, train.labels, proposals):
        boxes = torch.cat([gt, props])  # ground-truth boxes are regions too (the SVM positives)
        pool5, fc7 = extract_features(cnn, img, boxes, warp=bb["warp"])
        feats += [pool5, fc7]
        pool5s.append(pool5), fc7s.append(fc7), regions.append(boxes)
        stats.append(region_statistics(boxes, gt, lab, NUM_CLASSES))
        is_gt.append(torch.arange(len(boxes)) < len(gt))
    feature_seconds = time.perf_counter() - t0
    disk = cache_bytes(feats)  # what R-CNN writes to disk before training the SVMs

    per_class, best_box, best_iou, best_label = (torch.cat([s[i] for s in stats]) for i in range(4))
    is_gt, pool5, fc7, regions = torch.cat(is_gt), torch.cat(pool5s), torch.cat(fc7s), torch.cat(regions)
    t0 = time.perf_counter()
    svm_w, svm_b, negatives = train_svms(fc7, per_class, best_label, is_gt, NUM_CLASSES)
    svm_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    props = ~is_gt
    reg_w, reg_b = train_box_regressors(pool5[props], regions[props], best_box[props], best_iou[props],
                                        best_label[props], NUM_CLASSES)
    reg_seconds = time.perf_counter() - t0
    print(f"R-CNN: {len(regions)} regions, cache {disk / 1e6:.1f} MB, SS {ss_seconds:.0f} s, "
          f"features {feature_seconds:.0f} s, SVM {svm_seconds:.0f} s, regressors {reg_seconds:.0f} s")
    return {"depth": DEPTH, "warp": bb["warp"], "svm_w": svm_w, "svm_b": svm_b, "reg_w": reg_w, "reg_b": reg_b,
            "negatives_per_class": negatives, "n_train_images": N_TRAIN, "n_regions": len(regions),
            "cache_bytes": disk, "feature_dims": pool5.shape[1] + fc7.shape[1],
            "seconds": {"selective_search": ss_seconds, "features": feature_seconds, "svm": svm_seconds,
                        "regressors": reg_seconds}}
