"""The Google analogy test (Mikolov et al. 2013): accuracy per section, semantic, syntactic, total.

The protocol of word2vec's ``compute-accuracy`` and gensim's ``evaluate_word_analogies``: 3CosAdd
over the first ``restrict_vocab`` words (vocabularies are sorted by frequency), case-insensitive,
the three question words excluded; a question with a word outside that vocabulary cannot be asked.
gensim skips those silently; here they are **counted**: every score says how many questions were
asked (``covered``) out of how many there are (``questions``), and ``accuracy_all`` counts the
uncovered ones as wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from lecture_lib.datasets.text import AnalogyQuestion, analogy_questions
from lecture_lib.embeddings.words import check_vectors, unit_rows


@dataclass(frozen=True)
class Score:
    """``correct`` of ``covered`` questions answered right; ``questions`` in all (covered + OOV)."""

    name: str
    correct: int
    covered: int
    questions: int

    @property
    def accuracy(self) -> float:
        """Share of the covered questions answered right (gensim's number); NaN if none covered."""
        return self.correct / self.covered if self.covered else float("nan")

    @property
    def accuracy_all(self) -> float:
        """Share of all questions answered right, out-of-vocabulary ones counted as wrong."""
        return self.correct / self.questions if self.questions else float("nan")

    @property
    def oov(self) -> int:
        return self.questions - self.covered

    def __str__(self) -> str:
        return (
            f"{self.name}: {100 * self.accuracy:.1f}% of {self.covered:,} covered "
            f"({self.correct:,} right; {self.oov:,} of {self.questions:,} out of vocabulary)"
        )


@dataclass(frozen=True)
class AnalogyReport:
    """Per-question outcome and the scores built from it (rows follow ``questions``)."""

    questions: tuple[AnalogyQuestion, ...]
    predicted: tuple[str | None, ...]  # the answer given, None where the question was not covered
    correct: Tensor  # Tensor[Q] bool
    covered: Tensor  # Tensor[Q] bool

    @classmethod
    def from_masks(
        cls, questions: Sequence[AnalogyQuestion], correct: Tensor, covered: Tensor
    ) -> AnalogyReport:
        """A report from stored outcomes (Tensor[Q] bool each), without the answers themselves."""
        if correct.shape != (len(questions),) or covered.shape != correct.shape:
            raise ValueError(
                f"correct and covered must be Tensor[Q] with Q = {len(questions)}, "
                f"got {tuple(correct.shape)} and {tuple(covered.shape)}"
            )
        if (correct & ~covered).any():
            raise ValueError("a question cannot be correct without being covered")
        return cls(tuple(questions), (None,) * len(questions), correct.bool(), covered.bool())

    def score(self, name: str = "total", mask: Tensor | None = None) -> Score:
        """The score over the questions where ``mask`` (Tensor[Q] bool) is set (all by default)."""
        m = torch.ones(len(self.questions), dtype=torch.bool) if mask is None else mask
        return Score(name, int((self.correct & m).sum()), int((self.covered & m).sum()), int(m.sum()))

    @property
    def sections(self) -> dict[str, Score]:
        """One ``Score`` per section, in file order."""
        names = list(dict.fromkeys(q.section for q in self.questions))
        labels = [q.section for q in self.questions]
        return {s: self.score(s, torch.tensor([lab == s for lab in labels])) for s in names}

    @property
    def semantic(self) -> Score:
        return self.score("semantic", torch.tensor([q.semantic for q in self.questions]))

    @property
    def syntactic(self) -> Score:
        return self.score("syntactic", torch.tensor([not q.semantic for q in self.questions]))

    @property
    def total(self) -> Score:
        return self.score("total")

    def table(self) -> str:
        """Plain-text table: one line per section, then semantic, syntactic, total."""
        rows = [*self.sections.values(), self.semantic, self.syntactic, self.total]
        lines = [f"{'section':28s} {'accuracy':>8s} {'right':>6s} {'covered':>8s} {'questions':>9s}"]
        for s in rows:
            acc = f"{100 * s.accuracy:7.1f}%" if s.covered else "       -"
            lines.append(f"{s.name:28s} {acc} {s.correct:6d} {s.covered:8d} {s.questions:9d}")
        return "\n".join(lines)


def evaluate_analogies(
    vectors: Tensor,
    vocab: Sequence[str],
    questions: Sequence[AnalogyQuestion] | None = None,
    *,
    restrict_vocab: int = 300_000,
    batch_size: int = 256,
) -> AnalogyReport:
    """Answer every analogy question with 3CosAdd and score it.

    Args:
        vectors (Tensor[V, D]): word vectors; ``vocab`` sorted by frequency, most frequent first.
        vocab: the V words.
        questions: default all 19,544 Google questions (``datasets.text.analogy_questions()``).
        restrict_vocab: only the first ``restrict_vocab`` words answer or are asked about (gensim's
            default 300,000).
        batch_size: questions scored per matrix product (a [batch_size, V] cosine matrix: 300 MB for
            GloVe's 300,000 words at 256).

    Returns:
        AnalogyReport (``.sections``, ``.semantic``, ``.syntactic``, ``.total``, ``.table()``).
    """
    check_vectors(vectors)
    if len(vocab) != vectors.shape[0]:
        raise ValueError(f"vocab must hold V = {vectors.shape[0]} words (one per row), got {len(vocab)}")
    for name, value in (("restrict_vocab", restrict_vocab), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    questions = tuple(analogy_questions() if questions is None else questions)
    n = min(restrict_vocab, len(vocab))
    words = [w.lower() for w in vocab[:n]]
    index: dict[str, int] = {}
    for i, w in enumerate(words):  # case-insensitive; the most frequent spelling wins, as in gensim
        index.setdefault(w, i)
    covered = torch.tensor(
        [all(w in index for w in (q.a, q.b, q.c, q.d)) for q in questions], dtype=torch.bool
    )
    asked = covered.nonzero().flatten().tolist()
    abcd = torch.tensor([[index[w] for w in (questions[i].a, questions[i].b, questions[i].c, questions[i].d)]
                         for i in asked], dtype=torch.long).reshape(-1, 4)  # fmt: skip
    unit = unit_rows(vectors[:n])
    answers = torch.empty(len(asked), dtype=torch.long)
    for s in range(0, len(asked), batch_size):
        a, b, c = abcd[s : s + batch_size, :3].unbind(1)
        query = torch.nn.functional.normalize(unit[b] - unit[a] + unit[c], dim=1)  # (Q, D) b̂ − â + ĉ
        cosines = query @ unit.T  # (Q, n)
        cosines.scatter_(1, abcd[s : s + batch_size, :3], -torch.inf)  # the question words are excluded
        answers[s : s + batch_size] = cosines.argmax(dim=1)
    predicted: list[str | None] = [None] * len(questions)
    correct = torch.zeros(len(questions), dtype=torch.bool)
    for i, row in zip(asked, answers.tolist()):
        predicted[i] = words[row]
        correct[i] = words[row] == questions[i].d
    return AnalogyReport(questions, tuple(predicted), correct, covered)
