"""lecture_lib.transfer.experiment: per-class draws, the linear probe, the four-way experiment."""

from __future__ import annotations

import copy

import pytest
import torch
from transfer_nets import resnet18, small  # noqa: F401

from lecture_lib import transfer
from lecture_lib.transfer import SmallResNet


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # tiny networks: threads only add overhead (conftest restores the count)


@pytest.mark.parametrize("seed", range(4))
def test_per_class_indices(seed):
    y = torch.tensor([0] * 5 + [1] * 3 + [2] * 7)
    idx = transfer.per_class_indices(y, 3, seed=seed)
    assert torch.bincount(y[idx]).tolist() == [3, 3, 3] and len(set(idx.tolist())) == 9
    assert torch.equal(idx, transfer.per_class_indices(y, 3, seed=seed))
    assert torch.equal(transfer.per_class_indices(y, None, seed=seed), torch.arange(15))
    sub = transfer.per_class_indices(y, 1, seed=seed, candidates=torch.tensor([1, 2, 9, 10, 14]))
    assert set(sub.tolist()) <= {1, 2, 9, 10, 14} and sorted(y[sub].tolist()) == [0, 2]
    with pytest.raises(ValueError, match="class 1 has only 3 examples, asked for per_class=4"):
        transfer.per_class_indices(y, 4)
    with pytest.raises(ValueError, match="per_class must be a positive int or None \\(all\\), got 0"):
        transfer.per_class_indices(y, 0)


def test_linear_probe_separable_and_errors():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 5, generator=g) * 10
    y = torch.arange(3).repeat(10)
    feats = centers[y] + torch.randn(30, 5, generator=g)
    acc, pred = transfer.linear_probe(feats[:15], y[:15], feats[15:], y[15:])
    assert acc == 1.0 and pred.tolist() == y[15:].tolist()
    with pytest.raises(ValueError, match=">= 2 classes"):
        transfer.linear_probe(feats[:2], torch.zeros(2, dtype=torch.long), feats, y)
    with pytest.raises(ValueError, match=r"same D, got \(30, 5\) and \(30, 4\)"):
        transfer.linear_probe(feats, y, feats[:, :4], y)


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
    runs = transfer.run_transfer_experiment(
        lambda: SmallResNet(3, widths=(4, 6, 8)), pretrained, x, y, xt, yt, **kwargs
    )
    assert len(runs) == 2 * 2 * 4
    assert {(r.method, r.per_class, r.seed) for r in runs} == {
        (m, k, s) for m in transfer.METHODS for k in (1, None) for s in (0, 1)
    }
    for r in runs:
        assert 0.0 <= r.accuracy <= 1.0 and r.predictions.shape == (12,)
        assert r.accuracy == pytest.approx((r.predictions == yt).float().mean().item())
    assert all(torch.equal(v, before[k]) for k, v in pretrained.state_dict().items())  # source net untouched
    again = transfer.run_transfer_experiment(
        lambda: SmallResNet(3, widths=(4, 6, 8)), pretrained, x, y, xt, yt, **kwargs
    )
    assert [r.accuracy for r in runs] == [r.accuracy for r in again]
    table = transfer.summarize(runs)
    assert set(table) == set(transfer.METHODS) and set(table["scratch"]) == {1, None}
    accs = [r.accuracy for r in runs if r.method == "scratch" and r.per_class == 1]
    assert table["scratch"][1][0] == pytest.approx(sum(accs) / 2)
    with pytest.raises(ValueError, match=r"unknown method\(s\) \['magic'\]"):
        transfer.run_transfer_experiment(lambda: small(3), pretrained, x, y, xt, yt, methods=["magic"])


def test_training_learns_the_toy_task():
    x, y = toy_task(10, seed=0)
    xt, yt = toy_task(10, seed=1)
    runs = transfer.run_transfer_experiment(
        lambda: SmallResNet(3, widths=(4, 6, 8)),
        small(10),
        x,
        y,
        xt,
        yt,
        per_class=(None,),
        seeds=(0,),
        min_steps=30,
        progress=False,
        lr_finetune=3e-3,
        methods=("scratch", "finetune all"),
    )
    assert all(r.accuracy >= 0.9 for r in runs), [(r.method, r.accuracy) for r in runs]


def test_experiment_leaves_the_global_rng_alone():
    x, y = toy_task(3, seed=0)
    source = small(10)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    transfer.run_transfer_experiment(
        lambda: SmallResNet(3, widths=(4, 6, 8)),
        source,
        x,
        y,
        x,
        y,
        per_class=(1,),
        seeds=(0,),
        min_steps=2,
        epochs=1,
        progress=False,
    )
    assert torch.equal(torch.rand(3), expected)


def test_correctness_stacks_the_seeds_per_item():
    labels = torch.tensor([0, 1, 2, 1])
    runs = [
        transfer.TransferRun("fixed features", 2, 1, 0.5, torch.tensor([0, 0, 2, 0]), 0.0),
        transfer.TransferRun("fixed features", 2, 0, 1.0, torch.tensor([0, 1, 2, 1]), 0.0),
        transfer.TransferRun("scratch", 2, 0, 0.25, torch.tensor([1, 1, 1, 0]), 0.0),
        transfer.TransferRun("fixed features", None, 0, 0.0, torch.tensor([1, 0, 0, 0]), 0.0),
    ]
    got = transfer.correctness(runs, "fixed features", 2, labels)  # rows sorted by seed: 0, 1
    assert got.tolist() == [[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 1.0, 0.0]]
    assert transfer.correctness(runs, "scratch", 2, labels).tolist() == [[0.0, 1.0, 0.0, 0.0]]
    assert transfer.correctness(runs, "fixed features", None, labels).shape == (1, 4)
    with pytest.raises(ValueError, match="no run of method 'finetune top' with per_class=2"):
        transfer.correctness(runs, "finetune top", 2, labels)
    with pytest.raises(ValueError, match="predictions, the labels"):
        transfer.correctness(runs, "scratch", 2, labels[:3])
    with pytest.raises(ValueError, match="a seed twice"):
        transfer.correctness(runs + runs[:1], "fixed features", 2, labels)
