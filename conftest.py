"""pytest hooks for nbval over notebooks/ (see Makefile's `notebooks` target).

- stderr is never compared (warnings carry per-run kernel paths);
- each notebook's wall time (kernel start + all cells) is printed at the end, and a notebook
  over its budget (``LECTURE_NB_BUDGET_S``, default 120 s) fails the run.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

_NB_SECONDS: dict[str, float] = defaultdict(float)
_NB_CELLS: dict[str, int] = defaultdict(int)


def pytest_collectstart(collector):
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)


def pytest_runtest_logreport(report):
    # Runs on the xdist controller too: durations of setup (kernel start), call and teardown.
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _NB_SECONDS[path] += report.duration
        if report.when == "call":
            _NB_CELLS[path] += 1


def _budget() -> float:
    return float(os.environ.get("LECTURE_NB_BUDGET_S", "120"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _NB_SECONDS:
        return
    budget = _budget()
    terminalreporter.section("notebook wall times (quick profile)")
    for path in sorted(_NB_SECONDS):
        seconds = _NB_SECONDS[path]
        flag = "" if seconds <= budget else f"   OVER the {budget:.0f} s budget"
        terminalreporter.write_line(f"{Path(path).name:40s} {seconds:7.1f} s  ({_NB_CELLS[path]} cells){flag}")
    terminalreporter.write_line(f"{'total (sum over notebooks)':40s} {sum(_NB_SECONDS.values()):7.1f} s")


def pytest_sessionfinish(session, exitstatus):
    if _NB_SECONDS and exitstatus == 0 and any(s > _budget() for s in _NB_SECONDS.values()):
        session.exitstatus = 1
