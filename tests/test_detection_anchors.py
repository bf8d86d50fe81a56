"""lecture_lib.detection.anchors against torchvision's AnchorGenerator."""

import pytest
import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

from lecture_lib.detection.anchors import cell_anchors, make_anchors


def torchvision_anchors(feature_size, stride, sizes, ratios):
    h, w = feature_size
    images = ImageList(torch.zeros(1, 3, h * stride, w * stride), [(h * stride, w * stride)])
    features = [torch.zeros(1, 8, h, w)]
    gen = AnchorGenerator(sizes=(tuple(sizes),), aspect_ratios=(tuple(ratios),))
    return gen(images, features)[0]


@pytest.mark.parametrize(
    ("feature_size", "stride", "sizes", "ratios"),
    [
        ((8, 8), 16, (32, 64, 128), (0.5, 1.0, 2.0)),
        ((16, 16), 8, (16, 32, 64), (0.5, 1.0, 2.0)),
        ((5, 7), 4, (12,), (1.0,)),
        ((1, 1), 32, (20, 45), (0.33, 1.0, 3.0)),
        ((6, 3), 10, (25.0, 50.0), (0.7, 1.4)),
    ],
)
def test_make_anchors_matches_anchor_generator(feature_size, stride, sizes, ratios):
    ours = make_anchors(feature_size, stride, sizes, ratios)
    ref = torchvision_anchors(feature_size, stride, sizes, ratios)
    assert ours.shape == (feature_size[0] * feature_size[1] * len(sizes) * len(ratios), 4)
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)


def test_empty_feature_map():
    assert make_anchors((0, 4), 8, (32,), (1.0, 2.0)).shape == (0, 4)


def test_cell_anchors_area_and_ratio():
    a = cell_anchors((64,), (0.5, 1.0, 2.0))
    w, h = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    torch.testing.assert_close(h / w, torch.tensor([0.5, 1.0, 2.0]), rtol=0.05, atol=0)
    torch.testing.assert_close(w * h, torch.full((3,), 64.0**2), rtol=0.05, atol=0)
    torch.testing.assert_close((a[:, :2] + a[:, 2:]) / 2, torch.zeros(3, 2))  # centred on the origin


def test_location_major_order():
    a = make_anchors((2, 3), 10, (8,), (1.0, 2.0))
    centres = (a[:, :2] + a[:, 2:]) / 2
    # locations row by row, A = 2 anchors each
    expected = torch.tensor(
        [[x, y] for y in (0, 10) for x in (0, 10, 20) for _ in range(2)], dtype=torch.float32
    )
    torch.testing.assert_close(centres, expected)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (((4,), 8, (32,), (1.0,)), r"feature_size must be \(H, W\).*got \(4,\)"),
        (((4, 4), 0, (32,), (1.0,)), r"stride must be a positive int.*got 0"),
        (((4, 4), 8, (), (1.0,)), r"sizes must be a non-empty sequence.*got \(\)"),
        (((4, 4), 8, (32,), (-1.0,)), r"aspect_ratios must be.*positive.*got \(-1.0,\)"),
    ],
)
def test_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        make_anchors(*args)
