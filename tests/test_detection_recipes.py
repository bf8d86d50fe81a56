"""Detection recipes and the committed checkpoints: model entries rebuild the trained detectors
(thresholds included); a miniature build is deterministic and leaves the global RNG alone."""

import pytest
import torch

from lecture_lib.checkpoints import build_model, load_checkpoint, load_model
from lecture_lib.detection import recipes
from lecture_lib.detection.backbone import CropClassifier
from lecture_lib.detection.fast_rcnn import FastRCNN
from lecture_lib.detection.faster_rcnn import FasterRCNN
from lecture_lib.detection.rcnn import RCNN
from lecture_lib.detection.training import ShuffledBatches


def test_checkpoints_are_listed_and_load_as_their_classes():
    assert set(recipes.CHECKPOINTS) == {
        "detection_backbone_small.pt",
        "detection_backbone_deep.pt",
        "rcnn_detector.pt",
        "fast_rcnn_detector.pt",
        "faster_rcnn_small.pt",
        "faster_rcnn_deep.pt",
        "faster_rcnn_fair.pt",
    }
    classes = {
        "detection_backbone_small.pt": CropClassifier,
        "detection_backbone_deep.pt": CropClassifier,
        "rcnn_detector.pt": RCNN,
        "fast_rcnn_detector.pt": FastRCNN,
        "faster_rcnn_small.pt": FasterRCNN,
        "faster_rcnn_deep.pt": FasterRCNN,
        "faster_rcnn_fair.pt": FasterRCNN,
    }
    for name, cls in classes.items():
        model = load_model(name)
        assert type(model) is cls and not model.training


def test_loaded_detectors_keep_their_training_thresholds():
    faster = load_model("faster_rcnn_small.pt")
    assert faster.rpn.pre_nms_top_n == {
        "training": recipes.FASTER_RCNN["rpn_pre_nms_top_n_train"],
        "testing": recipes.FASTER_RCNN["rpn_pre_nms_top_n_test"],
    }
    assert faster.rpn.min_size == recipes.FASTER_RCNN["rpn_min_size"]
    for model, kwargs in (
        (faster, recipes.FASTER_RCNN),
        (load_model("fast_rcnn_detector.pt"), recipes.FAST_RCNN),
    ):
        head = model.roi_head
        assert (head.nms_thresh, head.batch_size_per_image, head.box_roi_pool) == (
            kwargs["box_nms_thresh"],
            kwargs["box_batch_size_per_image"],
            kwargs["box_roi_pool"],
        )
        assert head.box_coder.weights == tuple(kwargs["bbox_reg_weights"])


def test_rcnn_checkpoint_holds_the_pretrained_cnn():
    rc, bb = load_model("rcnn_detector.pt"), load_model("detection_backbone_small.pt")
    for k, v in bb.state_dict().items():
        assert torch.equal(rc.cnn.state_dict()[k], v)
    assert rc.svm_w.abs().sum() > 0 and rc.reg_w.abs().sum() > 0  # trained, not the empty init
    assert load_checkpoint("rcnn_detector.pt")["warp"] == rc.warp


def test_shuffled_batches_cover_every_example_once():
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    loader = ShuffledBatches(x, y, batch_size=4, seed=0)
    assert len(loader) == 3
    first, second = [b[1] for b in loader], [b[1] for b in loader]
    assert sorted(torch.cat(first).tolist()) == list(range(10)) and [len(b) for b in first] == [4, 4, 2]
    assert not torch.equal(torch.cat(first), torch.cat(second))  # a new order each pass
    assert torch.equal(
        torch.cat(first), torch.cat([b[1] for b in ShuffledBatches(x, y, batch_size=4, seed=0)])
    )
    with pytest.raises(ValueError, match="same, non-zero number of examples, got 10 and 9"):
        ShuffledBatches(x, y[:9], batch_size=4)


def test_miniature_backbone_build_is_deterministic_and_leaves_global_rng(monkeypatch):
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # keep the test runner's threads
    state = torch.random.get_rng_state()
    a = recipes.build_backbone("small", epochs=1, n_train=3, n_val=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = recipes.build_backbone("small", epochs=1, n_train=3, n_val=2)
    assert a["loss"] == b["loss"] and len(a["val_acc"]) == 1
    model = build_model(a["model"])
    for k, v in model.state_dict().items():
        assert torch.equal(b["model"]["state_dict"][k], v)


def test_rcnn_checkpoint_stores_the_shared_test_set_measurements():
    ck = load_checkpoint("rcnn_detector.pt")
    assert ck["n_test"] == recipes.N_TEST >= 100 and ck["test_seed"] == recipes.TEST_SEED
    assert len(ck["test_proposals"]) == recipes.N_TEST
    for key in ("regress", "no_regress", "regress_paper_alpha"):
        assert len(ck["test_predictions"][key]) == recipes.N_TEST
        m = ck["test_map"][key]
        assert m["low"] <= m["map"] <= m["high"]
    assert set(ck["timing"]) == {"rcnn", "fast_rcnn", "selective_search"}
    assert all(len(t["times"]) >= 5 and t["warmup"] >= 1 for t in ck["timing"].values())
    assert (
        ck["n_train_images"] == load_checkpoint("fast_rcnn_detector.pt")["n_train_images"] == recipes.N_TRAIN
    )


def test_fair_faster_rcnn_has_fast_rcnns_budget():
    fair, fast = load_checkpoint("faster_rcnn_fair.pt"), load_checkpoint("fast_rcnn_detector.pt")
    assert fair["n_train_images"] == fast["n_train_images"] and fair["epochs"] == fast["epochs"]
    assert fair["steps"] == len(fast["curve"]["loss"]) and fair["depth"] == fast["depth"]
