"""Shared fixtures for the unit tests."""

from __future__ import annotations

import os

import matplotlib
import pytest
import torch
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")
os.environ.setdefault("LECTURE_STATIC_WIDGETS", "1")

# Property tests (tests/test_guards_properties.py): few examples, derandomized (the same examples on
# every run and machine), no per-example deadline (a busy CI machine is not a failure).
settings.register_profile(
    "lecture", max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("lecture")


@pytest.fixture(autouse=True)
def _restore_torch_state():
    """setup() changes global torch state (threads, deterministic mode): restore it after each test."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
