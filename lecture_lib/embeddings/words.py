"""Vector arithmetic on word vectors: nearest neighbours by cosine, and analogies by 3CosAdd.

"a is to b as c is to ?" (Mikolov et al. 2013): the answer is the word whose vector is nearest by
cosine to b̂ − â + ĉ (hats: unit length), the three question words excluded. This is gensim's
``KeyedVectors.most_similar(positive=[b, c], negative=[a])``; the tests check the two agree.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lecture_lib.checks import check_int


def check_vectors(vectors: Tensor, name: str = "vectors") -> None:
    """``vectors`` must be a floating Tensor[V, D] with V, D >= 1."""
    if not isinstance(vectors, Tensor):
        raise TypeError(f"{name} must be a Tensor[V, D], got {type(vectors).__name__}")
    if vectors.ndim != 2 or vectors.shape[0] < 1 or vectors.shape[1] < 1:
        raise ValueError(f"{name} must have shape (V, D) with V, D >= 1, got {tuple(vectors.shape)}")
    if not vectors.dtype.is_floating_point:
        raise TypeError(f"{name} must be floating point, got dtype {vectors.dtype}")
    if not torch.isfinite(vectors).all():  # a NaN row would otherwise come out as the best answer
        rows = (~torch.isfinite(vectors)).any(dim=1).nonzero().flatten()
        raise ValueError(
            f"{name} must be finite, got NaN/inf in {len(rows)} row(s), first row {int(rows[0])}"
        )


def _check_k(k: int, limit: int, name: str, what: str) -> int:
    k = check_int(k, name, low=None)  # Python, NumPy and 0-d tensor ints; never bools or floats
    if not 1 <= k <= limit:
        raise ValueError(f"{name} must be between 1 and {limit} ({what}), got {k}")
    return k


def unit_rows(vectors: Tensor) -> Tensor:
    """Tensor[V, D] -> Tensor[V, D] float32, every row scaled to length 1 (zero rows stay zero)."""
    return F.normalize(vectors.float(), dim=1)


def nearest(vectors: Tensor, query: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The ``k`` rows of ``vectors`` nearest to ``query`` by cosine similarity, best first.

    Args:
        vectors (Tensor[V, D]): one vector per word (any length; compared by direction).
        query (Tensor[D]): a non-zero query vector.
        k: how many, 1 <= k <= V.

    Returns:
        (indices Tensor[k] int64, cosines Tensor[k] float32): row numbers and cos(query, row).
    """
    check_vectors(vectors)
    if not isinstance(query, Tensor):
        raise TypeError(f"query must be a Tensor[D], got {type(query).__name__}")
    if query.ndim != 1 or query.shape[0] != vectors.shape[1]:
        raise ValueError(
            f"query must have shape ({vectors.shape[1]},) to match vectors (V, D) = {tuple(vectors.shape)}, "
            f"got {tuple(query.shape)}"
        )
    k = _check_k(k, vectors.shape[0], "k", f"the number of vectors V = {vectors.shape[0]}")
    q = query.float()
    norm = q.norm()
    if not torch.isfinite(norm) or norm == 0:
        raise ValueError(f"query must be a finite, non-zero vector, got norm {norm.item()}")
    cosines = unit_rows(vectors) @ (q / norm)  # (V,)
    top = torch.topk(cosines, k)
    return top.indices, top.values


def word_index(vocab: list[str] | tuple[str, ...]) -> dict[str, int]:
    """``{word: row}``; for a word listed twice the first (in a frequency-sorted vocab, most frequent) row."""
    index: dict[str, int] = {}
    for i, word in enumerate(vocab):
        index.setdefault(word, i)
    return index


def _row_of(index: dict[str, int], word: str, name: str) -> int:
    if not isinstance(word, str):
        raise TypeError(f"{name} must be a word (str), got {type(word).__name__} ({word!r})")
    if word not in index:
        raise ValueError(f"{name} = {word!r} is not in the vocabulary ({len(index):,} words)")
    return index[word]


def analogy(
    vectors: Tensor, vocab: list[str] | tuple[str, ...], a: str, b: str, c: str, topn: int = 1
) -> list[tuple[str, float]]:
    """ "``a`` is to ``b`` as ``c`` is to ?" by 3CosAdd: the words nearest to b̂ − â + ĉ.

    Args:
        vectors (Tensor[V, D]): word vectors, row ``i`` for ``vocab[i]``.
        vocab: the V words.
        a, b, c: the question ("man", "king", "woman" asks for the queen).
        topn: how many answers, 1 <= topn <= V - 3.

    Returns:
        ``topn`` pairs ``(word, cosine)``, best first: cosine of each word's unit vector with the unit
        vector of b̂ − â + ĉ; ``a``, ``b`` and ``c`` themselves are excluded (gensim's
        ``most_similar(positive=[b, c], negative=[a], topn=topn)``).
    """
    check_vectors(vectors)
    if not isinstance(vocab, (list, tuple)) or len(vocab) != vectors.shape[0]:
        got = len(vocab) if isinstance(vocab, (list, tuple)) else type(vocab).__name__
        raise ValueError(f"vocab must be a list of V = {vectors.shape[0]} words (one per row), got {got}")
    index = word_index(vocab)
    rows = [_row_of(index, w, name) for w, name in ((a, "a"), (b, "b"), (c, "c"))]
    topn = _check_k(
        topn, vectors.shape[0] - len(set(rows)), "topn", "the vocabulary minus the question words"
    )
    unit = unit_rows(vectors)
    query = F.normalize(unit[rows[1]] - unit[rows[0]] + unit[rows[2]], dim=0)  # b̂ − â + ĉ, unit length
    cosines = unit @ query  # (V,)
    cosines[rows] = -torch.inf  # the question words are never the answer
    top = torch.topk(cosines, topn)
    return [(vocab[i], float(s)) for i, s in zip(top.indices.tolist(), top.values.tolist())]
