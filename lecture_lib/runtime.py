"""Runtime idioms written once: eval mode for a block, one thread for a block, named random
streams from one seed, and the process's peak memory.

- ``evaluating(model)``: ``with evaluating(model):`` runs the block in eval mode and gives every
  submodule back the train/eval flag it had (also when the block raises).
- ``single_thread()``: ``with single_thread():`` runs torch on one thread and restores the count
  it changed (two threads on a busy 2-core machine are many times slower than one).
- ``streams(seed, *names)``: independent random streams, one per name, split from one seed with
  ``numpy.random.SeedSequence`` (instead of hand-picked offsets such as ``seed + 1``).
- ``peak_memory_mb()``: this process's peak resident memory in MiB, on Linux, macOS and Windows.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import psutil
import torch
from torch import nn

try:  # Unix only; Windows reads its peak from psutil instead
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

__all__ = ["Stream", "evaluating", "peak_memory_mb", "single_thread", "streams"]


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Run a block with ``model`` in eval mode; afterwards every submodule has its own train/eval
    flag back (a frozen BatchNorm left in eval inside a training model stays in eval).

    Only the mode changes: wrap the block in ``torch.no_grad()`` / ``torch.inference_mode()``
    where gradients are not needed. Yields ``model``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in flags:
            module.training = training


@contextmanager
def single_thread() -> Iterator[None]:
    """Run a block with torch on one intra-op thread; restore the caller's count afterwards (also
    when the block raises). Nothing is changed, or restored, when torch already uses one thread."""
    threads = torch.get_num_threads()
    if threads != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if threads != 1:
            torch.set_num_threads(threads)


@dataclass(frozen=True)
class Stream:
    """One named random stream of a seed: ``.seed`` (an int for functions that take ``seed=``),
    ``.numpy()`` and ``.torch()`` (fresh generators, each call starting the stream anew)."""

    name: str
    seed_sequence: np.random.SeedSequence

    @property
    def seed(self) -> int:
        """An int in [0, 2**32) drawn from the stream (fits ``np.random.seed`` and ``manual_seed``)."""
        return int(self.seed_sequence.generate_state(1, np.uint32)[0])

    def numpy(self) -> np.random.Generator:
        """A new ``numpy.random.Generator`` on this stream."""
        return np.random.default_rng(self.seed_sequence)

    def torch(self, device: torch.device | str = "cpu") -> torch.Generator:
        """A new ``torch.Generator`` on ``device`` seeded from this stream (64 bits)."""
        return torch.Generator(device).manual_seed(int(self.seed_sequence.generate_state(1, np.uint64)[0]))


def streams(seed: int, *names: str) -> dict[str, Stream]:
    """Independent random streams split from one ``seed``, one per name.

    Stream ``name`` is the child ``numpy.random.SeedSequence(seed).spawn`` makes, keyed by the
    name instead of by its position: it does not depend on the other names asked for or their
    order, so a new stream never shifts an existing one::

        rs = streams(seed, "init", "batches")
        torch.manual_seed(rs["init"].seed)
        loader = RandomBatches(x, y, batch_size=64, steps=100, seed=rs["batches"].seed)

    Args:
        seed: a non-negative int.
        names: distinct, non-empty stream names.

    Returns:
        ``{name: Stream}`` in the order of ``names``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be a non-negative int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    if not names:
        raise ValueError("streams() needs at least one stream name, e.g. streams(seed, 'init', 'batches')")
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise TypeError(f"stream names must be non-empty strings, got {bad!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"stream names must be distinct, got {list(names)}")
    return {
        name: Stream(name, np.random.SeedSequence(int(seed), spawn_key=(_name_key(name),))) for name in names
    }


def _name_key(name: str) -> int:
    """A stable 128-bit spawn key of a stream name (the same in every Python process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:16], "little")


def peak_memory_mb(*, children: bool = False) -> float:
    """Peak resident memory (RSS) in MiB (2**20 bytes).

    What it returns depends on what the operating system records:

    - Linux: ``getrusage(...).ru_maxrss``, kibibytes, / 1024 (the process's high-water mark);
    - macOS: ``ru_maxrss``, bytes, / 2**20;
    - Windows: psutil's ``memory_info().peak_wset`` (peak working set), / 2**20;
    - any other system: the *current* RSS from psutil (a lower bound of the peak).

    Args:
        children: measure the finished child processes instead of this one (the largest of their
            peaks; Linux and macOS only, e.g. a notebook kernel after it exited).
    """
    return _peak_memory_mb(sys.platform, children=children)


def _peak_memory_mb(platform: str, *, children: bool) -> float:
    if platform.startswith(("linux", "darwin")) and resource is not None:
        who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
        peak = resource.getrusage(who).ru_maxrss
        return peak / 2**20 if platform == "darwin" else peak / 1024
    if children:
        raise OSError(f"the peak memory of finished child processes is not recorded on {platform!r}")
    info = psutil.Process().memory_info()
    return getattr(info, "peak_wset", info.rss) / 2**20
