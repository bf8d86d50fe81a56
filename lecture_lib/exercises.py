"""Exercises: the self-check in the notebook, progress, and the student edition.

One registry per notebook, defined in ``lecture_lib/<concept>/exercises.py`` next to the
references (never in the notebook)::

    EXERCISES = Exercises("01_cnn_recap", [
        Exercise(name="max_pool_forward", title="max-pool forward", reference=max_pool_forward,
                 cases=visible_cases, hidden=hidden_cases,
                 forbidden=("torch.nn.functional.max_pool2d", "torch.max_pool2d", ...)),
    ])

In the notebook: ``from lecture_lib.cnn import EXERCISES``, the student's cell, then
``EXERCISES.check("max_pool_forward", max_pool_forward)``; the last cell is
``EXERCISES.progress()`` ("k of n done").

**The exercise cell.** The exercise's ``name`` is the name of the function the student writes,
and the cell defining it starts with the line ``# EXERCISE: <name>``. The solution sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers): ``make student`` replaces it
with ``raise NotImplementedError``, clears the outputs and gives the cell nbgrader's metadata
(``grade_id = <name>``, an autograded answer cell), so ``nbgrader generate_assignment`` accepts the
student edition. The grader (``lecture_lib.grading``) finds an exercise's cell by that metadata,
else by the ``# EXERCISE:`` line, else by the last cell that defines ``def <name>(``; it runs that
cell alone in a fresh process, so the function must not need names from other cells besides the
usual imports (``math``, ``numpy as np``, ``torch``, ``torch.nn as nn``,
``torch.nn.functional as F``, which the grader provides).

**What ``check`` does.** It never raises (whatever the function returns or raises; only a
KeyboardInterrupt goes through) and returns ``"pass"``, ``"not yet"`` or ``"error"`` after one
line starting ``[pass]``, ``[not yet]`` or ``[error]``. The student's function runs first, on
copies of the visible and hidden cases, in a fresh thread (its frames lead nowhere), with
``lecture_lib`` hidden and every ``forbidden`` name and the reference refused
(``lecture_lib.sandbox``); each answer is rebuilt from base types (``lecture_lib.plain``, so an
always-true ``__eq__`` cannot pass). Only then are the expected values computed and compared.
A check in the notebook is feedback for an honest student: the grade is decided by the grader.
"""

from __future__ import annotations

import copy
import functools
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lecture_lib import plain, sandbox

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUDENT_STUB = "raise NotImplementedError"
# Shared by the concept packages' exercise modules:
# float32 answers against references computed in float64 (sums in another order)
LOOSE = functools.partial(plain.compare, rtol=1e-4, atol=1e-5)
# an exercise that asks for gradients by hand refuses every way to have autograd compute them
AUTOGRAD = (
    "torch.autograd.grad",
    "torch.autograd.backward",
    "torch.Tensor.backward",
    "torch.func.grad",
    "torch.func.vjp",
)
MARKER = "# EXERCISE:"
STATUSES = ("pass", "not yet", "error")


@dataclass(frozen=True)
class Case:
    """One call of the exercise's function: ``fn(*args, **kwargs)``; ``name`` is shown to the student."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True)
class Exercise:
    """One exercise: the function ``name`` a student writes, its reference and its cases.

    Args:
        name: the function's name (unique within its notebook), e.g. ``"max_pool_forward"``.
        title: one line for progress and the gradebook.
        reference: the solution (in ``lecture_lib/<concept>/exercises.py``).
        cases: ``() -> list[Case]``, the visible cases (details printed on failure).
        hidden: ``() -> list[Case]``, the hidden cases (only a count printed); the grader's too.
            Both must return fresh, deterministic cases on every call; their arguments must be
            picklable without ``lecture_lib`` (tensors, numbers, torch/torchvision modules).
        forbidden: dotted names refused while the student's function runs (``lecture_lib.sandbox``).
        compare: ``(got, expected) -> None | reason`` on plain values (``lecture_lib.plain``);
            default ``plain.compare`` (rtol 1e-5, atol 1e-6).
        points: the exercise's weight in the gradebook.
        allow: dotted names of ``lecture_lib`` objects the student may use (kept visible).
    """

    name: str
    title: str
    reference: Callable
    cases: Callable[[], list[Case]]
    hidden: Callable[[], list[Case]]
    forbidden: tuple[str, ...] = ()
    compare: Callable[[Any, Any], str | None] | None = None
    points: int = 1
    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Exercise.name must be a Python function name, got {self.name!r}")
        for label in ("reference", "cases", "hidden"):
            if not callable(getattr(self, label)):
                raise TypeError(
                    f"Exercise {self.name}: {label} must be callable, got {getattr(self, label)!r}"
                )
        if isinstance(self.forbidden, str) or not all(isinstance(n, str) for n in self.forbidden):
            raise TypeError(f"Exercise {self.name}: forbidden must be a tuple of dotted names")
        if not isinstance(self.points, int) or self.points < 0:
            raise ValueError(f"Exercise {self.name}: points must be a non-negative int, got {self.points!r}")

    def judge(self, got: Any, expected: Any) -> str | None:
        """``None`` if the plain answer ``got`` matches ``expected``, else the reason."""
        return (self.compare or plain.compare)(got, expected)

    def expected(self, case: Case) -> Any:
        """The reference's answer to ``case`` (on copies of its arguments), as plain data."""
        args, kwargs = copy.deepcopy((case.args, case.kwargs))
        return plain.to_plain(self.reference(*args, **kwargs))


def _label(case: Case, i: int) -> str:
    return f"case {case.name!r}" if case.name else f"case {i + 1}"


class Exercises:
    """The exercises of one notebook, their self-checks and the student's progress."""

    def __init__(self, notebook: str, exercises: list[Exercise]):
        if not isinstance(notebook, str) or not notebook:
            raise ValueError(f"notebook must be the notebook's name, e.g. '01_cnn_recap', got {notebook!r}")
        names = [e.name for e in exercises]
        if not exercises or not all(isinstance(e, Exercise) for e in exercises):
            raise TypeError(f"{notebook}: exercises must be a non-empty list of Exercise")
        if len(set(names)) != len(names):
            raise ValueError(f"{notebook}: exercise names must be unique, got {names}")
        self.notebook = notebook
        self.exercises = {e.name: e for e in exercises}
        self._status: dict[str, str] = {}

    def __getitem__(self, name: str) -> Exercise:
        if name not in self.exercises:
            raise KeyError(f"{self.notebook} has no exercise {name!r}; it has {sorted(self.exercises)}")
        return self.exercises[name]

    def check(self, name: str, fn: Callable) -> str:
        """Check the student's ``fn`` for exercise ``name``: ``"pass"``, ``"not yet"`` or ``"error"``.

        Prints one line starting ``[pass]``/``[not yet]``/``[error]`` (details indented below it).
        Never raises, except KeyboardInterrupt.
        """
        try:
            status, lines = self._check(name, fn)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 (a self-check must never stop Run All)
            status, lines = "error", [f"[error] {name}: the check itself failed: {type(exc).__name__}: {exc}"]
        if name in self.exercises:
            self._status[name] = status
        print("\n".join(lines))
        return status

    def _check(self, name: str, fn: Callable) -> tuple[str, list[str]]:
        if name not in self.exercises:
            return "error", [f"[error] {name}: no such exercise; this notebook has {sorted(self.exercises)}"]
        ex = self.exercises[name]
        head = f"{ex.title} ({name})"
        if not isinstance(fn, types.FunctionType):
            kind = type(fn).__name__
            return "error", [f"[error] {head}: expected your function `{name}`, got a {kind}"]
        visible, hidden = list(ex.cases()), list(ex.hidden())
        answers = run_student(ex, fn, visible + hidden)
        first = answers[0] if answers else ("result", None)
        if first[0] == "error" and isinstance(first[1], NotImplementedError):
            return "not yet", [f"[not yet] {head}: replace `raise NotImplementedError` with your code."]
        failures_visible, failures_hidden, errors = [], 0, 0
        for i, (case, (kind, value)) in enumerate(zip(visible + hidden, answers)):
            reason = _judge(ex, case, kind, value)
            if reason is None:
                continue
            errors += (
                kind == "error"
                and not isinstance(value, NotImplementedError)
                and not sandbox.is_refusal(value)
            )
            if i < len(visible):
                failures_visible.append(f"    {_label(case, i)}: {reason}")
            else:
                failures_hidden += 1
        if not failures_visible and not failures_hidden:
            return "pass", [f"[pass] {head}: all {len(visible)} visible and {len(hidden)} hidden cases pass."]
        status = "error" if errors else "not yet"
        summary = f"{len(visible) - len(failures_visible)} of {len(visible)} visible cases pass"
        if hidden:
            summary += f", {failures_hidden} of {len(hidden)} hidden cases failed"
        return status, [f"[{status}] {head}: {summary}.", *failures_visible]

    def progress(self) -> tuple[int, int]:
        """Print every exercise's status (pass / not yet / error) and "k of n done"; return (k, n)."""
        done = sum(self._status.get(n) == "pass" for n in self.exercises)
        width = max(len(n) for n in self.exercises)
        lines = [f"Exercises of {self.notebook}: {done} of {len(self.exercises)} done"]
        for n, ex in self.exercises.items():
            lines.append(f"  {self._status.get(n, 'not yet'):8} {n:{width}}  {ex.title}")
        print("\n".join(lines))
        return done, len(self.exercises)


def run_student(ex: Exercise, fn: types.FunctionType, cases: list[Case]) -> list[tuple[str, Any]]:
    """``fn`` on copies of ``cases`` with the shortcuts refused: ``("result", plain) | ("error", exc)``.

    Expected values do not exist yet while ``fn`` runs.
    """
    out: list[tuple[str, Any]] = []
    allow = [found[2] for found in map(sandbox.resolve, ex.allow) if found is not None]
    copies = [copy.deepcopy((case.args, case.kwargs)) for case in cases]  # before anything is refused
    with sandbox.refused(ex.forbidden, [(f"the reference {ex.name}", ex.reference)]) as swapped:
        student = sandbox.rebind(fn, swapped, allow=allow)
        with sandbox.hidden_modules(("lecture_lib",)):
            for args, kwargs in copies:
                box = sandbox.call_in_thread(student, args, kwargs)
                if "error" in box:
                    out.append(("error", box["error"]))
                else:
                    out.append(("result", box["result"]))
    return [(kind, _plain_or_error(value) if kind == "result" else value) for kind, value in out]


def _plain_or_error(value: Any) -> Any:
    try:
        return plain.to_plain(value)
    except plain.NotPlain as exc:
        return exc


def _judge(ex: Exercise, case: Case, kind: str, value: Any) -> str | None:
    if kind == "error":
        if sandbox.is_refusal(value):
            text = str(value)
            return text if text.startswith(sandbox.REFUSAL_PREFIX) else sandbox.REFUSAL.format(name=text)
        if isinstance(value, SystemExit):
            return "your function called sys.exit()"
        return f"raised {type(value).__name__}: {value}"
    if isinstance(value, plain.NotPlain):
        return f"returned {value}; expected tensors, arrays, numbers or lists/tuples/dicts of them"
    return ex.judge(value, ex.expected(case))


def strip_solutions(source: str) -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region with the stub.

    The stub keeps the indentation of the BEGIN line. Unbalanced markers raise ``ValueError``.
    """
    out: list[str] = []
    inside = False
    for lineno, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"line {lineno}: nested {BEGIN!r} (expected {END!r} first)")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{STUDENT_STUB}")
        elif stripped == END:
            if not inside:
                raise ValueError(f"line {lineno}: {END!r} without {BEGIN!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without a matching {END!r}")
    return "\n".join(out)


def solution_lines(source: str) -> int:
    """The lines a student writes for a cell: non-blank, non-comment lines between the markers."""
    lines, inside = 0, False
    for line in source.splitlines():
        text = line.strip()
        if text == BEGIN or text == END:
            inside = text == BEGIN
        elif inside and text and not text.startswith("#"):
            lines += 1
    return lines


def exercise_name(source: str) -> str | None:
    """The ``<name>`` of a cell starting with ``# EXERCISE: <name>``, else ``None``."""
    first = source.lstrip().split("\n", 1)[0].strip()
    if not first.startswith(MARKER):
        return None
    name = first[len(MARKER) :].strip()
    return name if name.isidentifier() else None


def nbgrader_metadata(name: str) -> dict:
    """nbgrader's metadata of an autograded answer cell whose grade id is ``name``."""
    return {"grade": False, "grade_id": name, "locked": False, "schema_version": 3, "solution": True}


def make_student_notebook(src: str | Path, dst: str | Path, *, keep_solutions: bool = False) -> int:
    """Write ``dst``: ``src`` with solutions stripped and all outputs cleared.

    A cell starting with ``# EXERCISE: <name>`` also gets nbgrader's answer-cell metadata.
    ``keep_solutions=True`` writes nbgrader's *source* version instead (solutions kept between the
    markers, for ``nbgrader generate_assignment``). Returns the number of solution regions.
    """
    import nbformat

    nb = nbformat.read(src, as_version=4)
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source:
            replaced += cell.source.count(BEGIN)
            cell.source = cell.source if keep_solutions else strip_solutions(cell.source)
        name = exercise_name(cell.source)
        if name is not None:
            cell.metadata["nbgrader"] = nbgrader_metadata(name)
        cell.outputs = []
        cell.execution_count = None
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)
    return replaced


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lecture_lib.exercises [--nbgrader-source] SRC_DIR DST_DIR``: the student edition
    of every notebook (or nbgrader's source version: solutions kept, cells marked)."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    keep = "--nbgrader-source" in argv
    argv = [a for a in argv if a != "--nbgrader-source"]
    if len(argv) != 2:
        print(
            "usage: python -m lecture_lib.exercises [--nbgrader-source] NOTEBOOK_DIR OUTPUT_DIR",
            file=sys.stderr,
        )
        return 2
    src_dir, dst_dir = Path(argv[0]), Path(argv[1])
    for src in sorted(src_dir.glob("*.ipynb")):
        n = make_student_notebook(src, dst_dir / src.name, keep_solutions=keep)
        print(f"{dst_dir / src.name}: {n} solution(s) {'marked' if keep else 'removed'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
