"""The architecture contract (.importlinter, ARCHITECTURE.md "Layers"): it holds on the real tree,
and a deliberately added upward import, cycle or function-level import makes it fail."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lecture_lib"
CONCEPTS = ("cnn", "transfer", "detection", "segmentation", "pose", "faces", "embeddings")
# The one notebook import by module path: the function has its module's name (detection/__init__).
NOTEBOOK_EXCEPTIONS = {"lecture_lib.detection.selective_search"}


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package found in ``root`` (run there, with ``root`` first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the package and its contract, to break on purpose."""
    shutil.copytree(PACKAGE, tmp_path / "lecture_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_contract_holds_on_the_real_tree(tree):
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [  # a base module importing a concept package, at the top of the file
        (
            "boxes.py",
            "from lecture_lib.detection import anchors  # deliberate upward import\n",
            "lecture_lib.boxes is not allowed to import lecture_lib.detection",
        ),
        # the core importing a concept package inside a function: still upward
        (
            "train.py",
            "def _upward():\n    from lecture_lib.faces import pretrained\n\n    return pretrained\n",
            "lecture_lib.train is not allowed to import lecture_lib.faces",
        ),
        # smoke knowing the library again (what issue 21 untied)
        (
            "smoke.py",
            "def _config():\n    from lecture_lib import config\n\n    return config\n",
            "lecture_lib.smoke is not allowed to import lecture_lib.config",
        ),
        # two concept packages against the lecture's arrows (segmentation does not import pose)
        (
            "segmentation/models.py",
            "from lecture_lib.pose import heatmaps  # deliberate\n",
            "lecture_lib.segmentation is not allowed to import lecture_lib.pose",
        ),
    ],
)
def test_a_deliberate_violation_breaks_the_contract(tree, module, line, expected):
    path = tree / "lecture_lib" / module
    path.write_text(path.read_text() + "\n\n" + line)
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert expected in " ".join(result.stdout.split()), result.stdout


def test_a_cycle_inside_a_concept_package_breaks_the_contract(tree):
    path = tree / "lecture_lib" / "detection" / "anchors.py"  # rpn imports anchors; now back again
    path.write_text(path.read_text() + "\n\nfrom lecture_lib.detection import rpn  # deliberate cycle\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert "No cycles are allowed in lecture_lib.detection" in result.stdout, result.stdout


def _function_level_library_imports(source: str) -> list[tuple[int, str]]:
    """(line, text) of every ``lecture_lib`` import inside a function body."""
    lines, found = source.splitlines(), []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            names = (
                [inner.module or ""]
                if isinstance(inner, ast.ImportFrom)
                else [a.name for a in inner.names]
                if isinstance(inner, ast.Import)
                else []
            )
            if any(n == "lecture_lib" or n.startswith("lecture_lib.") for n in names):
                found.append((inner.lineno, lines[inner.lineno - 1]))
    return found


def test_function_level_library_imports_only_lazy_with_a_reason():
    """Imports at the top, so a file's first lines say what it depends on; the exceptions are heavy
    optional dependencies loaded lazily, each with a ``# lazy: <reason>`` comment on its line."""
    unexplained = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, text in _function_level_library_imports(path.read_text())
        if not re.search(r"# lazy: \S", text)
    ]
    assert unexplained == []


def test_the_function_level_check_can_fail():
    source = "def f():\n    from lecture_lib import boxes\n    import lecture_lib.train as t  # lazy: x\n"
    assert [line for line, _ in _function_level_library_imports(source)] == [2, 3]


def _notebook_concept_imports(path: Path) -> list[str]:
    """Modules of concept packages a notebook imports by path (``from lecture_lib.faces.x import``)."""
    out = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        code = "\n".join(  # IPython magics and shell lines become `pass` (same indentation)
            re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source.splitlines()
        )
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] == "lecture_lib" and len(parts) > 2 and parts[1] in CONCEPTS:
                    out.append(node.module)
    return out


def test_notebooks_import_concept_packages_through_their_public_init():
    by_path = {
        nb.name: sorted(set(_notebook_concept_imports(nb)) - NOTEBOOK_EXCEPTIONS)
        for nb in sorted((ROOT / "notebooks").glob("*.ipynb"))
    }
    assert len(by_path) >= 9
    assert {name: mods for name, mods in by_path.items() if mods} == {}
