"""Tests for lecture_lib.detection.selective_search (Selective Search proposals, proposal recall)."""

import numpy as np
import pytest
import torch
import torchvision
from skimage.measure import regionprops
from skimage.segmentation import felzenszwalb

from lecture_lib.datasets.scenes import make_scenes
from lecture_lib.detection import selective_search as ss
from lecture_lib.detection.selective_search import proposal_recall, selective_search


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(8, seed=21)


@pytest.fixture(scope="module")
def proposals(scenes):
    return [selective_search(img.permute(1, 2, 0).numpy()) for img in scenes.images]


def test_valid_unique_boxes_inside_image(proposals):
    for p in proposals:
        assert p.dtype == torch.float32 and p.ndim == 2 and p.shape[1] == 4
        assert 100 <= len(p) <= 2000
        assert (p[:, :2] >= 0).all() and (p[:, 2] <= 128).all() and (p[:, 3] <= 128).all()
        assert (p[:, 2:] > p[:, :2]).all()
        assert len(torch.unique(p, dim=0)) == len(p)
        assert (p == p.round()).all()  # pixel-aligned region boxes


def test_good_recall_on_scenes(scenes, proposals):
    assert proposal_recall(proposals, scenes.boxes, iou=0.5) >= 0.9
    assert proposal_recall(proposals, scenes.boxes, iou=0.7) >= 0.8
    curve = proposal_recall(proposals, scenes.boxes, iou=0.5, top_k=[1, 10, 100, 2000])
    assert curve.shape == (4,) and (curve.diff() >= 0).all() and curve[0] < curve[-1]


def test_deterministic_and_seeded(scenes, proposals):
    img = scenes.images[0].permute(1, 2, 0).numpy()
    again = selective_search(img)
    assert torch.equal(again, proposals[0])
    other = selective_search(img, seed=1)
    assert not torch.equal(other, proposals[0])  # another random ranking ...
    assert set(map(tuple, other.tolist())) == set(map(tuple, proposals[0].tolist()))  # ... of the same boxes
    u8 = (img * 255).round().astype(np.uint8)
    assert len(selective_search(u8)) > 0


def test_starting_regions_and_hierarchy_size():
    # every Felzenszwalb segment's box is a proposal, and one hierarchy has 2n - 1 regions
    img = make_scenes(1, seed=3).images[0].permute(1, 2, 0).numpy().astype(np.float64)
    labels = felzenszwalb(img, scale=100, sigma=0.8, min_size=10, channel_axis=-1)
    regions = ss._initial_regions(labels, img, ss._texture_bins(img))
    expected = np.array([[r.bbox[1], r.bbox[0], r.bbox[3], r.bbox[2]] for r in regionprops(labels + 1)])
    np.testing.assert_array_equal(regions[1], expected)
    n = int(labels.max()) + 1
    boxes = ss._group(*regions, ss.SIMILARITIES["CTSF"], float(128 * 128))
    assert len(boxes) == 2 * n - 1
    np.testing.assert_array_equal(boxes[-1], [0, 0, 128, 128])  # the last merge is the whole image
    props = selective_search(
        img, scale=100, colour_spaces=("rgb",), similarities=("CTSF",), max_proposals=None
    )
    assert set(map(tuple, expected.tolist())) <= set(map(tuple, props.tolist()))


def test_grouping_merges_most_similar_neighbours_first():
    # four flat quadrants: left two nearly the same colour -> merged before anything else
    img = np.zeros((64, 64, 3))
    img[:32, :32], img[32:, :32] = (0.8, 0.1, 0.1), (0.75, 0.12, 0.1)
    img[:32, 32:], img[32:, 32:] = (0.1, 0.1, 0.9), (0.1, 0.9, 0.1)
    labels = np.zeros((64, 64), dtype=np.int64)
    labels[32:, :32], labels[:32, 32:], labels[32:, 32:] = 1, 2, 3
    regions = ss._initial_regions(labels, img, ss._texture_bins(img))
    boxes = ss._group(*regions, ss.SIMILARITIES["C"], 64.0 * 64)
    np.testing.assert_array_equal(boxes[4], [0, 0, 32, 64])  # the first merge: the left half


def test_proposal_recall_hand_example_and_empty():
    gt = [torch.tensor([[0.0, 0, 10, 10], [20, 20, 40, 40]]), torch.zeros(0, 4)]
    props = [
        torch.tensor([[50.0, 50, 60, 60], [0, 0, 10, 11], [20, 20, 30, 30]]),
        torch.tensor([[0.0, 0, 1, 1]]),
    ]
    assert proposal_recall(props, gt, iou=0.7) == 0.5
    assert proposal_recall(props, gt, iou=0.2) == 1.0
    torch.testing.assert_close(
        proposal_recall(props, gt, iou=0.7, top_k=[0, 1, 2]),
        torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64),
    )
    iou = torchvision.ops.box_iou(gt[0], props[0]).max(dim=1).values
    assert proposal_recall(props, gt, iou=0.7) == float((iou >= 0.7).float().mean())


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: selective_search(np.zeros((8, 8))), ValueError, r"shape \(H, W, 3\).*got \(8, 8\)"),
        (lambda: selective_search(torch.zeros(8, 8, 3)), ValueError, r"NumPy array.*got Tensor"),
        (lambda: selective_search(np.full((8, 8, 3), 2.0)), ValueError, r"\[0, 1\], got values in \[2, 2\]"),
        (
            lambda: selective_search(np.zeros((8, 8, 3), dtype=np.int32)),
            TypeError,
            r"uint8 or float, got dtype int32",
        ),
        (lambda: selective_search(np.zeros((8, 8, 3)), scale=-1), ValueError, r"scale must be positive.*-1"),
        (
            lambda: selective_search(np.zeros((8, 8, 3)), similarities=("XYZ",)),
            ValueError,
            r"similarities.*\['XYZ'\]",
        ),
        (
            lambda: selective_search(np.zeros((8, 8, 3)), colour_spaces=("cmyk",)),
            ValueError,
            r"colour space.*'cmyk'",
        ),
        (lambda: selective_search(np.zeros((8, 8, 3)), max_proposals=0), ValueError, r"max_proposals.*got 0"),
        (
            lambda: proposal_recall([torch.zeros(0, 4)], []),
            ValueError,
            r"one proposal tensor per image, got 1 .* and 0",
        ),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_uniform_image_gives_the_whole_image():
    torch.testing.assert_close(selective_search(np.zeros((8, 8, 3))), torch.tensor([[0.0, 0, 8, 8]]))
