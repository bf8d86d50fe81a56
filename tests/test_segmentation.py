"""lecture_lib.segmentation: CNN -> FCN equivalence, bilinear upsampling, FCN shapes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecture_lib import segmentation as seg
from lecture_lib.metrics import mean_iou


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("size", [(28, 28), (40, 52), (61, 33)])
def test_convolutionalized_classifier_equals_sliding_windows(seed, size):
    torch.manual_seed(seed)
    clf = seg.crop_classifier(4, crop=28, width=4, hidden=8).eval()
    fcn = seg.convolutionalize(clf, 28).eval()
    image = torch.rand(3, *size)
    with torch.no_grad():
        dense = fcn(image[None])[0]
        windows = seg.classify_windows(clf, image, 28, 4)
        # an explicit double loop, independent of unfold's ordering
        loop = torch.stack([torch.stack([clf(image[None, :, 4 * i:4 * i + 28, 4 * j:4 * j + 28])[0]
                                         for j in range(dense.shape[2])]) for i in range(dense.shape[1])])
    assert dense.shape == (4, seg.fcn_output_size(size[0], 28, 4), seg.fcn_output_size(size[1], 28, 4))
    torch.testing.assert_close(dense, windows, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(dense, loop.permute(2, 0, 1), rtol=1e-4, atol=1e-5)


def test_convolutionalize_rejects_bad_models():
    with pytest.raises(TypeError, match="nn.Sequential"):
        seg.convolutionalize(nn.Linear(3, 3), 28)
    with pytest.raises(ValueError, match="exactly one nn.Flatten"):
        seg.convolutionalize(nn.Sequential(nn.Conv2d(3, 2, 3)), 28)
    with pytest.raises(TypeError, match="BatchNorm1d after Flatten"):
        seg.convolutionalize(nn.Sequential(nn.Flatten(), nn.BatchNorm1d(3), nn.Linear(3, 2)), 1)
    with pytest.raises(ValueError, match="first Linear expects 10 inputs"):
        seg.convolutionalize(nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(10, 2)), 8)
    with pytest.raises(ValueError, match="crop must be >= 16"):
        seg.crop_classifier(3, crop=30)
    with pytest.raises(ValueError, match="at least as large as the crop"):
        seg.fcn_output_size(20, 28, 4)


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


@pytest.mark.parametrize("variant", seg.FCN.VARIANTS)
@pytest.mark.parametrize("size", [(64, 64), (50, 77), (96, 128)])
def test_fcn_any_size_and_skips_start_at_zero(variant, size):
    torch.manual_seed(0)
    small = dict(widths=(4, 4, 8, 8, 8), convs_per_stage=(1,) * 5, fc_width=8)
    model = seg.FCN(5, variant=variant, **small).eval()
    with torch.no_grad():  # random non-trivial coarse scores
        nn.init.normal_(model.score.weight, std=1.0)
        nn.init.normal_(model.score.bias, std=1.0)
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        out = model(x)
        padded = F.pad(x, (0, (-size[1]) % 32, 0, (-size[0]) % 32), mode="replicate")
        s = model.score(model.fc(nn.Sequential(*model.stages)(padded)))  # stride-32 scores
    assert out.shape == (2, 5, *size)
    # zero-initialised skips: the output is the stride-32 scores upsampled by bilinear steps
    interp = lambda t, f: F.interpolate(t, scale_factor=f, mode="bilinear", align_corners=False)  # noqa: E731
    steps = {"32s": (32,), "16s": (2, 16), "8s": (2, 2, 8)}[variant]
    expect = s
    for f in steps:
        expect = interp(expect, f)
    torch.testing.assert_close(out, expect[..., :size[0], :size[1]], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="variant must be one of"):
        seg.FCN(5, variant="4s")


def test_predict_labels_and_scores():
    model = seg.FCN(3, variant="8s", widths=(4, 4, 4, 4, 4), convs_per_stage=(1,) * 5, fc_width=4)
    x = torch.rand(5, 3, 32, 32)
    labels = seg.predict(model, x, batch_size=2)
    scores = seg.predict(model, x, batch_size=2, scores=True)
    assert labels.shape == (5, 32, 32) and labels.dtype == torch.int64
    torch.testing.assert_close(scores.argmax(1), labels)


def test_all_variant_heads_match_single_variant_models():
    torch.manual_seed(0)
    small = dict(widths=(4, 4, 8, 8, 8), convs_per_stage=(1,) * 5, fc_width=8)
    joint = seg.FCN(3, variant="all", **small).eval()
    for m in joint.modules():  # non-zero skips, so that the three heads differ
        if isinstance(m, nn.Conv2d) and m.weight.abs().sum() == 0:
            nn.init.normal_(m.weight, std=0.5)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out = joint(x)
        for v in seg.FCN.VARIANTS:
            single = seg.FCN(3, variant=v, **small).eval()
            missing, unexpected = single.load_state_dict(joint.state_dict(), strict=False)
            assert not missing
            torch.testing.assert_close(single(x), out[v])
            torch.testing.assert_close(joint.head(v)(x), out[v])
    assert not torch.allclose(out["8s"], out["32s"])
    with pytest.raises(ValueError, match="decoders"):
        seg.FCN(3, variant="8s", **small).head("32s")


@pytest.mark.parametrize("seed", range(3))
def test_sample_crops_label_is_the_centre_pixel(seed):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(3, 3, 40, 44, generator=g)
    masks = torch.randint(0, 4, (3, 40, 44), generator=g)
    masks[:, :, :20] = 0
    crops, labels = seg.sample_crops(images, masks, 50, 28, generator=g, fg_fraction=0.5)
    assert crops.shape == (50, 3, 28, 28) and labels.shape == (50,)
    assert (labels > 0).sum() >= 25
    for crop, label in zip(crops, labels):  # find the crop in the images: its centre label must match
        hits = [(b, r, c) for b in range(3) for r in range(13) for c in range(17)
                if torch.equal(images[b, :, r:r + 28, c:c + 28], crop)]
        assert len(hits) == 1
        b, r, c = hits[0]
        assert masks[b, r + 14, c + 14] == label
    with pytest.raises(ValueError, match="need images"):
        seg.sample_crops(images, masks[0], 5, 28)


def _scene_targets():
    target = torch.zeros(3, 32, 32, dtype=torch.long)
    target[0, 4:20, 6:27] = 1          # a rectangle with edges off the 8-px grid
    target[1, :, 13:17] = 2            # a 4-px vertical bar
    target[1, 9:12, :] = 2             # and a 3-px horizontal one: a thin cross
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    target[2][((yy - 15.5) ** 2 + (xx - 16.5) ** 2) < 81] = 1   # a disc
    return target


def test_ideal_coarse_labels_beats_the_averaged_map_and_orders_strides():
    target = _scene_targets()
    averaged = {s: mean_iou(seg.ideal_coarse_labels(target, s, 3, steps=0), target, 3)["miou"] for s in (16, 8, 4)}
    fitted = {s: mean_iou(seg.ideal_coarse_labels(target, s, 3, steps=100), target, 3)["miou"] for s in (16, 8, 4)}
    # the averaged map, upsampled by hand, is what steps=0 returns
    onehot = F.one_hot(target, 3).permute(0, 3, 1, 2).float()
    by_hand = F.interpolate(F.avg_pool2d(onehot, 8), scale_factor=8, mode="bilinear", align_corners=False).argmax(1)
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
