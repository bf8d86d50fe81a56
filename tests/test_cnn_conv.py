"""lecture_lib.cnn.conv: the written-out convolution against torch, output sizes, receptive fields, shifts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lecture_lib.cnn import conv as cnn


@pytest.mark.parametrize("seed", range(8))
def test_conv2d_matches_torch(seed):
    g = torch.Generator().manual_seed(seed)
    b, c_in, c_out = (int(v) for v in torch.randint(1, 4, (3,), generator=g))
    kh, kw = (int(v) for v in torch.randint(1, 4, (2,), generator=g))
    stride = tuple(int(v) for v in torch.randint(1, 3, (2,), generator=g))
    padding = tuple(int(v) for v in torch.randint(0, 3, (2,), generator=g))
    dilation = tuple(int(v) for v in torch.randint(1, 3, (2,), generator=g))
    x = torch.randn(b, c_in, 9, 11, generator=g)
    w = torch.randn(c_out, c_in, kh, kw, generator=g)
    bias = torch.randn(c_out, generator=g) if seed % 2 else None
    got = cnn.conv2d(x, w, bias, stride=stride, padding=padding, dilation=dilation)
    expected = nn.functional.conv2d(x, w, bias, stride=stride, padding=padding, dilation=dilation)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_int_arguments_and_empty_batch():
    x, w = torch.randn(0, 2, 6, 6), torch.randn(4, 2, 3, 3)
    assert (
        cnn.conv2d(x, w, stride=2, padding=1).shape == nn.functional.conv2d(x, w, stride=2, padding=1).shape
    )
    x = torch.randn(2, 2, 6, 6)
    torch.testing.assert_close(cnn.conv2d(x, w, padding=1), nn.functional.conv2d(x, w, padding=1))


def test_conv2d_bad_inputs():
    with pytest.raises(ValueError, match=r"x must be a Tensor\[B, C_in, H, W\], got \(3, 8, 8\)"):
        cnn.conv2d(torch.zeros(3, 8, 8), torch.zeros(1, 3, 3, 3))
    with pytest.raises(ValueError, match=r"C_in=3.*got \(1, 2, 3, 3\)"):
        cnn.conv2d(torch.zeros(1, 3, 8, 8), torch.zeros(1, 2, 3, 3))
    with pytest.raises(ValueError, match=r"bias must be a Tensor\[C_out=1\], got \(2,\)"):
        cnn.conv2d(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 3, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        cnn.conv2d(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 3, 3), stride=0)
    with pytest.raises(TypeError, match="padding must be an int or a pair of ints, got 1.5"):
        cnn.conv2d(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 3, 3), padding=1.5)
    with pytest.raises(ValueError, match="window spans 9 pixels but the padded input has only 8"):
        cnn.conv2d(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 9, 9))


@pytest.mark.parametrize("seed", range(20))
def test_conv_output_size_matches_torch_layers(seed):
    g = torch.Generator().manual_seed(seed)
    k, s, d = (int(v) for v in torch.randint(1, 5, (3,), generator=g))
    p = int(torch.randint(0, k // 2 + 1, (1,), generator=g))  # pooling needs p <= k / 2
    size = d * (k - 1) + 1 + int(torch.randint(0, 20, (1,), generator=g))
    x = torch.zeros(1, 1, size, size)
    conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    assert cnn.conv_output_size(size, k, s, p, d) == conv(x).shape[-1]
    assert cnn.conv_output_size(size, k, s, p) == nn.MaxPool2d(k, s, p)(x).shape[-1]


def test_conv_output_size_slide_examples():
    assert cnn.conv_output_size(32, 5) == 28  # LeNet-5's first layer
    assert cnn.conv_output_size(227, 11, stride=4) == 55  # AlexNet conv1
    assert cnn.conv_output_size(224, 3, padding=1) == 224  # VGG's "same" 3x3 conv
    assert cnn.conv_output_size(224, 2, stride=2) == 112  # VGG's max-pooling


def test_conv_output_size_bad_inputs():
    with pytest.raises(TypeError, match=r"kernel_size must be an int, got float \(3.0\)"):
        cnn.conv_output_size(10, 3.0)
    with pytest.raises(ValueError, match="padding must be >= 0, got -1"):
        cnn.conv_output_size(10, 3, padding=-1)
    with pytest.raises(ValueError, match="window spans 5 pixels"):
        cnn.conv_output_size(4, 5)


def test_receptive_field_by_hand():
    assert cnn.receptive_field([(3, 1)] * 3) == [3, 5, 7]  # three 3x3 convs see as far as one 7x7
    assert cnn.receptive_field([(2, 2), (3, 1)]) == [2, 6]  # after a 2x2 pool every tap is 2 px apart
    assert cnn.receptive_field([(3, 1, 2)]) == [5]  # dilation 2
    assert cnn.receptive_field([]) == []


def _random_stack(g: torch.Generator) -> nn.Sequential:
    layers = []
    for _ in range(int(torch.randint(1, 6, (1,), generator=g))):
        k, s = int(torch.randint(1, 6, (1,), generator=g)), int(torch.randint(1, 3, (1,), generator=g))
        if torch.rand(1, generator=g) < 0.3:
            layers.append(nn.MaxPool2d(max(k, 2), s))
        else:
            d = int(torch.randint(1, 3, (1,), generator=g))
            layers += [nn.Conv2d(2, 2, k, stride=s, padding=d * (k // 2), dilation=d), nn.ReLU()]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("seed", range(10))
def test_receptive_field_matches_backprop(seed):
    model = _random_stack(torch.Generator().manual_seed(seed))
    geometry = cnn.layer_geometry(model)
    rf = cnn.receptive_field([row[1:] for row in geometry])[-1]
    jump = 1
    for _, _, s, _ in geometry:
        jump *= s
    assert cnn.measured_receptive_field(model, 2 * rf + 4 * jump + 8, in_channels=2) == rf


def test_layer_geometry_of_lenet_and_bad_layers():
    from lecture_lib.cnn.models import LeNet

    names = [row[0] for row in cnn.layer_geometry(LeNet(image_size=28))]
    assert names == ["features.0", "features.2", "features.3", "features.5"]
    with pytest.raises(ValueError, match=r"'0' is not square: kernel \(1, 3\)"):
        cnn.layer_geometry(nn.Sequential(nn.Conv2d(1, 1, (1, 3))))
    with pytest.raises(ValueError, match="layers\\[1\\] must be \\(kernel_size, stride"):
        cnn.receptive_field([(3, 1), (3,)])
    with pytest.raises(ValueError, match="stride must be an int >= 1, got 0"):
        cnn.receptive_field([(3, 0)])


def test_shift_and_shift_sensitivity():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    moved = cnn.shift(x, dx=1, dy=0)
    assert moved[0, 0, 0].tolist() == [3.0, 0.0, 1.0, 2.0]
    assert torch.equal(cnn.shift(moved, dx=-1, dy=0), x)
    images = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert cnn.shift_sensitivity(lambda t: t.mean(dim=(2, 3)), images) == pytest.approx(0.0, abs=1e-6)
    assert cnn.shift_sensitivity(lambda t: t, images) > 0.3
    with pytest.raises(ValueError, match=r"images must be \[B, C, H, W\], got shape \(4, 4\)"):
        cnn.shift(torch.zeros(4, 4), 1, 1)
    with pytest.raises(ValueError, match="max_shift must be an int >= 1, got 0"):
        cnn.shift_sensitivity(lambda t: t, images, max_shift=0)


def test_shift_changes_per_image():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 1, 8, 8, generator=g)
    images[1] = 0.5  # a constant image: every shift leaves it unchanged
    per_image = cnn.shift_changes(lambda t: t, images)
    assert per_image.shape == (3,)
    assert per_image[1] == pytest.approx(0.0, abs=1e-7) and per_image[0] > 0.3 and per_image[2] > 0.3
    one = cnn.shift_changes(lambda t: t, images[2:], max_shift=2)  # an image's score ignores the others
    torch.testing.assert_close(one, cnn.shift_changes(lambda t: t, images, max_shift=2)[2:])
    assert cnn.shift_sensitivity(lambda t: t, images) == pytest.approx(float(per_image.mean()))
    with pytest.raises(ValueError, match="max_shift must be an int >= 1, got True"):
        cnn.shift_changes(lambda t: t, images, max_shift=True)
