from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from lecture_lib import runtime
from lecture_lib.runtime import evaluating, peak_memory_mb, single_thread, streams


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2))


def test_evaluating_sets_eval_and_restores_each_module():
    model = _net().train()
    model[1].eval()  # a frozen BatchNorm inside a training model
    before = [m.training for m in model.modules()]
    with evaluating(model) as m:
        assert m is model and not any(x.training for x in model.modules())
        out = model(torch.ones(2, 3))
    assert [m.training for m in model.modules()] == before  # model.train(True) would flip model[1]
    model.eval()
    torch.testing.assert_close(out, model(torch.ones(2, 3)))  # the block ran in eval mode


def test_evaluating_restores_on_exception_and_checks_its_input():
    model = _net().train()
    with pytest.raises(RuntimeError, match="boom"), evaluating(model):
        raise RuntimeError("boom")
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError, match="model must be an nn.Module, got function"):
        with evaluating(lambda x: x):  # type: ignore[arg-type]
            pass


def test_single_thread_pins_and_restores(monkeypatch):
    torch.set_num_threads(2)
    with single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(ValueError, match="inside"), single_thread():
        raise ValueError("inside")
    assert torch.get_num_threads() == 2
    torch.set_num_threads(1)  # already one thread: nothing to change, nothing to restore
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    with single_thread():
        pass
    assert calls == []


def test_streams_are_reproducible_and_keyed_by_name():
    a = streams(7, "init", "batches")
    b = streams(7, "batches")  # another set of names, another order: the same "batches" stream
    assert a["batches"].seed == b["batches"].seed
    assert a["batches"].numpy().random(3).tolist() == b["batches"].numpy().random(3).tolist()
    torch.testing.assert_close(
        torch.rand(3, generator=a["batches"].torch()), torch.rand(3, generator=b["batches"].torch())
    )
    assert list(a) == ["init", "batches"] and a["init"].seed != a["batches"].seed
    assert streams(8, "init")["init"].seed != a["init"].seed  # another seed, another stream
    assert 0 <= a["init"].seed < 2**32
    # each call starts the stream anew (no hidden shared state)
    assert a["init"].numpy().integers(1 << 30) == a["init"].numpy().integers(1 << 30)


def test_streams_are_seed_sequence_children_and_uncorrelated():
    s = streams(3, "x", "y")
    for stream in s.values():  # a SeedSequence child of the seed, as SeedSequence.spawn makes them
        assert stream.seed_sequence.entropy == 3 and len(stream.seed_sequence.spawn_key) == 1
    x, y = s["x"].numpy().standard_normal(20_000), s["y"].numpy().standard_normal(20_000)
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.03  # |r| of independent streams ~ 1/sqrt(n) = 0.007


def test_streams_bad_input():
    with pytest.raises(ValueError, match="non-negative int, got -1"):
        streams(-1, "a")
    with pytest.raises(TypeError, match="non-negative int, got float 1.5"):
        streams(1.5, "a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one stream name"):
        streams(0)
    with pytest.raises(ValueError, match=r"distinct, got \['a', 'a'\]"):
        streams(0, "a", "a")
    with pytest.raises(TypeError, match="non-empty strings"):
        streams(0, "")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads Linux's /proc")
def test_peak_memory_is_the_kernels_high_water_mark():
    rss_mib = runtime.psutil.Process().memory_info().rss / 2**20
    peak = peak_memory_mb()
    status = Path("/proc/self/status").read_text()
    vm_hwm_kib = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
    assert peak == pytest.approx(vm_hwm_kib / 1024, abs=2)
    assert peak >= rss_mib - 1  # a high-water mark is never below the current size
    assert peak_memory_mb(children=True) >= 0


def test_peak_memory_units_per_platform(monkeypatch):
    usage = SimpleNamespace(ru_maxrss=3 * 2**20)
    monkeypatch.setattr(runtime.resource, "getrusage", lambda who: usage)
    assert runtime._peak_memory_mb("darwin", children=False) == 3.0  # macOS: bytes
    assert runtime._peak_memory_mb("linux", children=True) == 3 * 1024.0  # Linux: KiB
    info = SimpleNamespace(rss=1 * 2**20, peak_wset=5 * 2**20)
    monkeypatch.setattr(runtime.psutil, "Process", lambda: SimpleNamespace(memory_info=lambda: info))
    assert runtime._peak_memory_mb("win32", children=False) == 5.0  # Windows: peak working set
    info = SimpleNamespace(rss=2 * 2**20)
    assert runtime._peak_memory_mb("sunos5", children=False) == 2.0  # elsewhere: current RSS
    with pytest.raises(OSError, match="child processes is not recorded on 'win32'"):
        runtime._peak_memory_mb("win32", children=True)
