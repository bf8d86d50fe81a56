"""The exercises in the notebooks: cell layout, the lecture solutions pass, the student edition holds
no answer.

- Every notebook with a registry has, for each exercise, one cell starting ``# EXERCISE: <name>``
  that defines ``<name>`` with a solution between the markers, followed by a cell calling
  ``EXERCISES.check("<name>", <name>)``; its last cell is ``EXERCISES.progress()``; no other cell
  defines ``<name>``.
- The lecture edition's solution passes its check (visible and hidden cases) and the student
  stub reports "not yet".
- Each notebook has at least two exercises of real weight: 10-40 lines a student writes (the
  lecture solution's non-blank, non-comment lines between the markers), checked on hidden cases.
- The student edition (``make student``) contains no implementation of any exercise: no function
  anywhere in it has the syntax tree of a reference or of a lecture solution.
"""

from __future__ import annotations

import ast
import copy
import inspect
import textwrap
from pathlib import Path

import nbformat
import pytest

from lecture_lib.cnn import EXERCISES as CNN
from lecture_lib.detection import EXERCISES_03A, EXERCISES_03B, EXERCISES_03C
from lecture_lib.embeddings import EXERCISES as EMB
from lecture_lib.exercises import (
    BEGIN,
    MARKER,
    STUDENT_STUB,
    exercise_name,
    make_student_notebook,
    solution_lines,
    strip_solutions,
)
from lecture_lib.faces import EXERCISES as FACES
from lecture_lib.pose import EXERCISES as POSE
from lecture_lib.segmentation import EXERCISES as SEG
from lecture_lib.transfer import EXERCISES as TRANSFER

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
REGISTRIES = [CNN, TRANSFER, EXERCISES_03A, EXERCISES_03B, EXERCISES_03C, SEG, POSE, FACES, EMB]
IDS = [r.notebook for r in REGISTRIES]
PRELUDE = (
    "import math\nimport numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
)


def code_cells(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def normalized(fn: ast.FunctionDef) -> str:
    """A function's syntax tree without its name, docstring, annotations and defaults' positions."""
    fn = copy.deepcopy(fn)
    fn.name = "_"
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    fn.body = body or [ast.Pass()]
    fn.returns = None
    for arg in [*fn.args.args, *fn.args.kwonlyargs]:
        arg.annotation = None
    return ast.dump(fn, annotate_fields=False, include_attributes=False)


def functions(source: str) -> list[ast.FunctionDef]:
    lines = [  # IPython magics and shell escapes -> pass
        line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    ]
    tree = ast.parse("\n".join(lines))
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]


def reference_trees(registry) -> dict[str, str]:
    return {
        f"{name} (reference)": normalized(functions(textwrap.dedent(inspect.getsource(ex.reference)))[0])
        for name, ex in registry.exercises.items()
    }


def solution_trees(sources: list[str]) -> dict[str, str]:
    out = {}
    for src in sources:
        name = exercise_name(src)
        if name:
            out[f"{name} (lecture solution)"] = next(normalized(f) for f in functions(src) if f.name == name)
    return out


def leaked(student_sources: list[str], trees: dict[str, str]) -> list[str]:
    """``"<function> has the tree of <exercise>"`` for every function of the student edition that
    implements an exercise (its reference's or its lecture solution's syntax tree)."""
    found = []
    for src in student_sources:
        for fn in functions(src):
            for name, tree in trees.items():
                if normalized(fn) == tree:
                    found.append(f"{fn.name} has the tree of {name}")
    return found


@pytest.mark.parametrize("registry", REGISTRIES, ids=IDS)
def test_exercise_cells_and_progress(registry):
    sources = code_cells(NOTEBOOKS / f"{registry.notebook}.ipynb")
    assert sources[-1].strip() == "EXERCISES.progress()"
    assert any("import EXERCISES" in s for s in sources[:5])
    for name in registry.exercises:
        cells = [i for i, s in enumerate(sources) if exercise_name(s) == name]
        assert len(cells) == 1, f"{name}: {len(cells)} cells start with {MARKER} {name}"
        i = cells[0]
        assert BEGIN in sources[i] and any(f.name == name for f in functions(sources[i]))
        assert sources[i + 1].count(f'EXERCISES.check("{name}", {name})') == 1, sources[i + 1]
        others = [j for j, s in enumerate(sources) if j != i and any(f.name == name for f in functions(s))]
        assert not others, f"{name} is also defined in code cells {others}"


@pytest.mark.parametrize("registry", REGISTRIES, ids=IDS)
def test_lecture_solution_passes_and_stub_is_not_yet(registry, capsys):
    for src in code_cells(NOTEBOOKS / f"{registry.notebook}.ipynb"):
        name = exercise_name(src)
        if not name:
            continue
        for code, wanted in ((src, "pass"), (strip_solutions(src), "not yet")):
            scope: dict = {}
            exec(PRELUDE + code, scope)  # alone, as the grader runs it
            assert registry.check(name, scope[name]) == wanted, (name, capsys.readouterr().out)


@pytest.mark.parametrize("registry", REGISTRIES, ids=IDS)
def test_student_edition_holds_no_implementation(registry, tmp_path):
    src = NOTEBOOKS / f"{registry.notebook}.ipynb"
    removed = make_student_notebook(src, tmp_path / src.name)
    assert removed == len(registry.exercises)
    student = code_cells(tmp_path / src.name)
    assert not leaked(student, {**reference_trees(registry), **solution_trees(code_cells(src))})
    assert sum(s.count(STUDENT_STUB) for s in student) == len(registry.exercises)


def test_the_scan_finds_a_solution_left_in_a_notebook():
    """The scan can fail: an answer copied into another cell under another name is found."""
    registry = EXERCISES_03A
    answer = textwrap.dedent(inspect.getsource(registry["nms"].reference)).replace(
        "def nms(", "def loop_nms("
    )
    lecture = code_cells(NOTEBOOKS / "03a_rcnn.ipynb")
    trees = {**reference_trees(registry), **solution_trees(lecture)}
    assert leaked([answer], trees) == ["loop_nms has the tree of nms (reference)"]
    solution = next(s for s in lecture if exercise_name(s) == "iou")
    hint = solution.replace("def iou(", "def box_overlap(").replace(f"{MARKER} iou\n", "")
    assert leaked([hint], trees) == ["box_overlap has the tree of iou (lecture solution)"]


def test_solution_lines_counts_code_between_the_markers():
    cell = (
        "# EXERCISE: f\ndef f(x):\n    ### BEGIN SOLUTION\n    # a comment\n\n"
        "    y = x\n    return y\n    ### END SOLUTION\n"
    )
    assert solution_lines(cell) == 2
    assert solution_lines("def f(x):\n    return x\n") == 0


WEIGHT = (10, 40)  # lines a student writes in an exercise of real weight (cs231n-sized)


@pytest.mark.parametrize("registry", REGISTRIES, ids=IDS)
def test_two_exercises_of_real_weight(registry):
    lines = {
        exercise_name(src): solution_lines(src)
        for src in code_cells(NOTEBOOKS / f"{registry.notebook}.ipynb")
    }
    weighty = [n for n, k in lines.items() if n and WEIGHT[0] <= k <= WEIGHT[1]]
    assert len(weighty) >= 2, f"{registry.notebook}: exercises with {WEIGHT} solution lines: {lines}"
    for name in weighty:
        assert len(registry[name].hidden()) >= 4, f"{name}: too few hidden cases"
