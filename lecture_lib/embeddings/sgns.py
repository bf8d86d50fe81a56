"""word2vec's skip-gram with negative sampling (SGNS, Mikolov et al. 2013b), in PyTorch.

The pieces, each one idea of the paper:

- ``Vocab.build``: words seen at least ``min_count`` times, most frequent first.
- ``keep_probability``: subsampling of frequent words, word2vec's formula
  p_keep(w) = (sqrt(f(w) / t) + 1) · t / f(w), t = sample · (number of tokens).
- ``SkipGramBatches``: per epoch, subsample, draw a window size 1..window for every centre word
  (word2vec's "dynamic window"), make all (centre, context) pairs, shuffle, and add ``negative``
  noise words per pair drawn from the unigram distribution to the power 3/4.
- ``sgns_loss``: −log σ(v_c · u_o) − Σ_k log σ(−v_c · u_k), averaged over the batch.
- ``training.train_sgns``: plain SGD on sparse gradients with word2vec's linearly decaying learning rate
  (0.025 per pair), through ``lecture_lib.train.fit``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lecture_lib.checks import check_int, check_tensor


@dataclass(frozen=True)
class Vocab:
    """The training vocabulary: ``words[i]`` seen ``counts[i]`` times, most frequent first."""

    words: tuple[str, ...]
    counts: Tensor  # Tensor[V] int64

    @classmethod
    def build(cls, sentences: Sequence[Sequence[str]], min_count: int = 5) -> Vocab:
        """Words seen at least ``min_count`` times; ties keep first-seen order."""
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be a positive int, got {min_count!r}")
        counter = Counter(w for s in sentences for w in s)
        kept = [(w, n) for w, n in counter.most_common() if n >= min_count]
        if not kept:
            raise ValueError(f"no word occurs {min_count} times or more in {len(sentences)} sentences")
        return cls(tuple(w for w, _ in kept), torch.tensor([n for _, n in kept], dtype=torch.long))

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentences: Sequence[Sequence[str]]) -> tuple[Tensor, Tensor]:
        """Token ids of the in-vocabulary words (others dropped, as word2vec does) and their sentence.

        Returns:
            (ids Tensor[N] int64, sentence Tensor[N] int64).
        """
        index = {w: i for i, w in enumerate(self.words)}
        ids, sent = [], []
        for k, s in enumerate(sentences):
            row = [index[w] for w in s if w in index]
            ids.extend(row)
            sent.extend([k] * len(row))
        return torch.tensor(ids, dtype=torch.long), torch.tensor(sent, dtype=torch.long)


def keep_probability(counts: Tensor, sample: float = 1e-3) -> Tensor:
    """word2vec's subsampling: chance to keep each occurrence of word i, Tensor[V] in (0, 1]."""
    if sample <= 0:
        return torch.ones(len(counts))
    threshold = sample * counts.sum().double()  # t = sample · total tokens
    f = counts.double()
    return ((torch.sqrt(f / threshold) + 1) * threshold / f).clamp(max=1).float()


def noise_distribution(counts: Tensor, power: float = 0.75) -> Tensor:
    """The negative-sampling distribution, unigram^power normalised, Tensor[V]."""
    p = counts.double() ** power
    return (p / p.sum()).float()


def skipgram_pairs(
    ids: Tensor, sentence: Tensor, window: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """All (centre, context) pairs within a dynamic window (1..window drawn per centre word).

    Args:
        ids, sentence (Tensor[N]): token ids and the sentence each belongs to; pairs never cross sentences.

    Returns:
        (centre Tensor[P], context Tensor[P]) token ids.
    """
    reach = torch.randint(1, window + 1, (len(ids),), generator=generator)  # (N,) this word's window
    centres, contexts = [], []
    for d in range(1, window + 1):
        same = sentence[:-d] == sentence[d:]  # (N - d,) token t and t + d in one sentence
        right = same & (reach[:-d] >= d)  # centre t, context t + d
        left = same & (reach[d:] >= d)  # centre t + d, context t
        centres += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    return torch.cat(centres), torch.cat(contexts)


class SkipGramBatches:
    """A loader for ``fit``: each pass is one epoch of shuffled SGNS batches ``(centre, context, noise)``.

    Every pass subsamples the corpus afresh, draws the dynamic windows, makes the pairs, shuffles
    them and draws ``negative`` noise words per pair, all from the loader's own generator.

    Args:
        ids, sentence (Tensor[N]): the encoded corpus (``Vocab.encode``).
        counts (Tensor[V]): word counts (subsampling and the noise distribution).
        window, negative, sample: word2vec's ``-window``, ``-negative``, ``-sample``.
        batch_size: pairs per batch.
        seed: seed of the loader's ``torch.Generator``.

    Yields:
        (centre Tensor[B], context Tensor[B], noise Tensor[B, negative]) int64 ids.
    """

    def __init__(self, ids: Tensor, sentence: Tensor, counts: Tensor, *, window: int = 5, negative: int = 5,
                 sample: float = 1e-3, batch_size: int = 1024, seed: int = 0):  # fmt: skip
        if ids.ndim != 1 or sentence.shape != ids.shape or len(ids) < 2:
            raise ValueError(
                f"ids and sentence must be Tensor[N] of one length N >= 2, got {tuple(ids.shape)} and "
                f"{tuple(sentence.shape)}"
            )
        for name, value in (("window", window), ("negative", negative), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.ids, self.sentence, self.window, self.negative = ids, sentence, window, negative
        self.batch_size = batch_size
        self.keep = keep_probability(counts, sample)
        self.noise = noise_distribution(counts)
        self.generator = torch.Generator().manual_seed(seed)
        # expected pairs per epoch: kept tokens × mean window (window + 1) / 2 × 2 sides
        self.expected_pairs = float(self.keep[ids].sum()) * (window + 1)

    def __len__(self) -> int:
        return max(1, math.ceil(self.expected_pairs / self.batch_size))

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        g = self.generator
        kept = torch.rand(len(self.ids), generator=g) < self.keep[self.ids]  # subsampling
        centre, context = skipgram_pairs(self.ids[kept], self.sentence[kept], self.window, g)
        order = torch.randperm(len(centre), generator=g)
        centre, context = centre[order], context[order]
        for s in range(0, len(centre), self.batch_size):
            b = len(centre[s : s + self.batch_size])
            noise = torch.multinomial(self.noise, b * self.negative, replacement=True, generator=g)
            yield centre[s : s + b], context[s : s + b], noise.view(b, self.negative)


def sgns_loss(centre: Tensor, context: Tensor, noise: Tensor) -> Tensor:
    """The negative-sampling objective (Mikolov et al. 2013b, Eq. 4), negated and batch-averaged.

    Args:
        centre (Tensor[B, D]): input vectors v of the centre words.
        context (Tensor[B, D]): output vectors u of the observed context words.
        noise (Tensor[B, K, D]): output vectors of K noise words per pair.

    Returns:
        Tensor[]: mean over the batch of −log σ(v · u_o) − Σ_k log σ(−v · u_k).
    """
    if centre.ndim != 2 or context.shape != centre.shape:
        raise ValueError(
            f"centre and context must both have shape (B, D), got {tuple(centre.shape)} and "
            f"{tuple(context.shape)}"
        )
    if noise.ndim != 3 or noise.shape[0] != centre.shape[0] or noise.shape[2] != centre.shape[1]:
        raise ValueError(
            f"noise must have shape (B, K, D) = ({centre.shape[0]}, K, {centre.shape[1]}), "
            f"got {tuple(noise.shape)}"
        )
    check_tensor(centre, "centre", "(B, D)", dtype="float")
    if centre.shape[0] == 0:  # an empty batch: a loss of 0 with a gradient, not the nan of an empty mean
        return (centre.sum() + context.sum() + noise.sum()) * 0.0
    positive = (centre * context).sum(dim=1)  # (B,) v · u_o
    negative = torch.bmm(noise, centre.unsqueeze(2)).squeeze(2)  # (B, K) v · u_k
    return -(F.logsigmoid(positive) + F.logsigmoid(-negative).sum(dim=1)).mean()


class SkipGram(nn.Module):
    """Two embedding tables: ``input`` (the word vectors kept afterwards) and ``output`` (context).

    Initialised as word2vec does: input uniform in ±0.5 / D, output zeros; ``seed`` feeds a local
    generator (the global RNG is not used). Sparse gradients: a batch touches few rows.
    """

    def __init__(self, vocab_size: int, dim: int = 100, *, seed: int = 0, sparse: bool = True):
        super().__init__()
        vocab_size, dim = check_int(vocab_size, "vocab_size", low=1), check_int(dim, "dim", low=1)
        seed = check_int(seed, "seed", low=None)
        g = torch.Generator().manual_seed(seed)
        weight = (torch.rand(vocab_size, dim, generator=g) - 0.5) / dim
        self.input = nn.Embedding(vocab_size, dim, sparse=sparse, _weight=weight)
        self.output = nn.Embedding(vocab_size, dim, sparse=sparse, _weight=torch.zeros(vocab_size, dim))

    def forward(self, centre: Tensor, context: Tensor, noise: Tensor) -> Tensor:
        return sgns_loss(self.input(centre), self.output(context), self.output(noise))

    @property
    def vectors(self) -> Tensor:
        """The learned word vectors, Tensor[V, D] (a detached copy)."""
        return self.input.weight.detach().clone()


def sgns_batch_loss(model: nn.Module, batch: Sequence[Tensor]) -> Tensor:
    """``loss_fn`` for ``fit``: the model's SGNS loss on one ``(centre, context, noise)`` batch."""
    return model(*batch)
