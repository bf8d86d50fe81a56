import pytest

from lecture_lib.ledger import Ledger


def test_ledger_renders_rows_in_markdown_and_html():
    acc = 0.9731
    ledger = Ledger("CNN recap")
    ledger.add("LeNet learns digits", source="slides: Recap", lecture="0.95 (MNIST)",
               measured=f"{acc:.3f}", note="a|b <i>")
    md = ledger.to_markdown()
    assert "| LeNet learns digits | slides: Recap | 0.95 (MNIST) | 0.973 | a\\|b <i> |" in md
    html = ledger._repr_html_()
    assert "0.973" in html and "&lt;i&gt;" in html and "<i>" not in html
    assert len(ledger) == 1


def test_ledger_rejects_numbers_and_empty_cells():
    ledger = Ledger("x")
    with pytest.raises(TypeError, match="measured must be a str, got float"):
        ledger.add("claim", source="s", lecture="l", measured=0.5)
    with pytest.raises(ValueError, match="must not be empty"):
        ledger.add("claim", source="s", lecture="l", measured=" ")
    with pytest.raises(ValueError, match="title must be a non-empty str"):
        Ledger("")


def test_show_displays_html(capsys):
    ledger = Ledger("t")
    ledger.add("c", source="s", lecture="l", measured="m")
    ledger.show()  # outside a notebook IPython prints the repr; must not raise
