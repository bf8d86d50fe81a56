"""The grader on a fixture class (toy registry, notebook ``toy``): honest work, every bypass, broken files.

Each exercise cell runs in a fresh process, so this test takes a while (one Python start per cell).
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from exercise_toys import EXERCISES

from lecture_lib import gradebook, grading

ROOT = Path(__file__).resolve().parent.parent

POOL_OK = """def pool2(x):
    b, c, h, w = x.shape
    out = torch.empty(b, c, h // 2, w // 2)
    for i in range(h // 2):
        for j in range(w // 2):
            out[:, :, i, j] = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].amax(dim=(2, 3))
    return out"""
AREA_OK = "def box_area(b):\n    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])"
POOL_STUB = "def pool2(x):\n    raise NotImplementedError"
AREA_STUB = "def box_area(b):\n    raise NotImplementedError"

# student -> (pool2 cell, box_area cell, extra cells before them)
CLASS = {
    "solved": (POOL_OK, AREA_OK, []),
    "unsolved": (POOL_STUB, AREA_STUB, []),
    "reference": (  # the library's reference / twin, imported in two ways
        "import importlib\ndef pool2(x):\n    return importlib.import_module('lecture_lib.boxes').nms(x)",
        "from lecture_lib.boxes import box_area as ref\ndef box_area(b):\n    return ref(b)",
        [],
    ),
    "framework": (  # the framework's own function, one saved under another name before the call
        "mp = torch.max_pool2d\ndef pool2(x):\n    return mp(x, 2)",
        "import torchvision\ndef box_area(b):\n    return torchvision.ops.box_area(b)",
        [],
    ),
    "frames_and_eq": (  # read the caller's frames for expected values; an always-true __eq__
        "import sys\ndef pool2(x):\n    f = sys._getframe(1)\n    return f.f_locals.get('expected', x)",
        "class Yes:\n    def __eq__(self, other):\n        return True\ndef box_area(b):\n    return Yes()",
        [],
    ),
    "patcher": (  # patches the checks in its kernel; answers wrong
        "import lecture_lib.exercises as E\nE.Exercises.check = lambda *a: 0\ndef pool2(x):\n    return x",
        "def box_area(b):\n    return b.sum(1)",
        ["import lecture_lib.exercises as E\nE.Exercises.check = lambda *a: 'pass'"],
    ),
    "syntax": ("def pool2(x:\n    return x", AREA_OK, []),
    "killer": (  # kills the grader's process that forked it: costs only this exercise
        "import os, signal\ndef pool2(x):\n    os.kill(os.getppid(), signal.SIGKILL)",
        AREA_OK,
        [],
    ),
    "loop_exit": ("def pool2(x):\n    while True:\n        pass", "import sys\nsys.exit(0)", []),
}


def _notebook(pool: str, area: str, extra: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# toy"), nbformat.v4.new_code_cell("import torch")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in extra]
    nb.cells += [
        nbformat.v4.new_code_cell(f"# EXERCISE: pool2\n{pool}"),
        nbformat.v4.new_code_cell("EXERCISES.check('pool2', pool2)"),
        nbformat.v4.new_code_cell(f"# EXERCISE: box_area\n{area}"),
    ]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("grades")
    for student, (pool, area, extra) in CLASS.items():
        (subs / student).mkdir()
        nbformat.write(_notebook(pool, area, extra), subs / student / "toy.ipynb")
    # deletes its working folder and another student's submission, then exits: costs only its own grade
    victim = subs / "solved" / "toy.ipynb"
    deleter = f"import os, shutil\nos.remove({str(victim)!r})\nshutil.rmtree(os.getcwd())\nos._exit(0)"
    (subs / "deleter").mkdir()
    nbformat.write(_notebook(f"{deleter}\n{POOL_OK}", AREA_OK, []), subs / "deleter" / "toy.ipynb")
    (subs / "garbage").mkdir()
    (subs / "garbage" / "toy.ipynb").write_text("this is not a notebook")
    (subs / "garbage" / "essay.pdf").write_bytes(b"%PDF-1.4")
    # nbgrader's layout: submitted/<student>/<assignment>/<notebook>.ipynb (+ timestamp.txt)
    (subs / "nbg" / "ps1").mkdir(parents=True)
    nbformat.write(_notebook(POOL_OK, AREA_STUB, []), subs / "nbg" / "ps1" / "toy.ipynb")
    (subs / "nbg" / "ps1" / "timestamp.txt").write_text("2026-01-01 00:00:00")
    # the infinite loop costs the whole limit; a toy answer takes well under a second
    rows = gradebook.grade_class(subs, {"toy": EXERCISES}, out, timeout=8)
    return rows, out


def _grades(rows) -> dict:
    return {(r.student, r.exercise): (r.points, r.status) for r in rows}


def test_fixture_class_gradebook(graded):
    rows, out = graded
    g = _grades(rows)
    assert g[("solved", "pool2")] == (2.0, "pass") and g[("solved", "box_area")] == (1.0, "pass")
    assert g[("nbg", "pool2")] == (2.0, "pass") and g[("nbg", "box_area")] == (0.0, "not yet")
    for student in ("unsolved", "reference", "framework", "frames_and_eq", "patcher", "syntax", "loop_exit"):
        assert g[(student, "pool2")][0] == 0.0, student
    for student in ("unsolved", "reference", "framework", "frames_and_eq", "patcher", "loop_exit"):
        assert g[(student, "box_area")][0] == 0.0, student
    assert g[("syntax", "box_area")] == (1.0, "pass")  # one broken cell costs only its exercise
    assert g[("killer", "pool2")] == (0.0, "error") and g[("killer", "box_area")] == (1.0, "pass")
    assert g[("deleter", "box_area")] == (1.0, "pass") and g[("deleter", "pool2")] == (0.0, "error")
    assert g[("garbage", "pool2")] == (0.0, "error") and g[("garbage", "")] == (0.0, "error")
    by = {(r.student, r.exercise): r.message for r in rows}
    assert (
        "write it yourself" in by[("reference", "pool2")]
        and "write it yourself" in by[("reference", "box_area")]
    )
    assert (
        "write it yourself" in by[("framework", "pool2")]
        and "write it yourself" in by[("framework", "box_area")]
    )
    assert "time limit" in by[("loop_exit", "pool2")] and "SystemExit" in by[("loop_exit", "box_area")]
    assert "SyntaxError" in by[("syntax", "pool2")] and "not a notebook" in by[("garbage", "pool2")]
    assert by[("unsolved", "pool2")].startswith("not attempted")
    with (out / "gradebook.csv").open() as f:
        table = list(csv.DictReader(f))
    assert list(table[0])[:7] == ["student", "notebook", "exercise", "points", "status", "seconds", "message"]
    assert len(table) == len(rows) and {r["student"] for r in table} == {r.student for r in rows}
    feedback = (out / "feedback" / "solved.md").read_text()
    assert "Total: 3 of 3 points." in feedback and "| toy | pool2 | 2 / 2 | pass |" in feedback
    print("\n" + (out / "gradebook.csv").read_text())


def test_find_cell_by_metadata_marker_or_definition():
    nb = _notebook(POOL_OK, AREA_OK, [])
    assert grading.find_cell(nb, "pool2").startswith("# EXERCISE: pool2")
    nb.cells[-1].source = AREA_STUB.replace("def box_area", "def box_area_old")
    nb.cells[-1].metadata["nbgrader"] = {"grade_id": "box_area"}
    assert "box_area_old" in grading.find_cell(nb, "box_area")
    nb.cells[-1].metadata = {}
    assert grading.find_cell(nb, "box_area") is None
    assert "get_ipython()" in grading.python_source("%time x = 1\ndef f():\n    return 1")


def test_cli_usage_and_registry(tmp_path):
    tool = [sys.executable, str(ROOT / "tools" / "grade.py")]
    res = subprocess.run([*tool, str(tmp_path / "missing")], capture_output=True, text=True)
    assert res.returncode == 2 and "SUBMISSIONS must be a folder" in res.stderr
    (tmp_path / "subs" / "ann").mkdir(parents=True)
    nbformat.write(_notebook(POOL_STUB, AREA_OK, []), tmp_path / "subs" / "ann" / "toy.ipynb")
    env_path = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    res = subprocess.run(
        [*tool, str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--registry", "exercise_toys"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": env_path},
    )
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open()))
    assert [(r["exercise"], r["points"], r["status"]) for r in rows] == [
        ("pool2", "0.0", "not yet"),
        ("box_area", "1.0", "pass"),
    ]


def test_discover_finds_every_notebooks_registry():
    """``make grade`` knows the exercises of all nine notebooks (03a-c included)."""
    spec = importlib.util.spec_from_file_location("grade_tool", ROOT / "tools" / "grade.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    found = tool.discover()
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(found) == notebooks
    assert all(found[n].notebook == n for n in notebooks)
