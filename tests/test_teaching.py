"""docs/teaching.md: linked from the README and the book; its cost table is rendered from the
measured JSON (tools/measure_notebooks.py), never typed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location(
        "measure_notebooks", ROOT / "tools" / "measure_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORD = {
    "profile": "quick",
    "machine": "x86_64 Linux, 2 cores",
    "python": "Python 3.11.9",
    "torch": "2.0",
    "notebooks": [
        {"notebook": "a.ipynb", "cpu_s": 30.4, "peak_rss_mb": 700},
        {"notebook": "b.ipynb", "cpu_s": 61.0, "peak_rss_mb": 1100},
    ],
}


def test_table_and_memory_limit_are_computed_from_the_record():
    tool = _tool()
    table = tool.render_table(RECORD)
    assert "| a.ipynb | 700 | 30 |" in table and "| b.ipynb | 1100 | 61 |" in table
    assert "| 1100 (max) | 91 |" in table and "1800 MB" in table  # sum of peaks
    assert tool.hub_memory_mb(RECORD["notebooks"]) == 1792  # 1100 x 1.5 = 1650 -> 7 x 256


def test_update_page_replaces_only_the_marked_block(tmp_path):
    tool = _tool()
    page = tmp_path / "t.md"
    page.write_text(f"intro\n{tool.BEGIN}\nold\n{tool.END}\nrest\n")
    tool.update_page(RECORD, page)
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{tool.END}\nrest\n") and "old" not in text
    tool.update_page(RECORD, page)  # idempotent
    assert page.read_text() == text
    page.write_text("no markers")
    with pytest.raises(ValueError, match="measured:begin"):
        tool.update_page(RECORD, page)


def test_teaching_page_table_is_the_measured_one():
    tool = _tool()
    if not tool.JSON.is_file():
        pytest.skip("docs/notebook-resources.json not measured yet (python tools/measure_notebooks.py)")
    record = json.loads(tool.JSON.read_text())
    text = tool.PAGE.read_text()
    block = text.split(tool.BEGIN, 1)[1].split(tool.END, 1)[0].strip()
    assert block == tool.render_table(record)


def test_teaching_page_is_linked_and_names_the_hub_tools():
    text = (ROOT / "docs" / "teaching.md").read_text()
    assert "(docs/teaching.md)" in (ROOT / "README.md").read_text()
    assert "teaching.html" in (ROOT / "tools" / "book.py").read_text()
    assert "git-pull?repo=" in text and "mybinder.org/v2/gh/" in text and "colab.research.google.com" in text
