"""lecture_lib.segmentation.upsampling: bilinear transposed convs vs F.interpolate, ideal coarse labels."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecture_lib import segmentation as seg
from lecture_lib.metrics import mean_iou


def test_bilinear_kernel_1d_profile_and_shape():
    w = seg.bilinear_kernel(2, 2, 4)  # factor 2: profile 1/4, 3/4, 3/4, 1/4
    assert w.shape == (2, 2, 4, 4)
    prof = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(w[0, 0], prof[:, None] * prof[None, :])
    assert (w[0, 1] == 0).all() and (w[1, 0] == 0).all()
    odd = seg.bilinear_kernel(1, 1, 3)  # factor 2, centre 1: 0.5, 1, 0.5
    torch.testing.assert_close(odd[0, 0, 1], torch.tensor([0.5, 1.0, 0.5]))
    with pytest.raises(ValueError, match="in_channels == out_channels"):
        seg.bilinear_kernel(2, 3, 4)


@pytest.mark.parametrize("factor", [2, 4, 8, 16, 32])
@pytest.mark.parametrize("seed", range(3))
def test_transposed_conv_with_bilinear_kernel_equals_interpolate(factor, seed):
    """kernel 2s, stride s, padding s/2 samples at (o + 0.5) / s - 0.5: align_corners=False.

    The plain transposed conv sees zeros beyond the border, so it matches only on the interior
    (a frame of s/2 output pixels differs); replicate-padding the input by one pixel and cropping
    s pixels (``BilinearUpsample``) makes it match everywhere. align_corners=True does not match.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 5, 7, generator=g)
    ref = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    conv = nn.ConvTranspose2d(3, 3, 2 * factor, stride=factor, padding=factor // 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(seg.bilinear_kernel(3, 3, 2 * factor))
        plain = conv(x)
        full = seg.BilinearUpsample(3, factor)(x)
        full_dense = seg.BilinearUpsample(3, factor, depthwise=False)(x)  # C -> C kernel, as in the paper
    assert plain.shape == ref.shape == full.shape
    b = factor // 2
    torch.testing.assert_close(plain[..., b:-b, b:-b], ref[..., b:-b, b:-b], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(plain, ref, atol=1e-3)  # the border frame differs
    torch.testing.assert_close(full, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(full_dense, ref, rtol=1e-5, atol=1e-5)
    corners = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=True)
    assert not torch.allclose(full, corners, atol=1e-3)


def test_bilinear_upsample_is_learnable_or_fixed():
    up = seg.BilinearUpsample(2, 4)
    assert up.up.weight.requires_grad
    assert not seg.BilinearUpsample(2, 4, learnable=False).up.weight.requires_grad
    with pytest.raises(ValueError, match="even integer"):
        seg.BilinearUpsample(2, 3)


def _scene_targets():
    target = torch.zeros(3, 32, 32, dtype=torch.long)
    target[0, 4:20, 6:27] = 1  # a rectangle with edges off the 8-px grid
    target[1, :, 13:17] = 2  # a 4-px vertical bar
    target[1, 9:12, :] = 2  # and a 3-px horizontal one: a thin cross
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    target[2][((yy - 15.5) ** 2 + (xx - 16.5) ** 2) < 81] = 1  # a disc
    return target


def test_ideal_coarse_labels_beats_the_averaged_map_and_orders_strides():
    target = _scene_targets()
    averaged = {
        s: mean_iou(seg.ideal_coarse_labels(target, s, 3, steps=0), target, 3)["miou"] for s in (16, 8, 4)
    }
    fitted = {
        s: mean_iou(seg.ideal_coarse_labels(target, s, 3, steps=100), target, 3)["miou"] for s in (16, 8, 4)
    }
    # the averaged map, upsampled by hand, is what steps=0 returns
    onehot = F.one_hot(target, 3).permute(0, 3, 1, 2).float()
    by_hand = F.interpolate(
        F.avg_pool2d(onehot, 8), scale_factor=8, mode="bilinear", align_corners=False
    ).argmax(1)
    assert mean_iou(by_hand, target, 3)["miou"] == pytest.approx(averaged[8])
    for s in (16, 8, 4):
        assert fitted[s] > averaged[s]
    assert fitted[16] < fitted[8] < fitted[4]
    assert fitted[4] > 0.95
    torch.testing.assert_close(seg.ideal_coarse_labels(target, 1, 3, steps=0), target)


def test_ideal_coarse_labels_bad_inputs():
    target = _scene_targets()
    with pytest.raises(ValueError, match="divisible by stride"):
        seg.ideal_coarse_labels(target[:, :30], 8, 3)
    with pytest.raises(ValueError, match="stride must be an int"):
        seg.ideal_coarse_labels(target, 0, 3)
    with pytest.raises(ValueError, match="integer class ids"):
        seg.ideal_coarse_labels(target.float(), 8, 3)
    with pytest.raises(ValueError, match=r"values must lie in \[0, 2\)"):
        seg.ideal_coarse_labels(target, 8, 2)
