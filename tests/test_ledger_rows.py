"""Every closing table follows the one rule: each row of each executed notebook is a registered claim,
each registered claim is judged by exactly one row, and verdicts read as the rule writes them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from test_claims_registries import registries

from lecture_lib.claims import FAILS, HOLDS, INCONCLUSIVE, NOT_COMPARABLE, PARTLY

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from book import ledger_rows  # noqa: E402

REGISTRIES = registries()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
INTERVAL = re.compile(r"\[[-+]?\d[\d.,e+-]*\S*, [-+]?\d[\d.,e+-]*\S*\]")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_row_is_a_registered_claim_judged_once(path):
    _, registry = REGISTRIES[path.stem]
    rows = ledger_rows(nbformat.read(path, as_version=4))
    by_wording = {c.wording: c for c in registry}
    assert len(by_wording) == len(registry), "claim wordings must be unique within a registry"
    wordings = [r["claim"] for r in rows]
    unknown = [w for w in wordings if w not in by_wording]
    assert not unknown, f"rows that are not registered claims: {unknown}"
    assert sorted(wordings) == sorted(by_wording), "every registered claim is judged by exactly one row"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_verdicts_read_as_the_rule_writes_them(path):
    _, registry = REGISTRIES[path.stem]
    by_wording = {c.wording: c for c in registry}
    for row in ledger_rows(nbformat.read(path, as_version=4)):
        claim, verdict = by_wording[row["claim"]], row["verdict"]
        word = verdict.split(":", 1)[0]
        assert word in (HOLDS, FAILS, PARTLY, NOT_COMPARABLE) or word.startswith(f"{INCONCLUSIVE} ("), verdict
        assert (word == PARTLY) <= (claim.kind == "compound"), (
            f"{claim.id}: 'holds partly' is for compound claims"
        )
        if claim.kind == "fact":
            assert row["criterion"] == "exact" and word in (HOLDS, FAILS), (claim.id, row)
        if claim.kind in ("effect", "scale"):
            assert INTERVAL.search(row["measured here"]), (
                f"{claim.id}: no [low, high] in {row['measured here']!r}"
            )
        if claim.kind == "scale":
            assert word in (NOT_COMPARABLE, HOLDS, FAILS) or word.startswith(INCONCLUSIVE), (claim.id, word)
        if word != HOLDS:
            assert ":" in verdict and verdict.split(":", 1)[1].strip(), f"{claim.id}: say why ({verdict!r})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_row_is_judged_by_a_band_of_its_own(path):
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    for banned in ("ledger.add(", "at_least(", "at_most(", "within(", "is_true(", "all_of("):
        assert banned not in code, f"{path.name} still judges a row with {banned}"
