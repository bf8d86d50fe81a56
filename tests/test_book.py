"""tools/book.py: the link check finds what a reader would hit, and the pages are built as promised."""

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402


def test_link_check_finds_broken_links_missing_anchors_and_alt(tmp_path):
    (tmp_path / "a.html").write_text(
        '<a href="b.html#here">b</a><a href="gone.html">x</a><img src="f.png">'
        '<a href="#nowhere">n</a><a href="https://example.org">ok</a>'
    )
    (tmp_path / "b.html").write_text('<h2 id="elsewhere">b</h2>')
    problems = book.check_links(tmp_path)
    assert "a.html: broken link gone.html" in problems
    assert "a.html: missing anchor b.html#here" in problems and "a.html: missing anchor #nowhere" in problems
    assert any("image without alt text" in p for p in problems) and any("f.png" in p for p in problems)
    assert len(problems) == 5  # f.png is both missing and without alt; the external link is fine
    (tmp_path / "f.png").write_bytes(b"")
    (tmp_path / "gone.html").write_text("")
    (tmp_path / "b.html").write_text('<h2 id="here">b</h2>')
    (tmp_path / "a.html").write_text('<a href="b.html#here">b</a><img src="f.png" alt="a plot">')
    assert book.check_links(tmp_path) == []


def test_a_notebook_page_has_navigation_badges_and_the_figures_alt_text(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 01 · Test\n\n## 1. A section"),
        nbformat.v4.new_code_cell(
            "plot()",
            execution_count=1,
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
                    metadata={"image/png": {"alt": "Figure: loss (loss vs epoch)"}},
                )
            ],
        ),
    ]
    path = tmp_path / "nbs" / "01_test.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    out = tmp_path / "site"
    out.mkdir()
    book.render_notebook(path, out, ["01_test", "02_next"])
    page = (out / "01_test.html").read_text()
    assert 'alt="Figure: loss (loss vs epoch)"' in page and (out / "01_test_files" / "1_0.png").is_file()
    assert 'href="02_next.html"' in page and "colab.research.google.com" in page and "mybinder.org" in page


def test_scoreboard_lists_every_claim_and_the_rows_that_need_a_reason(tmp_path):
    from lecture_lib.claims import Claim, ClaimRegistry, Estimate
    from lecture_lib.ledger import Ledger

    paper = "R-CNN (Girshick et al. 2014), Table 2"
    reg = ClaimRegistry(
        "09_test",
        [
            Claim("t.a.holds", "A holds", paper, "effect", paper="x"),
            Claim("t.b.fails", "B fails", paper, "effect", paper="y"),
        ],
    )
    ledger = Ledger("Test", claims=reg)
    ledger.judge("t.a.holds", Estimate(0.90, 0.85, 0.95, n="10 images"))
    ledger.judge("t.b.fails", Estimate(-0.10, -0.15, -0.05, n="10 images"), why="too little data")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 09 · Test"),
        nbformat.v4.new_code_cell(
            "ledger.show()",
            execution_count=1,
            outputs=[nbformat.v4.new_output("display_data", data={"text/html": ledger._repr_html_()})],
        ),
    ]
    path = tmp_path / "09_test.ipynb"
    nbformat.write(nb, path)
    assert [r["claim"] for r in book.ledger_rows(nbformat.read(path, as_version=4))] == ["A holds", "B fails"]
    page = book.render_scoreboard([path])
    assert "2 claims in 1 notebooks" in page and "A holds" in page and "+0.900" in page
    attention = page.split('id="attention"')[1]
    assert "B fails" in attention and "too little data" in attention and "A holds" not in attention


def test_scoreboard_of_the_committed_notebooks_covers_all_nine():
    page = book.render_scoreboard(sorted((ROOT / "notebooks").glob("*.ipynb")))
    assert "claims in 9 notebooks" in page
