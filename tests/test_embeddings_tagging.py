"""lecture_lib.embeddings.tagging: top-k against a direct sort, the taggers' scores against their
formulas, torchvision's ImageNet tagger offline (weights=None), bad inputs."""

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF

from lecture_lib.datasets.faces import HAIR_COLOURS
from lecture_lib.datasets.scenes import CLASSES
from lecture_lib.detection.backbone import CropClassifier
from lecture_lib.embeddings import tagging
from lecture_lib.embeddings.attributes import AttributeClassifier


def photo(h=40, w=30, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("seed", range(3))
def test_top_k_matches_a_sort(seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.rand(4, 9, generator=g)
    names = [f"c{i}" for i in range(9)]
    got = tagging.top_k(scores, names, 3)
    for row, tags in zip(scores.numpy(), got):
        order = np.argsort(-row)[:3]
        assert [t[0] for t in tags] == [names[i] for i in order]
        np.testing.assert_allclose([t[1] for t in tags], row[order], rtol=1e-6)


def test_top_k_bad_inputs():
    s = torch.rand(2, 3)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 3\], got 4"):
        tagging.top_k(s, ["a", "b", "c"], 4)
    with pytest.raises(ValueError, match="got 2 category names for 3 scores"):
        tagging.top_k(s, ["a", "b"], 1)
    with pytest.raises(ValueError, match=r"scores must be a Tensor\[B, C\]"):
        tagging.top_k(s[0], ["a", "b", "c"], 1)


def test_resize_to_matches_torchvision():
    img = photo()
    got = tagging.resize_to(16)(img)
    want = TF.resize(torch.from_numpy(img).permute(2, 0, 1).float() / 255, [16, 16], antialias=True)
    torch.testing.assert_close(got[0], want, atol=1e-5, rtol=0)


def test_tag_is_top_k_of_the_model_softmax():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
    t = tagging.Tagger("toy", net, ["a", "b", "c", "d"], tagging.resize_to(8))
    img = photo()
    probs = net(tagging.resize_to(8)(img)).softmax(1)[0]
    got = tagging.tag(t, img, k=4)
    assert [name for name, _ in got] == [["a", "b", "c", "d"][i] for i in probs.argsort(descending=True)]
    assert sum(s for _, s in got) == pytest.approx(1.0, abs=1e-5)


def test_tag_bad_inputs():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))
    t = tagging.Tagger("toy", net, ["a", "b"], tagging.resize_to(8))
    with pytest.raises(ValueError, match=r"RGB array \[H, W, 3\] uint8, got shape \(10, 10\)"):
        tagging.tag(t, np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="float64"):
        tagging.tag(t, np.zeros((10, 10, 3)))
    with pytest.raises(TypeError, match="tagger must be a Tagger"):
        tagging.tag(net, photo())


def test_face_tagger_scores():
    model = AttributeClassifier(seed=0)
    t = tagging.face_tagger(model)
    assert t.categories == ["glasses", "smiling"] + [f"{c} hair" for c in HAIR_COLOURS]
    img = photo(64, 64)
    logits = model.eval()(tagging.resize_to(32)(img))[0]
    scores = dict(tagging.tag(t, img, k=len(t.categories)))
    assert scores["glasses"] == pytest.approx(torch.sigmoid(logits[0]).item(), abs=1e-6)
    assert sum(scores[f"{c} hair"] for c in HAIR_COLOURS) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(TypeError, match="AttributeClassifier"):
        tagging.face_tagger(torch.nn.Linear(2, 2))


def test_shape_tagger():
    t = tagging.shape_tagger(CropClassifier(len(CLASSES)), warp=32)
    tags = tagging.tag(t, photo(), k=3)
    assert len(tags) == 3 and all(name in CLASSES for name, _ in tags)
    assert tags[0][1] >= tags[1][1] >= tags[2][1]
    with pytest.raises(TypeError, match="CropClassifier"):
        tagging.shape_tagger(AttributeClassifier(), warp=32)


def test_imagenet_tagger_offline():
    t = tagging.imagenet_tagger("resnet18", weights=None)  # random weights: nothing downloaded
    assert len(t.categories) == 1000 and t.categories[0] == "tench"
    tags = tagging.tag(t, photo(64, 80), k=5)
    assert len(tags) == 5 and all(name in t.categories for name, _ in tags)
    assert [s for _, s in tags] == sorted((s for _, s in tags), reverse=True)
    with pytest.raises(ValueError, match="arch must be"):
        tagging.imagenet_tagger("not_a_net", weights=None)


def test_course_taggers_from_committed_checkpoints():
    services = tagging.course_taggers()
    assert services["scene shapes"].categories == list(CLASSES)
    assert services["face attributes"].categories[:2] == ["glasses", "smiling"]
    for t in services.values():
        tags = tagging.tag(t, photo(50, 50), k=2)
        assert len(tags) == 2 and tags[0][1] >= tags[1][1]
