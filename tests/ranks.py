"""Run a function in two spawned processes that form a ``torch.distributed`` group (gloo, CPU).

Used by the tests of ``lecture_lib.train``/``distributed`` under two processes. A worker sends its
result back as plain values: tensors become NumPy copies, because a tensor put on a queue is shared
through a file descriptor that vanishes when the worker exits before the parent has read it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _worker(rank: int, world: int, port: int, fn: Callable, args: tuple, queue) -> None:
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    try:
        queue.put((rank, _plain(fn(*args))))
    except BaseException as exc:  # the parent reports it instead of waiting for the timeout
        queue.put((rank, RuntimeError(f"rank {rank}: {type(exc).__name__}: {exc}")))
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_ranks(fn: Callable, *args: Any, world: int = 2, timeout: float = 300) -> dict[int, Any]:
    """``fn(*args)`` in ``world`` spawned processes (``RANK``/``WORLD_SIZE``/``MASTER_*`` set).

    ``fn`` must be a module-level function (spawn pickles it); it may call
    ``dist.init_process_group`` itself or let the library do it from the environment.

    Returns:
        ``{rank: fn's result}``, with tensors as NumPy arrays. Raises if a process failed.
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_worker, args=(r, world, port, fn, args, queue)) for r in range(world)]
    for p in procs:
        p.start()
    try:
        results = dict(queue.get(timeout=timeout) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    failed = [v for v in results.values() if isinstance(v, BaseException)]
    if failed:
        raise failed[0]
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return results
