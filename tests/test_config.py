import random

import numpy as np
import pytest
import torch

import lecture_lib
from lecture_lib.config import resolve_profile


def test_setup_quick_is_deterministic_and_prints_one_line(capsys, monkeypatch):
    monkeypatch.delenv("LECTURE_PROFILE", raising=False)
    monkeypatch.delenv("LECTURE_THREADS", raising=False)
    cfg = lecture_lib.setup(seed=3)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "profile=quick" in out[0] and "device=cpu" in out[0]
    assert cfg.profile == "quick" and cfg.quick and not cfg.full
    assert cfg.device.type == "cpu"
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.get_num_threads() == 1  # committed outputs are made with 1 thread
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    lecture_lib.setup(seed=3, verbose=False)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_seed_changes_streams():
    lecture_lib.seed_everything(1)
    a = torch.rand(3)
    lecture_lib.seed_everything(2)
    assert not torch.equal(a, torch.rand(3))


def test_profile_from_environment(monkeypatch, capsys):
    monkeypatch.setenv("LECTURE_PROFILE", "full")
    assert resolve_profile() == "full"
    cfg = lecture_lib.setup(verbose=False)
    assert cfg.full and cfg.sizes["epochs"] > lecture_lib.config._SIZES["quick"]["epochs"]
    assert (
        torch.is_deterministic_algorithms_warn_only_enabled()
    )  # CUDA kernels without a deterministic twin warn
    # an explicit argument wins over the environment (papermill's PROFILE parameter)
    assert lecture_lib.setup("quick", verbose=False).quick


def test_thread_count_from_environment(monkeypatch):
    monkeypatch.setenv("LECTURE_THREADS", "2")
    cfg = lecture_lib.setup("quick", verbose=False)
    assert torch.get_num_threads() == 2 and cfg.sizes["threads"] == 2
    monkeypatch.setenv("LECTURE_THREADS", "zero")
    with pytest.raises(ValueError, match="LECTURE_THREADS must be a positive integer, got 'zero'"):
        lecture_lib.setup("quick", verbose=False)


@pytest.mark.parametrize("bad", ["fast", "", "gpu"])
def test_bad_profile(bad):
    with pytest.raises(ValueError, match=r"profile must be one of \('quick', 'full'\)"):
        lecture_lib.setup(bad, verbose=False)


def test_bad_types():
    with pytest.raises(TypeError, match="profile must be a str"):
        lecture_lib.setup(1, verbose=False)
    with pytest.raises(TypeError, match="seed must be an int, got float"):
        lecture_lib.seed_everything(1.5)


def test_pick_sizes_by_profile():
    import lecture_lib

    cfg = lecture_lib.setup("quick", verbose=False)
    s = cfg.pick(quick=dict(n=10, epochs=2), full=dict(n=1000, epochs=30))
    assert (s.n, s.epochs) == (10, 2)
    with pytest.raises(ValueError, match="same sizes; only in quick: \\['epochs'\\]"):
        cfg.pick(quick=dict(n=1, epochs=2), full=dict(n=3))
