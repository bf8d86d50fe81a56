""" "Is my test image in the training set?" -- near-duplicate search by embedding.

Slides (lecture 16): "Commercial Recognition Services" warn that a test image found by a web search
may well have been in the training set. Exact hashes miss a copy that was cropped, resized,
re-compressed, colour-shifted or mirrored; an embedding that changes little under those edits
finds it. The measurement: perturbed copies of training images (should match) and truly new
images (should not), the threshold chosen on held-out queries at a false-match budget, then
recall and false-match rate on other queries.

- ``PERTURBATIONS`` and ``perturb(images, kind, generator=)``: crop, resize, jpeg, colour, flip.
- ``jpeg_roundtrip(images, quality)`` (Pillow's libjpeg encoder and decoder, 4:2:0 chroma).
- ``embed_for_search``: unit embeddings, optionally made mirror-invariant (f(x) + f(flip x)).
- ``nearest_neighbours``: cosine nearest training image of each query; ``crop_views`` (index each
  training image with five crops of it too, so that cropped copies are found).
- ``choose_threshold`` (held-out queries, false-match budget) and ``duplicate_rates``.
- ``train_copy_detector`` (``info_nce`` on images and their randomly edited copies,
  ``random_perturbation``): an embedding trained to ignore the edits, on other images than the
  index it will search.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.nn import functional as F

from lecture_lib.checks import check_number
from lecture_lib.faces.models import FaceEmbedder
from lecture_lib.metrics.verification import tar_at_far
from lecture_lib.runtime import evaluating
from lecture_lib.train import predict

__all__ = [
    "PERTURBATIONS",
    "CopyDetector",
    "crop_views",
    "info_nce",
    "random_perturbation",
    "check_image_batch",
    "choose_threshold",
    "duplicate_rates",
    "embed_for_search",
    "jpeg_roundtrip",
    "nearest_neighbours",
    "perturb",
]

PERTURBATIONS = ("crop", "resize", "jpeg", "colour", "flip")
# ranges of the random edits (a copy re-posted on the web: mild, visible edits)
CROP_KEEP = (0.80, 0.95)  # fraction of the side kept
RESIZE_TO = (0.45, 0.75)  # fraction of the side before scaling back up
JPEG_QUALITY = (25, 75)
COLOUR_GAIN = 0.25  # per-channel gain 2 ** U(-g, g)
COLOUR_OFFSET = 0.08  # brightness offset U(-o, o)


def check_image_batch(x, name: str = "images") -> Tensor:
    """Raise unless ``x`` is a float Tensor[N, 3, H, W]; returns it."""
    if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != 3:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a Tensor[N, 3, H, W] in [0, 1], got {got}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be float in [0, 1], got dtype {x.dtype}")
    return x


def _uniform(n: int, lo: float, hi: float, g: torch.Generator | None) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def jpeg_roundtrip(images: Tensor, quality: int | Tensor) -> Tensor:
    """Encode every image as JPEG at ``quality`` (int, or Tensor[N] ints in 1..100) and decode it.

    Returns Tensor[N, 3, H, W] float in [0, 1] (8-bit levels)."""
    check_image_batch(images)
    q = torch.as_tensor(quality).expand(images.shape[0]) if not isinstance(quality, Tensor) else quality
    if q.shape != (images.shape[0],) or ((q < 1) | (q > 100)).any():
        raise ValueError(f"quality must be in 1..100 (an int or Tensor[{images.shape[0]}]), got {quality!r}")
    u8 = (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (N, H, W, 3)
    out = []
    for img, qi in zip(u8, q.tolist()):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=int(qi))
        buf.seek(0)
        with Image.open(buf) as decoded:
            out.append(torch.from_numpy(np.asarray(decoded.convert("RGB")).copy()))
    return torch.stack(out).permute(0, 3, 1, 2).float() / 255


def _resize(x: Tensor, size: int | tuple[int, int]) -> Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


def perturb(images: Tensor, kind: str, *, generator: torch.Generator | None = None) -> Tensor:
    """A randomly edited copy of every image (Tensor[N, 3, H, W] in [0, 1], same size out).

    ``kind``: ``"crop"`` (keep 80–95 % of each side at a random place, scale back up),
    ``"resize"`` (down to 45–75 % of the side and back up), ``"jpeg"`` (quality 25–75),
    ``"colour"`` (per-channel gain 2^U(−0.25, 0.25) plus a brightness offset U(−0.08, 0.08)),
    ``"flip"`` (mirror left-right). The random draws come from ``generator``.
    """
    check_image_batch(images)
    if kind not in PERTURBATIONS:
        raise ValueError(f"kind must be one of {PERTURBATIONS}, got {kind!r}")
    n, _, h, w = images.shape
    if n == 0:
        return images.clone()
    if kind == "flip":
        return images.flip(-1)
    if kind == "jpeg":
        q = _uniform(n, JPEG_QUALITY[0], JPEG_QUALITY[1] + 1, generator).floor().clamp(max=JPEG_QUALITY[1])
        return jpeg_roundtrip(images, q.long())
    if kind == "colour":
        gain = 2 ** _uniform(n * 3, -COLOUR_GAIN, COLOUR_GAIN, generator).view(n, 3, 1, 1)
        offset = _uniform(n, -COLOUR_OFFSET, COLOUR_OFFSET, generator).view(n, 1, 1, 1)
        return (images * gain + offset).clamp(0, 1)
    out = torch.empty_like(images)
    lo, hi = CROP_KEEP if kind == "crop" else RESIZE_TO
    keep = _uniform(n, lo, hi, generator)
    pos = torch.rand(n, 2, generator=generator)
    for i in range(n):
        ch, cw = max(1, round(h * keep[i].item())), max(1, round(w * keep[i].item()))
        if kind == "crop":
            top, left = int(pos[i, 0] * (h - ch + 1)), int(pos[i, 1] * (w - cw + 1))
            out[i] = _resize(images[i : i + 1, :, top : top + ch, left : left + cw], (h, w))[0]
        else:
            out[i] = _resize(_resize(images[i : i + 1], (ch, cw)), (h, w))[0]
    return out.clamp(0, 1)


def embed_for_search(
    embed_fn: Callable[[Tensor], Tensor],
    images: Tensor,
    *,
    mirror_invariant: bool = True,
    batch_size: int = 512,
) -> Tensor:
    """Unit-length search embeddings Tensor[N, D] of images Tensor[N, 3, H, W].

    ``embed_fn`` maps a batch to Tensor[B, D] (a trained net, or a bound method of one such as
    ``autoencoder.encode``: it runs in eval mode, on the net's device, without gradients). With
    ``mirror_invariant`` the descriptor is f(x) + f(flip(x)), normalised: a mirrored copy gets
    exactly the same vector.
    """
    check_image_batch(images)
    owner = embed_fn if isinstance(embed_fn, torch.nn.Module) else getattr(embed_fn, "__self__", None)
    module = owner if isinstance(owner, torch.nn.Module) else None  # a net, or a bound method of one
    first = next(iter(module.parameters()), None) if module is not None else None
    device = first.device if first is not None else torch.device("cpu")
    with evaluating(module) if module is not None else nullcontext():
        e = predict(embed_fn, images, batch_size=batch_size, device=device).flatten(1).float()
        if mirror_invariant:
            e = (
                e
                + predict(embed_fn, images.flip(-1), batch_size=batch_size, device=device).flatten(1).float()
            )
    return F.normalize(e, dim=1)


def crop_views(images: Tensor, keep: float = 0.88) -> list[Tensor]:
    """The image and five crops of it (four corners and the centre, ``keep`` of each side, scaled
    back up): indexed together, a cropped copy finds a view it resembles. A list of six
    Tensor[N, 3, H, W]; row i of every view comes from image i."""
    check_image_batch(images)
    check_number(keep, "keep")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must be a fraction of the side in (0, 1], got {keep}")
    h, w = images.shape[-2:]
    ch, cw = max(1, round(h * keep)), max(1, round(w * keep))
    corners = ((0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw), ((h - ch) // 2, (w - cw) // 2))
    return [images] + [_resize(images[:, :, t : t + ch, left : left + cw], (h, w)) for t, left in corners]


def nearest_neighbours(index: Tensor, queries: Tensor) -> tuple[Tensor, Tensor]:
    """For every query, the most similar index row by cosine similarity.

    Args:
        index (Tensor[N, D]): embeddings of the training set.
        queries (Tensor[Q, D]): embeddings of the images to look up.

    Returns:
        ``(idx Tensor[Q] long, similarity Tensor[Q])``: row of the nearest training image and the
        cosine similarity in [−1, 1].
    """
    for name, x in (("index", index), ("queries", queries)):
        if not isinstance(x, Tensor) or x.ndim != 2 or not x.is_floating_point() or x.shape[0] == 0:
            got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{name} must be a non-empty float Tensor[rows, D], got {got}")
    if index.shape[1] != queries.shape[1]:
        raise ValueError(f"index has D={index.shape[1]} but queries have D={queries.shape[1]}")
    sim = F.normalize(queries.double(), dim=1) @ F.normalize(index.double(), dim=1).T  # (Q, N) cosines
    best, idx = sim.max(dim=1)
    return idx, best.float()


def _check_scores(similarity, is_copy) -> tuple[Tensor, Tensor]:
    if not isinstance(similarity, Tensor) or similarity.ndim != 1:
        raise ValueError(
            f"similarity must be a Tensor[Q], got {getattr(similarity, 'shape', type(similarity))}"
        )
    if not isinstance(is_copy, Tensor) or is_copy.dtype != torch.bool or is_copy.shape != similarity.shape:
        got = (
            f"{tuple(is_copy.shape)} {is_copy.dtype}"
            if isinstance(is_copy, Tensor)
            else type(is_copy).__name__
        )
        raise ValueError(f"is_copy must be a bool Tensor[{similarity.shape[0]}], got {got}")
    if is_copy.all() or not is_copy.any():
        raise ValueError(
            f"need both copies and new images, got {int(is_copy.sum())} copies of {is_copy.numel()}"
        )
    return similarity, is_copy


def choose_threshold(similarity: Tensor, is_copy: Tensor, *, max_false_match: float = 0.01) -> float:
    """The loosest similarity threshold ("a copy if similarity >= t") whose false-match rate on
    these held-out queries is ``<= max_false_match`` (``metrics.verification.tar_at_far`` on the
    distance 1 − similarity)."""
    s, c = _check_scores(similarity, is_copy)
    _, dist_threshold = tar_at_far(1.0 - s.double(), c, far=max_false_match)
    return 1.0 - dist_threshold


def duplicate_rates(similarity: Tensor, is_copy: Tensor, threshold: float) -> dict[str, float]:
    """Recall (copies flagged) and false-match rate (new images flagged) of "a copy if
    similarity >= threshold"; with the numbers of copies and new images they were measured on."""
    s, c = _check_scores(similarity, is_copy)
    flagged = s.double() >= threshold - 1e-12
    return {
        "recall": flagged[c].double().mean().item(),
        "false_match_rate": flagged[~c].double().mean().item(),
        "copies": int(c.sum()),
        "new": int((~c).sum()),
    }


# ----------------------------------------------------------------------------- a learned copy detector
def random_perturbation(
    images: Tensor, *, generator: torch.Generator | None = None, kinds: tuple[str, ...] = PERTURBATIONS
) -> Tensor:
    """Every image edited by one kind drawn uniformly from ``kinds`` (drawn per image)."""
    check_image_batch(images)
    bad = [k for k in kinds if k not in PERTURBATIONS]
    if not kinds or bad:
        raise ValueError(f"kinds must be a non-empty subset of {PERTURBATIONS}, got {kinds!r}")
    pick = torch.randint(len(kinds), (images.shape[0],), generator=generator)
    out = images.clone()
    for k, kind in enumerate(kinds):
        rows = (pick == k).nonzero().flatten()
        if rows.numel():
            out[rows] = perturb(images[rows], kind, generator=generator)
    return out


def info_nce(a: Tensor, b: Tensor, temperature: float = 0.1) -> Tensor:
    """Symmetric InfoNCE (SimCLR's NT-Xent between two views, SSCD's loss without its entropy term):
    row i of ``a`` must pick row i of ``b`` among all rows of ``b``, and vice versa.

    Args:
        a, b (Tensor[B, D]): unit embeddings of two views of the same B images.
    """
    if a.ndim != 2 or a.shape != b.shape or a.shape[0] < 2:
        raise ValueError(
            f"a and b must be Tensor[B, D] of the same shape with B >= 2, got {tuple(a.shape)} "
            f"and {tuple(b.shape)}"
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = a @ b.T / temperature  # (B, B) cosine similarities / T
    target = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


class CopyDetector(torch.nn.Module):
    """Images Tensor[B, 3, S, S] -> unit embeddings Tensor[B, D]: the image is shrunk to ``input_size``
    (antialiased; copy detection needs no fine detail, and it is 4x cheaper at half the side), each
    channel standardised per image (so a colour gain and offset cancel), then notebook 06's
    ``FaceEmbedder`` backbone."""

    def __init__(self, *, embedding_dim: int = 64, width: int = 16, input_size: int = 16, seed: int = 0):
        super().__init__()
        self.input_size = input_size
        self.net = FaceEmbedder(embedding_dim=embedding_dim, width=width, image_size=input_size, seed=seed)

    def forward(self, x: Tensor) -> Tensor:
        check_image_batch(x)
        x = _resize(x, (self.input_size, self.input_size))
        # each channel standardised per image: a colour gain and offset (a colour shift) cancel out
        mean, std = x.mean(dim=(2, 3), keepdim=True), x.std(dim=(2, 3), keepdim=True)
        return self.net((x - mean) / (std + 1e-2))
