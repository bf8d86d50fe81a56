"""tools/notebook_runner.py: the one way the tools execute a notebook as CI does (environment,
working directory, errors, wall time, the measured child process)."""

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import notebook_runner  # noqa: E402

SHOW_ENV = (
    "import os\n"
    "keys = ['LECTURE_PROFILE', 'LECTURE_THREADS', 'LECTURE_STATIC_WIDGETS', 'PYTHONHASHSEED', "
    "'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'EXTRA']\n"
    "print({k: os.environ.get(k) for k in keys}, os.getcwd())"
)


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def test_ci_env_sets_the_quick_profile_one_thread_and_the_checkout_first(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setenv("LECTURE_STATIC_WIDGETS", "0")
    env = notebook_runner.ci_env()
    assert {k: env[k] for k in notebook_runner.CI_ENV} == {
        "LECTURE_PROFILE": "quick",
        "LECTURE_STATIC_WIDGETS": "1",
        "PYTHONHASHSEED": "0",
        "LECTURE_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    assert env["PYTHONPATH"].split(":") == [str(ROOT), "/elsewhere"]
    live = notebook_runner.ci_env("full", static_widgets=False, one_thread=False, base={}, X="1", Y=None)
    assert live["LECTURE_PROFILE"] == "full" and live["X"] == "1" and "Y" not in live
    assert "LECTURE_STATIC_WIDGETS" not in live and "LECTURE_THREADS" not in live
    with pytest.raises(ValueError, match="profile must be 'quick' or 'full', got 'fast'"):
        notebook_runner.ci_env("fast")


def test_execute_runs_in_the_ci_environment_and_leaves_the_file_alone(tmp_path):
    path = _notebook(tmp_path / "tiny.ipynb", SHOW_ENV, "print(6 * 7)")
    before = path.read_text()
    run = notebook_runner.execute(path, env=notebook_runner.ci_env(EXTRA="yes"), cwd=tmp_path)
    assert run.ok and run.error is None and run.errors() == [] and run.seconds > 0
    shown = _printed(run.notebook.cells[0])
    for key, value in {**notebook_runner.CI_ENV, "EXTRA": "yes"}.items():
        assert f"'{key}': '{value}'" in shown
    assert shown.strip().endswith(str(tmp_path))  # the kernel ran in cwd
    assert _printed(run.notebook.cells[1]) == "42\n"
    assert [s for s, _ in run.slowest_cells(5)] and len(run.slowest_cells(1)) == 1
    assert path.read_text() == before


def test_an_error_stops_the_run_or_is_listed_with_allow_errors(tmp_path):
    path = _notebook(tmp_path / "broken.ipynb", "x = 1", "raise KeyError('missing')", "print('after')")
    stopped = notebook_runner.execute(path, cwd=tmp_path)
    assert not stopped.ok and "KeyError" in stopped.error and "missing" in stopped.error
    assert stopped.notebook.cells[2].outputs == []  # never reached
    went_on = notebook_runner.execute(path, cwd=tmp_path, allow_errors=True)
    assert went_on.error is None and not went_on.ok
    assert went_on.errors() == ["cell 1: KeyError: 'missing'"]
    assert _printed(went_on.notebook.cells[2]) == "after\n"


def test_execute_measured_saves_the_copy_and_the_kernels_usage(tmp_path):
    src = _notebook(tmp_path / "measured.ipynb", "import os\nprint(os.environ['LECTURE_PROFILE'], FIRST)")
    dest = tmp_path / "out" / "measured.ipynb"
    dest.parent.mkdir()
    proc, usage = notebook_runner.execute_measured(
        src, dest, env=notebook_runner.ci_env("full"), timeout=60, first_cell="FIRST = 'guarded'"
    )
    assert proc.returncode == 0, proc.stderr
    executed = nbformat.read(dest, as_version=4)
    assert _printed(executed.cells[1]) == "full guarded\n"
    assert usage == json.loads(notebook_runner.usage_path(dest).read_text())
    assert usage["cpu_s"] > 0 and usage["peak_rss_mb"] > 10  # a Python kernel: tens of MB at least
    broken = _notebook(tmp_path / "broken.ipynb", "1 / 0")
    proc, _ = notebook_runner.execute_measured(
        broken, tmp_path / "out" / "broken.ipynb", env=notebook_runner.ci_env()
    )
    assert proc.returncode == 1 and "ZeroDivisionError" in proc.stderr


def test_longest_first_orders_by_measured_cost_unmeasured_first(tmp_path):
    costs = tmp_path / "costs.json"
    rows = [{"notebook": "a.ipynb", "cpu_s": 10.0}, {"notebook": "b.ipynb", "cpu_s": 60.0}]
    costs.write_text(json.dumps({"notebooks": rows}))
    order = notebook_runner.longest_first(["x/a.ipynb", "x/b.ipynb", "x/new.ipynb"], costs)
    assert [p.name for p in order] == ["new.ipynb", "b.ipynb", "a.ipynb"]
    unmeasured = notebook_runner.longest_first(["b.ipynb", "a.ipynb"], tmp_path / "missing.json")
    assert [p.name for p in unmeasured] == ["a.ipynb", "b.ipynb"]


def test_the_makefiles_nbval_environment_is_the_runners():
    """``make notebooks`` (nbval) cannot call the runner; its NB_ENV must say the same."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if ln.startswith("NB_ENV"))
    pairs = dict(word.split("=", 1) for word in line.split(":=", 1)[1].split())
    assert pairs == notebook_runner.CI_ENV


def test_nb_run_saves_clean_outputs_and_keeps_a_failing_notebook_as_it_was(tmp_path):
    import nb as nbtools

    path = _notebook(tmp_path / "ok.ipynb", "import os\nprint(os.environ['LECTURE_PROFILE'])")
    assert nbtools.run(path) > 0
    saved = nbformat.read(path, as_version=4)
    assert _printed(saved.cells[0]) == "quick\n" and saved.cells[0]["id"] == "cell-000"
    assert "execution" not in saved.cells[0].metadata
    broken = _notebook(tmp_path / "broken.ipynb", "raise ValueError('no')")
    before = broken.read_text()
    with pytest.raises(RuntimeError, match="stopped with an error"):
        nbtools.run(broken)
    assert broken.read_text() == before
