"""The student edition: committed in student/ (Colab opens it from GitHub), in step with notebooks/,
offered beside the lecture edition (README, book), and usable with nbgrader's release/collect."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lecture_lib.exercises import make_student_notebook, nbgrader_metadata
from lecture_lib.grading import find_cell

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402
import nb as nbtools  # noqa: E402

STUDENT = ROOT / nbtools.STUDENT_DIR
REGENERATE = "python -m lecture_lib.exercises notebooks student"


def test_student_folder_holds_exactly_the_notebooks():
    assert nbtools.STUDENT_DIR == book.STUDENT_DIR
    assert sorted(p.name for p in STUDENT.glob("*.ipynb")) == [p.name for p in NOTEBOOKS], REGENERATE


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_student_edition_is_current(path, tmp_path):
    make_student_notebook(path, tmp_path / path.name)
    fresh = json.loads((tmp_path / path.name).read_text())
    committed = json.loads((STUDENT / path.name).read_text())
    assert committed == fresh, f"student/{path.name} is stale: {REGENERATE}"
    sources = "\n".join("".join(c["source"]) for c in committed["cells"])
    assert "### BEGIN SOLUTION" not in sources and all(not c.get("outputs") for c in committed["cells"])


def test_readme_and_book_offer_both_editions():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert nbtools.badge(path) in readme and nbtools.student_badge(path) in readme, path.name
        assert f"/blob/main/student/{path.name}" in nbtools.student_badge(path)
    html = book.badges("01_cnn_recap")
    assert "/notebooks/01_cnn_recap.ipynb" in html and "/student/01_cnn_recap.ipynb" in html
    assert "student edition" in html and 'href="student/01_cnn_recap.ipynb"' in html


def _lecture_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    solution = (
        "# EXERCISE: double\ndef double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
    )
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell(solution)]
    nbformat.write(nb, path)


def test_exercise_cells_get_nbgrader_metadata(tmp_path):
    _lecture_notebook(tmp_path / "lec.ipynb")
    assert make_student_notebook(tmp_path / "lec.ipynb", tmp_path / "s.ipynb") == 1
    cell = nbformat.read(tmp_path / "s.ipynb", as_version=4).cells[1]
    assert cell.metadata["nbgrader"] == nbgrader_metadata("double") and "return 2 * x" not in cell.source
    assert make_student_notebook(tmp_path / "lec.ipynb", tmp_path / "src.ipynb", keep_solutions=True) == 1
    assert "return 2 * x" in nbformat.read(tmp_path / "src.ipynb", as_version=4).cells[1].source


@pytest.mark.skipif(
    shutil.which("nbgrader", path=str(Path(sys.executable).parent)) is None, reason="no nbgrader"
)
def test_nbgrader_generate_assignment_keeps_what_the_grader_needs(tmp_path):
    # nbgrader's source version (solutions kept, cells marked) -> its release: the stub keeps the
    # function's def and the marker, and the grader finds the cell by nbgrader's grade_id.
    _lecture_notebook(tmp_path / "lec.ipynb")
    make_student_notebook(
        tmp_path / "lec.ipynb", tmp_path / "source" / "ps1" / "toy.ipynb", keep_solutions=True
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [
            str(Path(sys.executable).parent / "nbgrader"),
            "generate_assignment",
            "ps1",
            f"--CourseDirectory.root={tmp_path}",
            f"--db=sqlite:///{tmp_path / 'gradebook.db'}",
            "--CourseDirectory.course_id=course",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    released = nbformat.read(tmp_path / "release" / "ps1" / "toy.ipynb", as_version=4)
    source = find_cell(released, "double")
    assert source is not None and "def double(x):" in source and "return 2 * x" not in source
    assert source.startswith("# EXERCISE: double") and "raise NotImplementedError" in source
