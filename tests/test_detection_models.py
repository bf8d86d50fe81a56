"""R-CNN, Fast R-CNN and Faster R-CNN parts: shapes, losses (torchvision's names), learning,
inference without side effects, references."""

import numpy as np
import pytest
import torch
import torchvision
from torch.nn import functional as F

from lecture_lib import boxes as box_ops
from lecture_lib.datasets.scenes import NUM_CLASSES, make_scenes
from lecture_lib.detection import backbone as bb
from lecture_lib.detection import rcnn
from lecture_lib.detection.fast_rcnn import FastRCNN
from lecture_lib.detection.faster_rcnn import FasterRCNN
from lecture_lib.detection.roi_heads import RoIHead
from lecture_lib.detection.rpn import RegionProposalNetwork
from lecture_lib.detection.training import fit_fast_rcnn, fit_faster_rcnn
from lecture_lib.layers import count_multiply_adds


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(4, seed=3, image_size=64, max_objects=2)


def seeded(builder, *args, **kwargs):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return builder(*args, **kwargs)


def test_backbone_shapes_depths_and_state_dict_names():
    for depth in ("small", "deep"):
        net = bb.Backbone(depth)
        assert net(torch.zeros(2, 3, 64, 48)).shape == (2, net.out_channels, 8, 6)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in bb.Backbone("deep").modules()) > sum(
        isinstance(m, torch.nn.Conv2d) for m in bb.Backbone("small").modules()
    )
    # flat body: conv, BN, ReLU per unit, a pool per stage (the committed checkpoints' keys)
    keys = [k for k in bb.Backbone("small").state_dict() if k.endswith("weight")]
    assert keys == [
        "body.0.weight",
        "body.1.weight",
        "body.4.weight",
        "body.5.weight",
        "body.8.weight",
        "body.9.weight",
    ]
    with pytest.raises(ValueError, match="depth must be one of"):
        bb.Backbone("huge")
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\).*got \(3, 8, 8\)"):
        bb.Backbone()(torch.zeros(3, 8, 8))


def test_warp_crops_whole_image_is_a_resize():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(3, 40, 60, generator=g)
    crop = bb.warp_crops(img, torch.tensor([[0.0, 0.0, 60.0, 40.0]]), size=20)
    ref = F.interpolate(img[None], size=(20, 20), mode="bilinear", align_corners=False, antialias=False)
    torch.testing.assert_close(crop, ref, atol=1e-5, rtol=1e-5)
    # a sub-box equals roi_align with one bilinear sample per output pixel (aligned=True)
    box = torch.tensor([[10.0, 5.0, 30.0, 25.0]])
    ref = torchvision.ops.roi_align(img[None], [box], output_size=20, sampling_ratio=1, aligned=True)
    torch.testing.assert_close(bb.warp_crops(img, box, size=20), ref, atol=1e-5, rtol=1e-5)
    assert bb.warp_crops(img, torch.zeros(0, 4), size=8).shape == (0, 3, 8, 8)


def test_load_pretrained_copies_backbone_and_fc_layers():
    clf = seeded(bb.CropClassifier, NUM_CLASSES, "small")
    for detector in (FastRCNN(NUM_CLASSES), FasterRCNN(NUM_CLASSES, image_size=64)):
        bb.load_pretrained(detector, clf)
        for k, v in clf.backbone.state_dict().items():
            assert torch.equal(detector.backbone.state_dict()[k], v)
        assert torch.equal(detector.roi_head.head.fc6.weight, clf.head.fc6.weight)
    with pytest.raises(TypeError, match="CropClassifier.*got OrderedDict"):
        bb.load_pretrained(FastRCNN(NUM_CLASSES), clf.state_dict())


def test_head_pooling_choices_agree():
    g = torch.Generator().manual_seed(1)
    feats = torch.rand(2, 5, 16, 16, generator=g)
    rois = [
        torch.tensor([[3.0, 4.0, 60.0, 90.0], [0.0, 0.0, 127.0, 127.0]]),
        torch.tensor([[10.0, 20.0, 40.0, 30.0]]),
    ]
    head = seeded(RoIHead, 5, 3, box_roi_pool="roi_pool")
    ref = head(feats, rois)
    head.box_roi_pool = "lecture"  # the teaching RoI pooling gives the same outputs
    for a, b in zip(head(feats, rois), ref):
        torch.testing.assert_close(a, b)
    head.box_roi_pool = "roi_align"
    assert not torch.allclose(head(feats, rois)[0], ref[0])
    with pytest.raises(
        ValueError, match=r"box_roi_pool must be one of \['lecture', 'roi_align', 'roi_pool'\]"
    ):
        RoIHead(5, 3, box_roi_pool="fast")


def test_postprocess_format_and_thresholds():
    head = RoIHead(4, 3, box_score_thresh=0.5, box_nms_thresh=0.3)
    logits = torch.tensor([[0.0, 5.0, 0.0], [5.0, 0.0, 0.0]])
    rois = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 9.0, 9.0]])
    out = head.postprocess(logits, torch.zeros(2, 3, 4), [rois], (32, 32))[0]
    assert set(out) == {"boxes", "scores", "labels"}
    assert out["labels"].tolist() == [1] and out["boxes"][0].tolist() == [0.0, 0.0, 10.0, 10.0]  # zero deltas
    # deltas are decoded with the head's BoxCoder (10, 10, 5, 5): dx = 10 moves the box by one width
    deltas = torch.zeros(2, 3, 4)
    deltas[0, 1, 0] = 1.0
    out = head.postprocess(logits, deltas, [rois], (32, 32))[0]
    assert out["boxes"][0].tolist() == pytest.approx([1.0, 0.0, 11.0, 10.0])


def test_fast_rcnn_losses_learning_and_side_effect_free_detect(scenes):
    model = seeded(FastRCNN, NUM_CLASSES, "small", box_batch_size_per_image=64)
    props = [
        torch.cat([b + 2, torch.tensor([[0.0, 0.0, 20.0, 20.0], [30.0, 30.0, 60.0, 60.0]])])
        for b in scenes.boxes
    ]
    logits, deltas = model(scenes.images, props)
    assert logits.shape == (sum(len(p) for p in props), NUM_CLASSES) and deltas.shape == (
        len(logits),
        NUM_CLASSES,
        4,
    )
    losses = model.losses(scenes.images, props, scenes.to_detection_targets())
    assert set(losses) == {"loss_classifier", "loss_box_reg"}
    history = fit_fast_rcnn(
        model, scenes.images, scenes.to_detection_targets(), props, epochs=15, batch_size=4, lr=3e-3
    )
    assert all(np.isfinite(history.batch_loss)) and set(history.batch_parts) == set(losses)
    assert np.mean(history.batch_loss[-3:]) < 0.7 * np.mean(history.batch_loss[:3])
    for mode in (True, False):
        model.train(mode)
        dets = model.detect(scenes.images, props)
        assert model.training is mode  # detect() does not switch the caller's model to eval
    assert len(dets) == len(scenes) and dets[0]["boxes"].shape[1] == 4 and dets[0]["boxes"].is_inference()


def test_faster_rcnn_four_losses_learning_and_inference(scenes):
    model = seeded(
        FasterRCNN,
        NUM_CLASSES,
        "small",
        image_size=64,
        rpn_post_nms_top_n_test=50,
        box_batch_size_per_image=64,
    )
    losses = model.losses(scenes.images, scenes.to_detection_targets())
    assert set(losses) == {"loss_objectness", "loss_rpn_box_reg", "loss_classifier", "loss_box_reg"}
    assert all(torch.isfinite(v) for v in losses.values())
    history = fit_faster_rcnn(
        model, scenes.images, scenes.to_detection_targets(), epochs=15, batch_size=4, lr=3e-3
    )
    assert np.mean(history.batch_loss[-3:]) < 0.7 * np.mean(history.batch_loss[:3])
    model.train()
    props, scores = model.propose(scenes.images)
    assert model.training  # propose() keeps the caller's train mode ...
    assert all(len(p) <= 50 and p.shape[1] == 4 for p in props)  # ... and uses the test numbers
    assert all((s[:-1] >= s[1:]).all() for s in scores)  # sorted by objectness
    dets = model.detect(scenes.images)
    assert model.training and len(dets) == len(scenes)
    model.eval()
    torch.testing.assert_close(
        model.detect(scenes.images)[0]["boxes"], dets[0]["boxes"]
    )  # BN in eval both times
    assert not model.training
    with pytest.raises(ValueError, match=r"\(B, 3, 64, 64\).*got \(1, 3, 32, 32\)"):
        model.detect(torch.zeros(1, 3, 32, 32))


def test_rpn_train_and_test_numbers_and_nms():
    rpn = RegionProposalNetwork(
        4,
        (2, 2),
        8,
        anchor_sizes=(16,),
        aspect_ratios=(1.0,),
        pre_nms_top_n_train=4,
        pre_nms_top_n_test=1,
        nms_thresh=0.7,
        min_size=2.0,
    )
    g = torch.Generator().manual_seed(0)
    logits, deltas = torch.randn(1, 4, generator=g), torch.zeros(1, 4, 4)
    rpn.train()
    assert len(rpn.filter_proposals(logits, deltas, (16, 16))[0][0]) == 4  # 4 anchors, overlapping by < 0.7
    rpn.eval()
    assert len(rpn.filter_proposals(logits, deltas, (16, 16))[0][0]) == 1  # pre_nms_top_n_test = 1


def test_rpn_proposals_are_nms_clean():
    rpn = RegionProposalNetwork(4, (1, 1), 8, anchor_sizes=(16,), aspect_ratios=(1.0,))
    rpn.anchors = torch.tensor([[0.0, 0.0, 16.0, 16.0], [1.0, 1.0, 17.0, 17.0], [40.0, 40.0, 60.0, 60.0]])
    g = torch.Generator().manual_seed(0)
    props, _ = rpn.eval().filter_proposals(torch.randn(1, 3, generator=g), torch.zeros(1, 3, 4), (64, 64))
    assert len(props[0]) == 2  # the two overlapping anchors collapse to one at NMS 0.7


def test_rcnn_svms_and_regressors_on_separable_features():
    g = torch.Generator().manual_seed(0)
    n, d = 300, 8
    labels = torch.randint(1, 3, (n,), generator=g)
    fc7 = torch.randn(n, d, generator=g) * 0.1
    fc7[torch.arange(n), labels] += 2.0  # class c lights up feature c
    is_gt = torch.arange(n) < 150
    per_class = torch.zeros(n, 2)  # proposals are negatives of both classes ...
    fc7[~is_gt] = torch.randn(150, d, generator=g) * 0.1  # ... with no class signal
    w, b, used = rcnn.train_svms(fc7, per_class, labels, is_gt, 3, C=1.0, first_negatives=50)
    scores = fc7 @ w.T + b
    assert (scores[is_gt].argmax(1) + 1 == labels[is_gt]).float().mean() > 0.95
    assert all(u >= 50 for u in used)
    # regressors recover a linear map from features to the slide's (unweighted) deltas
    props = torch.tensor([[10.0, 10.0, 30.0, 30.0]]).repeat(n, 1)
    feats = torch.randn(n, 4, generator=g)
    deltas = feats * 0.1
    gts = box_ops.decode(props, deltas)
    W, bias, used = rcnn.train_box_regressors(
        feats, props, gts, torch.ones(n), torch.ones(n, dtype=torch.int64), 2, alpha=1e-3
    )
    torch.testing.assert_close(feats @ W[0] + bias[0], deltas, atol=1e-3, rtol=1e-3)
    assert used == [1e-3]


def test_rcnn_regressor_penalty_chosen_by_cross_validation():
    # a weak signal in few examples: a huge penalty predicts only the mean, a tiny one fits noise;
    # leave-one-out picks one in between, and a penalty too strong for the features shrinks W to ~0
    g = torch.Generator().manual_seed(1)
    n = 60
    feats = torch.randn(n, 20, generator=g)
    deltas = torch.zeros(n, 4)
    deltas[:, 0] = 0.05 * feats[:, 0] + 0.02 * torch.randn(n, generator=g)
    props = torch.tensor([[10.0, 10.0, 30.0, 30.0]]).repeat(n, 1)
    gts = box_ops.decode(props, deltas)
    args = (feats, props, gts, torch.ones(n), torch.ones(n, dtype=torch.int64), 2)
    W, _, used = rcnn.train_box_regressors(*args, alpha=(1e-4, 1.0, 1e6))
    assert used == [1.0]
    W_big, _, _ = rcnn.train_box_regressors(*args, alpha=1e6)
    assert W_big.abs().max() < 1e-3 < W[0, 0, 0]
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        rcnn.train_box_regressors(*args, alpha=())
    iou = torch.tensor([0.9, 0.5, 0.7, 0.65])
    assert rcnn.regressor_examples(iou, torch.tensor([1, 1, 2, 1]), 3) == [2, 1]


def test_rcnn_module_detect_and_cache_bytes(scenes):
    model = seeded(rcnn.RCNN, NUM_CLASSES, "small", warp=32)
    g = torch.Generator().manual_seed(0)
    model.set_classifiers(
        torch.randn(NUM_CLASSES - 1, 128, generator=g),
        torch.zeros(NUM_CLASSES - 1),
        torch.zeros(NUM_CLASSES - 1, 768, 4),
        torch.zeros(NUM_CLASSES - 1, 4),
    )
    props = torch.tensor([[0.0, 0.0, 20.0, 20.0], [10.0, 10.0, 50.0, 40.0]])
    model.train()
    out = model.detect(scenes.images[0], props, score_thresh=-1e9)
    assert model.training and model.cnn.training  # the caller's mode is kept
    assert set(out) == {"boxes", "scores", "labels"} and out["boxes"].shape[1] == 4
    pool5, fc7 = rcnn.extract_features(model.cnn, scenes.images[0], props, warp=32)
    assert rcnn.cache_bytes([pool5, fc7]) >= 4 * (pool5.numel() + fc7.numel())
    assert model.detect(scenes.images[0], torch.zeros(0, 4))["boxes"].shape == (0, 4)
    # detect = extract_features + detect_from_features (what the recipe uses to score once, twice)
    for regress in (True, False):
        again = model.detect_from_features(
            pool5, fc7, props, tuple(scenes.images[0].shape[-2:]), score_thresh=-1e9, regress=regress
        )
        ref = model.detect(scenes.images[0], props, score_thresh=-1e9, regress=regress)
        for k in ("boxes", "scores", "labels"):
            torch.testing.assert_close(again[k], ref[k])
    with pytest.raises(ValueError, match=r"svm_b must have shape \(5,\), got \(4,\)"):
        model.set_classifiers(model.svm_w, torch.zeros(4), model.reg_w, model.reg_b)


def test_multiply_adds_of_the_crop_cnn():
    # what 03b compares: conv layers + fc6/fc7 on a 64 x 64 crop, counted by layers.count_multiply_adds
    cnn = bb.CropClassifier(NUM_CLASSES, "small")
    convs = 64 * 64 * 16 * 3 * 9 + 32 * 32 * 32 * 16 * 9 + 16 * 16 * 48 * 32 * 9
    fcs = 768 * 128 + 128 * 128 + 128 * NUM_CLASSES
    assert count_multiply_adds(cnn, (1, 3, 64, 64)) == convs + fcs
