"""lecture_lib.paths: the folders and the profile's name, at the bottom of the library."""

from pathlib import Path

import pytest

from lecture_lib import config, paths, smoke


def test_config_reexports_the_one_definition():
    for name in (
        "PROFILES",
        "REPO_URL",
        "REPO_BRANCH",
        "repo_root",
        "data_dir",
        "cache_dir",
        "resolve_profile",
    ):
        assert getattr(config, name) is getattr(paths, name)


def test_cache_dir_env_then_smoke_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv("LECTURE_SMOKE", raising=False)
    monkeypatch.setenv("LECTURE_CACHE", str(tmp_path))
    assert paths.cache_dir() == tmp_path
    monkeypatch.delenv("LECTURE_CACHE")
    assert paths.cache_dir() == Path.home() / ".cache" / "lecture_lib"
    monkeypatch.setenv("LECTURE_SMOKE", "1")
    monkeypatch.setenv("LECTURE_PROFILE", "full")
    assert paths.cache_dir().name.startswith("lecture_lib-smoke-")  # fixtures never next to real data
    monkeypatch.setenv("LECTURE_PROFILE", "quick")
    assert paths.cache_dir() == Path.home() / ".cache" / "lecture_lib"


def test_cache_dir_asks_the_watched_smoke_state(monkeypatch):
    monkeypatch.delenv("LECTURE_CACHE", raising=False)
    monkeypatch.delenv("LECTURE_SMOKE", raising=False)
    monkeypatch.setattr(paths, "_smoke_active", lambda: True)
    assert paths.cache_dir().name.startswith("lecture_lib-smoke-")
    monkeypatch.setattr(paths, "_smoke_active", smoke.active)
    assert paths.cache_dir() == Path.home() / ".cache" / "lecture_lib"
    with pytest.raises(TypeError, match="callable"):
        paths.watch_smoke(True)


def test_data_dir_prefers_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LECTURE_DATA_DIR", str(tmp_path))
    assert paths.data_dir() == tmp_path
    monkeypatch.delenv("LECTURE_DATA_DIR")
    assert paths.data_dir() == paths.repo_root() / "data"  # a checkout: the committed manifest


@pytest.mark.parametrize(("raw", "expected"), [("1", True), (" Yes ", True), ("0", False), ("", False)])
def test_smoke_enabled_reads_the_flag(monkeypatch, raw, expected):
    monkeypatch.setenv("LECTURE_SMOKE", raw)
    assert paths.smoke_enabled() is expected
