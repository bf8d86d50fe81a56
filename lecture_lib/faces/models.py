"""The one small backbone of notebook 06, trained two ways.

- ``FaceEmbedder``: conv stages -> a fully connected layer -> ``D`` features. ``forward`` returns the
  L2-normalised embedding (FaceNet: ‖f(x)‖₂ = 1, so squared distances lie in [0, 4]);
  ``features`` the raw penultimate vector.
- ``FaceClassifier``: the same embedder plus a linear layer over the training identities
  (DeepFace-style: train to classify, then use the penultimate layer, normalised, as the
  representation). ``forward`` returns logits, ``embed`` the normalised embedding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib.checks import check_int, check_tensor
from lecture_lib.layers import conv_stage
from lecture_lib.runtime import evaluating
from lecture_lib.train import predict

__all__ = ["FaceClassifier", "FaceEmbedder", "embed", "pair_distances"]


def _check_images(x: Tensor, size: int) -> None:
    if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != 3 or x.shape[2:] != (size, size):
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"expected images Tensor[B, 3, {size}, {size}], got {got}")


class FaceEmbedder(nn.Module):
    """Images Tensor[B, 3, S, S] -> unit-length embeddings Tensor[B, D].

    Four conv-BN-ReLU stages (``width``, 2·``width``, 4·``width``, 4·``width`` channels; the first
    three pool, S -> S/8), flatten, a linear layer to ``hidden``, ReLU, a linear layer to ``D``.

    Args:
        embedding_dim: D (FaceNet: 128).
        width: channels of the first stage.
        image_size: S (a multiple of 8).
        seed: initialisation seed (drawn inside ``fork_rng``; the global RNG is left alone).
    """

    def __init__(
        self,
        *,
        embedding_dim: int = 64,
        width: int = 24,
        hidden: int = 128,
        image_size: int = 32,
        seed: int = 0,
    ):
        super().__init__()
        for arg, value in (("embedding_dim", embedding_dim), ("width", width), ("hidden", hidden)):
            check_int(value, arg, low=1)
        check_int(image_size, "image_size", low=8)
        check_int(seed, "seed", low=None)
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
        self.image_size, self.embedding_dim = image_size, embedding_dim
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            w = width
            self.body = nn.Sequential(
                conv_stage(3, w),
                conv_stage(w, 2 * w),
                conv_stage(2 * w, 4 * w),
                conv_stage(4 * w, 4 * w, pool=False),
            )
            cells = (image_size // 8) ** 2
            self.head = nn.Sequential(
                nn.Flatten(),
                nn.Linear(4 * w * cells, hidden),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, embedding_dim),
            )

    def features(self, x: Tensor) -> Tensor:
        """Tensor[B, 3, S, S] -> Tensor[B, D], not normalised."""
        _check_images(x, self.image_size)
        return self.head(self.body(x))

    def forward(self, x: Tensor) -> Tensor:
        """Tensor[B, 3, S, S] -> Tensor[B, D] with ‖row‖₂ = 1."""
        return F.normalize(self.features(x), dim=1)


class FaceClassifier(nn.Module):
    """DeepFace-style: a ``FaceEmbedder`` whose raw features feed a linear classifier over
    ``num_classes`` training identities. ``forward`` -> logits Tensor[B, C]; ``embed`` ->
    normalised penultimate features (after the ReLU) Tensor[B, D] (the face representation used for
    verification).
    """

    def __init__(
        self,
        *,
        num_classes: int,
        embedding_dim: int = 64,
        width: int = 24,
        hidden: int = 128,
        image_size: int = 32,
        seed: int = 0,
    ):
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
        self.embedder = FaceEmbedder(
            embedding_dim=embedding_dim, width=width, hidden=hidden, image_size=image_size, seed=seed
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)
            self.classifier = nn.Linear(embedding_dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.relu(self.embedder.features(x)))

    def embed(self, x: Tensor) -> Tensor:
        """Tensor[B, 3, S, S] -> Tensor[B, D], the normalised penultimate layer."""
        return F.normalize(torch.relu(self.embedder.features(x)), dim=1)


def embedding_fn(model: nn.Module) -> Callable[[Tensor], Tensor]:
    """Tensor[B, 3, S, S] -> embeddings: ``model.embed`` if the model has one, else ``model`` itself."""
    fn = getattr(model, "embed", None)
    return fn if callable(fn) else model


def embed(model: nn.Module, images: Tensor, *, batch_size: int = 500) -> Tensor:
    """Normalised embeddings Tensor[N, D] of images Tensor[N, 3, S, S] for any face model: its
    ``embed`` if it has one (``FaceClassifier``, ``ResNetFace``), else its ``forward``
    (``FaceEmbedder``); in eval mode, without gradients."""
    fn = embedding_fn(model)
    with evaluating(model):
        return predict(fn, images, batch_size=batch_size)


def pair_distances(embeddings: Tensor, i: Tensor, j: Tensor) -> Tensor:
    """Squared L2 distances Tensor[P] between rows ``i`` and ``j`` (Tensor[P] each) of Tensor[N, D]."""
    if i.shape != j.shape or i.ndim != 1:
        raise ValueError(
            f"i and j must be index tensors of the same shape (P,), got {tuple(i.shape)} and {tuple(j.shape)}"
        )
    n = check_tensor(embeddings, "embeddings", "(N, D)", dtype="float")["N"]
    for name, idx in (("i", i), ("j", j)):
        check_tensor(idx, name, "(P,)", dtype="int")
        if idx.numel() and (idx.min() < 0 or idx.max() >= n):  # a negative index would wrap around
            raise ValueError(
                f"{name} must hold row indices in 0..{n - 1}, got min {idx.min()} max {idx.max()}"
            )
    return (embeddings[i] - embeddings[j]).pow(2).sum(dim=1)
