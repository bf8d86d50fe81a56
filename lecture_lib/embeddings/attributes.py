"""Attribute arithmetic in an autoencoder's latent space, and how to measure that it worked.

Slides (lecture 16): "Vector Arithmetics in Embedding Space". The direction of an attribute is
the mean latent of faces *with* it minus the mean latent of faces *without* it (the recipe of
Radford et al.'s DCGAN "smiling woman − neutral woman + neutral man" and of Larsen et al.'s
VAE/GAN attribute vectors). Adding ``strength ×`` that direction to a new face's latent and
decoding should add the attribute (glasses, a smile, blond hair) and keep the person.

- ``attribute_vector(latents, has)``, ``apply_attribute(latents, vector, strength)``.
- ``AttributeClassifier`` (glasses, smiling, hair colour: the judge of a flip) and
  ``train_attribute_classifier``; ``attribute_scores``.
- ``flip_rate``, ``choose_strength`` (on validation faces, never on the test faces).
- ``identity_kept``: the fraction of edited faces that notebook 06's face embedding still
  verifies as the original person (threshold from ``metrics.verification.best_threshold``).
- ``retrieve``: nearest gallery latents of a (moved) query -- retrieval by arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib.checks import check_int, check_number
from lecture_lib.datasets.faces import HAIR_COLOURS
from lecture_lib.embeddings.autoencoder import check_images
from lecture_lib.layers import conv_stage
from lecture_lib.train import predict

__all__ = [
    "BINARY_ATTRIBUTES",
    "AttributeClassifier",
    "apply_attribute",
    "attribute_scores",
    "attribute_targets",
    "attribute_vector",
    "choose_strength",
    "flip_rate",
    "identity_kept",
    "retrieve",
    "attribute_loss",
]

BINARY_ATTRIBUTES = ("glasses", "smiling")  # then one softmax over HAIR_COLOURS


def _check_latents(z, name: str = "latents") -> Tensor:
    if not isinstance(z, Tensor) or z.ndim != 2 or not z.is_floating_point():
        got = f"{tuple(z.shape)} {z.dtype}" if isinstance(z, Tensor) else type(z).__name__
        raise ValueError(f"{name} must be a float Tensor[N, D], got {got}")
    return z


def _check_mask(mask, n: int, name: str = "has") -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.shape != (n,):
        got = f"{tuple(mask.shape)} {mask.dtype}" if isinstance(mask, Tensor) else type(mask).__name__
        raise ValueError(f"{name} must be a bool Tensor[{n}], got {got}")
    return mask


def attribute_vector(latents: Tensor, has: Tensor) -> Tensor:
    """Mean latent of the rows with the attribute minus the mean of the rows without it.

    Args:
        latents (Tensor[N, D]): encoded faces.
        has (Tensor[N] bool): which rows have the attribute.

    Returns:
        Tensor[D].
    """
    _check_latents(latents)
    _check_mask(has, latents.shape[0])
    n_with = int(has.sum())
    if n_with == 0 or n_with == has.numel():
        raise ValueError(f"need faces with and without the attribute, got {n_with} with of {has.numel()}")
    return latents[has].mean(0) - latents[~has].mean(0)


def apply_attribute(latents: Tensor, vector: Tensor, strength: float) -> Tensor:
    """``latents + strength · vector`` (Tensor[N, D]); a negative strength removes the attribute."""
    _check_latents(latents)
    if not isinstance(vector, Tensor) or vector.shape != (latents.shape[1],):
        got = tuple(vector.shape) if isinstance(vector, Tensor) else type(vector).__name__
        raise ValueError(f"vector must be a Tensor[{latents.shape[1]}] (one latent direction), got {got}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)):
        raise TypeError(f"strength must be a number, got {type(strength).__name__}")
    check_number(strength, "strength")
    return latents + float(strength) * vector[None, :]


# ----------------------------------------------------------------------------- the judge
class AttributeClassifier(nn.Module):
    """Faces Tensor[B, 3, S, S] -> logits Tensor[B, 2 + H]: glasses, smiling (one logit each),
    then hair colour over ``H = len(HAIR_COLOURS)`` classes. Three ``conv_stage``s, global average
    pool, a linear layer."""

    def __init__(self, *, width: int = 16, image_size: int = 32, seed: int = 0):
        super().__init__()
        check_int(width, "width", low=1)
        check_int(image_size, "image_size", low=1)
        check_int(seed, "seed", low=0)
        self.image_size = image_size
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.body = nn.Sequential(
                conv_stage(3, width), conv_stage(width, 2 * width), conv_stage(2 * width, 4 * width)
            )
            self.head = nn.Linear(4 * width, len(BINARY_ATTRIBUTES) + len(HAIR_COLOURS))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(check_images(x, self.image_size)).mean(dim=(2, 3)))


def attribute_targets(attributes: dict[str, Tensor]) -> Tensor:
    """``FaceSet.attributes`` -> Tensor[N, 3] long: glasses (0/1), smiling (0/1), hair colour index."""
    missing = [k for k in (*BINARY_ATTRIBUTES, "hair_colour") if k not in attributes]
    if missing:
        raise ValueError(f"attributes lack {missing}; got {sorted(attributes)}")
    cols = [attributes[k].long() for k in (*BINARY_ATTRIBUTES, "hair_colour")]
    return torch.stack(cols, dim=1)


def attribute_loss(model: nn.Module, batch) -> Tensor:
    """``loss_fn`` for ``fit``: BCE on glasses and smiling, cross-entropy over the hair colours."""
    x, y = batch
    logits = model(x)
    nb = len(BINARY_ATTRIBUTES)
    binary = F.binary_cross_entropy_with_logits(logits[:, :nb], y[:, :nb].float())
    return binary + F.cross_entropy(logits[:, nb:], y[:, nb])


def attribute_scores(model: nn.Module, images: Tensor) -> dict[str, Tensor]:
    """``{"glasses": Tensor[N] probability, "smiling": ..., "hair_colour": Tensor[N, H] probabilities}``."""
    logits = predict(model, images, batch_size=512)
    nb = len(BINARY_ATTRIBUTES)
    out = {name: torch.sigmoid(logits[:, i]) for i, name in enumerate(BINARY_ATTRIBUTES)}
    out["hair_colour"] = logits[:, nb:].softmax(dim=1)
    return out


# ----------------------------------------------------------------------------- measuring
def flip_rate(before: Tensor, after: Tensor) -> float:
    """Fraction of the faces judged *without* the attribute before the edit (``before`` False)
    that are judged *with* it after (``after`` True). Both Tensor[N] bool."""
    _check_mask(before, before.shape[0] if isinstance(before, Tensor) and before.ndim == 1 else -1, "before")
    _check_mask(after, before.shape[0], "after")
    candidates = ~before
    if not candidates.any():
        raise ValueError("every face already has the attribute before the edit: nothing can flip")
    return (after & candidates).sum().item() / candidates.sum().item()


def choose_strength(strengths: Sequence[float], rates: Sequence[float], target: float) -> float:
    """The smallest strength whose (validation) flip rate reaches ``target``; if none does, the
    strength with the highest rate. ``strengths`` increasing, ``rates`` the same length."""
    s, r = [float(v) for v in strengths], [float(v) for v in rates]
    if not s or len(s) != len(r):
        raise ValueError(
            f"strengths and rates must be non-empty and of the same length, got {len(s)} and {len(r)}"
        )
    if any(b <= a for a, b in zip(s, s[1:])):
        raise ValueError(f"strengths must be increasing, got {s}")
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be a rate in [0, 1], got {target}")
    reached = [v for v, rate in zip(s, r) if rate >= target]
    return reached[0] if reached else s[max(range(len(r)), key=r.__getitem__)]


def identity_kept(original: Tensor, edited: Tensor, threshold: float) -> float:
    """Fraction of rows whose squared distance between the (unit) face embeddings of the
    original and the edited face is ``<= threshold`` (verified as the same person).

    Args:
        original, edited (Tensor[N, D]): face embeddings (``faces.embed``), row i = the same face.
        threshold: a squared-distance threshold (``metrics.verification.best_threshold`` on pairs).
    """
    _check_latents(original, "original")
    _check_latents(edited, "edited")
    if original.shape != edited.shape:
        raise ValueError(
            f"original and edited must have the same shape, got {tuple(original.shape)} "
            f"and {tuple(edited.shape)}"
        )
    return ((original - edited).pow(2).sum(1) <= threshold).float().mean().item()


def retrieve(queries: Tensor, gallery: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The ``k`` nearest gallery rows (Euclidean) of every query.

    Args:
        queries (Tensor[Q, D]), gallery (Tensor[N, D]): latents.

    Returns:
        ``(indices Tensor[Q, k], distances Tensor[Q, k])``, nearest first.
    """
    _check_latents(queries, "queries")
    _check_latents(gallery, "gallery")
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"queries have D={queries.shape[1]} but the gallery has D={gallery.shape[1]}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= gallery.shape[0]:
        raise ValueError(f"k must be an int in [1, {gallery.shape[0]}], got {k!r}")
    d = torch.cdist(queries.double(), gallery.double())  # (Q, N)
    dist, idx = d.topk(k, dim=1, largest=False)
    return idx, dist.to(queries.dtype)
