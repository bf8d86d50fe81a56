"""detection.training.training_seconds_per_scene: R-CNN's and Fast R-CNN's training time per scene."""

import numpy as np
import pytest
import torch

from lecture_lib.datasets.scenes import NUM_CLASSES, make_scenes
from lecture_lib.detection import FastRCNN, training
from lecture_lib.detection.backbone import CropClassifier
from lecture_lib.train import Timing


@pytest.fixture(scope="module")
def scenes():
    data = make_scenes(2, seed=5)
    g = torch.Generator().manual_seed(0)
    props = []
    for gt in data.boxes:  # jittered ground truth: proposals with foreground and background
        jitter = gt.repeat(4, 1) + torch.randn(4 * len(gt), 4, generator=g) * 6
        x1y1 = jitter[:, :2].clamp(0, 120)
        wh = (jitter[:, 2:] - jitter[:, :2]).clamp(min=4)
        props.append(torch.cat([x1y1, (x1y1 + wh).clamp(max=128)], 1))
    return data.images, data.to_detection_targets(), props


def test_times_each_scene_and_scales_fast_rcnn_by_the_epochs(scenes, monkeypatch):
    calls = []

    def fake_timed(fn, *, repeat=5, warmup=1, device=None):
        calls.append(fn.func.__name__)
        return Timing((2.0 if fn.func.__name__ == "extract_features" else 0.5,), warmup)

    monkeypatch.setattr(training, "timed", fake_timed)
    images, targets, props = scenes
    rcnn, fast = training.training_seconds_per_scene(
        CropClassifier(NUM_CLASSES), FastRCNN(NUM_CLASSES), images, targets, props, epochs=10
    )
    assert calls == ["extract_features", "fit_fast_rcnn"] * 2
    np.testing.assert_array_equal(rcnn, [2.0, 2.0])
    np.testing.assert_array_equal(fast, [5.0, 5.0])  # 10 epochs x one step of 0.5 s


def test_live_times_are_positive_and_fast_rcnn_is_trained(scenes):
    images, targets, props = scenes
    fast = FastRCNN(NUM_CLASSES)
    before = [p.detach().clone() for p in fast.parameters()]
    rcnn, fast_s = training.training_seconds_per_scene(
        CropClassifier(NUM_CLASSES), fast, images[:1], targets[:1], props[:1], epochs=3
    )
    assert rcnn.shape == fast_s.shape == (1,)
    assert (rcnn > 0).all() and (fast_s > 0).all()
    assert any(not torch.equal(a, b) for a, b in zip(before, fast.parameters()))


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"targets": "x"}, TypeError, "targets"),
        ({"drop_target": True}, ValueError, "one target per scene"),
        ({"drop_proposal": True}, ValueError, "proposals"),
    ],
)
def test_bad_input(scenes, kw, error, message):
    images, targets, props = scenes
    args = dict(epochs=1)
    if kw.pop("drop_target", False):
        targets = targets[:1]
    if kw.pop("drop_proposal", False):
        props = props[:1]
    targets = kw.pop("targets", targets)
    args.update(kw)
    with pytest.raises(error, match=message):
        training.training_seconds_per_scene(
            CropClassifier(NUM_CLASSES), FastRCNN(NUM_CLASSES), images, targets, props, **args
        )
