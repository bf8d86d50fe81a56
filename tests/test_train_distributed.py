"""train.fit under two processes (gloo, CPU) follows the single-process loss trajectory on the same
global batches: what `torchrun --nproc_per_node=2` does on a GPU machine, checked here on CPU."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from ranks import run_ranks
from torch import nn

from lecture_lib import train


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 6, generator=g)
    y = (x[:, 0] - x[:, 1] > 0).long()
    return x, y


def _model():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))


def _multi_task(model, batch):  # a dict of losses through a model method-like call, as the detectors do
    x, y = batch
    logits = model(x)
    return {"ce": nn.functional.cross_entropy(logits, y), "l2": 1e-3 * logits.pow(2).mean()}


def _run():
    dist.init_process_group("gloo")  # RANK, WORLD_SIZE, MASTER_ADDR/PORT from the environment
    x, y = _data()
    model = _model()
    batches = train.RandomBatches(x, y, batch_size=16, steps=6, seed=3)
    hist = train.fit(model, batches, epochs=3, lr=0.05, loss_fn=_multi_task, progress=False)
    return hist.batch_loss, hist.batch_parts["ce"], list(model.parameters())


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_two_processes_follow_the_single_process_trajectory():
    x, y = _data()
    model = _model()
    single = train.fit(
        model,
        train.RandomBatches(x, y, batch_size=16, steps=6, seed=3),
        epochs=3,
        lr=0.05,
        loss_fn=_multi_task,
        progress=False,
    )
    results = run_ranks(_run, timeout=120)
    for r in (0, 1):
        losses, ce, params = results[r]
        assert len(losses) == 18
        torch.testing.assert_close(
            torch.tensor(losses), torch.tensor(single.batch_loss), rtol=1e-4, atol=1e-5
        )
        torch.testing.assert_close(
            torch.tensor(ce), torch.tensor(single.batch_parts["ce"]), rtol=1e-4, atol=1e-5
        )
        for a, b in zip(params, model.parameters()):
            torch.testing.assert_close(torch.tensor(a), b.detach(), rtol=1e-4, atol=1e-5)
    assert train.world_size() == 1 and train.rank() == 0  # the test process itself is not distributed
