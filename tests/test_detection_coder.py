"""BoxCoder against torchvision's detection BoxCoder: encode, decode, round trip, errors."""

import math

import pytest
import torch
from torchvision.models.detection._utils import BoxCoder as TVBoxCoder

from lecture_lib.detection.coder import BoxCoder


def random_boxes(n, generator):
    xy = torch.rand(n, 2, generator=generator) * 100
    wh = 1 + torch.rand(n, 2, generator=generator) * 50
    return torch.cat([xy, xy + wh], dim=1)


@pytest.mark.parametrize("weights", [(10.0, 10.0, 5.0, 5.0), (1.0, 1.0, 1.0, 1.0), (2.0, 3.0, 0.5, 4.0)])
@pytest.mark.parametrize("seed", range(3))
def test_encode_decode_match_torchvision(weights, seed):
    g = torch.Generator().manual_seed(seed)
    proposals, gt = random_boxes(20, g), random_boxes(20, g)
    ours, ref = BoxCoder(weights), TVBoxCoder(weights)
    torch.testing.assert_close(ours.encode(proposals, gt), ref.encode_single(gt, proposals))
    deltas = torch.randn(20, 4, generator=g) * 3  # large dw, dh exercise the clip
    torch.testing.assert_close(ours.decode(proposals, deltas), ref.decode_single(deltas, proposals))


def test_round_trip_and_clip():
    g = torch.Generator().manual_seed(0)
    proposals, gt = random_boxes(50, g), random_boxes(50, g)
    coder = BoxCoder()
    torch.testing.assert_close(coder.decode(proposals, coder.encode(proposals, gt)), gt, rtol=1e-5, atol=1e-4)
    huge = torch.tensor([[0.0, 0.0, 1e4, 1e4]])  # dw = 1e4 / 5 -> clipped at log(1000 / 16)
    box = coder.decode(torch.tensor([[0.0, 0.0, 16.0, 16.0]]), huge)
    assert box[0, 2] - box[0, 0] == pytest.approx(1000.0, rel=1e-5)
    assert BoxCoder(bbox_xform_clip=math.log(2)).decode(torch.tensor([[0.0, 0.0, 16.0, 16.0]]), huge)[
        0, 2
    ] == pytest.approx(8 + 16, rel=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"4 positive numbers.*\(1.0, 0.0, 1.0, 1.0\)"):
        BoxCoder((1, 0, 1, 1))
    with pytest.raises(ValueError, match=r"deltas must have shape \(N, 4\).*got \(2, 5\)"):
        BoxCoder().decode(torch.zeros(2, 4), torch.zeros(2, 5))
