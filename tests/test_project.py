"""Project hygiene: packaging, Colab compatibility, notebook conventions, `make lab`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import nbformat
import pytest
import torch
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from ranks import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import nb as nbtools  # noqa: E402

from lecture_lib.config import REPO_URL  # noqa: E402

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "lecture_lib").rglob("*.py"))

# What Colab ships (googlecolab/backend-info, 2026-08): lecture_lib must accept all of it.
COLAB = {
    "torch": "2.11.0",
    "torchvision": "0.26.0",
    "ipywidgets": "7.7.1",
    "numpy": "2.1.3",
    "matplotlib": "3.10.0",
    "scikit-learn": "1.6.1",
    "scikit-image": "0.25.2",
    "pillow": "11.3.0",
    "tqdm": "4.67.3",
    "scipy": "1.16.1",
}


def _requirements() -> dict[str, Requirement]:
    reqs = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["dev"]
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


def test_environment_yml_lists_the_same_dependencies():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    from_env = {
        Requirement(r).name.lower(): str(Requirement(r)) for r in pip_section if not r.startswith("-e")
    }
    from_pyproject = {name: str(req) for name, req in _requirements().items()}
    assert from_env == from_pyproject
    python_spec = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python_spec.removeprefix("python") == PYPROJECT["project"]["requires-python"]


def test_minimum_versions_admit_colab():
    reqs = _requirements()
    for name, version in COLAB.items():
        assert reqs[name].specifier.contains(version), (
            f"{name} {reqs[name].specifier} rejects Colab's {version}"
        )
    python = SpecifierSet(PYPROJECT["project"]["requires-python"])
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert python.contains("3.13") and python.contains(here), (
        f"requires-python {python} rejects Colab or this {here}"
    )
    target = PYPROJECT["tool"]["ruff"]["target-version"]  # ruff and mypy check the floor we claim
    assert python.contains(f"{target[2]}.{target[3:]}") and not python.contains(
        f"{target[2]}.{int(target[3:]) - 1}"
    )
    assert PYPROJECT["tool"]["mypy"]["python_version"] == f"{target[2]}.{target[3:]}"


def test_constraints_pin_the_torch_pair_this_environment_runs():
    from importlib.metadata import version

    import torchvision

    pins = dict(
        line.split("==")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    # the pinned pair is the one installed here, and it works together (a mismatched pair fails
    # with "operator torchvision::nms does not exist")
    assert (
        version("torch").split("+")[0] == pins["torch"]
        and version("torchvision").split("+")[0] == pins["torchvision"]
    )
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]])
    assert torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0]
    for name, req in _requirements().items():
        key = next((k for k in pins if k.lower().replace("_", "-") == name), None)
        assert key is not None, f"{name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[key]), (
            f"constraints.txt pins {name}=={pins[key]}, outside {req.specifier}"
        )


def test_ci_runs_the_readme_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


@pytest.mark.parametrize("path", SOURCES + NOTEBOOKS, ids=lambda p: p.name)
def test_no_legacy_pretrained_flag_or_worker_processes(path):
    text = path.read_text()
    assert not re.search(r"[(,]\s*pretrained\s*=", text), "use torchvision's weights= API, not pretrained="
    assert not re.search(r"num_workers\s*=\s*[1-9]", text), (
        "num_workers must stay 0 (notebook multiprocessing breaks)"
    )


def test_lecture_order_and_numbering():
    names = [p.name for p in NOTEBOOKS]
    assert names, "no notebooks"
    assert all(re.match(r"^0[1-7][a-z]?_[a-z0-9_]+\.ipynb$", n) for n in names), names
    assert names[0].startswith("01_")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_first_cells(path):
    nb = nbformat.read(path, as_version=4)
    title, install, params = nb.cells[:3]
    assert title.cell_type == "markdown" and title.source.startswith("# ")
    assert nbtools.badge(path) in title.source, "Colab badge missing or not built from REPO_URL"
    assert install.cell_type == "code" and '"google.colab" in sys.modules' in install.source
    assert f"lecture_lib @ git+{REPO_URL}" in install.source and "%pip install" in install.source
    assert not re.search(
        r"pip install[^\n]*\btorch(vision)?\b(?!_)", install.source.replace("lecture_lib", "")
    )
    assert "parameters" in params.metadata.get("tags", []) and re.search(r"^PROFILE = ", params.source, re.M)
    assert any("setup(PROFILE" in c.source for c in nb.cells[3:6] if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code if c.source.strip()), (
        "commit the executed notebook"
    )
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", cell.source[:80]
            assert not (out.output_type == "stream" and out.name == "stderr"), (
                f"stderr output: {out.text[:200]}"
            )
            text = json.dumps(out.get("text", "")) + json.dumps(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r"(/tmp/|/home/|/root/|/work/|C:\\\\Users)", text), (
                f"absolute path in output: {text[:200]}"
            )
    assert path.stat().st_size < 3_000_000, "notebook too large: shrink figures"
    sources = "\n".join(c.source for c in nb.cells)
    assert "# NBVAL_CHECK_OUTPUT" in sources, "at least one coarse checked-output cell"
    assert "### BEGIN SOLUTION" in sources and "### END SOLUTION" in sources, "at least one exercise"
    assert "Ledger(" in sources and ".show()" in sources, "ends with the claim-vs-measured table"
    assert re.search(r"^assert ", sources, re.M), "claims are checked with assert"


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_lab_starts_jupyterlab(tmp_path):
    port, token = free_port(), "lecture-test-token"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), HOME=os.environ.get("HOME", str(tmp_path)))
    args = f"--no-browser --port={port} --ServerApp.token={token} --ServerApp.open_browser=False"
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_ARGS={args}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline, status = time.time() + 90, None
        while time.time() < deadline and status != 200:
            if proc.poll() is not None:
                pytest.fail(f"make lab exited early: {proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2
                ) as r:
                    status = r.status
            except OSError:
                time.sleep(0.5)
        assert status == 200, "JupyterLab did not answer within 90 s"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=5) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def test_readme_lists_every_notebook_with_its_badge():
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"`(0\d[a-z]?_[a-z0-9_]+\.ipynb)`", readme))
    assert listed == {p.name for p in NOTEBOOKS}
    for path in NOTEBOOKS:
        assert nbtools.badge(path) in readme, (
            f"README badge for {path.name} is not the one built from REPO_URL"
        )


def test_torch_warnings_are_errors_in_unit_tests():
    import torchvision

    with pytest.raises(UserWarning, match="deprecated"):
        torchvision.models.resnet18(**{"pretrained": False})  # the legacy flag warns -> error here


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_version_has_no_solutions(path, tmp_path):
    from lecture_lib.exercises import make_student_notebook

    n = make_student_notebook(path, tmp_path / path.name)
    student = nbformat.read(tmp_path / path.name, as_version=4)
    sources = "\n".join(c.source for c in student.cells)
    assert n >= 1 and "### BEGIN SOLUTION" not in sources and sources.count("raise NotImplementedError") >= n


def test_pip_install_dot_ships_every_subpackage(tmp_path):
    """`pip install .` (not editable) must include every subpackage of lecture_lib."""
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    installed = {p.relative_to(target).as_posix() for p in (target / "lecture_lib").rglob("*.py")}
    expected = {p.relative_to(ROOT).as_posix() for p in SOURCES}
    assert expected <= installed, sorted(expected - installed)
