"""lecture_lib.segmentation.pretrained: offline (weights=None) models, fake dataset, OfflineError."""

import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

from lecture_lib.data import OfflineError
from lecture_lib.segmentation import pretrained as segp


def fake_voc(n=2, size=(48, 40)):
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(n):
        img = Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8))
        mask = np.zeros(size, dtype=np.uint8)
        mask[10:30, 5:25] = 12
        mask[10, 5:25] = 255  # VOC's void border
        pairs.append((img, Image.fromarray(mask)))
    return pairs


@pytest.fixture(scope="module")
def untrained_fcn():
    torch.manual_seed(0)
    return segp.load_segmenter("fcn_resnet50", weights=None)


def test_untrained_model_builds_offline_and_evaluates(untrained_fcn):
    model, meta = untrained_fcn
    assert meta["weights"] is None and len(meta["categories"]) == 21 and meta["categories"][12] == "dog"
    out = segp.evaluate_segmenter(model, fake_voc(), max_side=32)
    assert out["images"] == 2 and out["confusion"].shape == (21, 21)
    assert 0 <= out["miou"] <= 1 and 0 <= out["pixel_accuracy"] <= 1
    # the confusion matrix counts every non-void pixel of the resized masks
    img, target = segp.pair_to_tensors(*fake_voc(1)[0], max_side=32)
    assert img.shape == (3, 32, 27) and target.shape == (32, 27)
    assert int(out["confusion"].sum()) == 2 * int((target != 255).sum())
    assert set(target.unique().tolist()) <= {0, 12, 255}
    scores = segp.segment(model, img)
    assert scores.shape == (21, 32, 27)


def test_max_images_and_empty_dataset(untrained_fcn):
    model, _ = untrained_fcn
    assert segp.evaluate_segmenter(model, fake_voc(3), max_images=1, max_side=32)["images"] == 1
    with pytest.raises(ValueError, match="no \\(image, mask\\) pairs"):
        segp.evaluate_segmenter(model, [], max_side=32)


def test_pretrained_without_network_is_one_clear_error(monkeypatch):
    def offline(**kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    import torchvision.models.segmentation as tvseg

    monkeypatch.setattr(tvseg, "fcn_resnet50", offline)
    with pytest.raises(OfflineError, match="Could not download pretrained weights"):
        segp.load_segmenter("fcn_resnet50", weights="DEFAULT")


def test_bad_inputs():
    with pytest.raises(ValueError, match="arch must be one of"):
        segp.load_segmenter("unet")
    expected = r"weights must be 'DEFAULT', None or one of \['COCO_WITH_VOC_LABELS_V1'\], got 'IMAGENET'"
    with pytest.raises(ValueError, match=expected):
        segp.load_segmenter("fcn_resnet50", weights="IMAGENET")
    with pytest.raises(ValueError, match=r"RGB \[H, W, 3\]"):
        segp.pair_to_tensors(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="differ in size"):
        segp.pair_to_tensors(np.zeros((4, 4, 3), dtype=np.uint8), np.zeros((5, 4), dtype=np.uint8))


def test_evaluate_on_voc_loads_nothing_for_no_model_and_evaluates_a_fake(tmp_path):
    assert segp.evaluate_on_voc([], dataset_cls=None) == {}  # quick profile: no download attempted

    class FakeVOC(list):
        def __init__(self, root, download, year, image_set):
            assert year == "2012" and image_set == "val"  # download: False (already there) is tried first
            super().__init__(fake_voc(2))

    torch.manual_seed(0)
    out = segp.evaluate_on_voc(["fcn_resnet50"], weights=None, root=tmp_path, dataset_cls=FakeVOC)
    assert list(out) == ["fcn_resnet50"] and out["fcn_resnet50"]["images"] == 2
    assert 0 <= out["fcn_resnet50"]["miou"] <= 1
