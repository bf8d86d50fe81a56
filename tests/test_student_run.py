"""tools/run_student.py: a student notebook must run to the end, each removed solution reporting itself."""

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import run_student  # noqa: E402

from lecture_lib.exercises import make_student_notebook  # noqa: E402

SOLUTION = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
CHECK = """from lecture_lib.exercises import Case, Exercise, Exercises

EXERCISES = Exercises("nb", [Exercise("double", "doubling", lambda x: 2 * x, lambda: [Case((2,))], list)])
ok = EXERCISES.check("double", double) == "pass"
EXERCISES.progress()"""


def _student(tmp_path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    src, dst = tmp_path / "src.ipynb", tmp_path / "student" / "nb.ipynb"
    nbformat.write(nb, src)
    assert make_student_notebook(src, dst) == sum(c.count("BEGIN SOLUTION") for c in cells)
    return dst


def test_unsolved_exercise_reports_and_the_notebook_goes_on(tmp_path):
    path = _student(tmp_path, SOLUTION, CHECK, "print('after the exercise', ok)")
    found, _, shown = run_student.run_one(path, tmp_path)
    assert found == [] and shown == (0, 1)


def test_errors_stderr_and_unchecked_solutions_are_reported(tmp_path):
    path = _student(
        tmp_path,
        SOLUTION,
        "double(3)",  # uses the stub: NotImplementedError
        "import sys\nprint('oops', file=sys.stderr)",
    )
    found, _, shown = run_student.run_one(path, tmp_path)
    assert any("NotImplementedError" in f for f in found)
    assert any("stderr: oops" in f for f in found)
    assert any("1 solution(s) removed but 0 '[not yet]' report(s)" in f for f in found)
    assert shown is None and any("no 'k of n done' line" in f for f in found)
    assert len(found) == 4


def test_a_solved_exercise_in_the_student_edition_is_reported(tmp_path):
    path = _student(tmp_path, SOLUTION, CHECK)
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = "def double(x):\n    return 2 * x"  # a solution left in the student edition
    nbformat.write(nb, path)
    found, _, shown = run_student.run_one(path, tmp_path)
    assert shown == (1, 1) and any("progress says 1 of 1 done" in f for f in found)


def test_main_needs_notebooks(tmp_path, capsys):
    assert run_student.main([str(tmp_path)]) == 2
    assert "make student" in capsys.readouterr().err
