"""The closing table: only registered claims, judged by the one rule, rendered as Markdown and HTML."""

import pytest

from lecture_lib.claims import Claim, ClaimRegistry, Estimate, Fact
from lecture_lib.ledger import NO_REASON, Ledger

PAPER = "Fast R-CNN (Girshick 2015), Table 4"
REG = ClaimRegistry(
    "03b_fast_rcnn",
    [
        Claim("detection.t.faster", "Fast R-CNN tests faster", PAPER, "effect", ">", 1.0,
              margin_source="Table 4: equal speed is ratio 1", paper="146x (VGG16, GPU)"),
        Claim("detection.t.layers", "a <deep> | net", PAPER, "fact", expected=16),
    ],
)  # fmt: skip


def test_rows_render_in_markdown_and_html_with_the_registered_wording():
    ledger = Ledger("Detection", claims=REG)
    ledger.judge("detection.t.faster", Estimate(9.0, 7.5, 10.5, n="5 runs"), note="a|b <i>")
    ledger.judge("detection.t.layers", Fact(16))
    md = ledger.to_markdown()
    measured = "+9.000 [+7.500, +10.500] (n = 5 runs)"
    assert f"| Fast R-CNN tests faster | {PAPER} | 146x (VGG16, GPU) | {measured}" in md
    assert "| 95% interval above 1 | holds | a\\|b <i> |" in md
    assert "| a <deep> \\| net |" in md and "| exact | holds |" in md
    page = ledger._repr_html_()
    assert "&lt;deep&gt;" in page and "<deep>" not in page and "verdict" in page
    assert len(ledger) == 2 and ledger.verdicts() == {
        "Fast R-CNN tests faster": "holds",
        "a <deep> | net": "holds",
    }


def test_a_row_that_does_not_hold_says_why_or_shows_that_no_reason_was_given():
    ledger = Ledger("Detection", claims=REG)
    ledger.judge("detection.t.faster", Estimate(0.5, 0.4, 0.6, n="5 runs"), why="proposals dominate")
    ledger.judge("detection.t.layers", Fact(8))
    md = ledger.to_markdown()
    assert "does not hold here: proposals dominate" in md
    assert f"does not hold here: {NO_REASON}" in md


def test_the_ledger_refuses_what_is_not_a_registered_claim():
    with pytest.raises(ValueError, match="title must be a non-empty str"):
        Ledger("", claims=REG)
    with pytest.raises(TypeError, match="claims must be a ClaimRegistry"):
        Ledger("x", claims={"a": 1})
    with pytest.raises(ValueError, match="has no claim registry"):
        Ledger("x").judge("detection.t.faster", Estimate(2.0, 1.5, 2.5, n="5 runs"))
    ledger = Ledger("x", claims=REG)
    with pytest.raises(KeyError, match="not registered for 03b_fast_rcnn"):
        ledger.judge("detection.t.slower", Estimate(2.0, 1.5, 2.5, n="5 runs"))
    with pytest.raises(TypeError, match="needs an Estimate"):
        ledger.judge("detection.t.faster", 2.0)
    with pytest.raises(TypeError, match="needs a Fact"):
        ledger.judge("detection.t.layers", 16)
    with pytest.raises(TypeError, match="measured must be a str"):
        ledger.judge("detection.t.layers", Fact(16), measured=0.5)
    assert len(ledger) == 0 and not hasattr(ledger, "add")


def test_show_displays_html():
    ledger = Ledger("t", claims=REG)
    ledger.judge("detection.t.layers", Fact(16))
    ledger.show()  # outside a notebook IPython prints the repr; must not raise
