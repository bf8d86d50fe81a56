"""The count-based exercise of 07_embeddings.ipynb (``exercises.py`` registers it): ``my_ppmi``.

- ``my_ppmi(sentences, vocab_size, window, alpha=0.75)``: the positive PMI matrix of a corpus of
  word ids, counted in a symmetric window whose words at distance d weigh (window - d + 1) / window,
  never across a sentence boundary, the context distribution smoothed by the power ``alpha``
  (about 17 lines).

The reference is a loop over Python numbers, independent of ``lecture_lib.embeddings.counts`` (its
``cooccurrence`` and ``ppmi`` are the library twins the exercise refuses).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.exercises import Case

PPMI_TWINS = (
    "lecture_lib.embeddings.ppmi_svd_vectors",
    "lecture_lib.embeddings.counts.ppmi_svd_vectors",
    "lecture_lib.embeddings.counts.ppmi",
    "lecture_lib.embeddings.counts.cooccurrence",
)


def ppmi(sentences: list[list[int]], vocab_size: int, window: int, alpha: float = 0.75) -> Tensor:
    """Positive pointwise mutual information of word-context pairs.

    Args:
        sentences: word ids in ``[0, vocab_size)``, one list per sentence.
        vocab_size: V.
        window: a context word at distance ``1 <= d <= window`` in the same sentence, on either side,
            adds ``(window - d + 1) / window`` to the count ``C[w, c]``.
        alpha: context-distribution smoothing: ``P_a(c) = C(c)^alpha / sum_c' C(c')^alpha``.

    Returns:
        Tensor[V, V] float64: ``max(0, log(P(w, c) / (P(w) P_a(c))))`` where ``C[w, c] > 0``, else 0
        (all zero when the corpus has no pair), with ``P(w, c) = C[w, c] / sum C`` and
        ``P(w) = sum_c C[w, c] / sum C``.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive int, got {window!r}")
    seen = [w for sentence in sentences for w in sentence]
    if seen and not 0 <= min(seen) <= max(seen) < vocab_size:
        raise ValueError(f"word ids must lie in [0, {vocab_size}), got {min(seen)}..{max(seen)}")
    counts: dict[tuple[int, int], float] = {}
    for sentence in sentences:
        for i, word in enumerate(sentence):
            for d in range(1, window + 1):
                if i + d < len(sentence):
                    other, weight = sentence[i + d], (window - d + 1) / window
                    counts[word, other] = counts.get((word, other), 0.0) + weight
                    counts[other, word] = counts.get((other, word), 0.0) + weight
    total = sum(counts.values())
    row, col = [0.0] * vocab_size, [0.0] * vocab_size
    for (w, c), n in counts.items():
        row[w] += n
        col[c] += n
    smooth = sum(x**alpha for x in col)
    out = [[0.0] * vocab_size for _ in range(vocab_size)]
    for (w, c), n in counts.items():
        pmi = math.log((n / total) / ((row[w] / total) * (col[c] ** alpha / smooth)))
        out[w][c] = max(0.0, pmi)
    return torch.tensor(out, dtype=torch.float64).reshape(vocab_size, vocab_size)


def _corpus(g: torch.Generator, vocab_size: int, lengths: list[int]) -> list[list[int]]:
    """Sentences of Zipf-like word ids (id r drawn with weight 1 / (r + 1)): frequent and rare words."""
    weights = 1.0 / torch.arange(1, vocab_size + 1, dtype=torch.float64)
    return [torch.multinomial(weights, n, replacement=True, generator=g).tolist() for n in lengths]


TOY = "the cat sat on the mat . the dog sat on the log".split()


def _toy() -> list[list[int]]:
    ids = {w: i for i, w in enumerate(dict.fromkeys(w for w in TOY if w != "."))}  # 7 words
    text = " ".join(TOY).split(" . ")
    return [[ids[w] for w in sentence.split()] for sentence in text]


def ppmi_cases() -> list[Case]:
    g = torch.Generator().manual_seed(7)
    return [
        Case((_toy(), 7, 2), name="the cat sat on the mat / the dog sat on the log, window 2"),
        Case((_corpus(g, 20, [12, 30, 7, 25, 18]), 20, 3), name="5 sentences over 20 words, window 3"),
        Case((_corpus(g, 15, [40, 40]), 15, 2, 1.0), name="2 sentences, window 2, alpha = 1 (no smoothing)"),
    ]


def ppmi_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(73)
    return [
        Case(([[0], [1], [], [2]], 3, 2), name="no pair at all (one-word and empty sentences): zeros"),
        Case(([[0, 1, 2], [3, 4]], 5, 8), name="window longer than every sentence"),
        Case(([[0, 0, 1, 0, 0]], 2, 2), name="a word next to itself (the diagonal)"),
        Case(([[2, 3, 2, 5], [5, 3]], 9, 2), name="words never seen: zero rows and columns"),
        Case(([[0, 1], [2, 3], [1, 2]], 4, 3), name="no pair across a sentence boundary"),
        Case((_corpus(g, 30, [50, 3, 80, 1, 20]), 30, 1), name="window 1"),
        Case(
            (_corpus(g, 50, [200, 150, 120]), 50, 5, 0.5),
            name="3 sentences over 50 words, window 5, alpha 0.5",
        ),
    ]
