"""An autoencoder for notebook 06's procedural faces: the latent space of 07's image arithmetic.

Slides (lecture 16): "Vector Arithmetics in Embedding Space" -- the same algebra that answers
king − man + woman works on images when a network maps them to vectors and back. Here the
encoder maps a face Tensor[B, 3, S, S] to a latent Tensor[B, D]; the decoder draws a face from
any latent, so a latent *moved* along an attribute direction (``attributes.attribute_vector``)
can be looked at. The faces come from ``lecture_lib.datasets.faces`` (not copied here).

- ``FaceAutoencoder``: conv encoder (stride-2 stages S -> S/8) -> linear -> D; linear -> mirrored
  transposed-conv decoder -> sigmoid image in [0, 1].
- ``training.train_autoencoder``: mean squared pixel error through ``lecture_lib.train.fit``, seeded batches.
- ``encode`` / ``decode``: batched, in eval mode, without gradients (``train.predict``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib.checks import check_int
from lecture_lib.runtime import evaluating
from lecture_lib.train import predict

__all__ = ["FaceAutoencoder", "check_images", "decode", "encode", "positive_int", "reconstruction_loss"]


def positive_int(value, name: str) -> int:
    """Raise unless ``value`` is an int >= 1; returns it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def check_images(x, size: int, name: str = "images") -> Tensor:
    """Raise unless ``x`` is a float Tensor[B, 3, size, size]; returns it."""
    if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (size, size):
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a Tensor[B, 3, {size}, {size}], got {got}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be float in [0, 1], got dtype {x.dtype}")
    return x


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class FaceAutoencoder(nn.Module):
    """Faces Tensor[B, 3, S, S] -> latents Tensor[B, D] -> faces Tensor[B, 3, S, S].

    Encoder: three stride-2 conv-BN-ReLU stages (``width``, 2·``width``, 3·``width`` channels,
    S -> S/8), flatten, linear to ``latent_dim``. Decoder: linear back to 3·``width`` × S/8 × S/8,
    two stride-2 transposed conv-BN-ReLU stages, a last transposed conv to 3 channels, sigmoid.

    Args:
        latent_dim: D.
        width: channels of the first stage.
        image_size: S (a multiple of 8).
        seed: initialisation seed (drawn inside ``fork_rng``; the global RNG is left alone).
    """

    def __init__(self, *, latent_dim: int = 48, width: int = 32, image_size: int = 32, seed: int = 0):
        super().__init__()
        positive_int(latent_dim, "latent_dim")
        positive_int(width, "width")
        if positive_int(image_size, "image_size") % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
        check_int(seed, "seed", low=0)
        self.latent_dim, self.image_size = latent_dim, image_size
        w, cells = width, image_size // 8
        self._grid = (3 * w, cells, cells)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.encoder = nn.Sequential(
                _down(3, w),
                _down(w, 2 * w),
                _down(2 * w, 3 * w),
                nn.Flatten(),
                nn.Linear(3 * w * cells**2, latent_dim),
            )
            self.project = nn.Sequential(nn.Linear(latent_dim, 3 * w * cells**2), nn.ReLU(inplace=True))
            self.decoder = nn.Sequential(
                _up(3 * w, 2 * w), _up(2 * w, w), nn.ConvTranspose2d(w, 3, 4, stride=2, padding=1)
            )

    def encode(self, x: Tensor) -> Tensor:
        """Tensor[B, 3, S, S] -> Tensor[B, D]."""
        return self.encoder(check_images(x, self.image_size))

    def decode(self, z: Tensor) -> Tensor:
        """Tensor[B, D] -> Tensor[B, 3, S, S] in [0, 1]."""
        if not isinstance(z, Tensor) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"latents must be a Tensor[B, {self.latent_dim}], got {got}")
        h = self.project(z).view(-1, *self._grid)  # (B, 3w, S/8, S/8)
        return torch.sigmoid(self.decoder(h))

    def forward(self, x: Tensor) -> Tensor:
        """The reconstruction Tensor[B, 3, S, S] of ``x``."""
        return self.decode(self.encode(x))


def reconstruction_loss(model: nn.Module, batch) -> Tensor:
    """``loss_fn`` for ``fit``: mean squared pixel error between a batch and its reconstruction."""
    x = batch[0]
    return F.mse_loss(model(x), x)


def _device(model: nn.Module) -> torch.device:
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def _check_model(model: object) -> None:
    if not isinstance(model, FaceAutoencoder):
        raise TypeError(f"model must be a FaceAutoencoder, got {type(model).__name__}")


def encode(model: FaceAutoencoder, images: Tensor, *, batch_size: int = 512) -> Tensor:
    """Latents Tensor[N, D] of images Tensor[N, 3, S, S] (eval mode, no gradients)."""
    _check_model(model)
    check_images(images, model.image_size)
    positive_int(batch_size, "batch_size")
    with evaluating(model):
        return predict(model.encode, images, batch_size=batch_size, device=_device(model))


def decode(model: FaceAutoencoder, latents: Tensor, *, batch_size: int = 512) -> Tensor:
    """Faces Tensor[N, 3, S, S] in [0, 1] drawn from latents Tensor[N, D] (eval mode, no gradients)."""
    _check_model(model)
    positive_int(batch_size, "batch_size")
    if not isinstance(latents, Tensor) or latents.ndim != 2 or latents.shape[1] != model.latent_dim:
        got = tuple(latents.shape) if isinstance(latents, Tensor) else type(latents).__name__
        raise ValueError(f"latents must be a Tensor[N, {model.latent_dim}], got {got}")
    with evaluating(model):
        return predict(model.decode, latents, batch_size=batch_size, device=_device(model))
