"""Notebook and library from the same release: the install cell pins the version's tag, and
lecture_lib.setup says (one line, no exception) when the running library is another release."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

import lecture_lib
from lecture_lib.config import release_mismatch, setup
from lecture_lib.version import RELEASE_ENV, __version__, release_tag

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))
import nb as nbtools  # noqa: E402


def test_version_is_pyproject_version():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == __version__ == lecture_lib.__version__
    assert release_tag() == f"v{__version__}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_install_cell_names_the_release_it_was_built_with(path):
    install = nbformat.read(path, as_version=4).cells[1].source
    assert install == nbtools.INSTALL_SOURCE, "python tools/nb.py install notebooks/*.ipynb"
    assert f'@{release_tag()}"' in install and "@main" not in install
    assert f'os.environ["{RELEASE_ENV}"] = "{__version__}"' in install


def test_setup_says_when_the_release_differs(monkeypatch, capsys):
    monkeypatch.delenv(RELEASE_ENV, raising=False)
    assert release_mismatch() is None
    monkeypatch.setenv(RELEASE_ENV, __version__)
    assert release_mismatch() is None
    setup("quick", verbose=False)
    assert capsys.readouterr().out == ""
    monkeypatch.setenv(RELEASE_ENV, "0.0.1")
    setup("quick", verbose=False)
    out = capsys.readouterr().out.strip().splitlines()
    assert (
        len(out) == 1
        and "built with lecture_lib 0.0.1" in out[0]
        and f"but {__version__} is installed" in out[0]
    )
    assert "@v0.0.1" in out[0]
