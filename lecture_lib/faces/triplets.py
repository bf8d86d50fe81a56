"""FaceNet's triplet loss and online triplet mining (Schroff et al., CVPR 2015, Eq. 1-3).

- ``triplet_loss(anchor, positive, negative, margin=0.2)``: relu(‖a − p‖² − ‖a − n‖² + margin).
- ``pairwise_sq_distances(x)``: the squared L2 distance matrix of a batch of embeddings.
- ``mine_triplets(embeddings, labels, margin, strategy)``: the triplets of a batch to train on:
  ``"semi-hard"`` (FaceNet: d(a,p) < d(a,n) < d(a,p) + margin), ``"hard"`` (the closest negative of
  every anchor-positive pair), ``"random"`` (a random negative for every anchor-positive pair).
- ``PKBatches``: batches of P identities × K images, so every batch holds positives to mine.

Embeddings are L2-normalised by the model (``models.FaceEmbedder``), not by the loss.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor

from lecture_lib.checks import check_int, check_memory, check_tensor

__all__ = ["STRATEGIES", "PKBatches", "mine_triplets", "pairwise_sq_distances", "triplet_loss"]

STRATEGIES = ("semi-hard", "hard", "random")
CHUNK_BYTES = 256 * 1024**2  # above this, the (N, N, D) differences and mining masks go in chunks
REDUCTIONS = ("mean", "sum", "none")


def _check_margin(margin) -> float:
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not math.isfinite(margin):
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    return float(margin)


def triplet_loss(
    anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 0.2, reduction: str = "mean"
) -> Tensor:
    """FaceNet's triplet loss on squared L2 distances (Eq. 3 of Schroff et al. 2015).

    Args:
        anchor (Tensor[B, D]), positive (Tensor[B, D]), negative (Tensor[B, D]): embeddings of the
            triplets (row b is one triplet); positive has the anchor's identity, negative not.
        margin: α >= 0, how much farther the negative must be than the positive (FaceNet: 0.2).
        reduction: "mean" (over the B triplets), "sum", or "none".

    Returns:
        Tensor[] (mean/sum) or Tensor[B] ("none"): relu(‖a − p‖² − ‖a − n‖² + margin).
    """
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        if not isinstance(t, Tensor) or t.ndim != 2:
            got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a Tensor[B, D], got {got}")
    if not anchor.shape == positive.shape == negative.shape:
        raise ValueError(
            f"anchor, positive and negative must have the same shape (B, D), got "
            f"{tuple(anchor.shape)}, {tuple(positive.shape)}, {tuple(negative.shape)}"
        )
    margin = _check_margin(margin)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        check_tensor(t, name, "(B, D)", dtype="float", finite=True)
    if anchor.shape[0] == 0 and reduction == "mean":  # no triplets: a loss of 0 with a gradient, not nan
        return (anchor.sum() + positive.sum() + negative.sum()) * 0.0
    d_ap = (anchor - positive).pow(2).sum(dim=1)  # (B,) squared L2
    d_an = (anchor - negative).pow(2).sum(dim=1)
    losses = torch.relu(d_ap - d_an + margin)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def pairwise_sq_distances(x: Tensor) -> Tensor:
    """Tensor[N, D] -> Tensor[N, N] of squared L2 distances ‖x_i − x_j‖² (exact differences, not
    the ‖x‖² + ‖y‖² − 2xy shortcut, so the diagonal is exactly 0)."""
    if not isinstance(x, Tensor) or x.ndim != 2:
        raise ValueError(
            f"embeddings must be a Tensor[N, D], got {tuple(x.shape) if isinstance(x, Tensor) else x}"
        )
    n, d = x.shape
    check_memory(n * n * x.element_size(), f"pairwise_sq_distances of N = {n} embeddings (N x N)")
    if n * n * d * x.element_size() <= CHUNK_BYTES:
        return (x[:, None, :] - x[None, :, :]).pow(2).sum(-1)  # (N, N)
    rows = max(1, CHUNK_BYTES // max(1, n * d * x.element_size()))  # (rows, N, D) differences at a time
    return torch.cat([(x[i : i + rows, None, :] - x[None, :, :]).pow(2).sum(-1) for i in range(0, n, rows)])


def mine_triplets(
    embeddings: Tensor,
    labels: Tensor,
    margin: float,
    strategy: str = "semi-hard",
    *,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The triplets of a batch to train on, as index tensors ``(a_idx, p_idx, n_idx)``.

    Every triplet has ``labels[a] == labels[p] != labels[n]`` and ``a != p``. With d the squared
    L2 distance between embeddings:

    - ``"semi-hard"`` (FaceNet Eq. 4): *all* triplets with d(a, p) < d(a, n) < d(a, p) + margin:
      negatives farther than the positive but still inside the margin (the loss is in (0, margin)).
      pytorch-metric-learning's ``TripletMarginMiner(type_of_triplets="semihard")`` keeps
      0 < d(a, n) − d(a, p) <= margin: the same set except for d(a, n) − d(a, p) == margin exactly.
    - ``"hard"``: for every anchor-positive pair, the negative closest to the anchor
      (argmin_n d(a, n), FaceNet's "hard negative"; ties go to the lowest index).
    - ``"random"``: for every anchor-positive pair, one negative drawn uniformly (``generator``).

    Args:
        embeddings (Tensor[N, D]): the batch's embeddings (no gradient needed).
        labels (Tensor[N]): identity labels.
        margin: α >= 0 (used by "semi-hard").
        strategy: one of ``STRATEGIES``.

    Returns:
        three Tensor[T] long, sorted by (a, p, n) for "semi-hard" and by (a, p) otherwise; T may be 0.
    """
    if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
        got = tuple(embeddings.shape) if isinstance(embeddings, Tensor) else type(embeddings).__name__
        raise ValueError(f"embeddings must be a Tensor[N, D], got {got}")
    if not isinstance(labels, Tensor) or labels.ndim != 1 or labels.shape[0] != embeddings.shape[0]:
        got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise ValueError(
            f"labels must be a Tensor[N] with N = {embeddings.shape[0]} (one per embedding), got {got}"
        )
    margin = _check_margin(margin)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    with torch.no_grad():
        d = pairwise_sq_distances(embeddings.detach())  # (N, N)
        same = labels[:, None] == labels[None, :]  # (N, N)
        eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
        pos_pair = same & ~eye  # (a, p) with a != p
        neg = ~same  # (a, n)
        if strategy == "semi-hard":
            # per positive pair (a, p), the negatives n with d(a,p) < d(a,n) < d(a,p) + margin: a
            # (pairs, N) mask, in chunks of pairs, instead of an (N, N, N) one (N = 1500: 3.4 GB)
            a_all, p_all = torch.where(pos_pair)  # lexicographic (a, p) order
            d_ap_all = d[a_all, p_all]  # (P,)
            rows = max(1, CHUNK_BYTES // max(1, 4 * labels.shape[0]))  # pairs per (rows, N) mask
            found = []
            for start in range(0, max(len(a_all), 1), rows):
                a, p = a_all[start : start + rows], p_all[start : start + rows]
                d_ap, d_an = d_ap_all[start : start + rows, None], d[a]  # (r, 1), (r, N)
                ok = neg[a] & (d_an > d_ap) & (d_an < d_ap + margin)
                i, n = torch.where(ok)  # by pair, then n: lexicographic (a, p, n) overall
                found.append((a[i], p[i], n))
            return tuple(torch.cat(parts) for parts in zip(*found))  # type: ignore[return-value]
        if labels.shape[0] == 0:  # an empty batch has no triplets
            empty = torch.zeros(0, dtype=torch.int64, device=labels.device)
            return empty, empty.clone(), empty.clone()
        a, p = torch.where(pos_pair & neg.any(dim=1, keepdim=True))  # anchors that have a negative
        if strategy == "hard":
            n = d.masked_fill(~neg, float("inf")).argmin(dim=1)  # (N,) hardest negative per anchor
            return a, p, n[a]
        # random: uniform over each anchor's negatives
        weights = neg[a].float()  # (T, N)
        if a.numel() == 0:
            return a, p, a.clone()
        n = torch.multinomial(weights, 1, generator=generator).squeeze(1)
        return a, p, n


class PKBatches:
    """``steps`` batches of ``P`` identities × ``K`` images each (FaceNet's "around 40 faces per
    identity per mini-batch", scaled down), drawn with a seeded generator: a loader for ``fit``.

    Args:
        x (Tensor[N, ...]), labels (Tensor[N]): the training images and identity labels.
        P, K: identities per batch and images per identity (identities with fewer than K images
            are sampled with replacement).
        steps: batches per pass; seed: the loader's own generator.
    """

    def __init__(self, x: Tensor, labels: Tensor, *, P: int, K: int, steps: int, seed: int = 0):
        check_tensor(x, "x", "(N, ...)")
        check_tensor(labels, "labels", "(N,)", dtype="int")
        P, K, steps = (check_int(v, name, low=None) for v, name in ((P, "P"), (K, "K"), (steps, "steps")))
        check_int(seed, "seed", low=None)
        if x.shape[0] != labels.shape[0]:
            raise ValueError(
                f"x and labels must have the same length, got {x.shape[0]} and {labels.shape[0]}"
            )
        people, inverse = labels.unique(return_inverse=True)
        if P < 2 or K < 2 or steps < 1 or P > people.numel():
            raise ValueError(
                f"need 2 <= P <= {people.numel()} (identities), K >= 2, steps >= 1; "
                f"got P={P}, K={K}, steps={steps}"
            )
        self.x, self.labels, self.P, self.K, self.steps = x, labels, P, K, steps
        order = torch.argsort(inverse, stable=True)
        counts = torch.bincount(inverse, minlength=people.numel())
        self._rows = order.split(counts.tolist())  # rows of each identity
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        g = self.generator
        for _ in range(self.steps):
            people = torch.randperm(len(self._rows), generator=g)[: self.P]
            idx = []
            for q in people.tolist():
                rows = self._rows[q]
                pick = (
                    torch.randperm(rows.numel(), generator=g)[: self.K]
                    if rows.numel() >= self.K
                    else torch.randint(rows.numel(), (self.K,), generator=g)
                )
                idx.append(rows[pick])
            batch = torch.cat(idx)
            yield self.x[batch].float(), self.labels[batch]

    def __len__(self) -> int:
        return self.steps
