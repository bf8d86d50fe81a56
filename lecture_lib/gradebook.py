"""The class's gradebook: find the submissions, grade each notebook, write the CSV and the feedback.

Layout: ``SUBMISSIONS/<student>/<notebook>.ipynb``, or nbgrader's ``submitted`` folder
(``<student>/<assignment>/<notebook>.ipynb``; its ``timestamp.txt`` is skipped). Every submission is
read into memory before any student code runs; the gradebook is written at the end, so a
submission that deletes files or crashes costs only its own rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from lecture_lib.exercises import Exercises
from lecture_lib.grading import Grader, grade_notebook

IGNORED = {"timestamp.txt"}  # nbgrader's submitted folders hold one


@dataclass(frozen=True)
class Row:
    """One line of the gradebook."""

    student: str
    notebook: str
    exercise: str
    points: float
    status: str
    seconds: float
    message: str
    max_points: int = 0


def read_notebook(path: Path) -> tuple[Any, str | None]:
    """``(notebook dict, None)`` or ``(None, why it is not a notebook)``."""
    try:
        nb = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        return None, f"not a notebook: {type(exc).__name__}"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "not a notebook: no list of cells"
    return nb, None


def submissions(folder: str | Path) -> list[tuple[str, Path]]:
    """``(student, file)`` for every file of ``folder/<student>/...`` (nbgrader's ``submitted``
    layout ``<student>/<assignment>/<notebook>.ipynb`` included); hidden files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"SUBMISSIONS must be a folder of <student>/<notebook>.ipynb, got {str(folder)!r}")
    found = []
    for student in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(student.rglob("*")):
            if (
                path.is_file()
                and path.name not in IGNORED
                and not any(part.startswith(".") for part in path.relative_to(student).parts)
            ):
                found.append((student.name, path))
    return found


def grade_class(
    folder: str | Path, registries: dict[str, Exercises], out: str | Path, *, timeout: float = 60.0
) -> list[Row]:
    """Grade every submission in ``folder``; write ``out/gradebook.csv`` and ``out/feedback/<student>.md``."""
    todo = [(student, path, *read_notebook(path)) for student, path in submissions(folder)]  # read all first
    graders = {name: Grader(reg, timeout=timeout) for name, reg in registries.items()}  # expected: once
    rows: list[Row] = []
    for student, path, nb, problem in todo:
        stem = path.stem
        if path.suffix != ".ipynb":
            rows.append(Row(student, path.name, "", 0.0, "error", 0.0, "not a notebook (.ipynb): not graded"))
        elif stem not in graders:
            rows.append(
                Row(student, stem, "", 0.0, "error", 0.0, f"no exercises for a notebook named {stem}")
            )
        elif problem:
            rows += [
                Row(student, stem, ex.name, 0.0, "error", 0.0, problem, ex.points)
                for ex in registries[stem].exercises.values()
            ]
        else:
            rows += [Row(student, stem, *r) for r in grade_notebook(nb, graders[stem])]
        print(f"{student}/{path.name}: {_summary(rows, student, stem)}", flush=True)
    write_gradebook(rows, out)
    return rows


def _summary(rows: Iterable[Row], student: str, notebook: str) -> str:
    mine = [r for r in rows if r.student == student and r.notebook == notebook]
    return f"{sum(r.points for r in mine):g} of {sum(r.max_points for r in mine)} points"


def write_gradebook(rows: list[Row], out: str | Path) -> Path:
    """``out/gradebook.csv`` (one row per student, notebook and exercise) and per-student feedback."""
    out = Path(out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    path = out / "gradebook.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f.name for f in fields(Row)])
        writer.writerows(astuple(r) for r in rows)
    for student in sorted({r.student for r in rows}):
        mine = [r for r in rows if r.student == student]
        lines = [f"# Feedback for {student}", "", "| notebook | exercise | points | status | message |"]
        lines.append("|---|---|---:|---|---|")
        for r in mine:
            message = r.message.replace("|", "\\|").replace("\n", " ")
            lines.append(
                f"| {r.notebook} | {r.exercise} | {r.points:g} / {r.max_points} | {r.status} | {message} |"
            )
        total = sum(r.points for r in mine), sum(r.max_points for r in mine)
        lines += ["", f"Total: {total[0]:g} of {total[1]} points."]
        (out / "feedback" / f"{_safe(student)}.md").write_text("\n".join(lines) + "\n")
    return path


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "student"
