import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from lecture_lib import layers


@pytest.mark.parametrize(("c_in", "c_out", "stride"), [(8, 8, 1), (8, 16, 2), (4, 8, 1)])
def test_residual_block_equals_torchvision_basic_block(c_in, c_out, stride):
    torch.manual_seed(0)
    downsample = None
    if stride != 1 or c_in != c_out:
        downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
    theirs = BasicBlock(c_in, c_out, stride=stride, downsample=downsample).eval()
    for m in theirs.modules():  # non-trivial BN statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    ours = layers.ResidualBlock(c_in, c_out, stride).eval()
    ours.load_state_dict(theirs.state_dict())  # same names
    x = torch.randn(2, c_in, 12, 12, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(ours(x), theirs(x))


def test_conv_stage_is_flat_and_halves():
    stage = layers.conv_stage(3, 8, 2)
    assert [type(m).__name__ for m in stage] == ["Conv2d", "BatchNorm2d", "ReLU"] * 2 + ["MaxPool2d"]
    assert stage(torch.zeros(1, 3, 16, 16)).shape == (1, 8, 8, 8)
    assert layers.conv_stage(3, 8, 1, pool=False)(torch.zeros(1, 3, 16, 16)).shape == (1, 8, 16, 16)
    with pytest.raises(ValueError, match="convs must be an int >= 1"):
        layers.conv_stage(3, 8, 0)
    with pytest.raises(ValueError, match="positive ints"):
        layers.conv_bn_relu(0, 8)


def test_counts_by_hand():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert layers.count_parameters(conv) == 8 * 3 * 9 + 8
    assert layers.count_multiply_adds(conv, (1, 3, 10, 10)) == 8 * 10 * 10 * 3 * 3 * 3
    assert layers.count_multiply_adds(nn.Linear(10, 5), (2, 10)) == 2 * 10 * 5
    assert conv.weight.device.type == "cpu"  # the model itself is not moved to meta
    with pytest.raises(ValueError, match="input_shape"):
        layers.count_multiply_adds(conv, [1, 3])
    with pytest.raises(TypeError, match="nn.Module"):
        layers.count_parameters("net")
