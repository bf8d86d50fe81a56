"""R-CNN, Fast R-CNN and Faster R-CNN parts: shapes, finite losses, learning, references."""

import numpy as np
import pytest
import torch
import torchvision
from torch.nn import functional as F

from lecture_lib.datasets.scenes import NUM_CLASSES, make_scenes
from lecture_lib.detection import backbone as bb
from lecture_lib.detection import rcnn
from lecture_lib.detection.fast_rcnn import FastRCNN, fit_fast_rcnn, postprocess, roi_pool_fn, sample_rois
from lecture_lib.detection.faster_rcnn import FasterRCNN, fit_faster_rcnn, rpn_proposals


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(4, seed=3, image_size=64, max_objects=2)


def test_backbone_shapes_and_depths():
    for depth in ("small", "deep"):
        net = bb.Backbone(depth)
        assert net(torch.zeros(2, 3, 64, 48)).shape == (2, net.out_channels, 8, 6)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in bb.Backbone("deep").modules()) > \
        sum(isinstance(m, torch.nn.Conv2d) for m in bb.Backbone("small").modules())
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


def test_count_flops_conv_formula():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 5))
    assert bb.count_conv_flops(net, (3, 8, 8)) == 8 * 8 * 4 * 3 * 9 + 256 * 5


def test_teaching_roi_pool_matches_torchvision_inside_the_head():
    g = torch.Generator().manual_seed(1)
    feats = torch.rand(2, 5, 16, 16, generator=g)
    rois = [torch.tensor([[3.0, 4.0, 60.0, 90.0], [0.0, 0.0, 127.0, 127.0]]), torch.tensor([[10.0, 20.0, 40.0, 30.0]])]
    a = roi_pool_fn("lecture")(feats, rois, (4, 4), 1 / 8)
    b = roi_pool_fn("torchvision")(feats, rois, (4, 4), 1 / 8)
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="'lecture', 'torchvision' or 'align'"):
        roi_pool_fn("fast")


def test_sample_rois_labels_and_targets():
    gt = torch.tensor([[10.0, 10.0, 40.0, 40.0]])
    props = torch.tensor([[12.0, 11.0, 41.0, 40.0], [80.0, 80.0, 100.0, 100.0], [0.0, 0.0, 5.0, 5.0]])
    rois, labels, targets = sample_rois(props, gt, torch.tensor([3]), num=8)
    assert labels.tolist().count(3) == 2 and labels.tolist().count(0) == 2  # the box itself + one proposal
    assert targets.shape == (2, 4) and rois.shape == (4, 4)


def test_postprocess_format():
    logits = torch.tensor([[0.0, 5.0, 0.0], [5.0, 0.0, 0.0]])
    out = postprocess(logits, torch.zeros(2, 3, 4), torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 9.0, 9.0]]),
                      (32, 32))
    assert set(out) == {"boxes", "scores", "labels"}
    assert out["labels"][0] == 1 and out["boxes"][0].tolist() == [0.0, 0.0, 10.0, 10.0]


def test_fast_rcnn_forward_loss_and_learning(scenes):
    torch.manual_seed(0)
    model = FastRCNN(NUM_CLASSES, "small")
    props = [torch.cat([b + 2, torch.tensor([[0.0, 0.0, 20.0, 20.0], [30.0, 30.0, 60.0, 60.0]])]) for b in scenes.boxes]
    logits, deltas = model(scenes.images, props)
    assert logits.shape == (sum(len(p) for p in props), NUM_CLASSES) and deltas.shape == (len(logits), NUM_CLASSES, 4)
    curve = fit_fast_rcnn(model, scenes.images, scenes.to_detection_targets(), props, epochs=15, batch_size=4, lr=3e-3)
    assert all(np.isfinite(curve["loss"]))
    assert np.mean(curve["loss"][-3:]) < 0.7 * np.mean(curve["loss"][:3])
    dets = model.detect(scenes.images, props)
    assert len(dets) == len(scenes) and dets[0]["boxes"].shape[1] == 4


def test_faster_rcnn_four_losses_and_learning(scenes):
    torch.manual_seed(0)
    model = FasterRCNN(NUM_CLASSES, "small", image_size=64)
    losses = model.losses(scenes.images, scenes.to_detection_targets())
    assert set(losses) == {"rpn_objectness", "rpn_box", "cls", "box"}
    assert all(torch.isfinite(v) for v in losses.values())
    curve = fit_faster_rcnn(model, scenes.images, scenes.to_detection_targets(), epochs=15, batch_size=4, lr=3e-3)
    assert np.mean(curve["loss"][-3:]) < 0.7 * np.mean(curve["loss"][:3])
    props, scores = model.propose(scenes.images, post_nms=50)
    assert all(len(p) <= 50 and p.shape[1] == 4 for p in props)
    assert all((s[:-1] >= s[1:]).all() for s in scores)  # sorted by objectness
    dets = model.detect(scenes.images)
    assert len(dets) == len(scenes)
    with pytest.raises(ValueError, match=r"\(B, 3, 64, 64\).*got \(1, 3, 32, 32\)"):
        model.detect(torch.zeros(1, 3, 32, 32))


def test_rpn_proposals_are_nms_clean():
    g = torch.Generator().manual_seed(0)
    anchors = torch.tensor([[0.0, 0.0, 16.0, 16.0], [1.0, 1.0, 17.0, 17.0], [40.0, 40.0, 60.0, 60.0]])
    props, scores = rpn_proposals(torch.randn(1, 3, generator=g), torch.zeros(1, 3, 4), anchors, (64, 64))
    assert len(props[0]) == 2  # the two overlapping anchors collapse to one at NMS 0.7


def test_rcnn_svms_and_regressors_on_separable_features():
    g = torch.Generator().manual_seed(0)
    n, d = 300, 8
    labels = torch.randint(1, 3, (n,), generator=g)
    fc7 = torch.randn(n, d, generator=g) * 0.1
    fc7[torch.arange(n), labels] += 2.0  # class c lights up feature c
    is_gt = torch.arange(n) < 150
    per_class = torch.zeros(n, 2)
    per_class[~is_gt] = 0.0  # proposals are negatives of both classes ...
    fc7[~is_gt] = torch.randn(150, d, generator=g) * 0.1  # ... with no class signal
    w, b, used = rcnn.train_svms(fc7, per_class, labels, is_gt, 3, C=1.0, first_negatives=50)
    scores = fc7 @ w.T + b
    assert (scores[is_gt].argmax(1) + 1 == labels[is_gt]).float().mean() > 0.95
    assert all(u >= 50 for u in used)
    # regressors recover a linear map from features to deltas
    props = torch.tensor([[10.0, 10.0, 30.0, 30.0]]).repeat(n, 1)
    feats = torch.randn(n, 4, generator=g)
    deltas = feats * 0.1
    from lecture_lib import boxes as B
    gts = B.decode(props, deltas)
    W, bias = rcnn.train_box_regressors(feats, props, gts, torch.ones(n), torch.ones(n, dtype=torch.int64), 2,
                                        alpha=1e-3)
    torch.testing.assert_close(feats @ W[0] + bias[0], deltas, atol=1e-3, rtol=1e-3)


def test_rcnn_detect_and_cache_bytes(scenes):
    torch.manual_seed(0)
    cnn = bb.CropClassifier(NUM_CLASSES, "small")
    model = rcnn.RCNN(cnn, torch.randn(NUM_CLASSES - 1, cnn.head.dim), torch.zeros(NUM_CLASSES - 1),
                      torch.zeros(NUM_CLASSES - 1, cnn.head.fc6.in_features, 4), torch.zeros(NUM_CLASSES - 1, 4), warp=32)
    props = torch.tensor([[0.0, 0.0, 20.0, 20.0], [10.0, 10.0, 50.0, 40.0]])
    out = model.detect(scenes.images[0], props, score_thresh=-1e9)
    assert set(out) == {"boxes", "scores", "labels"} and out["boxes"].shape[1] == 4
    pool5, fc7 = rcnn.extract_features(cnn, scenes.images[0], props, warp=32)
    assert rcnn.cache_bytes([pool5, fc7]) >= 4 * (pool5.numel() + fc7.numel())
    assert model.detect(scenes.images[0], torch.zeros(0, 4))["boxes"].shape == (0, 4)
