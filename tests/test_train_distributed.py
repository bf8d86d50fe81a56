"""train.fit under two processes (gloo, CPU) follows the single-process loss trajectory on the same
global batches: what `torchrun --nproc_per_node=2` does on a GPU machine, checked here on CPU."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
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


def _run(rank_, world, port, queue):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank_, world_size=world)
    torch.set_num_threads(1)
    try:
        x, y = _data()
        model = _model()
        batches = train.RandomBatches(x, y, batch_size=16, steps=6, seed=3)
        hist = train.fit(model, batches, epochs=3, lr=0.05, loss_fn=_multi_task, progress=False)
        queue.put(
            (
                rank_,
                hist.batch_loss,
                hist.batch_parts["ce"],
                [p.detach().tolist() for p in model.parameters()],
            )
        )
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_run, args=(r, 2, port, queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = dict((r, rest) for r, *rest in (queue.get(timeout=120) for _ in procs))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
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
