"""PPMI + SVD: co-occurrence counts against a loop, PPMI against its formula, the SVD against numpy's."""

import math

import numpy as np
import pytest
import torch

from lecture_lib.embeddings.counts import cooccurrence, ppmi, ppmi_svd_vectors


def test_cooccurrence_matches_loop():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 7, (60,), generator=g)
    sentence = torch.sort(torch.randint(0, 3, (60,), generator=g)).values
    expected = np.zeros((7, 7))
    for i in range(60):
        for j in range(60):
            d = abs(i - j)
            if 1 <= d <= 3 and sentence[i] == sentence[j]:
                expected[ids[i], ids[j]] += (3 - d + 1) / 3
    np.testing.assert_allclose(cooccurrence(ids, sentence, 7, window=3).toarray(), expected)


def test_ppmi_matches_formula():
    counts = np.array([[0.0, 4, 1], [4, 2, 0], [1, 0, 6]])
    import scipy.sparse

    got = ppmi(scipy.sparse.csr_matrix(counts), alpha=0.75).toarray()
    total = counts.sum()
    ctx = counts.sum(0) ** 0.75
    for i in range(3):
        for j in range(3):
            if counts[i, j] == 0:
                assert got[i, j] == 0
                continue
            pmi = math.log((counts[i, j] / total) / (counts[i].sum() / total * ctx[j] / ctx.sum()))
            assert got[i, j] == pytest.approx(max(pmi, 0.0))


def test_vectors_are_the_top_singular_directions():
    g = torch.Generator().manual_seed(1)
    words = [f"w{i}" for i in range(40)]
    sentences = [[words[int(k)] for k in torch.randint(0, 40, (30,), generator=g)] for _ in range(80)]
    vocab, vectors = ppmi_svd_vectors(sentences, dim=5, window=2, min_count=1, eig=1.0)
    assert vectors.shape == (len(vocab), 5)
    ids, sentence = vocab.encode(sentences)
    dense = ppmi(cooccurrence(ids, sentence, len(vocab), 2)).toarray()
    s = np.linalg.svd(dense, compute_uv=False)[:5]  # with eig=1 the column norms are the singular values
    np.testing.assert_allclose(vectors.norm(dim=0).numpy(), s, rtol=1e-3)
    again = ppmi_svd_vectors(sentences, dim=5, window=2, min_count=1, eig=1.0)[1]
    torch.testing.assert_close(vectors, again)
    with pytest.raises(ValueError, match="dim must be between 1 and V - 1 = 39, got 40"):
        ppmi_svd_vectors(sentences, dim=40, min_count=1)
    with pytest.raises(ValueError, match="window must be a positive int"):
        cooccurrence(ids, sentence, len(vocab), 0)
