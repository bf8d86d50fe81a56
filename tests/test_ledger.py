import pytest

from lecture_lib.ledger import (
    FAILS,
    HOLDS,
    NO_REASON,
    PARTLY,
    Ledger,
    all_of,
    at_least,
    at_most,
    is_true,
    within,
)


def test_ledger_renders_rows_in_markdown_and_html():
    acc = 0.9731
    ledger = Ledger("CNN recap")
    ledger.add(
        "LeNet learns digits",
        source="slides: Recap",
        lecture="0.95 (MNIST)",
        measured=f"{acc:.3f}",
        criterion=at_least(0.95),
        value=acc,
        note="a|b <i>",
    )
    md = ledger.to_markdown()
    assert "| LeNet learns digits | slides: Recap | 0.95 (MNIST) | 0.973 | ≥ 0.95 | holds | a\\|b <i> |" in md
    html = ledger._repr_html_()
    assert "0.973" in html and "&lt;i&gt;" in html and "<i>" not in html and "verdict" in html
    assert len(ledger) == 1


def test_failing_criterion_prints_does_not_hold_with_its_reason():
    speedup = 9.0
    ledger = Ledger("Detection")
    ledger.add(
        "Fast R-CNN is 146x faster",
        source="paper",
        lecture="146x",
        measured=f"{speedup:.0f}x",
        criterion=at_least(50, unit="x"),
        value=speedup,
        why="tiny CNN: proposals dominate",
    )
    assert ledger.rows[0].verdict == FAILS
    assert "does not hold here: tiny CNN: proposals dominate" in ledger.to_markdown()
    assert "does not hold here" in ledger._repr_html_()


def test_missing_reason_is_visible():
    ledger = Ledger("x")
    ledger.add("c", source="s", lecture="l", measured="0.1", criterion=at_least(0.5), value=0.1)
    assert NO_REASON in ledger.to_markdown()


@pytest.mark.parametrize(
    ("criterion", "value", "verdict"),
    [
        (at_least(50, partly=10), 60, HOLDS),
        (at_least(50, partly=10), 50, HOLDS),
        (at_least(50, partly=10), 20, PARTLY),
        (at_least(50, partly=10), 5, FAILS),
        (at_least(50), 20, FAILS),
        (at_most(0.3, partly=0.5), 0.2, HOLDS),
        (at_most(0.3, partly=0.5), 0.4, PARTLY),
        (at_most(0.3), 0.4, FAILS),
        (within(1.0, 0.1, partly=0.3), 1.05, HOLDS),
        (within(1.0, 0.1, partly=0.3), 1.2, PARTLY),
        (within(1.0, 0.1), 0.5, FAILS),
        (is_true("a > b"), True, HOLDS),
        (is_true("a > b"), False, FAILS),
        (all_of(at_least(1), at_most(3)), (2, 2), HOLDS),
        (all_of(at_least(1), at_most(3)), (0, 2), PARTLY),
        (all_of(at_least(1), at_most(3)), (0, 4), FAILS),
    ],
)
def test_criteria_verdicts(criterion, value, verdict):
    assert criterion(value) == verdict


def test_criterion_texts():
    assert at_least(50, partly=10, unit="x").text == "≥ 50x (partly ≥ 10x)"
    assert at_most(0.3).text == "≤ 0.3"
    assert within(2, 0.5).text == "2 ± 0.5"


def test_ledger_rejects_bad_input():
    ledger = Ledger("x")
    with pytest.raises(TypeError, match="measured must be a str, got float"):
        ledger.add("claim", source="s", lecture="l", measured=0.5)
    with pytest.raises(ValueError, match="must not be empty"):
        ledger.add("claim", source="s", lecture="l", measured=" ")
    with pytest.raises(ValueError, match="title must be a non-empty str"):
        Ledger("")
    with pytest.raises(ValueError, match="has a criterion but no value"):
        ledger.add("claim", source="s", lecture="l", measured="m", criterion=at_least(1))
    with pytest.raises(TypeError, match="criterion must be a Criterion"):
        ledger.add("claim", source="s", lecture="l", measured="m", criterion=">= 1", value=2)
    with pytest.raises(TypeError, match="needs a number"):
        at_least(1)("many")
    with pytest.raises(ValueError, match="NaN"):
        at_least(1)(float("nan"))
    with pytest.raises(TypeError, match="needs a bool"):
        is_true("x")(1)
    with pytest.raises(ValueError, match="partly"):
        at_least(1, partly=2)
    assert len(ledger) == 0


def test_show_displays_html(capsys):
    ledger = Ledger("t")
    ledger.add("c", source="s", lecture="l", measured="m")
    ledger.show()  # outside a notebook IPython prints the repr; must not raise
    assert ledger.verdicts() == {"c": ""}
