"""lecture_lib.transfer.features: chopping, features against torchvision's feature extractor, freezing."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.models.feature_extraction import create_feature_extractor
from transfer_nets import resnet18, small  # noqa: F401

from lecture_lib import transfer


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # tiny networks: threads only add overhead (conftest restores the count)


def test_not_a_resnet_messages():
    seq = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten())
    with pytest.raises(ValueError, match=r"stages layer1, layer2.*got children \['0', '1'\]"):
        transfer.stage_names(seq)
    with pytest.raises(ValueError, match="fc=missing"):
        transfer.chop_head(seq)
    with pytest.raises(TypeError, match="model must be an nn.Module, got str"):
        transfer.freeze("resnet")


# ------------------------------------------------------------------------------ features
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kind", ["small", "resnet18"])
def test_extract_features_matches_torchvision_feature_extractor(seed, kind):
    model = small(seed=seed) if kind == "small" else resnet18(seed=seed)
    x = (
        torch.rand(5, 1, 16, 16, generator=torch.Generator().manual_seed(seed))
        if kind == "small"
        else torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
    )
    twin = create_feature_extractor(model, {"flatten": "features"}).eval()
    got = transfer.extract_features(model, x, batch_size=2)
    torch.testing.assert_close(got, twin(x)["features"])
    assert got.shape == (x.shape[0], model.fc.in_features)
    assert isinstance(model.fc, nn.Linear) and all(p.requires_grad for p in model.parameters())  # untouched


def test_extract_features_loader_and_empty():
    model, x, y = small(), torch.rand(7, 1, 16, 16), torch.arange(7)
    feats, labels = transfer.extract_features(model, DataLoader(TensorDataset(x, y), batch_size=3))
    torch.testing.assert_close(feats, transfer.extract_features(model, x))
    assert labels.tolist() == list(range(7))
    assert transfer.extract_features(model, x[:0]).shape == (0, 8)
    with pytest.raises(ValueError, match="empty loader"):
        transfer.extract_features(model, [])
    with pytest.raises(ValueError, match=r"Tensor\[N, C, H, W\], got shape \(16, 16\)"):
        transfer.extract_features(model, x[0, 0])


@pytest.mark.parametrize("seed", range(3))
def test_stage_features_match_torchvision(seed):
    for model, x in (
        (small(seed=seed), torch.rand(4, 1, 16, 16)),
        (resnet18(seed=seed), torch.rand(2, 3, 64, 64)),
    ):
        names = transfer.stage_names(model)
        got = transfer.stage_features(model, x)
        want = create_feature_extractor(model, {n: n for n in names}).eval()(x)
        assert list(got) == names
        for n in names:
            torch.testing.assert_close(got[n], want[n])
        pooled = transfer.stage_features(model, x, stages=[names[0]], pool=2)
        assert pooled[names[0]].shape == (x.shape[0], got[names[0]].shape[1] * 4)
        torch.testing.assert_close(
            pooled[names[0]], torch.flatten(nn.functional.adaptive_avg_pool2d(got[names[0]], 2), 1)
        )
    model = small()
    x = torch.rand(5, 1, 16, 16)
    chunked = transfer.stage_features(model, x, pool=2, batch_size=2)
    for name, value in transfer.stage_features(model, x, pool=2).items():
        torch.testing.assert_close(chunked[name], value)
    model.train()
    transfer.stage_features(model, torch.rand(2, 1, 16, 16))
    assert model.training and not model.layer1._forward_hooks  # mode restored, hooks removed
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['layer9'\]"):
        transfer.stage_features(model, torch.rand(2, 1, 16, 16), stages=["layer9"])
    with pytest.raises(ValueError, match="pool must be a positive int"):
        transfer.stage_features(model, torch.rand(2, 1, 16, 16), pool=0)


# ------------------------------------------------------------------------------ freezing
def test_freeze_unfreeze_top_replace_head():
    for model in (small(), resnet18()):
        stages = transfer.stage_names(model)
        assert transfer.trainable_names(transfer.freeze(model)) == []
        for k in range(len(stages) + 1):
            names = transfer.trainable_names(transfer.unfreeze_top(model, k))
            wanted = {
                n
                for n, _ in model.named_parameters()
                if n.startswith("fc.") or n.split(".")[0] in stages[len(stages) - k :]
            }
            assert set(names) == wanted
        with pytest.raises(ValueError, match=rf"k must be an int in \[0, {len(stages)}\].*got 9"):
            transfer.unfreeze_top(model, 9)
        transfer.freeze(model)
        transfer.replace_head(model, 3)
        assert transfer.trainable_names(model) == ["fc.weight", "fc.bias"]
        assert model.fc.out_features == 3


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_split_top_composes_to_model(k):
    model = small(seed=k)
    bottom, top = transfer.split_top(model, k)
    x = torch.rand(3, 1, 16, 16)
    torch.testing.assert_close(top(bottom(x)), model(x))
    assert top[-1] is model.fc  # shared modules: training top trains the model
    net = resnet18()
    b, t = transfer.split_top(net, k)
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(t(b(x)), net(x))
