"""A recognition service in miniature: the top-k labels of an image.

Slides (lecture 16): "Commercial Recognition Services" tag an uploaded photo ("coffee, croissant,
beverage ..."). A tagger is a trained classifier plus its category names and its preprocessing:

- quick profile: the course's own trained classifiers (``course_taggers``): the scene-shape
  crop classifier of the detection notebooks (``data/detection_backbone_small.pt``: circle,
  square, triangle, cross, ring, background) and 07's face-attribute classifier (glasses,
  smiling, hair colour; ``data/embeddings_faces.pt``);
- full profile: torchvision's ImageNet classifier with its 1000 category names
  (``imagenet_tagger``, through ``lecture_lib.cnn.pretrained``; ``weights=None`` downloads nothing).

``tag(tagger, image, k)`` -> ``[(label, score), ...]`` best first; ``top_k`` does it for a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib.checkpoints import build_model, load_checkpoint
from lecture_lib.checks import check_int
from lecture_lib.cnn.pretrained import image_transform, imagenet_classifier
from lecture_lib.datasets.faces import HAIR_COLOURS
from lecture_lib.datasets.scenes import CLASSES
from lecture_lib.detection.backbone import CropClassifier
from lecture_lib.embeddings.attributes import BINARY_ATTRIBUTES, AttributeClassifier
from lecture_lib.runtime import evaluating

__all__ = ["Tagger", "course_taggers", "face_tagger", "imagenet_tagger", "shape_tagger", "tag", "top_k"]


@dataclass
class Tagger:
    """A classifier as a tagging service.

    Attributes:
        name: what it recognises.
        model: maps Tensor[B, 3, h, w] to logits Tensor[B, C] (C = ``len(categories)``).
        categories: the C label names.
        preprocess: image np.ndarray[H, W, 3] uint8 -> Tensor[1, 3, h, w] as the model expects.
        scores: logits Tensor[B, C] -> scores Tensor[B, C] in [0, 1] (softmax by default; the face
            tagger's labels are not exclusive: sigmoid for glasses and smiling, a softmax over hair).
    """

    name: str
    model: nn.Module
    categories: list[str]
    preprocess: Callable[[np.ndarray], Tensor]
    scores: Callable[[Tensor], Tensor] = lambda logits: logits.softmax(dim=1)


def top_k(scores: Tensor, categories: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
    """The ``k`` best ``(label, score)`` of every row of ``scores`` (Tensor[B, C]), best first."""
    if not isinstance(scores, Tensor) or scores.ndim != 2:
        raise ValueError(
            f"scores must be a Tensor[B, C], got {getattr(scores, 'shape', type(scores).__name__)}"
        )
    if len(categories) != scores.shape[1]:
        raise ValueError(f"got {len(categories)} category names for {scores.shape[1]} scores per row")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= scores.shape[1]:
        raise ValueError(f"k must be an int in [1, {scores.shape[1]}], got {k!r}")
    values, idx = scores.float().topk(k, dim=1)
    return [
        [(categories[i], float(v)) for v, i in zip(vr.tolist(), ir.tolist())] for vr, ir in zip(values, idx)
    ]


def tag(tagger: Tagger, image, k: int = 5) -> list[tuple[str, float]]:
    """Top-``k`` labels of one image (np.ndarray[H, W, 3] uint8, e.g. from ``io.load_image`` or an
    upload), best first."""
    if not isinstance(tagger, Tagger):
        raise TypeError(
            f"tagger must be a Tagger (see course_taggers / imagenet_tagger), got {type(tagger).__name__}"
        )
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an RGB array [H, W, 3] uint8, got shape {image.shape} {image.dtype}")
    with evaluating(tagger.model), torch.inference_mode():
        logits = tagger.model(tagger.preprocess(image))
    return top_k(tagger.scores(logits), tagger.categories, k)[0]


def resize_to(size: int) -> Callable[[np.ndarray], Tensor]:
    """Preprocessing of the course's nets: uint8 [H, W, 3] -> float Tensor[1, 3, size, size] in [0, 1]."""
    check_int(size, "size", low=1)

    def preprocess(image: np.ndarray) -> Tensor:
        x = torch.as_tensor(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255
        return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)

    return preprocess


def _face_scores(logits: Tensor) -> Tensor:
    nb = len(BINARY_ATTRIBUTES)
    return torch.cat([torch.sigmoid(logits[:, :nb]), logits[:, nb:].softmax(dim=1)], dim=1)


def face_tagger(model: nn.Module) -> Tagger:
    """07's ``AttributeClassifier`` as a tagger: "glasses", "smiling", "<colour> hair"."""
    if not isinstance(model, AttributeClassifier):
        raise TypeError(f"model must be an AttributeClassifier, got {type(model).__name__}")
    names = list(BINARY_ATTRIBUTES) + [f"{c} hair" for c in HAIR_COLOURS]
    return Tagger("face attributes", model, names, resize_to(model.image_size), _face_scores)


def shape_tagger(model: nn.Module, warp: int) -> Tagger:
    """The detection notebooks' crop classifier (``CropClassifier``) as a tagger of shapes."""
    if not isinstance(model, CropClassifier):
        raise TypeError(f"model must be a CropClassifier, got {type(model).__name__}")
    check_int(warp, "warp", low=1)
    return Tagger("scene shapes", model, list(CLASSES), resize_to(warp))


def course_taggers() -> dict[str, Tagger]:
    """The quick profile's services, from committed checkpoints (verified against the manifest)."""
    shapes = load_checkpoint("detection_backbone_small.pt")
    faces = load_checkpoint("embeddings_faces.pt")
    return {
        "scene shapes": shape_tagger(build_model(shapes["model"]), int(shapes["warp"])),
        "face attributes": face_tagger(build_model(faces["classifier"])),
    }


def imagenet_tagger(arch: str = "resnet18", *, weights: str | None = "DEFAULT", device="cpu") -> Tagger:
    """torchvision's ImageNet classifier with its 1000 category names (full profile).

    ``weights``: ``"DEFAULT"``, a weights name of ``arch``, or ``None`` (random weights, nothing
    downloaded: the category names and preprocessing come with torchvision). No network:
    ``lecture_lib.data.OfflineError``.
    """
    model, entry = imagenet_classifier(arch, weights=weights)
    categories = list(entry.meta["categories"])  # type: ignore[attr-defined]  # a torchvision Weights entry
    return Tagger(f"ImageNet ({arch})", model.to(device), categories, image_transform(entry, device))
