"""The text and analogy questions shipped in gensim's wheel."""

import pytest

from lecture_lib.datasets import text


def test_analogy_questions_counts():
    qs = text.analogy_questions()
    assert len(qs) == 19_544
    assert sum(q.semantic for q in qs) == 8_869  # Mikolov et al.: 8,869 semantic, 10,675 syntactic
    assert len({q.section for q in qs}) == 14
    assert qs[0] == text.AnalogyQuestion("capital-common-countries", "athens", "greece", "baghdad", "iraq")


def test_analogy_file_errors(tmp_path):
    bad = tmp_path / "q.txt"
    bad.write_text("athens greece baghdad iraq\n")
    with pytest.raises(ValueError, match="q.txt:1: expected a ': section' line"):
        text.analogy_questions(bad)
    bad.write_text(": family\nboy girl man\n")
    with pytest.raises(ValueError, match="q.txt:2.*'boy girl man'"):
        text.analogy_questions(bad)


def test_wiki_sentences_prefix_and_chunks():
    full = text.wiki_sentences()
    tokens = [w for s in full for w in s]
    assert len(tokens) == 452_944 and max(map(len, full)) <= 1000
    assert all(w == w.lower() for w in tokens[:5000])
    part = text.wiki_sentences(12_345, chunk=100)
    flat = [w for s in part for w in s]
    assert flat == tokens[:12_345] and max(map(len, part)) <= 100
    with pytest.raises(ValueError, match="max_words must be a positive int or None, got 0"):
        text.wiki_sentences(0)


def test_head500_is_stemmed_text():
    lines = text.head500_sentences()
    words = {w for s in lines for w in s}
    assert len(lines) == 250 and sum(map(len, lines)) == 331_339
    assert "philosophi" in words and "the" not in words  # Porter stems, stop words removed


def test_missing_file_message():
    with pytest.raises(FileNotFoundError, match="nope.txt is not in gensim's test data"):
        text.gensim_test_data("nope.txt")
