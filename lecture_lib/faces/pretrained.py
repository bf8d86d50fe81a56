"""Full profile of 06_faces: LFW and an ImageNet-pretrained torchvision ResNet.

- ``lfw_pairs(root)``: LFW's View 2 (``pairs.txt``: 10 folds × 300 same + 300 different pairs)
  as torchvision's ``LFWPairs``. torchvision no longer downloads LFW (its host is gone), so the
  files come from the figshare mirror scikit-learn uses, checked against its SHA-256s
  (``LFW_FILES``), extracted safely, then handed to torchvision. Any failure is one
  ``OfflineError`` saying which files to place where by hand.
- ``lfw_people(root, exclude=...)``: identity-labelled LFW images from the same folder (torchvision's
  ``LFWPeople`` also needs ``people.txt``/``lfw-names.txt``, which the mirror lacks), e.g. the
  people who appear in no test pair, to finetune on.
- ``resnet_face(weights="DEFAULT" | name | None, num_classes=None)``: ResNet-18 with a ``D``-dim
  embedding head (and a classifier over training identities for the DeepFace-style method).
- ``lfw_transform(size)``: centre crop of the 250×250 funneled image, resize, ImageNet normalisation;
  ``load_images(paths, transform)``; ``lfw_pair_distances(model, pairs)`` -> distances, same, folds
  for ``metrics.kfold_accuracy`` (LFW's 10-fold protocol).
- ``lfw_finetune(method, pairs)``: the quick profile's two trainings (``training``, budget
  ``recipes.TRAIN``) on the LFW people who appear in no test pair, starting from ImageNet weights.

All of it is tested offline on a tiny fixture in LFW's folder layout (``weights=None``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch
import torchvision
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib.config import cache_dir
from lecture_lib.data import download, extract_archive, full_profile_dataset, pretrained, sha256_file
from lecture_lib.datasets.faces import FaceSet
from lecture_lib.faces.models import embedding_fn
from lecture_lib.faces.recipes import MARGIN, TRAIN
from lecture_lib.faces.training import train_softmax, train_triplet

__all__ = [
    "LFW_FILES",
    "LFWPairs",
    "ResNetFace",
    "fetch_lfw",
    "lfw_pair_distances",
    "lfw_pairs",
    "lfw_people",
    "lfw_finetune",
    "lfw_transform",
    "load_images",
    "photo_tensor",
    "resnet_face",
]

# name -> (url, sha256): scikit-learn's figshare mirror of LFW (sklearn/datasets/_lfw.py)
LFW_FILES = {
    "lfw-funneled.tgz": (
        "https://ndownloader.figshare.com/files/5976015",
        "b47c8422c8cded889dc5a13418c4bc2abbda121092b3533a83306f90d900100a",
    ),
    "pairs.txt": (
        "https://ndownloader.figshare.com/files/5976006",
        "ea42330c62c92989f9d7c03237ed5d591365e89b3e649747777b70e692dc1592",
    ),
}
FOLDER = "lfw-py"  # torchvision's base folder under root
IMAGES = "lfw_funneled"  # the archive's top folder


def _root(root) -> Path:
    return Path(root) if root is not None else cache_dir() / "datasets"


def manual_hint(root) -> str:
    base = _root(root) / FOLDER
    return (
        f"place lfw-funneled.tgz (sha256 {LFW_FILES['lfw-funneled.tgz'][1][:12]}...), its extracted folder "
        f"{IMAGES}/ and pairs.txt (sha256 {LFW_FILES['pairs.txt'][1][:12]}...) in {base} "
        "(mirrors: figshare files 5976015 / 5976006, or Kaggle 'lfw-dataset')"
    )


def fetch_lfw(root=None) -> Path:
    """Download (verified) and extract LFW-funneled and ``pairs.txt`` into ``<root>/lfw-py``."""
    base = _root(root) / FOLDER
    for name, (url, sha256) in LFW_FILES.items():
        download(url, sha256, base / name)
    if not (base / IMAGES).is_dir():
        tmp = base / ".extract"
        if tmp.exists():
            shutil.rmtree(tmp)
        extract_archive(base / "lfw-funneled.tgz", tmp)
        os.replace(tmp / IMAGES, base / IMAGES)
        shutil.rmtree(tmp)
    return base


class LFWPairs(torchvision.datasets.LFWPairs):
    """torchvision's ``LFWPairs`` (funneled images) whose files are checked by SHA-256
    (``LFW_FILES``) and, with ``download=True``, fetched from the mirror by ``fetch_lfw``."""

    def __init__(self, root, split: str = "10fold", transform=None, download: bool = False):
        if split != "10fold":
            raise ValueError(f"only LFW's 10-fold view (pairs.txt) is supported, got split={split!r}")
        if download:
            fetch_lfw(Path(root))
        super().__init__(str(root), split=split, image_set="funneled", transform=transform, download=False)

    def _check_integrity(self) -> bool:
        base = Path(self.root)
        return (base / IMAGES).is_dir() and all(
            (base / name).is_file() and sha256_file(base / name) == sha256
            for name, (_, sha256) in LFW_FILES.items()
        )

    @property
    def folds(self) -> Tensor:
        """Tensor[P]: the fold (0-9) of every pair, in ``pairs.txt`` order (600 pairs per fold)."""
        per_fold = len(self.data) // 10
        return torch.arange(len(self.data)) // per_fold


def lfw_pairs(root=None, transform=None) -> LFWPairs:
    """LFW's 10-fold pairs, downloaded and verified if needed.

    Raises:
        OfflineError: the mirror could not be reached; ValueError: a file has the wrong SHA-256.
        Both messages say which files to place where by hand.
    """
    try:
        return full_profile_dataset(LFWPairs, _root(root), split="10fold", transform=transform)
    except (RuntimeError, ValueError) as exc:
        raise type(exc)(f"{exc} By hand: {manual_hint(root)}.") from None


def lfw_people(
    root=None, *, exclude: set[str] | frozenset[str] = frozenset(), min_images: int = 2, transform=None
) -> tuple[list[str], Tensor, list[str]]:
    """Identity-labelled LFW images from ``<root>/lfw-py/lfw_funneled/<Name>/<Name>_NNNN.jpg``.

    Args:
        exclude: names to leave out (e.g. everyone in a test pair).
        min_images: keep people with at least this many images (a positive pair needs 2).

    Returns:
        (paths, labels Tensor[N], names): image paths, identity labels 0..C-1, the C names.
    """
    folder = _root(root) / FOLDER / IMAGES
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist; call lfw_pairs() first or {manual_hint(root)}")
    paths: list[str] = []
    labels: list[int] = []
    names: list[str] = []
    for person in sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in exclude):
        files = sorted(person.glob("*.jpg"))
        if len(files) >= min_images:
            paths += [str(f) for f in files]
            labels += [len(names)] * len(files)
            names.append(person.name)
    return paths, torch.tensor(labels, dtype=torch.long), names


def lfw_transform(size: int = 112):
    """Funneled 250×250 -> centre 150×150 (the face) -> ``size``² -> ImageNet-normalised tensor."""
    T = torchvision.transforms
    return T.Compose(
        [
            T.CenterCrop(150),
            T.Resize(size),
            T.ToTensor(),
            T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        ]
    )


class ResNetFace(nn.Module):
    """ResNet-18 trunk -> linear layer to ``D``. ``forward``: normalised embedding Tensor[B, D]
    (triplet training), or logits Tensor[B, C] when built with ``num_classes`` (softmax training);
    ``embed``: the normalised embedding either way."""

    def __init__(self, trunk: nn.Module, *, embedding_dim: int = 128, num_classes: int | None = None):
        super().__init__()
        fc = trunk.fc
        if not isinstance(fc, nn.Linear):
            raise TypeError(f"trunk.fc must be an nn.Linear (a torchvision ResNet), got {type(fc).__name__}")
        width = fc.in_features
        trunk.fc = nn.Identity()
        self.trunk, self.proj = trunk, nn.Linear(width, embedding_dim)
        self.classifier = nn.Linear(embedding_dim, num_classes) if num_classes else None

    def embed(self, x: Tensor) -> Tensor:
        f = self.proj(self.trunk(x))
        return F.normalize(torch.relu(f) if self.classifier is not None else f, dim=1)

    def forward(self, x: Tensor) -> Tensor:
        if self.classifier is None:
            return self.embed(x)
        return self.classifier(torch.relu(self.proj(self.trunk(x))))


def resnet_face(
    weights: str | None = "DEFAULT", *, embedding_dim: int = 128, num_classes: int | None = None
) -> ResNetFace:
    """An ImageNet-pretrained ResNet-18 as a face embedder (``weights``: "DEFAULT", a
    ``ResNet18_Weights`` name such as "IMAGENET1K_V1", or ``None`` for random init, offline)."""
    from torchvision.models import ResNet18_Weights, resnet18

    if weights is None:
        trunk = resnet18(weights=None)
    elif isinstance(weights, str):
        if weights not in ResNet18_Weights.__members__ and weights != "DEFAULT":
            raise ValueError(
                f"weights must be 'DEFAULT', one of {list(ResNet18_Weights.__members__)} or None, "
                f"got {weights!r}"
            )
        trunk = pretrained(resnet18, weights=ResNet18_Weights[weights])
    else:
        raise ValueError(f"weights must be a str or None (never a bool), got {weights!r}")
    return ResNetFace(trunk, embedding_dim=embedding_dim, num_classes=num_classes)


def load_images(paths: list[str], transform) -> Tensor:
    """Tensor[N, 3, S, S]: every image of ``paths`` through ``transform`` (e.g. ``lfw_transform``)."""
    from PIL import Image

    if not paths:
        raise ValueError("load_images() got no paths")
    with torch.no_grad():
        return torch.stack([transform(Image.open(p).convert("RGB")) for p in paths])


@torch.no_grad()
def lfw_pair_distances(
    model: nn.Module, pairs: LFWPairs, *, device="cpu", batch_size: int = 128
) -> tuple[Tensor, Tensor, Tensor]:
    """Squared L2 distances between the embeddings of every LFW pair (``model.embed`` if it has
    one, else its forward). Returns ``(distances Tensor[P], same Tensor[P] bool, folds Tensor[P])``."""
    fn = embedding_fn(model)
    was_training = model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(pairs), batch_size):
            items = [pairs[k] for k in range(start, min(start + batch_size, len(pairs)))]
            a = fn(torch.stack([it[0] for it in items]).to(device))
            b = fn(torch.stack([it[1] for it in items]).to(device))
            out.append((a - b).pow(2).sum(1).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out), torch.tensor(pairs.targets, dtype=torch.bool), pairs.folds


def lfw_finetune(
    method: str,
    pairs: LFWPairs,
    *,
    root=None,
    size: int = 112,
    steps: int = 2000,
    val_people: int = 50,
    lr: float = 3e-4,
    P: int = 16,
    K: int = 4,
    device="cpu",
    weights: str | None = "DEFAULT",
):
    """Finetune an ImageNet ResNet-18 on LFW people who are in *no* test pair (``pairs``), the same
    two ways as the quick profile (``method``: "softmax" or "semi-hard"); ``val_people`` of them are
    held out for the validation curve. Returns ``(model, History)``."""
    if method not in ("softmax", "semi-hard"):
        raise ValueError(f"method must be 'softmax' or 'semi-hard', got {method!r}")
    in_pairs = {name for pair in pairs.pair_names for name in pair}
    paths, labels, _ = lfw_people(root, exclude=in_pairs, min_images=2)
    images = load_images(paths, lfw_transform(size))
    is_val = labels >= int(labels.max()) + 1 - val_people
    train = FaceSet(images[~is_val], labels[~is_val], {}, {})
    val = FaceSet(images[is_val], labels[is_val], {}, {})
    t = {**TRAIN, "steps": steps, "evals": 4, "lr": lr, "P": P, "K": K}
    if method == "softmax":
        model = resnet_face(weights, num_classes=int(train.labels.max()) + 1)
        return train_softmax(train, val, t, image_size=size, model=model, device=device)
    model = resnet_face(weights)
    return train_triplet(
        train,
        val,
        t,
        strategy="semi-hard",
        margin=MARGIN,
        image_size=size,
        model=model,
        device=device,
    )


def photo_tensor(image, size: int, *, imagenet: bool = True) -> Tensor:
    """An uploaded photo (np.ndarray[H, W, 3] uint8) -> Tensor[3, size, size]: centre square crop,
    resize, values in [0, 1], ImageNet-normalised if ``imagenet`` (for ``resnet_face``)."""
    x = torch.as_tensor(image).permute(2, 0, 1).float() / 255
    if x.ndim != 3 or x.shape[0] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {tuple(image.shape)}")
    side = min(x.shape[1:])
    top, left = (x.shape[1] - side) // 2, (x.shape[2] - side) // 2
    x = F.interpolate(
        x[None, :, top : top + side, left : left + side], size=(size, size), mode="bilinear", antialias=True
    )[0]
    if imagenet:
        x = torchvision.transforms.functional.normalize(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    return x
