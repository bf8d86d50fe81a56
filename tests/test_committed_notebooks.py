"""The committed notebooks show results, not stray values: a cell whose last line is a call that
returns something (``ledger.add(...)`` returns its ``Row``) must end with ``_ = ...`` or a print."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STRAY = ("Row(", "True", "False", "None")


def stray_outputs(nb: dict) -> list[str]:
    """``"cell i: <text>"`` for every execute_result that is a bare Row/bool/None."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            if out.get("output_type") != "execute_result":
                continue
            text = "".join(out.get("data", {}).get("text/plain", "")).strip()
            if text.startswith(STRAY[0]) or text in STRAY[1:]:
                found.append(f"cell {i}: {text[:60]}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stray_outputs(path):
    assert stray_outputs(json.loads(path.read_text(encoding="utf-8"))) == []


def test_the_scan_finds_a_stray_row():
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "outputs": [
                    {"output_type": "execute_result", "data": {"text/plain": "Row(claim='x', source='y')"}},
                    {"output_type": "execute_result", "data": {"text/plain": "0.973"}},
                ],
            }
        ]
    }
    assert stray_outputs(nb) == ["cell 0: Row(claim='x', source='y')"]
