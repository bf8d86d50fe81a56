"""Self-checks for the exercises, and the student version of the notebooks.

In a notebook, an exercise's solution sits between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` (nbgrader's convention). ``make student`` writes copies of the notebooks
to ``build/student/`` with each solution replaced by ``raise NotImplementedError``; the cell
after the exercise calls ``check(...)``, which tells the student clearly what passed or failed.

``check`` runs the student's function with the library's reference out of reach
(``without_lecture_lib``): every ``lecture_lib`` module, function and class is removed from the
function's globals and ``import lecture_lib...`` is refused, so ``return boxes.nms(...)`` fails
the check with a message that says why, instead of passing it. Pass ``allow=[fn, ...]`` for the
library helpers an exercise may use. A check only reports; it never raises on a wrong answer, so
a student's Run All goes on.
"""

from __future__ import annotations

import builtins
import math
import types
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUDENT_STUB = "raise NotImplementedError"


def _from_lecture_lib(value: Any) -> bool:
    name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return isinstance(name, str) and (name == "lecture_lib" or name.startswith("lecture_lib."))


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "lecture_lib" or name.startswith("lecture_lib."):
        raise ImportError(
            f"this exercise is checked without lecture_lib: write it yourself (tried to import {name})"
        )
    return builtins.__import__(name, globals, locals, fromlist, level)


def without_lecture_lib(fn: Callable, allow: Iterable[Any] = ()) -> Callable:
    """``fn`` re-bound to a copy of its globals without ``lecture_lib`` (see module docstring).

    Args:
        fn: a plain Python function (the student's).
        allow: library objects the exercise may still use (kept wherever they appear in the globals).
    """
    if not isinstance(fn, types.FunctionType):
        raise TypeError(f"fn must be a plain Python function, got {type(fn).__name__}")
    allowed = {id(a) for a in allow}
    scope = {k: v for k, v in fn.__globals__.items() if id(v) in allowed or not _from_lecture_lib(v)}
    scope["__builtins__"] = {**vars(builtins), "__import__": _guarded_import}
    return types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)


def _close(got: Any, expected: Any, rtol: float, atol: float) -> bool:
    if isinstance(expected, torch.Tensor) or isinstance(got, torch.Tensor):
        if not isinstance(got, torch.Tensor) or not isinstance(expected, torch.Tensor):
            return False
        if got.shape != expected.shape:
            return False
        if expected.dtype.is_floating_point or got.dtype.is_floating_point:
            return bool(torch.allclose(got.double(), expected.double(), rtol=rtol, atol=atol, equal_nan=True))
        return bool(torch.equal(got, expected))
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        got, expected = np.asarray(got), np.asarray(expected)
        return got.shape == expected.shape and bool(
            np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
        )
    if isinstance(expected, float) or isinstance(got, float):
        try:
            return math.isclose(float(got), float(expected), rel_tol=rtol, abs_tol=atol)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, (tuple, list)) and isinstance(got, (tuple, list)):
        return len(got) == len(expected) and all(_close(g, e, rtol, atol) for g, e in zip(got, expected))
    return got == expected


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        text = f"tensor of shape {tuple(value.shape)}: {value.flatten()[:6].tolist()}"
        return text + (" ..." if value.numel() > 6 else "")
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."


def check(
    title: str,
    fn: Callable,
    cases: Iterable[tuple[str, Sequence, Any]],
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    verbose: bool = True,
    hide_lecture_lib: bool = True,
    allow: Iterable[Any] = (),
) -> bool:
    """Run ``fn(*args)`` on each case and compare with ``expected``.

    Args:
        title: what is checked, e.g. ``"IoU of two boxes"``.
        fn: the student's function.
        cases: ``(description, args, expected)`` triples. ``expected`` may be a value (tensors,
            arrays and floats are compared with tolerance) or a predicate ``expected(result) ->
            bool`` for properties.
        rtol, atol: tolerances for floating-point comparisons.
        hide_lecture_lib: run ``fn`` through ``without_lecture_lib`` (plain functions only), so
            calling the library's reference fails the check.
        allow: library objects ``fn`` may use even when the library is hidden.

    Returns:
        True if every case passed. Prints one line per failure and a summary line.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable (your function), got {type(fn).__name__}")
    if hide_lecture_lib and isinstance(fn, types.FunctionType):
        fn = without_lecture_lib(fn, allow)
    cases = list(cases)
    if not cases:
        raise ValueError("check() needs at least one case")
    failures = []
    for description, args, expected in cases:
        try:
            got = fn(*args)
        except NotImplementedError:
            if verbose:
                print(f"[not yet] {title}: replace `raise NotImplementedError` with your code.")
            return False
        except Exception as exc:  # the student's error is the feedback
            failures.append(f"{description}: raised {type(exc).__name__}: {exc}")
            continue
        ok = bool(expected(got)) if callable(expected) else _close(got, expected, rtol, atol)
        if not ok:
            wanted = "a result with the required property" if callable(expected) else _short(expected)
            failures.append(f"{description}: expected {wanted}, got {_short(got)}")
    if verbose:
        for line in failures:
            print(f"[fail] {title} - {line}")
        if failures:
            print(f"[fail] {title}: {len(cases) - len(failures)}/{len(cases)} checks passed.")
        else:
            print(f"[pass] {title}: all {len(cases)} checks passed.")
    return not failures


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


def make_student_notebook(src: str | Path, dst: str | Path) -> int:
    """Write ``dst``: ``src`` with solutions stripped and all outputs cleared.

    Returns the number of solution regions replaced.
    """
    import nbformat

    nb = nbformat.read(src, as_version=4)
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source:
            replaced += cell.source.count(BEGIN)
            cell.source = strip_solutions(cell.source)
        cell.outputs = []
        cell.execution_count = None
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)
    return replaced


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lecture_lib.exercises SRC_DIR DST_DIR``: student copies of every notebook."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2:
        print("usage: python -m lecture_lib.exercises NOTEBOOK_DIR OUTPUT_DIR", file=sys.stderr)
        return 2
    src_dir, dst_dir = Path(argv[0]), Path(argv[1])
    for src in sorted(src_dir.glob("*.ipynb")):
        n = make_student_notebook(src, dst_dir / src.name)
        print(f"{dst_dir / src.name}: {n} solution(s) removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
