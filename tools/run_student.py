"""Execute the student edition of every notebook top to bottom (``make student-run``).

    python tools/run_student.py build/student [--jobs 2] [--cwd notebooks]

``make student`` writes ``build/student/*.ipynb``: the notebooks with every solution replaced by
``raise NotImplementedError``. A student's Run All must reach the last cell: each unsolved exercise
reports ``[not yet]`` through ``lecture_lib.exercises.check`` and the notebook goes on. This script
runs each student notebook in the quick profile (one torch thread, widgets drawn statically, as
``make notebooks``) in a kernel started in ``--cwd`` (where the notebooks normally run) and fails if

- any cell produced an error, or anything on stderr;
- the number of ``[not yet]`` reports differs from the number of solutions removed.

The executed copies are not written anywhere; only a summary line per notebook is printed.
"""

from __future__ import annotations

import argparse
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notebook_runner import ci_env, execute, longest_first  # noqa: E402

from lecture_lib.exercises import STUDENT_STUB  # noqa: E402

NOT_YET = "[not yet]"
PROGRESS = re.compile(r"^Exercises of \S+: (\d+) of (\d+) done")  # EXERCISES.progress(), the last cell


def count_stubs(nb) -> int:
    """Solutions removed by ``make student``: lines that are exactly the stub."""
    return sum(
        line.strip() == STUDENT_STUB
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
    )


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return str(output.get("data", {}).get("text/plain", ""))


def progress(nb) -> tuple[int, int] | None:
    """The last "k of n done" that ``EXERCISES.progress()`` printed in an executed notebook."""
    last = None
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            for line in _text(out).splitlines():
                if m := PROGRESS.match(line):
                    last = int(m.group(1)), int(m.group(2))
    return last


def problems(nb, expected_not_yet: int) -> list[str]:
    """What is wrong with an executed student notebook (an empty list if nothing)."""
    found, not_yet = [], 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {i}: {out.get('ename')}: {str(out.get('evalue'))[:200]}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                found.append(f"cell {i}: stderr: {out.get('text', '').strip()[:200]}")
            not_yet += sum(line.startswith(NOT_YET) for line in _text(out).splitlines())
    if not_yet != expected_not_yet:
        found.append(
            f"{expected_not_yet} solution(s) removed but {not_yet} '{NOT_YET}' report(s): every "
            "unsolved exercise must be checked with lecture_lib.exercises.check and report itself"
        )
    shown = progress(nb)
    if shown is None:
        found.append("no 'k of n done' line: the last cell must be EXERCISES.progress()")
    elif shown != (0, expected_not_yet):
        found.append(
            f"progress says {shown[0]} of {shown[1]} done; an unsolved edition has 0 of {expected_not_yet}"
        )
    return found


def run_one(
    path: str | Path, cwd: str | Path, timeout: int = 600
) -> tuple[list[str], float, tuple[int, int] | None]:
    """Execute one student notebook (errors do not stop it): ``(problems, seconds, (k, n) shown)``."""
    nb = nbformat.read(path, as_version=4)
    expected = count_stubs(nb)
    result = execute(nb, env=ci_env("quick"), cwd=cwd, timeout=timeout, allow_errors=True)
    return problems(result.notebook, expected), result.seconds, progress(result.notebook)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the student notebooks (make student: build/student)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once")
    parser.add_argument("--cwd", default=str(ROOT / "notebooks"), help="working directory of each kernel")
    args = parser.parse_args(argv)
    paths = sorted(Path(args.folder).glob("*.ipynb"))
    if not paths:
        print(f"no notebooks in {args.folder}: run `make student` first", file=sys.stderr)
        return 2
    order = longest_first(paths)  # the costliest first; reported by name below
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        done = dict(zip(order, pool.map(lambda p: run_one(p, args.cwd), order)))
    results = [done[p] for p in paths]
    failed = 0
    for path, (found, seconds, shown) in zip(paths, results):
        status = "ok" if not found else f"{len(found)} problem(s)"
        done = f"{shown[0]} of {shown[1]} exercises done" if shown else "no progress shown"
        print(f"{path.name}: {status} ({seconds:.0f} s; {done})")
        for line in found:
            print(f"    {line}")
        failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
