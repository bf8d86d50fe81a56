"""Grades decided out of the student's reach: each exercise cell of a submission in a fresh process.

    python tools/grade.py SUBMISSIONS [--out build/grades] [--timeout 60]   # make grade SUBMISSIONS=dir

For every submitted notebook and every exercise of its registry (``lecture_lib.exercises``),
``grade_notebook`` finds the exercise's cell (nbgrader metadata ``grade_id``, else the first line
``# EXERCISE: <name>``, else the last cell defining ``def <name>(``), and runs that cell alone in a
new Python process (``lecture_lib/grading_child.py``) with a time limit, an empty temporary
working folder, ``lecture_lib`` unimportable and the exercise's forbidden names refused. The
child calls the function on the hidden and the visible cases and sends back plain data only
(``torch.load(weights_only=True)`` here, so no object of the student's comes back); the expected
values are computed here, with the reference, and never leave this process. Nothing done in the
student's kernel (patching, frames, lying objects) reaches the grade: the kernel is not involved.

An exercise earns its points when every case passes (``status`` pass), else 0 (``not yet``: a
wrong answer or a refused shortcut; ``error``: an exception, a time-out, a cell that does not run).
One bad submission (not a notebook, a syntax error, an infinite loop, ``sys.exit``, files deleted)
costs only its own rows: every submission is read into memory before any student code runs, and
the gradebook is written at the end.

POSIX only (Linux, macOS): the child processes are forked (``os.fork``) and killed by session.
The core does not import the concept packages: callers pass the registries
(``{notebook name: Exercises}``); ``tools/grade.py`` discovers them.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from lecture_lib import plain
from lecture_lib.exercises import MARKER, Exercise, Exercises, exercise_name

CHILD = Path(__file__).resolve().parent / "grading_child.py"


def find_cell(nb: Any, name: str) -> str | None:
    """The source of the cell holding exercise ``name`` (see module docstring), or ``None``."""
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for cell in code:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == name:
            return _source(cell)
    for cell in code:
        if exercise_name(_source(cell)) == name:
            return _source(cell)
    for cell in reversed(code):
        if f"def {name}(" in _source(cell):
            return _source(cell)
    return None


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def python_source(cell_source: str) -> str:
    """The cell as plain Python: IPython magics become ``get_ipython()`` calls (no-ops when graded)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(cell_source)
    except ImportError:
        return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in cell_source.splitlines())


def outside_library(ex: Exercise) -> list[str]:
    """The forbidden names the child refuses one by one: ``lecture_lib`` is unimportable there."""
    return [n for n in ex.forbidden if n != "lecture_lib" and not n.startswith("lecture_lib.")]


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "__ndarray__" in value:
        return value["__ndarray__"].numpy().astype(value["dtype"])
    if isinstance(value, dict) and "__complex__" in value:
        return complex(*value["__complex__"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_decode(v) for v in value)
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


class Grader:
    """Grades exercise cells against one registry; expected values are computed once per exercise."""

    def __init__(self, registry: Exercises, *, timeout: float = 60.0):
        self.registry = registry
        self.timeout = timeout
        self._expected: dict[str, list] = {}

    def expected(self, ex: Exercise) -> list:
        if ex.name not in self._expected:
            self._expected[ex.name] = [ex.expected(c) for c in [*ex.hidden(), *ex.cases()]]
        return self._expected[ex.name]

    def grade_source(
        self, ex: Exercise, cell_source: str | None, server: ForkServer
    ) -> tuple[str, str, float]:
        """``(status, message, seconds)`` for the exercise's cell source, run by ``server``."""
        if cell_source is None:
            return "error", f"no cell defines {ex.name} (its cell starts with '{MARKER} {ex.name}')", 0.0
        cases = [*ex.hidden(), *ex.cases()]
        n_hidden = len(ex.hidden())
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
            payload, work = Path(tmp) / "payload", Path(tmp) / "work"
            payload.mkdir()
            work.mkdir()
            (payload / "cell.py").write_text(python_source(cell_source))
            (payload / "job.json").write_text(json.dumps({"name": ex.name, "forbidden": outside_library(ex)}))
            torch.save([(c.args, c.kwargs) for c in cases], payload / "cases.pt")
            answers = Path(tmp) / "answers.pt"
            failure = server.run(payload, answers, work, self.timeout)
            seconds = time.perf_counter() - start
            if failure:
                return "error", failure, seconds
            try:
                report = torch.load(answers, weights_only=True)
            except Exception as exc:  # noqa: BLE001 (whatever was written, it is not an answer)
                return "error", f"no readable answer came back ({type(exc).__name__})", seconds
        return (*self._judge(ex, cases, n_hidden, report), seconds)

    def _judge(self, ex: Exercise, cases: list, n_hidden: int, report: Any) -> tuple[str, str]:
        if not isinstance(report, dict) or not isinstance(report.get("answers"), list):
            return "error", "no readable answer came back"
        answers = report["answers"]
        cell_error = report.get("cell_error")
        if len(answers) != len(cases):
            return "error", f"the cell did not run: {cell_error}" if cell_error else "answers are missing"
        failed_hidden, visible_reasons, errors, refused = 0, [], 0, []
        for i, (answer, expected) in enumerate(zip(answers, self.expected(ex))):
            reason = _reason(ex, answer, expected)
            if reason is None:
                continue
            if isinstance(answer, dict) and answer.get("refused"):
                refused.append(str(answer["error"]).split(": ", 1)[-1])
            elif isinstance(answer, dict) and "error" in answer and not answer.get("not_implemented"):
                errors += 1
            if i < n_hidden:
                failed_hidden += 1
            else:
                case = cases[i]
                visible_reasons.append(f"{case.name or f'visible case {i - n_hidden + 1}'}: {reason}")
        if not failed_hidden and not visible_reasons:
            return "pass", f"all {len(cases)} cases pass"
        if all(isinstance(a, dict) and a.get("not_implemented") for a in answers):
            return "not yet", "not attempted: the function raises NotImplementedError"
        n_visible = len(cases) - n_hidden
        text = f"{failed_hidden} of {n_hidden} hidden and {len(visible_reasons)} of {n_visible} visible"
        text += " cases failed"
        detail = refused[0] if refused else (visible_reasons[0] if visible_reasons else "")
        return ("error" if errors else "not yet"), f"{text}; {detail}".rstrip("; ")


def _reason(ex: Exercise, answer: Any, expected: Any) -> str | None:
    if not isinstance(answer, dict):
        return "unreadable answer"
    if "result" in answer:
        try:
            got = plain.to_plain(_decode(answer["result"]))
        except plain.NotPlain as exc:
            return f"returned {exc}"
        return ex.judge(got, expected)
    if "not_plain" in answer:
        return f"returned {answer['not_plain']}"
    if answer.get("exit"):
        return "called sys.exit()"
    return f"raised {answer.get('error', 'an error')}"


class ForkServer:
    """One ``grading_child.py`` fork server per submission (module docstring of that file).

    Started on first use; if a child breaks it (kills it, writes into its pipe), it is killed
    and the next exercise starts a new one, so a submission can only cost its own grades.
    """

    def __init__(self, preload: Iterable[str] = (), startup_timeout: float = 300.0):
        self.preload = sorted(set(preload))
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self._home = tempfile.TemporaryDirectory(prefix="grade-home-")
        self._buffer = b""

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        self._home.cleanup()

    def start(self) -> str | None:
        """Start a new server (killing the old one); ``None`` if it is ready, else why not."""
        self.close()
        home = self._home.name
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("LECTURE_") and k not in ("PWD", "OLDPWD")
        }
        env.update(HOME=home, PWD=home, TMPDIR=home, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env.update(PYTHONHASHSEED="0")
        self.proc = subprocess.Popen(
            [sys.executable, "-P", str(CHILD), json.dumps(self.preload)],
            cwd=home,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if self._readline(self.startup_timeout) != "ready":
            self.close()
            return "the grading process did not start"
        return None

    def _readline(self, timeout: float) -> str | None:
        """The next line from the server; ``None`` after ``timeout`` s, ``""`` at its end."""
        assert self.proc is not None and self.proc.stdout is not None
        fd, deadline = self.proc.stdout.fileno(), time.monotonic() + timeout
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return ""
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def run(self, payload: Path, answers: Path, work: Path, timeout: float) -> str | None:
        """Run one job; ``None`` if the child ended (answers may still be missing), else why not."""
        if self.proc is None or self.proc.poll() is not None:
            failure = self.start()
            if failure:
                return failure
        assert self.proc is not None and self.proc.stdin is not None
        log = work.parent / "log.txt"
        try:
            self.proc.stdin.write(f"{payload}\t{answers}\t{work}\t{log}\n".encode())
            self.proc.stdin.flush()
        except OSError:
            self.close()
            return "the grading process broke"
        pid_line = self._readline(60.0)
        if not pid_line or not pid_line.isdigit():
            self.close()
            return "the grading process broke"
        pid = int(pid_line)
        end = self._readline(timeout)
        _killpg(pid)  # the child's session: its own processes too
        if end is None:
            self.close()
            return f"time limit: no answer within {timeout:g} s (an infinite loop?)"
        if not end.startswith("exit "):
            self.close()
            return "the exercise's process disturbed the grader" if end else "the grading process was killed"
        if not answers.is_file():
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.is_file() else []
            code = end.removeprefix("exit ")
            return f"the process ended (exit code {code}) without answering" + (
                f": {tail[0][:300]}" if tail else ""
            )
        return None

    def close(self) -> None:
        if self.proc is not None:
            _killpg(self.proc.pid)
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
        self.proc, self._buffer = None, b""


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def grade_notebook(nb: Any, grader: Grader) -> list[tuple]:
    """``[(exercise, points, status, seconds, message, max_points)]`` for a notebook (a dict), all its
    exercises run by one fork server."""
    rows = []
    forbidden = [name for ex in grader.registry.exercises.values() for name in outside_library(ex)]
    with ForkServer(forbidden) as server:
        server.start()  # before the clock: the exercise's seconds are its own
        for ex in grader.registry.exercises.values():
            status, message, seconds = grader.grade_source(ex, find_cell(nb, ex.name), server)
            points = float(ex.points) if status == "pass" else 0.0
            message = " ".join(message.split())[:500]  # one line in the gradebook
            rows.append((ex.name, points, status, round(seconds, 2), message, ex.points))
    return rows
