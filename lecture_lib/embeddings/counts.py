"""The count-based baseline: positive PMI of word-context co-occurrences, reduced by truncated SVD.

Levy, Goldberg and Dagan (2015) showed that with word2vec's tricks carried over (a dynamic-window
weighting, context-distribution smoothing with power 0.75, the SVD's singular values to the power
0.5) this classic pipeline is a close competitor of SGNS: SGNS itself implicitly factorises a
shifted PMI matrix (Levy and Goldberg 2014).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse
import torch
from sklearn.utils.extmath import randomized_svd
from torch import Tensor

from lecture_lib.checks import check_int, check_number, check_tensor
from lecture_lib.embeddings.sgns import Vocab


def cooccurrence(ids: Tensor, sentence: Tensor, vocab_size: int, window: int = 5) -> scipy.sparse.csr_matrix:
    """Symmetric word-context counts within ``window``, a context at distance d weighted
    (window − d + 1) / window (the chance that word2vec's dynamic window reaches it).

    Args:
        ids, sentence (Tensor[N]): the encoded corpus (``Vocab.encode``).

    Returns:
        csr_matrix[V, V] float64.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive int, got {window!r}")
    n = check_tensor(ids, "ids", "(N)", dtype="int")
    check_tensor(sentence, "sentence", "(N)", dtype="int", sizes=n)
    check_int(vocab_size, "vocab_size", low=1)
    if len(ids) and not 0 <= int(ids.min()) <= int(ids.max()) < vocab_size:
        raise ValueError(f"ids must lie in [0, {vocab_size}), got {int(ids.min())}..{int(ids.max())}")
    rows, cols, weights = [], [], []
    for d in range(1, window + 1):
        same = (sentence[:-d] == sentence[d:]).numpy()
        left, right = ids[:-d].numpy()[same], ids[d:].numpy()[same]
        w = np.full(len(left), (window - d + 1) / window)
        rows += [left, right]
        cols += [right, left]
        weights += [w, w]
    shape = (vocab_size, vocab_size)
    coo = scipy.sparse.coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape
    )
    return coo.tocsr()  # duplicates summed


def ppmi(counts: scipy.sparse.csr_matrix, alpha: float = 0.75) -> scipy.sparse.csr_matrix:
    """max(0, log P(w, c) / (P(w) P_α(c))), context probabilities smoothed by the power ``alpha``."""
    if not scipy.sparse.issparse(counts) or counts.ndim != 2:
        raise TypeError(f"counts must be a scipy.sparse matrix [V, V], got {type(counts).__name__}")
    check_number(alpha, "alpha", low=0.0, low_open=True)
    if counts.nnz and (not np.isfinite(counts.data).all() or counts.data.min() < 0):
        raise ValueError("counts must be finite and >= 0, got negative or NaN/inf entries")
    total = counts.sum()
    word = np.asarray(counts.sum(axis=1)).ravel() / total
    context = np.asarray(counts.sum(axis=0)).ravel() ** alpha
    context /= context.sum()
    coo = counts.tocoo()
    pmi = np.log(coo.data / total / (word[coo.row] * context[coo.col]))
    keep = pmi > 0
    return scipy.sparse.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape)


def ppmi_svd_vectors(
    sentences: Sequence[Sequence[str]],
    *,
    dim: int = 100,
    window: int = 5,
    min_count: int = 5,
    alpha: float = 0.75,
    eig: float = 0.5,
    seed: int = 0,
) -> tuple[Vocab, Tensor]:
    """Word vectors U_d · Σ_d^eig of the PPMI matrix's truncated SVD.

    Args:
        sentences: tokenised text (the same as for ``train_sgns``).
        dim: number of singular vectors kept (D).
        window, min_count: as in word2vec.
        alpha: context-distribution smoothing; eig: power of the singular values.
        seed: seeds the randomized SVD (Halko et al. 2011, scikit-learn's ``randomized_svd`` with 8
            power iterations: the top singular vectors to a few digits, in seconds instead of ARPACK's
            minute on the 9,002-word vocabulary of notebook 07).

    Returns:
        (vocab, vectors Tensor[V, D] float32), rows in ``vocab.words`` order.
    """
    check_int(dim, "dim", low=None)
    check_int(window, "window", low=1)
    check_int(seed, "seed", low=0)
    check_number(alpha, "alpha", low=0.0, low_open=True)
    check_number(eig, "eig")
    vocab = Vocab.build(sentences, min_count)
    if not 1 <= dim < len(vocab):
        raise ValueError(f"dim must be between 1 and V - 1 = {len(vocab) - 1}, got {dim}")
    ids, sentence = vocab.encode(sentences)
    matrix = ppmi(cooccurrence(ids, sentence, len(vocab), window), alpha)
    u, s, _ = randomized_svd(matrix.astype(np.float32), dim, n_oversamples=30, n_iter=8, random_state=seed)
    return vocab, torch.from_numpy(np.ascontiguousarray(u * s**eig)).float()
