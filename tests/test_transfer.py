"""Tests for lecture_lib.transfer and lecture_lib.transfer_runs (notebook 02)."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.models.feature_extraction import create_feature_extractor

from lecture_lib import exercises, transfer, transfer_runs
from lecture_lib.transfer import SmallResNet


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # tiny networks: threads only add overhead (conftest restores the count)


def small(num_classes=5, seed=0):
    torch.manual_seed(seed)
    return SmallResNet(num_classes, widths=(4, 6, 8)).eval()


def resnet18(num_classes=7, seed=0):
    torch.manual_seed(seed)
    return torchvision.models.resnet18(weights=None, num_classes=num_classes).eval()


# ------------------------------------------------------------------------------ model + stages
def test_small_resnet_shapes_and_size():
    model = SmallResNet(100)
    assert model(torch.rand(3, 1, 16, 16)).shape == (3, 100)
    assert 10_000 < sum(p.numel() for p in model.parameters()) < 150_000
    assert transfer.stage_names(model) == ["layer1", "layer2", "layer3"]
    assert transfer.stage_names(resnet18()) == ["layer1", "layer2", "layer3", "layer4"]


@pytest.mark.parametrize("bad, err, match", [(0, ValueError, "num_classes must be >= 1, got 0"),
                                             (2.0, TypeError, "num_classes must be an int, got float"),
                                             (True, TypeError, "got bool")])
def test_bad_num_classes(bad, err, match):
    with pytest.raises(err, match=match):
        SmallResNet(bad)
    with pytest.raises(err, match=match):
        transfer.replace_head(small(), bad)


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
    x = torch.rand(5, 1, 16, 16, generator=torch.Generator().manual_seed(seed)) if kind == "small" else \
        torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
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
    for model, x in ((small(seed=seed), torch.rand(4, 1, 16, 16)), (resnet18(seed=seed), torch.rand(2, 3, 64, 64))):
        names = transfer.stage_names(model)
        got = transfer.stage_features(model, x)
        want = create_feature_extractor(model, {n: n for n in names}).eval()(x)
        assert list(got) == names
        for n in names:
            torch.testing.assert_close(got[n], want[n])
        pooled = transfer.stage_features(model, x, stages=[names[0]], pool=2)
        assert pooled[names[0]].shape == (x.shape[0], got[names[0]].shape[1] * 4)
        torch.testing.assert_close(pooled[names[0]],
                                   torch.flatten(nn.functional.adaptive_avg_pool2d(got[names[0]], 2), 1))
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
            wanted = {n for n, _ in model.named_parameters()
                      if n.startswith("fc.") or n.split(".")[0] in stages[len(stages) - k:]}
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


def correct_new_head(model, n):
    transfer.freeze(model)
    model.fc = nn.Linear(model.fc.in_features, n)
    return model


def forgot_to_freeze(model, n):
    model.fc = nn.Linear(model.fc.in_features, n)
    return model


def froze_head_too(model, n):
    model.fc = nn.Linear(model.fc.in_features, n)
    return transfer.freeze(model)


def wrong_classes(model, n):
    return correct_new_head(model, 10)


def test_head_only_checker_accepts_right_rejects_wrong(capsys):
    cases = transfer.head_only_cases(lambda: small(100))
    assert exercises.check("new head", correct_new_head, cases)
    for wrong in (forgot_to_freeze, froze_head_too, wrong_classes, lambda m, n: m):
        assert not exercises.check("new head", wrong, transfer.head_only_cases(lambda: small(100)))
    assert "[fail]" in capsys.readouterr().out
    assert exercises.check("new head", correct_new_head, transfer.head_only_cases(lambda: resnet18(10)))


# ------------------------------------------------------------------------------ runner
def test_random_batches_cover_data_and_repeat():
    x, y = torch.arange(12.0)[:, None], torch.arange(12)
    batches = list(transfer_runs.RandomBatches(x, y, batch_size=4, steps=3, seed=1))
    assert len(batches) == 3 and sorted(torch.cat([b[1] for b in batches]).tolist()) == list(range(12))
    again = list(transfer_runs.RandomBatches(x, y, batch_size=4, steps=3, seed=1))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, again))
    assert len(list(transfer_runs.RandomBatches(x, y, batch_size=5, steps=7))) == 7
    with pytest.raises(ValueError, match="same, non-zero number of examples, got 12 and 3"):
        transfer_runs.RandomBatches(x, y[:3], batch_size=4, steps=1)


def test_linear_probe_separable_and_errors():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 5, generator=g) * 10
    y = torch.arange(3).repeat(10)
    feats = centers[y] + torch.randn(30, 5, generator=g)
    acc, pred = transfer_runs.linear_probe(feats[:15], y[:15], feats[15:], y[15:])
    assert acc == 1.0 and pred.tolist() == y[15:].tolist()
    with pytest.raises(ValueError, match=">= 2 classes"):
        transfer_runs.linear_probe(feats[:2], torch.zeros(2, dtype=torch.long), feats, y)
    with pytest.raises(ValueError, match=r"same D, got \(30, 5\) and \(30, 4\)"):
        transfer_runs.linear_probe(feats, y, feats[:, :4], y)


def toy_task(n_per_class=6, seed=0):
    """3 classes of 16x16 images: bright top / left / bottom-right quarter, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(3).repeat(n_per_class)
    x = torch.rand(len(y), 1, 16, 16, generator=g) * 0.3
    x[y == 0, :, :8] += 1
    x[y == 1, :, :, :8] += 1
    x[y == 2, :, 8:, 8:] += 1
    return x, y


def test_run_transfer_experiment_structure_and_determinism():
    x, y = toy_task(6, seed=0)
    xt, yt = toy_task(4, seed=1)
    pretrained = small(10)
    before = copy.deepcopy(pretrained.state_dict())
    kwargs = dict(per_class=(1, None), seeds=(0, 1), min_steps=3, epochs=1, progress=False)
    runs = transfer_runs.run_transfer_experiment(lambda: SmallResNet(3, widths=(4, 6, 8)), pretrained, x, y, xt, yt,
                                                 **kwargs)
    assert len(runs) == 2 * 2 * 4
    assert {(r.method, r.per_class, r.seed) for r in runs} == {
        (m, k, s) for m in transfer_runs.METHODS for k in (1, None) for s in (0, 1)}
    for r in runs:
        assert 0.0 <= r.accuracy <= 1.0 and r.predictions.shape == (12,)
        assert r.accuracy == pytest.approx((r.predictions == yt).float().mean().item())
    assert all(torch.equal(v, before[k]) for k, v in pretrained.state_dict().items())  # source net untouched
    again = transfer_runs.run_transfer_experiment(lambda: SmallResNet(3, widths=(4, 6, 8)), pretrained, x, y, xt, yt,
                                                  **kwargs)
    assert [r.accuracy for r in runs] == [r.accuracy for r in again]
    table = transfer_runs.summarize(runs)
    assert set(table) == set(transfer_runs.METHODS) and set(table["scratch"]) == {1, None}
    accs = [r.accuracy for r in runs if r.method == "scratch" and r.per_class == 1]
    assert table["scratch"][1][0] == pytest.approx(sum(accs) / 2)
    with pytest.raises(ValueError, match=r"unknown method\(s\) \['magic'\]"):
        transfer_runs.run_transfer_experiment(lambda: small(3), pretrained, x, y, xt, yt, methods=["magic"])


def test_training_learns_the_toy_task():
    x, y = toy_task(10, seed=0)
    xt, yt = toy_task(10, seed=1)
    runs = transfer_runs.run_transfer_experiment(lambda: SmallResNet(3, widths=(4, 6, 8)), small(10), x, y, xt, yt,
                                                 per_class=(None,), seeds=(0,), min_steps=30, progress=False, lr_finetune=3e-3,
                                                 methods=("scratch", "finetune all"))
    assert all(r.accuracy >= 0.9 for r in runs), [(r.method, r.accuracy) for r in runs]
