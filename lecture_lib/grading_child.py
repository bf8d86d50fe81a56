"""The grader's child process: run ONE exercise cell of a submission, answer the cases, exit.

    python -P lecture_lib/grading_child.py PAYLOAD_DIR ANSWERS_FILE

Started by ``lecture_lib.grading`` in a fresh interpreter, in an empty temporary working folder.
It never imports ``lecture_lib``: it executes ``plain.py`` and ``sandbox.py`` from this folder by
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
import runpy
import sys
import time
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


def main(payload: Path, answers_file: Path) -> None:
    job = json.loads((payload / "job.json").read_text())
    source = (payload / "cell.py").read_text()
    plain = runpy.run_path(str(HERE / "plain.py"))
    sandbox = runpy.run_path(str(HERE / "sandbox.py"))
    import torch

    torch.set_num_threads(1)
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


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
