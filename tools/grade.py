"""Grade a class's submissions (``make grade SUBMISSIONS=dir``): gradebook.csv and per-student feedback.

    python tools/grade.py SUBMISSIONS [--out build/grades] [--timeout 60] [--registry MODULE ...]

SUBMISSIONS holds ``<student>/<notebook>.ipynb`` (or nbgrader's ``submitted`` layout,
``<student>/<assignment>/<notebook>.ipynb``). Each exercise cell is graded in a fresh process
(``lecture_lib.grading``). The exercise registries are found here, not in the core: every concept
package ``lecture_lib/<concept>/`` is imported and each ``Exercises`` its public API exports
(``EXERCISES``; detection's ``EXERCISES_03A``/``_03B``/``_03C``) is used for the notebook it
names; ``--registry MODULE`` adds (or replaces) registries from another importable module (the
tests' toy registry).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lecture_lib.exercises import Exercises  # noqa: E402
from lecture_lib.gradebook import grade_class  # noqa: E402


def registries_in(module_name: str) -> dict[str, Exercises]:
    """``{notebook: Exercises}`` for every ``Exercises`` defined at the top of ``module_name``."""
    module = importlib.import_module(module_name)
    return {v.notebook: v for v in vars(module).values() if isinstance(v, Exercises)}


def discover(extra: list[str] = ()) -> dict[str, Exercises]:  # type: ignore[assignment]
    """The registries every concept package exports (``lecture_lib/<concept>/__init__.py``) and ``extra``."""
    found: dict[str, Exercises] = {}
    for path in sorted((ROOT / "lecture_lib").glob("*/__init__.py")):
        found.update(registries_in(f"lecture_lib.{path.parent.name}"))
    for name in extra:
        found.update(registries_in(name))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", help="folder of <student>/<notebook>.ipynb")
    parser.add_argument("--out", default=str(ROOT / "build" / "grades"), help="gradebook and feedback folder")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per exercise cell")
    parser.add_argument("--registry", action="append", default=[], help="extra module with Exercises")
    args = parser.parse_args(argv)
    if not Path(args.submissions).is_dir():
        print(
            f"SUBMISSIONS must be a folder of <student>/<notebook>.ipynb, got {args.submissions!r}",
            file=sys.stderr,
        )
        return 2
    registries = discover(args.registry)
    if not registries:
        print("no exercise registries found (lecture_lib/<concept>/__init__.py)", file=sys.stderr)
        return 2
    rows = grade_class(args.submissions, registries, args.out, timeout=args.timeout)
    students = len({r.student for r in rows})
    print(f"{len(rows)} grades for {students} student(s): {Path(args.out) / 'gradebook.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
