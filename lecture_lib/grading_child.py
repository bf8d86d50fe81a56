"""The grader's child processes: run ONE exercise cell of a submission, answer the cases, exit.

    python -P lecture_lib/grading_child.py PRELOAD_JSON     # a fork server: one per submission

``lecture_lib.grading`` starts one fresh interpreter per submitted notebook. It imports torch (and
the modules of the forbidden names, listed in PRELOAD_JSON) once, prints ``ready``, then for each
line ``PAYLOAD_DIR<TAB>ANSWERS_FILE<TAB>WORK_DIR<TAB>LOG_FILE`` on its stdin forks a child in a
new session, prints the child's pid, waits for it and prints ``exit <code>``. The server never
runs student code; each child runs one exercise cell in WORK_DIR (an empty temporary folder)
with stdin/stdout/stderr away from the server's pipes, so what it does (``sys.exit``, patching,
killing itself) ends with it; the parent kills it at the time limit.

A child never imports ``lecture_lib``: it executes ``plain.py`` and ``sandbox.py`` from this folder by
path, refuses any import of ``lecture_lib`` (the references live there), refuses the exercise's
forbidden names, then runs the cell and calls the function on every case. The answers go back as
plain data only (tensors, numbers, strings, lists, tuples, dicts), written with ``torch.save``;
the parent loads them with ``weights_only=True`` and compares them with the expected values,
which never exist in this process. Whatever the cell does here (``sys.exit``, patching, lying
objects, deleting files in its working folder) can only change what this process answers.

PAYLOAD_DIR holds ``cell.py`` (the cell's source), ``job.json`` (``name``, ``forbidden``) and
``cases.pt`` (``[(args, kwargs), ...]``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PREAMBLE = (
    "import math\nimport numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
)
MAX_TEXT = 2000


def _encode(value: Any) -> Any:
    """Plain data that ``torch.load(weights_only=True)`` accepts (arrays become tagged tensors)."""
    import numpy as np
    import torch

    if isinstance(value, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value)), "dtype": str(value.dtype)}
    if isinstance(value, complex):
        return {"__complex__": (value.real, value.imag)}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_encode(v) for v in value)
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _error(exc: BaseException, sandbox: dict) -> dict:
    return {
        "error": f"{type(exc).__name__}: {str(exc)[:MAX_TEXT]}",
        "refused": bool(sandbox["is_refusal"](exc)),
        "not_implemented": isinstance(exc, NotImplementedError),
        "exit": isinstance(exc, SystemExit),
    }


def run_job(payload: Path, answers_file: Path, plain: dict, sandbox: dict) -> None:
    """Run the exercise cell in ``payload`` and write the answers (plain data) to ``answers_file``."""
    import torch

    job = json.loads((payload / "job.json").read_text())
    source = (payload / "cell.py").read_text()
    torch.manual_seed(0)
    sys.meta_path.insert(0, sandbox["_RefuseImports"](("lecture_lib",)))
    cases = torch.load(payload / "cases.pt", weights_only=False)
    report: dict[str, Any] = {"answers": [], "cell_error": None, "output": ""}
    namespace: dict[str, Any] = {"__name__": "__main__", "get_ipython": lambda: _NoShell()}
    exec(compile(PREAMBLE, "<preamble>", "exec"), namespace)
    out = io.StringIO()
    with sandbox["refused"](job["forbidden"]) as swapped:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                exec(compile(source, f"<cell {job['name']}>", "exec"), namespace)
            except BaseException as exc:  # noqa: BLE001 (the cell's error is reported, not raised)
                report["cell_error"] = _error(exc, sandbox)["error"]
            fn = namespace.get(job["name"])
            if not callable(fn) or not hasattr(fn, "__globals__"):
                report["cell_error"] = report["cell_error"] or f"the cell defines no function {job['name']}"
            else:
                fn = sandbox["rebind"](fn, swapped)
                for args, kwargs in cases:
                    start = time.perf_counter()
                    try:
                        result = fn(*args, **kwargs)
                        answer = {"result": _encode(plain["to_plain"](result))}
                    except plain["NotPlain"] as exc:
                        answer = {"not_plain": str(exc)[:MAX_TEXT]}
                    except BaseException as exc:  # noqa: BLE001
                        answer = _error(exc, sandbox)
                    answer["seconds"] = time.perf_counter() - start
                    report["answers"].append(answer)
    report["output"] = out.getvalue()[-MAX_TEXT:]
    torch.save(report, answers_file)


class _NoShell:
    """``get_ipython()`` in a graded cell: magics (``%time``...) do nothing here."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _child(line: str, plain: dict, sandbox: dict) -> None:
    payload, answers, work, log = line.rstrip("\n").split("\t")
    os.setsid()
    fd_in = os.open(os.devnull, os.O_RDONLY)
    fd_log = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd_in, 0)
    os.dup2(fd_log, 1)
    os.dup2(fd_log, 2)
    os.chdir(work)
    run_job(Path(payload), Path(answers), plain, sandbox)


def serve(preload: list[str]) -> None:
    """The fork server (see module docstring)."""
    plain = runpy.run_path(str(HERE / "plain.py"))
    sandbox = runpy.run_path(str(HERE / "sandbox.py"))
    import torch

    torch.set_num_threads(1)
    for name in preload:
        try:
            sandbox["resolve"](name)  # imports its module once, here
        except Exception as exc:  # noqa: BLE001 (reported by the child that refuses it)
            print(f"preload {name}: {exc}", file=sys.stderr)
    print("ready", flush=True)
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(line, plain, sandbox)
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
