"""The exercises of 07_embeddings.ipynb: references, visible and hidden cases, refused shortcuts.

- ``my_analogy(vectors, vocab, a, b, c, topn)``: 3CosAdd, the ``topn`` answers with their cosines,
  the three question words excluded (about 8 lines).
- ``my_sgns_loss_grad(w_in, w_out, centre, context, noise)``: the skip-gram negative-sampling loss
  AND its gradients with respect to both embedding tables, without autograd; a word id may repeat
  in a batch, so its gradients add up (about 12 lines).
- ``my_ppmi(sentences, vocab_size, window, alpha=0.75)``: the positive PMI matrix of a corpus counted
  in word2vec's weighted symmetric window, context counts smoothed (about 17 lines;
  ``exercises_counts.py``).

The references are loops over Python numbers, independent of ``lecture_lib.embeddings``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.embeddings.exercises_counts import PPMI_TWINS, ppmi, ppmi_cases, ppmi_hidden
from lecture_lib.exercises import AUTOGRAD, LOOSE, Case, Exercise, Exercises


def analogy(
    vectors: Tensor, vocab: list[str], a: str, b: str, c: str, topn: int = 1
) -> list[tuple[str, float]]:
    """ "``a`` is to ``b`` as ``c`` is to ?": the ``topn`` pairs ``(word, cosine)``, best first, of the
    words nearest to ``unit(b) - unit(a) + unit(c)``; ``a``, ``b``, ``c`` excluded; equal cosines in
    vocabulary order."""
    unit = {w: [x / math.sqrt(sum(t * t for t in v)) for x in v] for w, v in zip(vocab, vectors.tolist())}
    q = [y - x + z for x, y, z in zip(unit[a], unit[b], unit[c])]
    norm = math.sqrt(sum(t * t for t in q))
    scores = [(w, sum(s * t for s, t in zip(unit[w], q)) / norm) for w in vocab if w not in (a, b, c)]
    return sorted(scores, key=lambda pair: -pair[1])[:topn]


def compare_answers(got: object, expected: list[tuple[str, float]]) -> str | None:
    """``None`` if ``got`` is a list of ``(word, cosine)`` with the same words in the same order and
    cosines within 1e-4; otherwise what differs."""
    if not isinstance(got, (list, tuple)):
        return f"expected a list of (word, cosine) pairs, got {type(got).__name__}"
    if len(got) != len(expected):
        return f"expected {len(expected)} pairs, got {len(got)}"
    for i, (pair, (word, cos)) in enumerate(zip(got, expected)):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return f"item {i}: expected a (word, cosine) pair, got {type(pair).__name__}"
        if not isinstance(pair[0], str) or pair[0] != word:
            return f"item {i}: expected the word {word!r}, got {pair[0]!r}"
        try:
            value = float(pair[1])
        except (TypeError, ValueError):
            return f"item {i}: the cosine must be a number, got {type(pair[1]).__name__}"
        if not math.isclose(value, cos, rel_tol=1e-4, abs_tol=1e-5):
            return f"item {i} ({word!r}): expected cosine {cos:.5f}, got {value:.5f}"
    return None


WORDS = [f"w{i}" for i in range(40)]


def _random_question(g: torch.Generator, dim: int, topn: int, name: str) -> Case:
    vec = torch.randn(40, dim, generator=g)
    a, b, c = (WORDS[i] for i in torch.randperm(40, generator=g)[:3].tolist())
    return Case((vec, WORDS, a, b, c, topn), name=name)


def _royal() -> tuple[Tensor, list[str]]:
    """Six words on two directions (gender, royalty) plus noise words: king - man + woman = queen."""
    words = ["man", "woman", "king", "queen", "apple", "car"]
    vec = torch.tensor(
        [
            [1.0, 0.0, 0.1],
            [-1.0, 0.0, 0.1],
            [1.0, 1.0, 0.0],
            [-1.0, 1.0, 0.0],
            [0.1, -1.0, 1.0],
            [0.3, 0.2, -1.0],
        ]
    )
    return vec, words


def _analogy_cases() -> list[Case]:
    g = torch.Generator().manual_seed(5)
    cases = [
        _random_question(g, d, k, f"random vectors (D={d}, topn={k})") for d, k in [(8, 1), (16, 3), (4, 5)]
    ]
    vec, words = _royal()
    cases.append(Case((vec, words, "man", "king", "woman", 2), name="king - man + woman"))
    return cases


def _analogy_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(71)
    vec, words = _royal()
    scaled = vec * torch.tensor([[3.0], [0.5], [10.0], [0.1], [2.0], [7.0]])  # lengths must not matter
    cases = [
        Case((scaled, words, "man", "king", "woman", 3), name="vectors of different lengths"),
        Case((vec, words, "woman", "queen", "man", 3), name="all remaining words (topn = V - 3)"),
    ]
    cases += [
        _random_question(g, d, k, f"random vectors {i} (D={d}, topn={k})")
        for i, (d, k) in enumerate([(2, 4), (50, 10), (300, 1)])
    ]
    return cases


def sgns_loss_grad(
    w_in: Tensor, w_out: Tensor, centre: Tensor, context: Tensor, noise: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Loss ``mean_i [-log s(v_i . u_o) - sum_k log s(-v_i . u_k)]`` (``v = w_in[centre]``, ``u = w_out``,
    ``s`` the sigmoid) and its gradients ``(loss, grad_w_in [V, D], grad_w_out [V, D])``."""
    V, D = w_in.shape
    win, wout = w_in.tolist(), w_out.tolist()
    g_in, g_out = [[0.0] * D for _ in range(V)], [[0.0] * D for _ in range(V)]
    B, total = len(centre), 0.0

    def sigmoid(x: float) -> float:
        return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))

    def log_sigmoid(x: float) -> float:
        return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))

    for c, o, ks in zip(centre.tolist(), context.tolist(), noise.tolist()):
        v = win[c]
        for k, sign in [(o, 1.0), *[(k, -1.0) for k in ks]]:  # the context word pulls, noise words push
            score = sign * sum(s * t for s, t in zip(v, wout[k]))
            total -= log_sigmoid(score)
            coef = -sign * (1 - sigmoid(score)) / B  # d(-log s(sign * v.u)) / d(v.u), batch-averaged
            g_in[c] = [gi + coef * u for gi, u in zip(g_in[c], wout[k])]
            g_out[k] = [go + coef * x for go, x in zip(g_out[k], v)]
    dtype = w_in.dtype
    return (
        torch.tensor(total / B, dtype=dtype),
        torch.tensor(g_in, dtype=dtype),
        torch.tensor(g_out, dtype=dtype),
    )


def _sgns_case(g: torch.Generator, v: int, d: int, b: int, k: int, name: str) -> Case:
    w_in, w_out = torch.randn(v, d, generator=g), torch.randn(v, d, generator=g)
    ids = (
        torch.randint(v, (b,), generator=g),
        torch.randint(v, (b,), generator=g),
        torch.randint(v, (b, k), generator=g),
    )
    return Case((w_in, w_out, *ids), name=name)


def _sgns_cases() -> list[Case]:
    g = torch.Generator().manual_seed(5)
    return [_sgns_case(g, 30, d, 6, k, f"B=6, K={k}, D={d}") for d, k in [(8, 2), (16, 3), (4, 4)]]


def _sgns_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(72)
    w = torch.randn(3, 4, generator=g)
    same = (
        w,
        w.clone(),
        torch.tensor([0, 0, 0]),
        torch.tensor([1, 1, 1]),
        torch.tensor([[2, 2], [2, 1], [0, 0]]),
    )
    return [
        Case(same, name="repeated ids: gradients add up (a noise word may be the context word)"),
        Case(
            (w, w.clone(), torch.tensor([1]), torch.tensor([1]), torch.tensor([[1]])),
            name="one pair, the word is its own context and noise",
        ),
        Case(
            (
                torch.zeros(5, 3),
                torch.zeros(5, 3),
                torch.tensor([0, 1]),
                torch.tensor([2, 3]),
                torch.tensor([[4], [0]]),
            ),
            name="zero vectors: loss 2 log 2 per pair",
        ),
        Case(
            (8 * w, 8 * w, torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor([[2, 0], [0, 1]])),
            name="large scores (numerically stable?)",
        ),
        _sgns_case(g, 100, 50, 32, 5, "B=32, K=5 (word2vec's default), D=50"),
        _sgns_case(g, 10, 2, 64, 1, "many repeats: 64 pairs over 10 words"),
    ]


EXERCISES = Exercises(
    "07_embeddings",
    [
        Exercise(
            name="my_analogy",
            title="3CosAdd analogy",
            reference=analogy,
            cases=_analogy_cases,
            hidden=_analogy_hidden,
            forbidden=(
                "lecture_lib.embeddings.analogy",
                "lecture_lib.embeddings.words.analogy",
                "lecture_lib.embeddings.nearest",
                "lecture_lib.embeddings.words.nearest",
                "lecture_lib.embeddings.evaluate_analogies",
                "lecture_lib.embeddings.analogies.evaluate_analogies",
                "gensim.models.KeyedVectors.most_similar",
                "gensim.models.keyedvectors.KeyedVectors.most_similar",
                "gensim.models.KeyedVectors.most_similar_cosmul",
                "gensim.models.keyedvectors.KeyedVectors.most_similar_cosmul",
            ),
            compare=compare_answers,
            points=2,
        ),
        Exercise(
            name="my_sgns_loss_grad",
            title="SGNS loss and its gradients",
            reference=sgns_loss_grad,
            cases=_sgns_cases,
            hidden=_sgns_hidden,
            forbidden=(
                "lecture_lib.embeddings.sgns_loss",
                "lecture_lib.embeddings.sgns.sgns_loss",
                "lecture_lib.embeddings.sgns.sgns_batch_loss",
                "lecture_lib.embeddings.sgns.SkipGram",
                "gensim.models.Word2Vec",
                "gensim.models.word2vec.Word2Vec",
                *AUTOGRAD,
            ),
            compare=LOOSE,
            points=3,
        ),
        Exercise(
            name="my_ppmi",
            title="PPMI matrix from a corpus",
            reference=ppmi,
            cases=ppmi_cases,
            hidden=ppmi_hidden,
            forbidden=PPMI_TWINS,
            compare=LOOSE,
            points=2,
        ),
    ],
)
