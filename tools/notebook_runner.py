"""Execute a notebook as CI does: the one runner behind nb.py, run_student.py, smoke_full.py and
measure_notebooks.py (browser_test.py takes its environment from ``ci_env``).

    from notebook_runner import ci_env, execute       # tools/ is on sys.path for the tools
    run = execute("notebooks/05_pose.ipynb")          # quick profile, one thread, kernel in notebooks/
    run.ok, run.seconds, run.errors(), run.notebook   # the executed copy (the file is not touched)

    python tools/notebook_runner.py --one SRC DEST TIMEOUT [--first-cell CODE]

The second form executes ``SRC`` in a child process under the caller's environment, writes the
executed copy to ``DEST`` and the kernel's CPU time and peak resident memory to ``DEST`` with the
suffix ``.usage.json`` (``execute_measured`` starts it: a kernel's usage can only be read from its
parent after it has exited, so each measured notebook gets a parent of its own).

The CI environment (``CI_ENV``): the quick profile, one torch/OpenMP/MKL thread (CI runs two
notebooks at once on 2 cores), widgets drawn statically, ``PYTHONHASHSEED=0``, and this checkout
first on ``PYTHONPATH``. The Makefile's ``NB_ENV`` (nbval) sets the same variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from lecture_lib.runtime import peak_memory_mb

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
COSTS = ROOT / "docs" / "notebook-resources.json"  # measured by tools/measure_notebooks.py
ONE_THREAD = {"LECTURE_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
CI_ENV = {"LECTURE_PROFILE": "quick", "LECTURE_STATIC_WIDGETS": "1", "PYTHONHASHSEED": "0", **ONE_THREAD}


def ci_env(
    profile: str = "quick",
    *,
    static_widgets: bool = True,
    one_thread: bool = True,
    base: dict[str, str] | None = None,
    **extra: str | None,
) -> dict[str, str]:
    """The environment of a kernel as CI starts it: ``base`` (default ``os.environ``) with ``CI_ENV``.

    Args:
        profile: ``LECTURE_PROFILE`` ("quick" or "full").
        static_widgets: ``LECTURE_STATIC_WIDGETS=1`` (CI); False removes it (live widgets, a browser).
        one_thread: pin torch/OpenMP/MKL to one thread (CI); False leaves the caller's setting.
        extra: more variables; a value ``None`` removes the variable.
    """
    if profile not in ("quick", "full"):
        raise ValueError(f"profile must be 'quick' or 'full', got {profile!r}")
    env = dict(os.environ if base is None else base)
    env.update(CI_ENV if one_thread else {k: v for k, v in CI_ENV.items() if k not in ONE_THREAD})
    env["LECTURE_PROFILE"] = profile
    if not static_widgets:
        env.pop("LECTURE_STATIC_WIDGETS", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class Run:
    """One execution: the executed notebook, its wall time (kernel start included) and the error
    that stopped it (``None`` if it ran to the end)."""

    notebook: nbformat.NotebookNode
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Ran to the end and no cell output is an error (``allow_errors`` runs go on past them)."""
        return self.error is None and not self.errors()

    def errors(self) -> list[str]:
        """``"cell i: Name: value"`` for every error output."""
        return [
            f"cell {i}: {out.get('ename')}: {str(out.get('evalue'))[:200]}"
            for i, cell in enumerate(self.notebook.cells)
            if cell.cell_type == "code"
            for out in cell.get("outputs", [])
            if out.get("output_type") == "error"
        ]

    def slowest_cells(self, n: int = 3) -> list[tuple[float, int]]:
        """``[(seconds, cell index)]`` of the ``n`` slowest cells (from nbclient's timing metadata)."""
        return slowest_cells(self.notebook, n)


def slowest_cells(nb: nbformat.NotebookNode, n: int = 3) -> list[tuple[float, int]]:
    """``[(seconds, cell index)]`` of the ``n`` slowest executed cells of ``nb``."""
    times = []
    for i, cell in enumerate(nb.cells):
        t = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in t and "shell.execute_reply" in t:
            a, b = (
                datetime.fromisoformat(t[k].replace("Z", "+00:00"))
                for k in ("iopub.execute_input", "shell.execute_reply")
            )
            times.append(((b - a).total_seconds(), i))
    return sorted(times, reverse=True)[:n]


def execute(
    notebook: str | os.PathLike | nbformat.NotebookNode,
    *,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike = NOTEBOOKS,
    timeout: int = 600,
    allow_errors: bool = False,
    kernel: str = "python3",
) -> Run:
    """Execute ``notebook`` (a path, read and left untouched; or a notebook, executed in place).

    Args:
        env: the kernel's environment (default ``ci_env()``: the quick profile as CI runs it).
        cwd: the kernel's working directory (default ``notebooks/``, where the notebooks run).
        timeout: seconds per cell.
        allow_errors: go on after a cell's error (``Run.errors()`` lists them); else stop there
            and report it in ``Run.error``.
        kernel: the kernel's name.
    """
    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    start, error = time.perf_counter(), None
    try:
        client.execute(env=ci_env() if env is None else env)
    except CellExecutionError as exc:
        error = str(exc)
    return Run(nb, time.perf_counter() - start, error)


def longest_first(paths: Iterable[str | os.PathLike], costs: str | os.PathLike = COSTS) -> list[Path]:
    """``paths`` in the order that lets a pool of workers finish soonest: the costliest first (each
    notebook's measured quick-profile CPU time in ``costs``; notebooks not measured yet first of all,
    then ties by name). With two workers, alphabetical order left one core idle while the last
    long notebook (07) ran alone."""
    path = Path(costs)
    rows = json.loads(path.read_text())["notebooks"] if path.is_file() else []
    cpu = {r["notebook"]: float(r["cpu_s"]) for r in rows}
    return sorted((Path(p) for p in paths), key=lambda p: (-cpu.get(p.name, float("inf")), p.name))


def usage_path(dest: str | os.PathLike) -> Path:
    """Where ``--one`` writes the kernel's ``{"cpu_s", "peak_rss_mb"}`` next to the executed copy."""
    return Path(dest).with_suffix(".usage.json")


def execute_measured(
    src: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    env: dict[str, str],
    timeout: int = 600,
    first_cell: str | None = None,
) -> tuple[subprocess.CompletedProcess, dict]:
    """Execute ``src`` in a child process under ``env`` (kernel in ``src``'s folder), write the
    executed copy to ``dest``; returns the child's process record and the kernel's usage
    ``{"cpu_s", "peak_rss_mb"}`` (``nan``/0 if the child died before writing it).

    ``first_cell``: code run before the notebook's first cell (smoke-full's network guard)."""
    cmd = [sys.executable, __file__, "--one", str(src), str(dest), str(timeout)]
    if first_cell is not None:
        cmd += ["--first-cell", first_cell]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    usage_file = usage_path(dest)
    usage = (
        json.loads(usage_file.read_text())
        if usage_file.is_file()
        else {"cpu_s": float("nan"), "peak_rss_mb": 0}
    )
    return proc, usage


def _one(src: str, dest: str, timeout: int, first_cell: str | None) -> int:
    """(In the child of ``execute_measured``.) Execute, save, record the kernel's usage."""
    nb = nbformat.read(src, as_version=4)
    if first_cell is not None:
        nb.cells.insert(0, nbformat.v4.new_code_cell(first_cell, metadata={"tags": ["runner-first-cell"]}))
    try:
        run = execute(nb, env=dict(os.environ), cwd=Path(src).parent, timeout=timeout)
    finally:
        nbformat.write(nb, dest)
        # the kernel (our only child) has exited: its CPU time and peak memory
        times = os.times()
        usage_path(dest).write_text(
            json.dumps(
                {
                    "cpu_s": times.children_user + times.children_system,
                    "peak_rss_mb": peak_memory_mb(children=True),
                }
            )
        )
    if run.error is not None:
        print(run.error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["--one"] or len(sys.argv) not in (5, 7):
        sys.exit(__doc__)
    first = sys.argv[6] if sys.argv[5:6] == ["--first-cell"] else None
    sys.exit(_one(sys.argv[2], sys.argv[3], int(sys.argv[4]), first))
