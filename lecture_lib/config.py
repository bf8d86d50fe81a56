"""Profiles, devices and seeds: the first call of every notebook.

``setup()`` reads the profile (``quick``, the default and what CI runs, or ``full``), picks the
device, seeds every random number generator and, in quick, pins the thread count and turns on
deterministic algorithms, so that running a notebook twice gives the same checked outputs.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from lecture_lib import paths, smoke
from lecture_lib.datasets import fixtures
from lecture_lib.paths import (  # re-exported: notebooks, tools and tests import them from here
    PROFILES,
    REPO_BRANCH,
    REPO_URL,
    cache_dir,
    data_dir,
    repo_root,
    resolve_profile,
)
from lecture_lib.version import RELEASE_ENV, __version__, release_tag
from lecture_lib.viz import enable_accessible_figures

__all__ = [
    "PROFILES",
    "REPO_BRANCH",
    "REPO_URL",
    "Config",
    "cache_dir",
    "data_dir",
    "repo_root",
    "resolve_profile",
    "seed_everything",
    "setup",
]

paths.watch_smoke(smoke.active)  # cache_dir() is a temporary folder while smoke mode is on
SMOKE_FIXTURES = (fixtures.write_all,)  # what smoke mode writes before a notebook runs

# Per-profile sizes a notebook may read from ``cfg.sizes`` (epochs, images, ...). Notebooks keep
# their own choices in their parameters cell; these are the shared defaults.
_SIZES: dict[str, dict] = {
    "quick": {"epochs": 8, "batch_size": 64, "num_workers": 0, "threads": 1},
    "full": {"epochs": 30, "batch_size": 128, "num_workers": 0, "threads": None},
}


@dataclass(frozen=True)
class Config:
    """What ``setup()`` chose. ``sizes`` holds profile-dependent defaults (epochs, batch size)."""

    profile: str
    device: torch.device
    seed: int
    data_dir: Path
    cache_dir: Path
    in_colab: bool
    sizes: dict = field(default_factory=dict)

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    @property
    def full(self) -> bool:
        return self.profile == "full"

    @property
    def smoke(self) -> bool:
        """The full profile's smoke run (``LECTURE_SMOKE=1``: CPU, offline, fixtures; lecture_lib.smoke)."""
        return self.full and smoke.active()

    def pick(self, *, quick: dict, full: dict, smoke: dict | None = None) -> SimpleNamespace:
        """The profile-dependent sizes of a notebook, set once at its top.

        ``S = cfg.pick(quick=dict(n_test=100, epochs=3), full=dict(n_test=4952, epochs=30))`` then
        ``S.n_test`` everywhere below: no ``if cfg.quick`` branches through the cells. Both dicts
        must have the same keys. ``smoke`` (optional) overrides some of ``full``'s values in the
        full profile's smoke run only (e.g. ``smoke=dict(per_class=(1, 2))`` where the full sizes
        would take minutes on a CPU even with two training steps).
        """
        if not isinstance(quick, dict) or not isinstance(full, dict):
            raise TypeError(
                f"quick and full must be dicts, got {type(quick).__name__} and {type(full).__name__}"
            )
        if set(quick) != set(full):
            raise ValueError(
                f"quick and full must set the same sizes; only in quick: {sorted(set(quick) - set(full))}, "
                f"only in full: {sorted(set(full) - set(quick))}"
            )
        if smoke is not None:
            if not isinstance(smoke, dict):
                raise TypeError(f"smoke must be a dict or None, got {type(smoke).__name__}")
            if set(smoke) - set(full):
                raise ValueError(
                    f"smoke may only override full's sizes; unknown: {sorted(set(smoke) - set(full))}"
                )
        if self.quick:
            return SimpleNamespace(**quick)
        return SimpleNamespace(**{**full, **(smoke or {})} if self.smoke else full)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA)."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _threads_from_env(default: int) -> int:
    raw = os.environ.get("LECTURE_THREADS")
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"LECTURE_THREADS must be a positive integer, got {raw!r}") from None
    if n < 1:
        raise ValueError(f"LECTURE_THREADS must be a positive integer, got {raw!r}")
    return n


def setup(profile: str | None = None, seed: int = 0, *, verbose: bool = True) -> Config:
    """Choose profile and device, seed everything, and make quick runs reproducible.

    Args:
        profile: ``"quick"`` (CPU, offline, deterministic, small) or ``"full"`` (GPU if there is
            one, real datasets, pretrained weights). ``None`` reads ``LECTURE_PROFILE``.
        seed: seed for ``random``, NumPy and torch.
        verbose: print one line saying what was chosen.

    Returns:
        Config: profile, device, seed, data/cache folders, Colab flag and default sizes.
    """
    profile = resolve_profile(profile)
    seed_everything(seed)
    sizes = dict(_SIZES[profile])
    smoke_run = profile == "full" and paths.smoke_enabled()
    if smoke_run:
        # before anything can download: network guard, fixtures, floors reported
        smoke.activate(cache_dir() / "datasets", SMOKE_FIXTURES)
        sizes["threads"] = sizes["threads"] or 1
    else:
        smoke.deactivate()
    if profile == "quick" or smoke_run:
        # CI runs two notebooks at once with LECTURE_THREADS=1 each (2 cores).
        sizes["threads"] = _threads_from_env(sizes["threads"])
        # Results change in the 4th decimal with the thread count: pin it, and forbid
        # nondeterministic kernels (on CPU almost nothing is affected).
        torch.set_num_threads(sizes["threads"])
        torch.use_deterministic_algorithms(True, warn_only=smoke_run)  # smoke: as the full profile
        device = torch.device("cpu")
    else:
        # Several CUDA kernels used in the course (AdaptiveAvgPool2d backward, bilinear
        # upsampling backward) have no deterministic version: warn instead of failing.
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
    enable_accessible_figures()  # colour-blind-safe colours; alt text on every figure shown
    cfg = Config(
        profile=profile,
        device=device,
        seed=seed,
        data_dir=data_dir(),
        cache_dir=cache_dir(),
        in_colab="google.colab" in sys.modules,
        sizes=sizes,
    )
    if verbose:
        extra = (
            f", {torch.get_num_threads()} threads, deterministic" if profile == "quick" or smoke_run else ""
        )
        extra += (
            ", SMOKE RUN (offline fixtures, 2 steps per epoch, quality floors not applied)"
            if smoke_run
            else ""
        )
        print(f"lecture_lib: profile={profile}, device={device.type}, seed={seed}{extra}")
        if profile == "full" and device.type == "cpu" and not smoke_run:
            print("lecture_lib: no GPU found; on Colab use Runtime > Change runtime type > GPU.")
    release_note = release_mismatch()
    if release_note:
        print(release_note)  # always: a notebook meeting another release must say so
    return cfg


def release_mismatch() -> str | None:
    """One line if the notebook was built with another release than the library running here.

    The notebook's install cell sets ``LECTURE_NOTEBOOK_RELEASE`` (``lecture_lib.version``).
    """
    built = os.environ.get(RELEASE_ENV, "").strip()
    if not built or built == __version__:
        return None
    return (
        f"lecture_lib: this notebook was built with lecture_lib {built}, but {__version__} is installed; "
        "results may differ. Install its release: "
        f'pip install "lecture_lib @ git+{REPO_URL}@{release_tag(built)}"'
    )
