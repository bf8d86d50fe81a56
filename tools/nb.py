"""Authoring tools for the notebooks: the standard first cells, and executing notebooks in place.

    python tools/nb.py run notebooks/01_cnn_recap.ipynb [...]   # execute (quick profile), save outputs
    python tools/nb.py header notebooks/01_cnn_recap.ipynb      # (re)write the standard first cells
    python tools/nb.py install notebooks/*.ipynb                # only the install cell (a new release)

Every notebook starts with the same three cells (a test checks them):
  1. markdown: title, "Open in Colab" badge (URL from ``lecture_lib.config.REPO_URL``), goals;
  2. code: the install cell: it names the library release the notebook is built with (the tag
     ``v<version>`` of ``pyproject.toml``'s version), installs it on Colab only, never torch;
  3. code tagged ``parameters``: ``PROFILE`` (papermill: ``-p PROFILE full``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notebook_runner import ci_env, execute  # noqa: E402

from lecture_lib.config import REPO_BRANCH, REPO_URL  # noqa: E402
from lecture_lib.version import RELEASE_ENV, __version__, release_tag  # noqa: E402

# The release the notebook is built with: the install pins its tag, and setup() compares.
INSTALL_SOURCE = f'''import os
import sys

os.environ["{RELEASE_ENV}"] = "{__version__}"  # lecture_lib.setup() says if another release is installed
IN_COLAB = "google.colab" in sys.modules
# Colab only. Its preinstalled torch/torchvision satisfy lecture_lib's lower bounds: no reinstall.
if IN_COLAB:
    %pip install -q "lecture_lib @ git+{REPO_URL}@{release_tag()}"'''

PARAMETERS_SOURCE = """import os

# "quick": CPU, offline, small, < 2 min (what CI runs). "full": GPU, real datasets, pretrained weights.
# Set LECTURE_PROFILE=full, or run `papermill -p PROFILE full ...`.
PROFILE = os.environ.get("LECTURE_PROFILE", "quick")"""


# The student edition (solutions replaced by stubs, no outputs) is committed in STUDENT_DIR so
# that Colab, Binder and nbgitpuller can open it from GitHub; tests/test_student_edition.py keeps it
# in step with notebooks/ (regenerate: python -m lecture_lib.exercises notebooks student).
STUDENT_DIR = "student"


def colab_url(notebook: str | Path, folder: str = "notebooks") -> str:
    name = Path(notebook).name
    path = REPO_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/{REPO_BRANCH}/{folder}/{name}"


def badge(notebook: str | Path) -> str:
    """Markdown "Open in Colab" badge of the lecture edition (solutions shown)."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"
    )


def student_badge(notebook: str | Path) -> str:
    """Markdown "Open in Colab" badge of the student edition (exercises to do)."""
    url = colab_url(notebook, STUDENT_DIR)
    return f"[![Open the student edition in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def header_cells(notebook: str | Path, title: str, intro: str) -> list:
    """The three standard first cells for ``notebook`` (see module docstring)."""
    md = nbformat.v4.new_markdown_cell(f"# {title}\n\n{badge(notebook)}\n\n{intro.strip()}")
    install = nbformat.v4.new_code_cell(INSTALL_SOURCE)
    params = nbformat.v4.new_code_cell(PARAMETERS_SOURCE, metadata={"tags": ["parameters"]})
    return [md, install, params]


def build(
    path: str | Path, title: str, intro: str, cells: list[tuple[str, str] | tuple[str, str, list[str]]]
) -> Path:
    """Write a notebook: the standard header, then ``cells`` as ``("md"|"code", source[, tags])``."""
    path = Path(path)
    nb = nbformat.v4.new_notebook()
    nb.cells = header_cells(path, title, intro)
    for spec in cells:
        kind, source = spec[0], spec[1].strip("\n")
        tags = list(spec[2]) if len(spec) > 2 else []
        meta = {"tags": tags} if tags else {}
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(source, metadata=meta))
        elif kind == "code":
            nb.cells.append(nbformat.v4.new_code_cell(source, metadata=meta))
        else:
            raise ValueError(f"cell kind must be 'md' or 'code', got {kind!r}")
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
    return path


def clean(nb) -> None:
    """Drop volatile metadata so re-executing gives a small, stable diff."""
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        cell["id"] = f"cell-{i:03d}"


def run(path: str | Path, timeout: int = 600) -> float:
    """Execute a notebook in place in the quick profile (as CI does) and return its wall time."""
    path = Path(path)
    result = execute(path, env=ci_env("quick"), cwd=path.parent, timeout=timeout)
    if result.error is not None:
        raise RuntimeError(f"{path} stopped with an error (not saved):\n{result.error}")
    clean(result.notebook)
    nbformat.write(result.notebook, path)
    return result.seconds


def rewrite_header(path: str | Path) -> None:
    """Replace cells 2-3 (install, parameters) and the badge line with the current standard ones."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source.splitlines()
    first = [badge(path) if "colab-badge.svg" in line else line for line in first]
    nb.cells[0].source = "\n".join(first)
    nb.cells[1].source = INSTALL_SOURCE
    nb.cells[2].source = PARAMETERS_SOURCE
    nb.cells[2].metadata["tags"] = ["parameters"]
    nbformat.write(nb, path)


def rewrite_install(path: str | Path) -> bool:
    """Replace only the install cell (cell 2) with the current one; outputs are kept. Changed?"""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    if nb.cells[1].source == INSTALL_SOURCE:
        return False
    nb.cells[1].source = INSTALL_SOURCE
    nbformat.write(nb, path)
    return True


if __name__ == "__main__":
    cmd, *paths = sys.argv[1:] or ["help"]
    if cmd == "run":
        for p in paths:
            print(f"{p}: {run(p):.1f} s", flush=True)
    elif cmd == "install":
        for p in paths:
            print(f"{p}: {'install cell updated' if rewrite_install(p) else 'unchanged'}")
    elif cmd == "header":
        for p in paths:
            rewrite_header(p)
    else:
        print(__doc__)
