"""lecture_lib.segmentation.models: FCN-32s/16s/8s shapes and initialisation, the committed checkpoint."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecture_lib import segmentation as seg
from lecture_lib.checkpoints import load_checkpoint, load_model


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
    torch.testing.assert_close(out, expect[..., : size[0], : size[1]], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="variant must be one of"):
        seg.FCN(5, variant="4s")


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


def test_fcn_state_dict_keys_are_flat_conv_stages():
    """The encoder is five layers.conv_stage: keys stages.i.j (conv, BN, ReLU, ..., pool), as stored."""
    model = seg.FCN(3, variant="8s", widths=(4, 4, 4, 4, 4), convs_per_stage=(2, 1, 1, 1, 1), fc_width=4)
    keys = [k for k in model.state_dict() if k.startswith("stages.0.")]
    assert keys[:2] == ["stages.0.0.weight", "stages.0.1.weight"] and "stages.0.3.weight" in keys
    assert isinstance(model.stages[0][-1], nn.MaxPool2d)


def test_committed_checkpoint_loads_both_nets():
    ckpt = load_checkpoint("fcn_scenes.pt")
    fcn, clf = load_model("fcn_scenes.pt"), load_model("fcn_scenes.pt", "classifier")
    assert isinstance(fcn, seg.FCN) and fcn.variant == "all" and not fcn.training
    crop = ckpt["classifier_cfg"]["crop"]
    assert clf(torch.zeros(2, 3, crop, crop)).shape == (2, fcn.num_classes)
    assert set(fcn(torch.zeros(1, 3, 64, 64))) == set(seg.FCN.VARIANTS)


def test_window_classifier_bad_crop():
    with pytest.raises(ValueError, match=r"crop must be >= 16 with \(crop - 12\) divisible by 4, got 30"):
        seg.window_classifier(3, crop=30)
