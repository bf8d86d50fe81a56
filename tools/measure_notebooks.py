"""What each notebook costs a JupyterHub user: the kernel's peak memory and CPU time, measured.

    python tools/measure_notebooks.py [notebooks/01_cnn_recap.ipynb ...]   # default: all, quick profile

Runs copies of the notebooks one after the other in the quick profile (one torch thread, as CI),
each in its own kernel, and records the kernel's peak resident memory (``ru_maxrss``) and CPU time
(user + system) from ``getrusage``. Writes ``docs/notebook-resources.json`` and rewrites the table
between the ``measured:begin``/``measured:end`` markers of ``docs/teaching.md`` from it (a test
checks that the page's table is the JSON's), so the page's numbers are computed, never typed.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # also when a test imports this file by its path

from notebook_runner import ci_env, execute_measured  # noqa: E402

JSON = ROOT / "docs" / "notebook-resources.json"
PAGE = ROOT / "docs" / "teaching.md"
BEGIN, END = "<!-- measured:begin -->", "<!-- measured:end -->"


def measure(nb: Path, work: Path) -> dict:
    proc, usage = execute_measured(nb, work / nb.name, env=ci_env("quick"), timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{nb.name} failed:\n{proc.stderr[-2000:]}")
    return {
        "notebook": nb.name,
        "cpu_s": round(usage["cpu_s"], 1),
        "peak_rss_mb": round(usage["peak_rss_mb"]),
    }


def hub_memory_mb(rows: list[dict], headroom: float = 1.5) -> int:
    """A per-user memory limit: the largest notebook's peak x ``headroom`` (one kernel open at a
    time), rounded up to 256 MB."""
    return int(math.ceil(max(r["peak_rss_mb"] for r in rows) * headroom / 256) * 256)


def render_table(record: dict) -> str:
    rows = record["notebooks"]
    lines = [
        "| notebook | peak memory (MB) | CPU time (s, 1 thread) |",
        "|---|---:|---:|",
        *[f"| {r['notebook']} | {r['peak_rss_mb']} | {r['cpu_s']:.0f} |" for r in rows],
        f"| **all, one after the other** | {max(r['peak_rss_mb'] for r in rows)} (max) | "
        f"{sum(r['cpu_s'] for r in rows):.0f} |",
        "",
        f"Suggested per-user memory limit: **{hub_memory_mb(rows)} MB** (the largest peak x 1.5, one kernel "
        "at a time); a student who keeps every notebook's kernel running needs the sum of the peaks, "
        f"{sum(r['peak_rss_mb'] for r in rows)} MB. Measured by `tools/measure_notebooks.py` on "
        f"{record['machine']} ({record['python']}, torch {record['torch']}).",
    ]
    return "\n".join(lines)


def update_page(record: dict, page: Path = PAGE) -> None:
    text = page.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{page} has no {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    page.write_text(f"{head}{BEGIN}\n{render_table(record)}\n{END}{tail}")


def main(argv: list[str]) -> int:
    import torch

    notebooks = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="measure-") as tmp:
        rows = []
        for nb in notebooks:
            rows.append(measure(nb, Path(tmp)))
            r = rows[-1]
            print(f"{r['notebook']:32s} peak {r['peak_rss_mb']:6d} MB  CPU {r['cpu_s']:6.1f} s", flush=True)
    record = {
        "profile": "quick",
        "machine": f"{platform.machine()} Linux, {os.cpu_count()} cores",
        "python": f"Python {platform.python_version()}",
        "torch": torch.__version__,
        "notebooks": rows,
    }
    JSON.write_text(json.dumps(record, indent=1) + "\n")
    update_page(record)
    print(f"wrote {JSON.relative_to(ROOT)} and the table in {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
