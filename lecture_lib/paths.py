"""Where things are, and which profile was asked for: the bottom of the library (imports none of it).

- ``repo_root()``: the checkout (the folder holding ``data/``); ``data_dir()``: the committed
  checkpoints and manifest (``LECTURE_DATA_DIR``, else ``<repo>/data``, else a cache folder on Colab);
  ``cache_dir()``: downloads (``LECTURE_CACHE``, else ``~/.cache/lecture_lib``, a temporary folder in
  smoke mode).
- ``resolve_profile(profile)``: ``"quick"`` or ``"full"`` (``LECTURE_PROFILE``), validated;
  ``smoke_enabled()``: ``LECTURE_SMOKE`` asks for the full profile's smoke run (``lecture_lib.smoke``).
- ``REPO_URL``, ``REPO_BRANCH``: the one place the repository's address lives.

``config.setup`` sits on top of this module; ``config`` re-exports these names.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

PROFILES = ("quick", "full")
REPO_URL = "https://github.com/dl-applications/course-companion"  # the one place the repo URL lives
REPO_BRANCH = "main"

_smoke_active: Callable[[], bool] = lambda: False  # noqa: E731 - replaced by watch_smoke


def repo_root() -> Path:
    """The checkout's root (the folder holding ``data/``), or the package folder's parent."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Folder with the small committed files (checkpoints, manifest).

    Inside a checkout this is ``<repo>/data``. When the package was installed from git (Colab),
    ``data/`` is not installed, so ``LECTURE_DATA_DIR`` or a cache folder is used and the
    checkpoints are fetched (verified) into it by ``lecture_lib.checkpoints``.
    """
    env = os.environ.get("LECTURE_DATA_DIR")
    if env:
        return Path(env)
    here = repo_root() / "data"
    if (here / "MANIFEST.json").is_file():
        return here
    return cache_dir() / "data"


def smoke_enabled() -> bool:
    """``$LECTURE_SMOKE`` is set to 1/true/yes (smoke mode was asked for; ``setup`` activates it)."""
    return os.environ.get("LECTURE_SMOKE", "").strip().lower() in ("1", "true", "yes")


def watch_smoke(active: Callable[[], bool]) -> None:
    """Tell ``cache_dir`` how to ask whether smoke mode is on (``config`` passes ``smoke.active``)."""
    global _smoke_active
    if not callable(active):
        raise TypeError(f"active must be a callable returning bool, got {type(active).__name__}")
    _smoke_active = active


def cache_dir() -> Path:
    """Where downloads go: ``LECTURE_CACHE`` or ``~/.cache/lecture_lib``. In smoke mode without
    ``LECTURE_CACHE``: a temporary folder, so fixtures never land next to real datasets."""
    env = os.environ.get("LECTURE_CACHE")
    if env:
        return Path(env)
    if _smoke_active() or (smoke_enabled() and resolve_profile() == "full"):
        uid = os.getuid() if hasattr(os, "getuid") else 0
        return Path(tempfile.gettempdir()) / f"lecture_lib-smoke-{uid}"
    return Path.home() / ".cache" / "lecture_lib"


def resolve_profile(profile: str | None = None) -> str:
    """``profile`` if given, else ``$LECTURE_PROFILE``, else ``"quick"``; validated."""
    if profile is None:
        profile = os.environ.get("LECTURE_PROFILE", "quick")
    if not isinstance(profile, str):
        raise TypeError(f"profile must be a str ('quick' or 'full'), got {type(profile).__name__}")
    profile = profile.strip().lower()
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r} (set LECTURE_PROFILE)")
    return profile
