"""lecture_lib.transfer.models: SmallResNet (built from layers.ResidualBlock, torchvision's names)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock
from transfer_nets import resnet18, small  # noqa: F401

from lecture_lib import transfer
from lecture_lib.checkpoints import load_checkpoint, load_model
from lecture_lib.transfer import SmallResNet


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # tiny networks: threads only add overhead (conftest restores the count)


def test_small_resnet_shapes_and_size():
    model = SmallResNet(100)
    assert model(torch.rand(3, 1, 16, 16)).shape == (3, 100)
    assert 10_000 < sum(p.numel() for p in model.parameters()) < 150_000
    assert transfer.stage_names(model) == ["layer1", "layer2", "layer3"]
    assert transfer.stage_names(resnet18()) == ["layer1", "layer2", "layer3", "layer4"]


@pytest.mark.parametrize(
    "bad, err, match",
    [
        (0, ValueError, "num_classes must be >= 1, got 0"),
        (2.0, TypeError, "num_classes must be an int, got float"),
        (True, TypeError, "got bool"),
    ],
)
def test_bad_num_classes(bad, err, match):
    with pytest.raises(err, match=match):
        SmallResNet(bad)
    with pytest.raises(err, match=match):
        transfer.replace_head(small(), bad)


def test_blocks_load_into_torchvision_basic_blocks():
    """The residual blocks have torchvision's names: their weights load into BasicBlock unchanged."""
    model = small(seed=3)
    x = torch.rand(2, 4, 8, 8)
    block = model.layer2
    theirs = BasicBlock(
        4, 6, stride=2, downsample=nn.Sequential(nn.Conv2d(4, 6, 1, 2, bias=False), nn.BatchNorm2d(6))
    )
    theirs.load_state_dict(block.state_dict())
    torch.testing.assert_close(theirs.eval()(x), block.eval()(x))


def test_committed_source_network_loads_as_a_model_entry():
    ckpt = load_checkpoint("transfer_glyphs_resnet.pt")
    model = load_model("transfer_glyphs_resnet.pt")
    assert isinstance(model, SmallResNet) and not model.training
    assert model.fc.out_features == ckpt["settings"]["num_classes"]
    assert set(model.state_dict()) == {k for k in ckpt["model"]["state_dict"]}
