"""How the committed detection checkpoints in ``data/`` are trained (``make checkpoints``).

``CHECKPOINTS`` maps each file to its ``build() -> dict``; ``tools/make_checkpoints.py`` runs them
and updates ``data/MANIFEST.json``. Every build trains through ``lecture_lib.train.fit`` (or
scikit-learn for R-CNN's SVMs), on one thread, seeded by explicit generators (model init inside
``torch.random.fork_rng``), and returns model entries (``checkpoints.model_entry``, key
``"model"``, read back with ``checkpoints.load_model``) plus the metadata the 03a-03c notebooks
show (loss curves, times, sizes). The detectors' thresholds are passed explicitly and stored in
the model entry, so a loaded detector behaves as the trained one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import torch
from torch import nn

from lecture_lib.checkpoints import load_model, model_entry
from lecture_lib.datasets.scenes import NUM_CLASSES, make_scenes
from lecture_lib.detection import rcnn, training
from lecture_lib.detection.backbone import CropClassifier, load_pretrained
from lecture_lib.detection.fast_rcnn import FastRCNN
from lecture_lib.detection.faster_rcnn import ANCHOR_SIZES, ASPECT_RATIOS, FasterRCNN
from lecture_lib.detection.selective_search import selective_search
from lecture_lib.metrics import bootstrap_map
from lecture_lib.runtime import single_thread
from lecture_lib.train import timed

TRAIN_SEED, VAL_SEED, TEST_SEED = 100, 7, 1
N_TRAIN = 120  # R-CNN, Fast R-CNN and the "fair" Faster R-CNN all learn from these same scenes
N_TEST = 100  # the one test set of 03a-03c: make_scenes(N_TEST, seed=TEST_SEED)
FAIR_EPOCHS, FAIR_BATCH = 10, 4  # Fast R-CNN and the fair Faster R-CNN: the same 300 SGD steps
PAPER_RIDGE_ALPHA = 1000.0  # R-CNN's ridge penalty (AlexNet pool5, 9216 features)
RIDGE_ALPHAS = (
    0.01,
    0.1,
    1.0,
    10.0,
    100.0,
    1000.0,
    10000.0,
)  # candidates, one chosen per class by cross-validation
WARP = 64
# The RoI head of both detectors as trained (torchvision's defaults differ: NMS 0.5, 512 RoIs per image)
BOX_HEAD: dict[str, Any] = {
    "box_score_thresh": 0.05,
    "box_nms_thresh": 0.3,
    "box_detections_per_img": 100,
    "box_fg_iou_thresh": 0.5,
    "box_bg_iou_thresh": 0.5,
    "box_batch_size_per_image": 64,
    "box_positive_fraction": 0.25,
    "bbox_reg_weights": [10.0, 10.0, 5.0, 5.0],
}
FAST_RCNN: dict[str, Any] = {
    "num_classes": NUM_CLASSES,
    "depth": "small",
    "dim": 128,
    "box_roi_pool": "roi_pool",
    **BOX_HEAD,
}
# The RPN as trained (torchvision: pre-NMS 2000/1000, post-NMS 2000/1000; 03c measures recall up to 2000)
FASTER_RCNN: dict[str, Any] = {
    "num_classes": NUM_CLASSES,
    "dim": 128,
    "image_size": 128,
    "anchor_sizes": list(ANCHOR_SIZES),
    "aspect_ratios": list(ASPECT_RATIOS),
    "box_roi_pool": "roi_align",
    "rpn_pre_nms_top_n_train": 1000,
    "rpn_pre_nms_top_n_test": 300,
    "rpn_post_nms_top_n_train": 300,
    "rpn_post_nms_top_n_test": 300,
    "rpn_nms_thresh": 0.7,
    "rpn_fg_iou_thresh": 0.7,
    "rpn_bg_iou_thresh": 0.3,
    "rpn_batch_size_per_image": 256,
    "rpn_positive_fraction": 0.5,
    "rpn_min_size": 2.0,
    **BOX_HEAD,
}


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def _init(builder: Callable[..., ModuleT], seed: int = 0, **kwargs: Any) -> ModuleT:
    """``builder(**kwargs)`` with its random init drawn from seed ``seed`` (the global RNG untouched)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return builder(**kwargs)


def _pretrained_cnn(depth: str) -> CropClassifier:
    """The pretrained crop classifier ``detection_backbone_<depth>.pt`` (the slides' ImageNet CNN)."""
    cnn = load_model(f"detection_backbone_{depth}.pt")
    if not isinstance(cnn, CropClassifier):
        raise TypeError(f"detection_backbone_{depth}.pt must hold a CropClassifier, got {type(cnn).__name__}")
    return cnn


def _proposals(images: torch.Tensor) -> tuple[list[torch.Tensor], float]:
    start = time.perf_counter()
    props = [selective_search(img.permute(1, 2, 0).numpy()) for img in images]
    return props, time.perf_counter() - start


def timing_entry(timing) -> dict:
    """A ``train.Timing`` as checkpoint data (rebuild it with ``Timing(tuple(d["times"]), d["warmup"])``)."""
    return {"times": list(timing.times), "warmup": timing.warmup}


def test_scenes_proposals() -> list[torch.Tensor]:
    """Selective Search proposals of the 03a-03c test scenes (whole pixels, so stored as int16)."""
    test = make_scenes(N_TEST, seed=TEST_SEED)
    return [p.round().to(torch.int16) for p in _proposals(test.images)[0]]


@single_thread()
def build_backbone(depth: str, *, epochs: int, n_train: int = 240, n_val: int = 40) -> dict:
    """Pretrain a detection backbone as a crop classifier (the stand-in for an ImageNet CNN).

    ``WARP x WARP`` warped crops of scene objects (jittered ground-truth boxes, their class) and of
    background (IoU < 0.3 with every object), on training scenes; validation on other scenes.
    """
    train, val = make_scenes(n_train, seed=TRAIN_SEED), make_scenes(n_val, seed=VAL_SEED)
    x, y = training.sample_training_crops(
        train.images, train.boxes, train.labels, per_image=6, size=WARP, seed=0
    )
    xv, yv = training.sample_training_crops(val.images, val.boxes, val.labels, per_image=6, size=WARP, seed=1)
    model = _init(CropClassifier, num_classes=NUM_CLASSES, depth=depth)
    history = training.pretrain_backbone(model, x, y, xv, yv, epochs=epochs, seed=0)
    print(f"{depth}: val acc {history.metrics['val_acc']}, {history.seconds:.0f} s")
    return {
        "model": model_entry(CropClassifier, model, num_classes=NUM_CLASSES, depth=depth),
        "warp": WARP,
        "num_classes": NUM_CLASSES,
        "train_crops": len(x),
        "val_crops": len(xv),
        "depth": depth,
        "loss": history.batch_loss,
        "val_acc": history.metrics["val_acc"],
        "seconds": history.seconds,
    }


@single_thread()
def build_rcnn(depth: str = "small", *, n_train: int = N_TRAIN, timing_images: int = 4) -> dict:
    """R-CNN's two later stages on the pretrained CNN: per-class SVMs (hard negatives) and box regressors.

    Selective Search proposals on training scenes, every region warped and run through the CNN;
    the fc7/pool5 features of all regions are cached (their size on disk is recorded). Then the
    measurements 03a-03c share, made once here because R-CNN is slow: the Selective Search
    proposals of the ``N_TEST`` test scenes, R-CNN's detections on all of them with and without box
    regression (mAP with bootstrap intervals), and the test time per image of R-CNN, Fast R-CNN
    and Selective Search on the first ``timing_images`` test scenes, through ``train.timed``
    (one warm-up, five repeats) in the same process.
    """
    cnn = _pretrained_cnn(depth)
    train = make_scenes(n_train, seed=TRAIN_SEED)
    proposals, ss_seconds = _proposals(train.images)
    start = time.perf_counter()
    feats, pool5s, fc7s, stats, is_gt, regions = [], [], [], [], [], []
    for img, gt, lab, props in zip(train.images, train.boxes, train.labels, proposals):
        boxes = torch.cat([gt, props])  # ground-truth boxes are regions too (the SVM positives)
        pool5, fc7 = rcnn.extract_features(cnn, img, boxes, warp=WARP)
        feats += [pool5, fc7]
        pool5s.append(pool5)
        fc7s.append(fc7)
        regions.append(boxes)
        stats.append(rcnn.region_statistics(boxes, gt, lab, NUM_CLASSES))
        is_gt.append(torch.arange(len(boxes)) < len(gt))
    feature_seconds = time.perf_counter() - start
    disk = rcnn.cache_bytes(feats)  # what R-CNN writes to disk before training the SVMs
    per_class, best_box, best_iou, best_label = (torch.cat([s[i] for s in stats]) for i in range(4))
    is_gt_all, pool5, fc7, boxes = torch.cat(is_gt), torch.cat(pool5s), torch.cat(fc7s), torch.cat(regions)
    start = time.perf_counter()
    svm_w, svm_b, negatives = rcnn.train_svms(fc7, per_class, best_label, is_gt_all, NUM_CLASSES)
    svm_seconds = time.perf_counter() - start
    start, props = time.perf_counter(), ~is_gt_all
    regression_data = (pool5[props], boxes[props], best_box[props], best_iou[props], best_label[props])
    reg_w, reg_b, alphas = rcnn.train_box_regressors(*regression_data, NUM_CLASSES, alpha=RIDGE_ALPHAS)
    reg_seconds = time.perf_counter() - start
    model = rcnn.RCNN(NUM_CLASSES, depth, warp=WARP)
    model.cnn.load_state_dict(cnn.state_dict())
    model.set_classifiers(svm_w, svm_b, reg_w, reg_b)
    # the paper's fixed penalty on our features, kept to show what it does (03a)
    paper_w, paper_b, _ = rcnn.train_box_regressors(*regression_data, NUM_CLASSES, alpha=PAPER_RIDGE_ALPHA)
    return {
        "model": model_entry(rcnn.RCNN, model, num_classes=NUM_CLASSES, depth=depth, warp=WARP),
        "depth": depth,
        "warp": WARP,
        "negatives_per_class": negatives,
        "n_train_images": n_train,
        "n_regions": len(boxes),
        "n_regressor_examples": rcnn.regressor_examples(best_iou[props], best_label[props], NUM_CLASSES),
        "ridge_alphas": alphas,
        "paper_ridge_alpha": PAPER_RIDGE_ALPHA,
        "cache_bytes": disk,
        "feature_dims": pool5.shape[1] + fc7.shape[1],
        "seconds": {
            "selective_search": ss_seconds,
            "features": feature_seconds,
            "svm": svm_seconds,
            "regressors": reg_seconds,
        },
        **evaluate_on_test_set(model, (paper_w, paper_b), timing_images=timing_images),
    }


def evaluate_on_test_set(model: rcnn.RCNN, paper_regressors: tuple, *, timing_images: int = 4) -> dict:
    """What R-CNN's checkpoint stores about the shared test set (see :func:`build_rcnn`).

    Detections with the chosen regressors (``"regress"``), without regression (``"no_regress"``)
    and with the regressors trained at the paper's fixed penalty (``"regress_paper_alpha"``).
    """
    paper = rcnn.RCNN(NUM_CLASSES, model.cnn.backbone.depth, warp=model.warp)
    paper.load_state_dict(model.state_dict())
    state = model.state_dict()
    paper.set_classifiers(state["svm_w"], state["svm_b"], *paper_regressors)
    test = make_scenes(N_TEST, seed=TEST_SEED)
    targets = test.to_detection_targets()
    test_props = test_scenes_proposals()
    preds: dict[str, list] = {"regress": [], "no_regress": [], "regress_paper_alpha": []}
    for img, p in zip(test.images, test_props):
        pool5, fc7 = rcnn.extract_features(model.cnn, img, p.float(), warp=model.warp)
        for key, net, regress in (
            ("regress", model, True),
            ("no_regress", model, False),
            ("regress_paper_alpha", paper, True),
        ):
            d = net.detect_from_features(pool5, fc7, p.float(), tuple(img.shape[-2:]), regress=regress)
            preds[key].append({k: v.clone() for k, v in d.items()})
    maps = {}
    for key, key_preds in preds.items():
        r = bootstrap_map(key_preds, targets, n_boot=1000, seed=0)
        maps[key] = {"map": r["map"], "low": r["low"], "high": r["high"]}
        print(f"R-CNN {key}: mAP {r['map']:.3f} [{r['low']:.3f}, {r['high']:.3f}] on {N_TEST} test scenes")
    fast = cast(FastRCNN, load_model("fast_rcnn_detector.pt"))
    imgs, props = test.images[:timing_images], [p.float() for p in test_props[:timing_images]]
    timing = {
        "rcnn": timed(lambda: [model.detect(i, p) for i, p in zip(imgs, props)], repeat=5, warmup=1),
        "fast_rcnn": timed(
            lambda: [fast.detect(i[None], [p]) for i, p in zip(imgs, props)], repeat=5, warmup=1
        ),
        "selective_search": timed(
            lambda: [selective_search(i.permute(1, 2, 0).numpy()) for i in imgs], repeat=5, warmup=1
        ),
    }
    for name, t in timing.items():
        print(f"{name}: {t} for {timing_images} images")
    return {
        "test_seed": TEST_SEED,
        "n_test": N_TEST,
        "test_proposals": test_props,
        "test_predictions": preds,
        "test_map": maps,
        "timing_images": timing_images,
        "timing": {name: timing_entry(t) for name, t in timing.items()},
    }


@single_thread()
def build_fast_rcnn(*, n_train: int = N_TRAIN, epochs: int = FAIR_EPOCHS) -> dict:
    """Fast R-CNN (small backbone, Selective Search proposals) trained end to end."""
    train = make_scenes(n_train, seed=TRAIN_SEED)
    proposals, ss_seconds = _proposals(train.images)
    model = _init(FastRCNN, **FAST_RCNN)
    load_pretrained(model, _pretrained_cnn(FAST_RCNN["depth"]))
    history = training.fit_fast_rcnn(
        model, train.images, train.to_detection_targets(), proposals, epochs=epochs, batch_size=FAIR_BATCH
    )
    return {
        "model": model_entry(FastRCNN, model, **FAST_RCNN),
        "depth": FAST_RCNN["depth"],
        "curve": training.curve(history),
        "ss_seconds": ss_seconds,
        "n_train_images": n_train,
        "epochs": epochs,
    }


@single_thread()
def build_faster_rcnn(
    depth: str, *, n_train: int = 800, epochs: int = 7, batch_size: int = 8, lr: float = 3e-3
) -> dict:
    """Faster R-CNN on a pretrained backbone: RPN + Fast R-CNN head, four losses jointly."""
    train = make_scenes(n_train, seed=TRAIN_SEED)
    kwargs = {**FASTER_RCNN, "depth": depth}
    model = _init(FasterRCNN, **kwargs)
    load_pretrained(model, _pretrained_cnn(depth))
    history = training.fit_faster_rcnn(
        model,
        train.images,
        train.to_detection_targets(),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        progress=True,
    )
    return {
        "model": model_entry(FasterRCNN, model, **kwargs),
        "depth": depth,
        "curve": training.curve(history),
        "n_train_images": n_train,
        "epochs": epochs,
        "batch_size": batch_size,
        "steps": len(history.batch_loss),
    }


def detection_backbone_small() -> dict:
    return build_backbone("small", epochs=5)


def detection_backbone_deep() -> dict:
    return build_backbone("deep", epochs=3)


def rcnn_detector() -> dict:
    return build_rcnn("small")


def faster_rcnn_small() -> dict:
    return build_faster_rcnn("small")


def faster_rcnn_deep() -> dict:
    return build_faster_rcnn("deep")


def faster_rcnn_fair() -> dict:
    """The small-backbone Faster R-CNN on Fast R-CNN's budget: the same scenes, batch size and steps."""
    return build_faster_rcnn("small", n_train=N_TRAIN, epochs=FAIR_EPOCHS, batch_size=FAIR_BATCH)


CHECKPOINTS = {
    "detection_backbone_small.pt": detection_backbone_small,
    "detection_backbone_deep.pt": detection_backbone_deep,
    "fast_rcnn_detector.pt": build_fast_rcnn,
    "rcnn_detector.pt": rcnn_detector,  # after Fast R-CNN: it times both on the same images
    "faster_rcnn_small.pt": faster_rcnn_small,
    "faster_rcnn_deep.pt": faster_rcnn_deep,
    "faster_rcnn_fair.pt": faster_rcnn_fair,
}
# What each build loads (``checkpoints.load_model``): ``make checkpoints`` builds those first.
NEEDS = {
    "fast_rcnn_detector.pt": ("detection_backbone_small.pt",),
    "rcnn_detector.pt": ("detection_backbone_small.pt", "fast_rcnn_detector.pt"),
    "faster_rcnn_small.pt": ("detection_backbone_small.pt",),
    "faster_rcnn_deep.pt": ("detection_backbone_deep.pt",),
    "faster_rcnn_fair.pt": ("detection_backbone_small.pt",),
}
