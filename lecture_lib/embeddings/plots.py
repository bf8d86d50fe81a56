"""Figures for notebook 07, words: relation vectors in a 2-D PCA of the word vectors."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from torch import Tensor

from lecture_lib.embeddings.words import check_vectors, unit_rows, word_index

MALE_FEMALE = (
    ("man", "woman"), ("king", "queen"), ("boy", "girl"), ("brother", "sister"),
    ("father", "mother"), ("son", "daughter"), ("he", "she"), ("uncle", "aunt"),
)  # fmt: skip
COUNTRY_CAPITAL = (
    ("france", "paris"), ("italy", "rome"), ("germany", "berlin"), ("spain", "madrid"),
    ("russia", "moscow"), ("japan", "tokyo"), ("china", "beijing"), ("greece", "athens"),
)  # fmt: skip


def known_pairs(vocab: Sequence[str], pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs whose two words are both in ``vocab``."""
    index = word_index(list(vocab))
    return [(x, y) for x, y in pairs if x in index and y in index]


def plot_relations(vectors: Tensor, vocab: Sequence[str], pairs: Sequence[tuple[str, str]], *, ax=None,
                   title: str = "relation vectors, 2-D PCA of unit word vectors"):  # fmt: skip
    """Arrows x → y for each pair (both words in ``vocab``) in the 2-D PCA of their unit vectors.

    Parallel arrows of similar length are the slide's "linear regularities". Returns the Axes.
    """
    check_vectors(vectors)
    pairs = known_pairs(vocab, pairs)
    if len(pairs) < 2:
        raise ValueError(f"need at least 2 pairs with both words in the vocabulary, got {pairs}")
    index = word_index(list(vocab))
    words = [w for pair in pairs for w in pair]
    x = unit_rows(vectors[[index[w] for w in words]]).numpy()
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    xy = x @ vt[:2].T  # (2P, 2) PCA coordinates
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
    for k, (a, b) in enumerate(pairs):
        p, q = xy[2 * k], xy[2 * k + 1]
        ax.annotate("", xy=q, xytext=p, arrowprops=dict(arrowstyle="->", color="tab:blue", lw=1))
        ax.text(*p, a, fontsize=7, color="black")
        ax.text(*q, b, fontsize=7, color="tab:red")
    ax.scatter(xy[:, 0], xy[:, 1], s=6, color="gray")
    ax.set(title=title, xlabel="PC 1", ylabel="PC 2")
    return ax
