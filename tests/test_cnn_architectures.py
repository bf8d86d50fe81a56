"""lecture_lib.cnn.architectures: VGG A-E from the table, counts against torchvision's published figures."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from lecture_lib.cnn import architectures as arch
from lecture_lib.cnn.models import LeNet
from lecture_lib.layers import count_multiply_adds, count_parameters


@pytest.mark.parametrize(
    ("config", "builder"), [("A", "vgg11"), ("B", "vgg13"), ("D", "vgg16"), ("E", "vgg19")]
)
def test_vgg_from_table_matches_torchvision(config, builder):
    ours = arch.on_meta(arch.make_vgg, config=config)
    theirs = arch.on_meta(getattr(torchvision.models, builder), weights=None)
    assert str(ours) == str(theirs)  # same layers, same order, same hyper-parameters
    assert count_parameters(ours) == count_parameters(theirs)


def test_vgg_depths_and_paper_parameter_counts():
    depths = {c: arch.count_weight_layers(arch.on_meta(arch.make_vgg, config=c)) for c in arch.VGG_CONFIGS}
    assert depths == {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}  # the table's header row
    millions = {
        c: round(count_parameters(arch.on_meta(arch.make_vgg, config=c)) / 1e6)
        for c in ("A", "B", "C", "D", "E")
    }
    assert millions == {"A": 133, "B": 133, "C": 134, "D": 138, "E": 144}  # VGG paper, Table 2
    lrn = arch.vgg_features("A-LRN")
    assert isinstance(lrn[2], nn.LocalResponseNorm)
    with pytest.raises(ValueError, match="config must be one of .*'A-LRN'.*got 'F'"):
        arch.vgg_features("F")


@pytest.mark.parametrize("name", list(arch.TORCHVISION_MODELS))
def test_counts_match_torchvision_metadata(name):
    stats = arch.measure(name)
    ref = arch.torchvision_reference(name)
    assert stats.params == ref["num_params"]
    assert stats.multiply_adds / 1e9 == pytest.approx(ref["gmacs"], rel=2e-3)


def test_depths_of_the_architecture_line():
    assert arch.measure("alexnet").weight_layers == 8
    assert arch.measure("vgg19").weight_layers == 19
    assert arch.measure("resnet152").weight_layers == 152  # 1x1 projection shortcuts not counted
    assert arch.torchvision_reference("resnet152")["top5_error"] == pytest.approx(5.954)


def test_multiply_adds_by_hand_and_on_cpu_models():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert count_multiply_adds(conv, (1, 3, 10, 10)) == 8 * 10 * 10 * 3 * 3 * 3
    assert count_multiply_adds(nn.Linear(10, 5), (2, 10)) == 2 * 10 * 5
    assert conv.weight.device.type == "cpu" and conv.training  # the model itself is untouched
    with pytest.raises(ValueError, match=r"input_shape must be a tuple of positive ints.*got \[1, 3\]"):
        count_multiply_adds(conv, [1, 3])


def test_meta_models_allocate_nothing():
    model = arch.on_meta(arch.TORCHVISION_MODELS["vgg19"])
    assert all(p.is_meta for p in model.parameters())
    layer = nn.Linear(10**6, 10**8, device="meta")  # the slide's fully connected alternative: 1e14 weights
    assert count_parameters(layer) == 10**14 + 10**8
    assert torch.empty(0).device.type == "cpu"  # the meta context did not leak


def test_bad_inputs():
    with pytest.raises(TypeError, match="model must be an nn.Module, got list"):
        count_parameters([])
    with pytest.raises(ValueError, match="name must be one of .*got 'lenet'"):
        arch.measure("lenet")
    with pytest.raises(ValueError, match="name must be one of .*got 'vgg13'"):
        arch.torchvision_reference("vgg13")


def test_lenet5_parameter_counts_from_the_description():
    full = tuple([tuple(range(6))] * 16)
    ours = arch.lenet5_parameter_counts(full, trainable_pooling=False, output="linear")
    assert sum(ours.values()) == count_parameters(LeNet())  # the counting agrees with the real module
    paper = arch.lenet5_parameter_counts()
    assert sum(len(c) for c in arch.LENET5_C3_TABLE) == 60  # Table I: 6 x 3 + 9 x 4 + 1 x 6 inputs
    assert paper["C3"] == 60 * 25 + 16 and paper["output"] == 0 and paper["S2"] == 12
    assert paper["C3"] < ours["C3"]
    with pytest.raises(ValueError, match="c3_table must be 16 tuples"):
        arch.lenet5_parameter_counts(((0, 6),) * 16)
    with pytest.raises(ValueError, match="output must be 'rbf'"):
        arch.lenet5_parameter_counts(output="softmax")
