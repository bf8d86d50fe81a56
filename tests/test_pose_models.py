"""PoseFCN / PoseRegressor: shapes, the refinement starts as the plain FCN-8s, the shared encoder."""

import pytest
import torch

from lecture_lib.pose import PoseFCN, PoseRegressor
from lecture_lib.segmentation import FCN

ARCH = {"widths": (4, 4, 8, 8, 8), "convs_per_stage": (1, 1, 1, 1, 1), "fc_width": 8}


def test_refinement_starts_as_fcn8s():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        m = PoseFCN(5, refine=4, **ARCH).eval()
    x = torch.rand(2, 3, 64, 64)
    assert m(x).shape == (2, 5, 64, 64)
    torch.testing.assert_close(m(x), m.fcn(x))  # zero-initialised last layer
    assert isinstance(m.fcn, FCN) and m.fcn.variant == "8s"


def test_regressor_uses_the_fcn_encoder_and_outputs_pixels():
    r = PoseRegressor(5, image_size=64, hidden=16, **ARCH).eval()
    fcn = FCN(5, variant="32s", **ARCH)
    enc = [tuple(p.shape) for p in r.encoder.parameters()]
    fcn_enc = [tuple(p.shape) for n, p in fcn.named_parameters() if n.startswith(("stages.", "fc."))]
    assert enc == fcn_enc  # the FCN's encoder modules, re-used
    out = r(torch.rand(3, 3, 64, 64))
    assert out.shape == (3, 5, 2)
    torch.nn.init.zeros_(r.head[-1].weight)  # bias 0.5 -> the image centre
    torch.testing.assert_close(r(torch.rand(1, 3, 64, 64)), torch.full((1, 5, 2), 31.5))
    with pytest.raises(ValueError, match=r"built for 64x64 images, got \(32, 32\)"):
        r(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="num_joints must be an int >= 1"):
        PoseFCN(0)
