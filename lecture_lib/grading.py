"""Grades decided out of the student's reach: each exercise cell of a submission in a fresh process.

    python tools/grade.py SUBMISSIONS [--out build/grades] [--timeout 60]   # make grade SUBMISSIONS=dir

For every submitted notebook and every exercise of its registry (``lecture_lib.exercises``),
``grade_notebook`` finds the exercise's cell (nbgrader metadata ``grade_id``, else the first line
``# EXERCISE: <name>``, else the last cell defining ``def <name>(``), and runs that cell alone in a
new Python process (``lecture_lib/grading_child.py``) with a time limit, an empty temporary
working folder, ``lecture_lib`` unimportable and the exercise's forbidden names refused. The
child calls the function on the hidden and the visible cases and sends back plain data only
(``torch.load(weights_only=True)`` here, so no object of the student's comes back); the expected
values are computed here, with the reference, and never leave this process. Nothing done in the
student's kernel (patching, frames, lying objects) reaches the grade: the kernel is not involved.

An exercise earns its points when every case passes (``status`` pass), else 0 (``not yet``: a
wrong answer or a refused shortcut; ``error``: an exception, a time-out, a cell that does not run).
One bad submission (not a notebook, a syntax error, an infinite loop, ``sys.exit``, files deleted)
costs only its own rows: every submission is read into memory before any student code runs, and
the gradebook is written at the end.

The core does not import the concept packages: callers pass the registries
(``{notebook name: Exercises}``); ``tools/grade.py`` discovers them.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import torch

from lecture_lib import plain
from lecture_lib.exercises import MARKER, Exercise, Exercises, exercise_name

CHILD = Path(__file__).resolve().parent / "grading_child.py"
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


def find_cell(nb: Any, name: str) -> str | None:
    """The source of the cell holding exercise ``name`` (see module docstring), or ``None``."""
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for cell in code:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == name:
            return _source(cell)
    for cell in code:
        if exercise_name(_source(cell)) == name:
            return _source(cell)
    for cell in reversed(code):
        if f"def {name}(" in _source(cell):
            return _source(cell)
    return None


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def python_source(cell_source: str) -> str:
    """The cell as plain Python: IPython magics become ``get_ipython()`` calls (no-ops when graded)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(cell_source)
    except ImportError:
        return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in cell_source.splitlines())


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "__ndarray__" in value:
        return value["__ndarray__"].numpy().astype(value["dtype"])
    if isinstance(value, dict) and "__complex__" in value:
        return complex(*value["__complex__"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_decode(v) for v in value)
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


class Grader:
    """Grades exercise cells against one registry; expected values are computed once per exercise."""

    def __init__(self, registry: Exercises, *, timeout: float = 60.0):
        self.registry = registry
        self.timeout = timeout
        self._expected: dict[str, list] = {}

    def expected(self, ex: Exercise) -> list:
        if ex.name not in self._expected:
            self._expected[ex.name] = [ex.expected(c) for c in [*ex.hidden(), *ex.cases()]]
        return self._expected[ex.name]

    def grade_source(self, ex: Exercise, cell_source: str | None) -> tuple[str, str, float]:
        """``(status, message, seconds)`` for the exercise's cell source."""
        if cell_source is None:
            return "error", f"no cell defines {ex.name} (its cell starts with '{MARKER} {ex.name}')", 0.0
        cases = [*ex.hidden(), *ex.cases()]
        n_hidden = len(ex.hidden())
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
            payload, work = Path(tmp) / "payload", Path(tmp) / "work"
            payload.mkdir()
            work.mkdir()
            (payload / "cell.py").write_text(python_source(cell_source))
            (payload / "job.json").write_text(json.dumps({"name": ex.name, "forbidden": list(ex.forbidden)}))
            torch.save([(c.args, c.kwargs) for c in cases], payload / "cases.pt")
            answers = Path(tmp) / "answers.pt"
            failure = _run_child(payload, answers, work, self.timeout)
            seconds = time.perf_counter() - start
            if failure:
                return "error", failure, seconds
            try:
                report = torch.load(answers, weights_only=True)
            except Exception as exc:  # noqa: BLE001 (whatever was written, it is not an answer)
                return "error", f"no readable answer came back ({type(exc).__name__})", seconds
        return (*self._judge(ex, cases, n_hidden, report), seconds)

    def _judge(self, ex: Exercise, cases: list, n_hidden: int, report: Any) -> tuple[str, str]:
        if not isinstance(report, dict) or not isinstance(report.get("answers"), list):
            return "error", "no readable answer came back"
        answers = report["answers"]
        cell_error = report.get("cell_error")
        if len(answers) != len(cases):
            return "error", f"the cell did not run: {cell_error}" if cell_error else "answers are missing"
        failed_hidden, visible_reasons, errors, refused = 0, [], 0, []
        for i, (answer, expected) in enumerate(zip(answers, self.expected(ex))):
            reason = _reason(ex, answer, expected)
            if reason is None:
                continue
            if isinstance(answer, dict) and answer.get("refused"):
                refused.append(str(answer["error"]).split(": ", 1)[-1])
            elif isinstance(answer, dict) and "error" in answer and not answer.get("not_implemented"):
                errors += 1
            if i < n_hidden:
                failed_hidden += 1
            else:
                case = cases[i]
                visible_reasons.append(f"{case.name or f'visible case {i - n_hidden + 1}'}: {reason}")
        if not failed_hidden and not visible_reasons:
            return "pass", f"all {len(cases)} cases pass"
        if all(isinstance(a, dict) and a.get("not_implemented") for a in answers):
            return "not yet", "not attempted: the function raises NotImplementedError"
        n_visible = len(cases) - n_hidden
        text = f"{failed_hidden} of {n_hidden} hidden and {len(visible_reasons)} of {n_visible} visible"
        text += " cases failed"
        detail = refused[0] if refused else (visible_reasons[0] if visible_reasons else "")
        return ("error" if errors else "not yet"), f"{text}; {detail}".rstrip("; ")


def _reason(ex: Exercise, answer: Any, expected: Any) -> str | None:
    if not isinstance(answer, dict):
        return "unreadable answer"
    if "result" in answer:
        try:
            got = plain.to_plain(_decode(answer["result"]))
        except plain.NotPlain as exc:
            return f"returned {exc}"
        return ex.judge(got, expected)
    if "not_plain" in answer:
        return f"returned {answer['not_plain']}"
    if answer.get("exit"):
        return "called sys.exit()"
    return f"raised {answer.get('error', 'an error')}"


def _run_child(payload: Path, answers: Path, work: Path, timeout: float) -> str | None:
    """Run the child; ``None`` if it wrote answers, else why not."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LECTURE_") and k not in ("PWD", "OLDPWD")}
    env.update(HOME=str(work), PWD=str(work), TMPDIR=str(work), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(PYTHONHASHSEED="0")
    proc = subprocess.Popen(
        [sys.executable, "-P", str(CHILD), str(payload), str(answers)],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return f"time limit: no answer within {timeout:g} s (an infinite loop?)"
    finally:
        _kill(proc)
    if not answers.is_file():
        tail = out.decode(errors="replace").strip().splitlines()[-1:] if out else []
        return f"the process ended (exit code {proc.returncode}) without answering" + (
            f": {tail[0][:300]}" if tail else ""
        )
    return None


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()


def grade_notebook(nb: Any, registry: Exercises, grader: Grader | None = None) -> list[tuple]:
    """``[(exercise, points, status, seconds, message, max_points)]`` for a notebook (a dict)."""
    grader = grader or Grader(registry)
    rows = []
    for ex in registry.exercises.values():
        status, message, seconds = grader.grade_source(ex, find_cell(nb, ex.name))
        points = float(ex.points) if status == "pass" else 0.0
        rows.append((ex.name, points, status, round(seconds, 2), message, ex.points))
    return rows


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
    graders = {name: Grader(reg, timeout=timeout) for name, reg in registries.items()}
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
            rows += [Row(student, stem, *r) for r in grade_notebook(nb, registries[stem], graders[stem])]
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
