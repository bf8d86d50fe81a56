"""The Colab first cell, run as Colab runs it: with ``google.colab`` importable and ``%pip`` a magic.

A stand-in ``google.colab`` module makes the install branch run; a recording ``%pip`` magic
captures what would be installed. That requirement is then resolved by pip against this
checkout (``--dry-run --no-index``): it must install ``lecture_lib`` alone, never torch or
torchvision (Colab's own builds must stay).
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from lecture_lib.config import REPO_URL
from lecture_lib.version import release_tag

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def run_install_cell(source: str, monkeypatch) -> list[str]:
    """Run ``source`` in a fresh IPython shell that believes it is on Colab; return the %pip lines."""
    from IPython.core.interactiveshell import InteractiveShell

    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    google.colab = colab  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    shell = InteractiveShell()
    calls: list[str] = []
    shell.register_magic_function(calls.append, magic_kind="line", magic_name="pip")
    try:
        result = shell.run_cell(source)
    finally:
        InteractiveShell.clear_instance()
    assert result.success, result.error_in_exec or result.error_before_exec
    return calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_install_cell_on_colab_installs_only_lecture_lib(path, monkeypatch):
    install = nbformat.read(path, as_version=4).cells[1].source
    calls = run_install_cell(install, monkeypatch)
    assert calls == [f'install -q "lecture_lib @ git+{REPO_URL}@{release_tag()}"']  # the release, not @main


def test_install_cell_is_a_no_op_outside_colab(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    shell = InteractiveShell()
    calls: list[str] = []
    shell.register_magic_function(calls.append, magic_kind="line", magic_name="pip")
    try:
        assert shell.run_cell(nbformat.read(NOTEBOOKS[0], as_version=4).cells[1].source).success
    finally:
        InteractiveShell.clear_instance()
    assert calls == []


def test_the_requirement_resolves_without_touching_torch():
    # What `%pip install "lecture_lib @ git+..."` resolves to, with this checkout standing in for
    # the git URL: only lecture_lib itself is installed; torch/torchvision (already there, inside
    # lecture_lib's lower bounds) are left alone. --no-index: nothing may need a download.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-index",
            "--no-build-isolation",
            "--quiet",
            "--report",
            "-",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    names = sorted(item["metadata"]["name"].lower() for item in report["install"])
    assert names == ["lecture_lib"] or names == ["lecture-lib"], names
