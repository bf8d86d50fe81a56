"""The grader on the nine lecture notebooks: every exercise's lecture solution passes when graded in a
fresh process, and a submission that calls the library's reference (or reads the expected values
from the grader's frames) gets no point for any exercise."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from lecture_lib.cnn import EXERCISES as CNN
from lecture_lib.detection import EXERCISES_03A, EXERCISES_03B, EXERCISES_03C
from lecture_lib.embeddings import EXERCISES as EMB
from lecture_lib.exercises import MARKER
from lecture_lib.faces import EXERCISES as FACES
from lecture_lib.grading import Grader, grade_notebook
from lecture_lib.pose import EXERCISES as POSE
from lecture_lib.segmentation import EXERCISES as SEG
from lecture_lib.transfer import EXERCISES as TRANSFER

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
REGISTRIES = [CNN, TRANSFER, EXERCISES_03A, EXERCISES_03B, EXERCISES_03C, SEG, POSE, FACES, EMB]


def bypass_cell(ex, k: int) -> str:
    """Exercise ``k``'s cheating cell: the reference through importlib, or the grader's frames."""
    ref = ex.reference
    if k % 2 == 0:
        body = f"return importlib.import_module({ref.__module__!r}).{ref.__name__}(*args, **kwargs)"
        head = "import importlib\n"
    else:
        body = (
            "f = sys._getframe(1)\n    while f is not None:\n"
            "        for key in ('expected', 'want', 'answers', 'reference'):\n"
            "            if key in f.f_locals:\n                return f.f_locals[key]\n"
            "        f = f.f_back"
        )
        head = "import sys\n"
    return f"{MARKER} {ex.name}\n{head}def {ex.name}(*args, **kwargs):\n    {body}\n"


@pytest.mark.parametrize("registry", REGISTRIES, ids=[r.notebook for r in REGISTRIES])
def test_lecture_solutions_pass_and_bypasses_get_nothing(registry):
    grader = Grader(registry, timeout=60)
    lecture = nbformat.read(NOTEBOOKS / f"{registry.notebook}.ipynb", as_version=4)
    rows = grade_notebook(lecture, grader)
    assert [(r[0], r[2]) for r in rows] == [(name, "pass") for name in registry.exercises], rows
    cheat = nbformat.v4.new_notebook()
    cheat.cells = [
        nbformat.v4.new_code_cell(bypass_cell(ex, k)) for k, ex in enumerate(registry.exercises.values())
    ]
    for k, ex in enumerate(registry.exercises.values()):  # the reference bypass is right when not refused
        if k % 2 == 0:
            scope: dict = {}
            exec(bypass_cell(ex, k), scope)
            case = ex.cases()[0]
            assert ex.judge(scope[ex.name](*case.args, **case.kwargs), ex.expected(case)) is None, ex.name
    rows = grade_notebook(cheat, grader)
    assert len(rows) == len(registry.exercises)
    assert all(r[1] == 0.0 and r[2] != "pass" for r in rows), rows
