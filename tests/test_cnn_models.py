"""lecture_lib.cnn.models: LeNet, the inception module against torchvision, plain vs residual nets."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models.googlenet import Inception

from lecture_lib.cnn import models
from lecture_lib.cnn.architectures import count_weight_layers
from lecture_lib.layers import count_parameters


def _copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Same layers in the same order, different names: copy tensor by tensor (shapes must agree)."""
    src_state, dst_state = src.state_dict(), dst.state_dict()
    assert len(src_state) == len(dst_state)
    for (k_src, v_src), k_dst in zip(src_state.items(), dst_state):
        assert v_src.shape == dst_state[k_dst].shape, (k_src, k_dst)
    dst.load_state_dict(dict(zip(dst_state, src_state.values())))


def _randomise_bn(module: nn.Module, g: torch.Generator) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))


@pytest.mark.parametrize(("image_size", "padding"), [(16, 0), (28, 0), (32, 0), (8, 2), (16, 2), (32, 2)])
def test_lenet_shapes(image_size, padding):
    net = models.LeNet(image_size=image_size, padding=padding)
    assert net(torch.zeros(2, 1, image_size, image_size)).shape == (2, 10)


def test_lenet5_as_published():
    net = models.LeNet()  # 32x32 input, no padding: C1 28x28, S2 14x14, C3 10x10, S4 5x5
    sizes = [
        tuple(m(torch.zeros(1, 1, 32, 32)).shape[1:])
        for m in (net.features[:1], net.features[:3], net.features[:4], net.features)
    ]
    assert sizes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5)]
    # conv 6*(25+1), conv 16*(6*25+1), C5 400*120+120, F6 120*84+84, output 84*10+10
    assert count_parameters(net) == 156 + 2416 + 48120 + 10164 + 850
    assert count_weight_layers(net) == 5


def test_lenet_same_padding_and_bad_sizes():
    net = models.LeNet(image_size=28, padding=2)
    # conv 6*(25+1), conv 16*(6*25+1), fc 784*120+120, 120*84+84, 84*10+10
    assert count_parameters(net) == 156 + 2416 + 94200 + 10164 + 850
    with pytest.raises(ValueError, match="image_size must be an int >= 4, got 2"):
        models.LeNet(image_size=2)
    with pytest.raises(ValueError, match="image_size 15 is too small for LeNet with padding 0: need >= 16"):
        models.LeNet(image_size=15)
    with pytest.raises(ValueError, match="padding must be 0 .* got 3"):
        models.LeNet(padding=3)


@pytest.mark.parametrize("seed", range(4))
@torch.no_grad()
def test_inception_module_matches_torchvision(seed):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    args = (8, 4, 3, 5, 2, 3, 2)  # in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj
    theirs, ours = Inception(*args).eval(), models.InceptionModule(*args, kernel_5x5=3).eval()
    _randomise_bn(theirs, g)
    _copy_weights(theirs, ours)
    x = torch.randn(2, 8, 7, 9, generator=g)
    torch.testing.assert_close(ours(x), theirs(x))
    assert ours(x).shape == (2, 4 + 5 + 3 + 2, 7, 9)


def test_inception_paper_version_parameters():
    m = models.InceptionModule(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's inception (3a)
    convs = 192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32
    bns = 2 * (64 + 96 + 128 + 16 + 32 + 32)
    assert count_parameters(m) == convs + bns
    assert m(torch.zeros(1, 192, 28, 28)).shape == (1, 256, 28, 28)
    with pytest.raises(ValueError, match="kernel_5x5 must be 5 \\(paper\\) or 3 \\(torchvision\\), got 7"):
        models.InceptionModule(4, 1, 1, 1, 1, 1, 1, kernel_5x5=7)


@pytest.mark.parametrize("depth", [4, 8, 16])
@pytest.mark.parametrize("norm", [False, True])
def test_deep_net_depth_and_twins(depth, norm):
    plain = models.deep_net(depth, residual=False, norm=norm)
    residual = models.deep_net(depth, residual=True, norm=norm)
    assert count_weight_layers(plain) == depth == count_weight_layers(residual)
    assert count_parameters(plain) == count_parameters(residual)  # the skip connection is free
    assert residual(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_deep_net_bad_depth():
    for bad in (3, 2, 5, 8.0, True):
        with pytest.raises(ValueError, match="depth must be an even int >= 4"):
            models.deep_net(bad, residual=True)


def test_plain_deep_net_gradients_vanish_residual_do_not():
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(16) % 10
    norms = {}
    for residual in (False, True):
        torch.manual_seed(0)
        net = models.deep_net(32, residual=residual)
        nn.functional.cross_entropy(net(x), y).backward()
        norms[residual] = net[0].weight.grad.norm().item()
    assert norms[True] > 1e6 * norms[False]
