"""The full profile, every notebook end to end, offline on fixtures (``make smoke-full``; in ``make test``).

    python tools/smoke_full.py [notebooks/05_pose.ipynb ...]   # default: every notebooks/*.ipynb

Each notebook runs with ``PROFILE="full"`` in smoke mode (``LECTURE_SMOKE=1``, see
``lecture_lib.smoke``): CPU, one thread, no network (a guard cell injected before the first cell
cuts the socket layer; ``setup()`` keeps it cut), tiny fixture datasets in the real layouts,
``weights=None`` models, two training steps per epoch, quality floors reported, not applied.
Copies run in a temporary folder (the committed notebooks are never touched), ``SMOKE_JOBS``
(default 2) at a time. Fails on any error, on any network access (logged even if something
swallowed the exception) and on a notebook over ``SMOKE_NB_BUDGET_S`` of CPU time (default 120 s;
aim ≤ 60 s; CPU time, not wall time, so that a loaded machine does not fail the run).
Prints one line per notebook (wall time, floors not applied) and ``smoke-full: N passed, M failed``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from notebook_runner import ci_env, execute_measured, longest_first, slowest_cells

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lecture_lib.datasets import fixtures  # noqa: E402

GUARD_CELL = (
    "import lecture_lib.smoke\n\nlecture_lib.smoke.guard_network()  # smoke-full: no network from here on"
)
BUDGET_S = float(os.environ.get("SMOKE_NB_BUDGET_S", "120"))


def smoke_env(work: Path, log: Path) -> dict[str, str]:
    """The environment of one notebook's kernel in the smoke run."""
    return ci_env(
        "full",
        LECTURE_SMOKE="1",
        LECTURE_SMOKE_LOG=str(log),
        LECTURE_CACHE=str(work / "cache"),
        TORCH_HOME=str(work / "torch"),
        MPLBACKEND="Agg",
        LECTURE_DATA_DIR=None,
    )


def run_one(nb: Path, work: Path) -> dict:
    """Run one notebook in a child process; returns its record (ok, seconds, floors, network, error)."""
    log = work / f"{nb.stem}.log"
    out = work / "executed" / nb.name
    start = time.perf_counter()
    proc, usage = execute_measured(
        nb, out, env=smoke_env(work, log), timeout=int(max(600, BUDGET_S * 3)), first_cell=GUARD_CELL
    )
    seconds = time.perf_counter() - start
    slowest = _slowest_cells(out) if out.is_file() else []
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    network = [e["detail"] for e in events if e["kind"] == "network"]
    floors = [e["detail"] for e in events if e["kind"] == "floor"]
    error = None
    if proc.returncode != 0:
        text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr or proc.stdout)  # no terminal colours
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        error = "\n".join(lines[-12:])
    elif network:
        error = f"network access in smoke mode: {network}"
    elif usage["cpu_s"] > BUDGET_S:  # CPU time: what the notebook costs, whatever else runs on the machine
        error = f"over the {BUDGET_S:.0f} s budget ({usage['cpu_s']:.0f} s of CPU time)"
    return {
        "notebook": nb.name,
        "ok": error is None,
        "seconds": seconds,
        **usage,
        "floors": floors,
        "error": error,
        "slowest": slowest,
    }


def _slowest_cells(executed: Path, n: int = 3) -> list[tuple[float, int]]:
    """``[(seconds, cell index in the committed notebook)]`` of the ``n`` slowest cells."""
    nb = nbformat.read(executed, as_version=4)
    nb.cells = nb.cells[1:]  # [0] is the injected guard cell
    return slowest_cells(nb, n)


def main(paths: list[str]) -> int:
    notebooks = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    jobs = int(os.environ.get("SMOKE_JOBS", "2"))
    with tempfile.TemporaryDirectory(prefix="smoke-full-") as tmp:
        work = Path(tmp)
        (work / "executed").mkdir()
        fixtures.write_all(work / "cache" / "datasets")  # once, before the kernels share them
        start = time.perf_counter()
        # the costliest first (the quick profile's measured CPU time as the proxy); reported by name
        order = longest_first(notebooks)
        with ThreadPoolExecutor(jobs) as pool:
            done = dict(zip(order, pool.map(lambda nb: run_one(nb, work), order)))
        results = [done[nb] for nb in notebooks]
        total = time.perf_counter() - start
        keep = os.environ.get("SMOKE_KEEP")  # a folder for the executed copies (to look at them)
        if keep:
            shutil.copytree(work / "executed", keep, dirs_exist_ok=True)
    head = f"{'notebook (full profile, smoke)':34s} {'wall s':>7s} {'CPU s':>7s} {'peak MB':>8s}"
    print(f"{head}  floors not applied")
    for r in results:
        slow = ", ".join(f"cell {i} {t:.0f} s" for t, i in r["slowest"])
        flag = "" if r["ok"] else "   FAILED"
        cols = f"{r['notebook']:34s} {r['seconds']:7.1f} {r['cpu_s']:7.1f} {r['peak_rss_mb']:8.0f}"
        print(f"{cols}  {len(r['floors'])}{flag}")
        if slow:
            print(f"    slowest: {slow}")
        for f in r["floors"]:
            print(f"    floor not applied: assert {f}")
        if r["error"]:
            print("    " + r["error"].replace("\n", "\n    "))
    failed = sum(not r["ok"] for r in results)
    print(f"smoke-full: {len(results) - failed} passed, {failed} failed ({total:.0f} s, {jobs} at a time)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
