"""Real English text and the Google analogy questions, offline: the files in gensim's wheel.

gensim (LGPL-2.1) ships its test data inside the wheel, under ``gensim/test/test_data``. Checked
for gensim 4.4.0 (sizes in bytes):

- ``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2`` (1,695,871): a shortened
  English Wikipedia dump, 106 articles ("Anarchism", "Autism", ...). Parsed with gensim's own
  ``WikiCorpus`` (markup stripped, lower-cased, tokens of 2-15 letters): 452,944 tokens. Wikipedia
  text is CC BY-SA (and GFDL). **This is the corpus of notebook 07** (``wiki_sentences``).
- ``head500.noblanks.cor`` (2,286,142; 331,339 tokens in 250 lines): the start of text8 (also
  Wikipedia), but **Porter-stemmed and with stop words removed** ("anarch greek rule stem archon
  ..."). Stemmed words cannot answer the analogy questions ("greece" is "greec" there), so it is not
  used for training; ``head500_sentences`` loads it for inspection.
- ``questions-words.txt`` (603,955): Mikolov et al.'s Google analogy test set from the original
  word2vec distribution (Apache-2.0): 19,544 questions "a b c d" (a is to b as c is to d) in 14
  sections, 5 semantic (8,869 questions) and 9 syntactic ("gram*", 10,675).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
HEAD500_FILE = "head500.noblanks.cor"
QUESTIONS_FILE = "questions-words.txt"
SEMANTIC_SECTIONS = ("capital-common-countries", "capital-world", "currency", "city-in-state", "family")


def gensim_test_data(name: str) -> Path:
    """Path of one file of gensim's bundled test data; a clear error if gensim or the file is missing."""
    try:
        folder = Path(str(resources.files("gensim") / "test" / "test_data"))
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "notebook 07's text ships inside gensim's wheel: pip install 'gensim>=4.3'"
        ) from None
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{name} is not in gensim's test data ({folder}); is gensim >= 4.3 installed?"
        )
    return path


@functools.lru_cache(maxsize=2)
def _wiki_articles() -> tuple[tuple[str, ...], ...]:
    from gensim.corpora.wikicorpus import WikiCorpus

    # dictionary={} skips gensim's vocabulary pass; processes=1: deterministic and no worker pool
    corpus = WikiCorpus(str(gensim_test_data(WIKI_FILE)), dictionary={}, processes=1)
    return tuple(tuple(article) for article in corpus.get_texts())


def wiki_sentences(max_words: int | None = None, *, chunk: int = 1000) -> list[list[str]]:
    """The shortened Wikipedia dump as lower-case token lists.

    Articles are cut into pieces of at most ``chunk`` tokens (gensim's ``Word2Vec`` silently
    truncates sentences longer than 10,000 tokens; equal pieces give every trainer the same text).

    Args:
        max_words: keep only the first ``max_words`` tokens (a prefix: the corpora of a learning
            curve are nested); ``None`` keeps all 452,944.
        chunk: the longest piece, in tokens.

    Returns:
        list of sentences, each a list of str.
    """
    if max_words is not None and (
        isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1
    ):
        raise ValueError(f"max_words must be a positive int or None, got {max_words!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 2:
        raise ValueError(f"chunk must be an int >= 2, got {chunk!r}")
    sentences, left = [], max_words if max_words is not None else float("inf")
    for article in _wiki_articles():
        for start in range(0, len(article), chunk):
            piece = list(article[start : start + chunk])[: int(min(chunk, left))]
            if piece:
                sentences.append(piece)
            left -= len(piece)
            if left <= 0:
                return sentences
    return sentences


def head500_sentences() -> list[list[str]]:
    """``head500.noblanks.cor``: 250 lines of stemmed text8 without stop words (inspection only)."""
    with open(gensim_test_data(HEAD500_FILE), encoding="utf-8") as f:
        return [line.split() for line in f if line.strip()]


@dataclass(frozen=True)
class AnalogyQuestion:
    """ "``a`` is to ``b`` as ``c`` is to ``d``", lower-cased, with its section."""

    section: str
    a: str
    b: str
    c: str
    d: str

    @property
    def semantic(self) -> bool:
        return self.section in SEMANTIC_SECTIONS


def analogy_questions(path: str | Path | None = None) -> list[AnalogyQuestion]:
    """The Google analogy questions (``questions-words.txt``), lower-cased, in file order.

    Args:
        path: another file in the same format (``": section"`` lines, then ``a b c d`` lines);
            default the copy in gensim's wheel.
    """
    path = Path(path) if path is not None else gensim_test_data(QUESTIONS_FILE)
    questions, section = [], None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.startswith(": "):
                section = line[2:].strip()
                continue
            words = line.lower().split()
            if not words:
                continue
            if section is None or len(words) != 4:
                raise ValueError(
                    f"{path}:{number}: expected a ': section' line, then 4 words a line, got {line.strip()!r}"
                )
            questions.append(AnalogyQuestion(section, *words))
    return questions
