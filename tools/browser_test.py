"""Every notebook as a student meets it: JupyterLab in a real (headless) Chromium.

    python tools/browser_test.py [notebooks/01_cnn_recap.ipynb ...]    # `make test-browser`

For each notebook (all of ``notebooks/`` by default): open it in JupyterLab, clear the outputs,
Run All, wait until every code cell has run, and fail on any error output; then, for every
interactive explorer (``lecture_lib.widgets.explore``), move its first control and check that the
explorer's output changes. Screenshots go to ``build/browser/``. JupyterLab saves the notebooks it
runs, so it serves copies in ``build/browser/nbs/``: the committed notebooks are never touched.
The last line printed is ``browser: N passed, M failed``.

The browser is Chromium driven by Playwright (the Python package): ``$CHROMIUM``, else Debian's
``/usr/bin/chromium`` (``apt-get install chromium``), else Playwright's own browser
(``python -m playwright install chromium``). JupyterLab comes from this project's ``.venv`` and
listens on a free port of 127.0.0.1 only; the notebooks run in the quick profile, widgets live.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from notebook_runner import ci_env

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "browser"
NBS = OUT / "nbs"  # the copies JupyterLab serves (and autosaves)
CELL_TIMEOUT_S = float(os.environ.get("BROWSER_NB_TIMEOUT_S", "600"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# JavaScript run in the page: the notebook model of the current JupyterLab widget.
JS_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.content.model || !w.sessionContext) return null;
  const cells = w.content.model.cells;
  let code = 0, done = 0, errors = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code' || !c.sharedModel.getSource().trim()) continue;
    code++;
    if (c.executionCount !== null && c.executionCount !== undefined) done++;
    const outs = c.outputs.toJSON();
    for (const o of outs) if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
  }
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  return {code, done, errors, status: kernel ? kernel.status : 'none'};
}"""


def find_chromium() -> str | None:
    """A Chromium binary for Playwright, or None to use Playwright's own download."""
    for candidate in (
        os.environ.get("CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(port: int) -> subprocess.Popen:
    settings = OUT / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)  # no "news" pop-up over the notebook
    (settings / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    env = ci_env(  # live widgets and the machine's threads: this is what a student sees
        "quick",
        static_widgets=False,
        one_thread=False,
        JUPYTER_RUNTIME_DIR=str(OUT / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(OUT / "settings"),
    )
    args = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        "--LabApp.expose_app_in_browser=True",
        f"--notebook-dir={NBS}",
    ]
    if os.getuid() == 0:
        args.append("--allow-root")
    log = open(OUT / "jupyterlab.log", "w")  # noqa: SIM115 - closed when the process ends
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited; see {OUT / 'jupyterlab.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("JupyterLab did not answer within 120 s")


def run_notebook(page, base: str, path: Path) -> dict:
    """Run All in the browser; returns ``{"cells", "errors", "widgets", "changed", "seconds"}``."""
    page.goto(f"{base}/lab/tree/{path.name}?reset")  # ?reset: no tabs restored from an earlier session
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=60_000)
    dialog = page.locator(".jp-Dialog .jp-mod-accept")  # a kernel chooser may ask first
    if dialog.count():
        dialog.first.click()
    page.wait_for_function(
        f"() => {{ const s = ({JS_STATE})(); return s && s.status === 'idle'; }}", timeout=120_000
    )
    start = time.time()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        f"() => {{ const s = ({JS_STATE})(); return s && s.done === s.code && s.status === 'idle'; }}",
        timeout=CELL_TIMEOUT_S * 1000,
        polling=1000,
    )
    seconds = time.time() - start
    state = page.evaluate(JS_STATE)
    page.screenshot(path=str(OUT / f"{path.stem}.png"), full_page=False)
    widgets, changed = move_first_controls(page, path)
    return {
        "cells": state["code"],
        "errors": state["errors"],
        "widgets": widgets,
        "changed": changed,
        "seconds": seconds,
    }


def shutdown_kernel(page) -> None:
    """Stop the notebook's kernel (no confirmation dialog), so kernels do not pile up."""
    try:
        page.evaluate(
            "async () => { const w = window.jupyterapp.shell.currentWidget;"
            " if (w && w.sessionContext) { await w.sessionContext.shutdown(); } }"
        )
    except Exception:  # noqa: BLE001 - the page may be gone after a failure; the server stops them at the end
        pass


def move_first_controls(page, path: Path) -> tuple[int, int]:
    """For every explorer: change its first control; count explorers and those whose output changed."""
    boxes = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-interact")  # this notebook's only
    n, changed = boxes.count(), 0
    for i in range(n):
        box = boxes.nth(i)
        box.evaluate("el => el.scrollIntoView({block: 'center'})")  # also in a windowed notebook
        output = box.locator(".widget-output")
        before = output.inner_html()
        slider, select, checkbox = (
            box.locator(".noUi-handle"),
            box.locator("select"),
            box.locator("input[type=checkbox]"),
        )
        if slider.count():
            slider.first.focus()
            for _ in range(3):
                page.keyboard.press("ArrowRight")
        elif select.count():
            options = select.first.locator("option").all_inner_texts()
            select.first.select_option(label=options[-1] if len(options) > 1 else options[0])
        elif checkbox.count():
            checkbox.first.click()
        try:
            page.wait_for_function(
                "([el, old]) => el.innerHTML !== old && !el.querySelector('.jp-mod-pending')",
                arg=[output.element_handle(), before],
                timeout=120_000,
                polling=500,
            )
            changed += 1
        except Exception:  # noqa: BLE001 - reported below as "did not change"
            pass
        box.screenshot(path=str(OUT / f"{path.stem}-explorer{i}.png"))
    return n, changed


def copy_notebooks(notebooks: list[Path]) -> list[Path]:
    """Fresh copies in ``NBS`` (JupyterLab autosaves what it runs)."""
    shutil.rmtree(NBS, ignore_errors=True)
    NBS.mkdir(parents=True)
    copies = []
    for path in notebooks:
        shutil.copy2(path, NBS / path.name)
        copies.append(NBS / path.name)
    return copies


def main(argv: list[str]) -> int:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("Playwright is missing: `pip install playwright` (the dev extras install it).", file=sys.stderr)
        print("browser: 0 passed, 0 failed (not run)")
        return 2

    notebooks = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    OUT.mkdir(parents=True, exist_ok=True)
    notebooks = copy_notebooks(notebooks)
    chromium = find_chromium()
    port = free_port()
    lab = start_lab(port)
    failures = []
    try:
        with sync_playwright() as p:
            try:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            except Exception as exc:  # noqa: BLE001 - say how to get a browser
                print(
                    f"No usable Chromium ({exc.__class__.__name__}). Install one: `apt-get install chromium` "
                    "(Debian/Ubuntu), set CHROMIUM=/path/to/chromium, "
                    "or `python -m playwright install chromium`.",
                    file=sys.stderr,
                )
                print("browser: 0 passed, 0 failed (no browser)")
                return 2
            for path in notebooks:
                # a fresh page per notebook: no dialog or unsaved-changes prompt of the last one in the way
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.on("dialog", lambda dialog: dialog.accept())
                try:
                    r = run_notebook(page, f"http://127.0.0.1:{port}", path)
                except Exception as exc:  # noqa: BLE001 - a timeout in one notebook: report, go on
                    page.screenshot(path=str(OUT / f"{path.stem}.png"), full_page=False)
                    msg = str(exc).splitlines()[0][:200] if str(exc) else ""
                    r = dict(
                        cells=0, seconds=0.0, widgets=0, changed=0, errors=[f"{type(exc).__name__}: {msg}"]
                    )
                ok = not r["errors"] and r["changed"] == r["widgets"]
                ran = f"{r['cells']:3d} cells in {r['seconds']:6.1f} s, {len(r['errors'])} errors"
                explorers = f"explorers changed {r['changed']}/{r['widgets']}"
                print(f"{path.name:32s} {ran}, {explorers}  {'ok' if ok else 'FAILED'}", flush=True)
                for e in r["errors"]:
                    print(f"    {e}")
                if not ok:
                    failures.append(path.name)
                shutdown_kernel(page)
                page.close(run_before_unload=False)
            browser.close()
    finally:
        os.killpg(lab.pid, 15)
        lab.wait(timeout=30)
    print(f"screenshots in {OUT.relative_to(ROOT)}/")
    print(f"browser: {len(notebooks) - len(failures)} passed, {len(failures)} failed")
    if failures:
        print(f"FAILED: {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
