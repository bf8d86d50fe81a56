"""Training of the detection networks, all through ``lecture_lib.train.fit``.

- ``ShuffledBatches``: a seeded loader of shuffled ``(x, y)`` mini-batches, one pass per epoch.
- ``sample_training_crops``: object and background crops to pretrain the backbone as a classifier.
- ``pretrain_backbone``: the crop classifier that stands in for the slides' ImageNet CNN.
- ``fit_fast_rcnn``, ``fit_faster_rcnn``: end-to-end multi-task training of the two detectors.
- ``training_seconds_per_scene``: R-CNN's and Fast R-CNN's training time per scene, timed live.
- ``finetune_detector(root, ...)`` (full profile, ``tools/train_full.py``; one process or
  ``torchrun``): torchvision's COCO Faster R-CNN finetuned on VOC 2007 with its own loss dict.

R-CNN's SVMs and regressors are fit with scikit-learn (``lecture_lib.detection.rcnn``). Used by
``lecture_lib.detection.recipes`` (the committed checkpoints) and the live runs of 03b/03c.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lecture_lib import boxes as box_ops
from lecture_lib import distributed
from lecture_lib.checks import check_int, check_tensor, check_tensor_list
from lecture_lib.detection.backbone import CropClassifier, warp_crops
from lecture_lib.detection.fast_rcnn import FastRCNN
from lecture_lib.detection.faster_rcnn import FasterRCNN
from lecture_lib.detection.pretrained import VOCDetectionTensors, coco_faster_rcnn
from lecture_lib.detection.rcnn import extract_features
from lecture_lib.train import History, fit, timed


class ShuffledBatches:
    """Every example once per pass, in mini-batches of ``batch_size`` (the last one smaller),
    shuffled by the loader's own generator (a loader for ``train.fit``)."""

    def __init__(self, x: Tensor, y: Tensor, *, batch_size: int, seed: int = 0):
        if x.shape[0] != y.shape[0] or x.shape[0] == 0:
            raise ValueError(
                f"x and y must hold the same, non-zero number of examples, got {x.shape[0]} and {y.shape[0]}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.x, self.y, self.batch_size = x, y, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        perm = torch.randperm(len(self.x), generator=self.generator)
        for i in range(0, len(self.x), self.batch_size):
            idx = perm[i : i + self.batch_size]
            yield self.x[idx], self.y[idx]

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)


def sample_training_crops(
    images: Tensor,
    boxes_per_image: list[Tensor],
    labels_per_image: list[Tensor],
    *,
    per_image: int = 8,
    size: int = 64,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Crops for pretraining: jittered ground-truth boxes (their class) and random background boxes.

    A jittered box keeps IoU >= 0.6 with its object; a background box has IoU < 0.3 with every
    object. Returns ``(crops Tensor[K, 3, size, size], labels Tensor[K])``.
    """
    rng = np.random.default_rng(seed)
    crops, labels = [], []
    for img, gt, lab in zip(images, boxes_per_image, labels_per_image):
        _, h, w = img.shape
        cand = []
        for b, c in zip(gt.tolist(), lab.tolist()):
            for _ in range(per_image // 2):
                bw, bh = b[2] - b[0], b[3] - b[1]
                j = rng.uniform(-0.12, 0.12, 4) * np.array([bw, bh, bw, bh])
                cand.append(([b[0] + j[0], b[1] + j[1], b[2] + j[2], b[3] + j[3]], c))
        n_bg = per_image * max(1, len(gt)) // 2
        tries = 0
        while n_bg > 0 and tries < 50 * per_image:
            tries += 1
            bw, bh = rng.uniform(10, w * 0.6), rng.uniform(10, h * 0.6)
            x1, y1 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            box = torch.tensor([[x1, y1, x1 + bw, y1 + bh]], dtype=torch.float32)
            if len(gt) and box_ops.box_iou(box, gt.float()).max() >= 0.3:
                continue
            cand.append(([x1, y1, x1 + bw, y1 + bh], 0))
            n_bg -= 1
        bx = torch.tensor([c[0] for c in cand], dtype=torch.float32).reshape(-1, 4)
        crops.append(warp_crops(img, bx, size))
        labels.append(torch.tensor([c[1] for c in cand], dtype=torch.int64))
    return torch.cat(crops), torch.cat(labels)


def pretrain_backbone(
    model: CropClassifier,
    crops: Tensor,
    labels: Tensor,
    val_crops: Tensor,
    val_labels: Tensor,
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 2e-3,
    max_lr: float = 3e-3,
    seed: int = 0,
    progress: bool = False,
) -> History:
    """Train a crop classifier (Adam, one-cycle schedule stepped per batch); validation accuracy per epoch.

    Returns the ``train.fit`` History (``metrics["val_acc"]`` after each epoch).
    """
    loader = ShuffledBatches(crops, labels, batch_size=batch_size, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=epochs * len(loader))

    def val_acc(m: nn.Module) -> dict[str, float]:
        with torch.inference_mode():
            return {"val_acc": (m(val_crops).argmax(1) == val_labels).float().mean().item()}

    return fit(
        model,
        loader,
        epochs=epochs,
        optimizer=opt,
        eval_fn=val_acc,
        scheduler=sched,
        scheduler_step="batch",
        progress=progress,
        desc="crop classifier",
    )


def _fit_detector(
    model: FastRCNN | FasterRCNN,
    batches: list[tuple],
    generator: torch.Generator,
    *,
    epochs: int,
    lr: float,
    progress: bool,
) -> History:
    """Adam, a per-step cosine schedule, ``epochs`` passes of ``batches`` (the multi-task loss summed)."""
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(batches))

    def loss_fn(m: nn.Module, b: Sequence[Any]) -> dict[str, Tensor]:
        if not isinstance(m, (FastRCNN, FasterRCNN)):
            raise TypeError(f"model must be a FastRCNN or FasterRCNN, got {type(m).__name__}")
        return m.losses(*b, generator=generator)

    return fit(
        model,
        batches,
        epochs=epochs,
        optimizer=opt,
        loss_fn=loss_fn,
        scheduler=sched,
        scheduler_step="batch",
        progress=progress,
        desc="detector",
    )


def fit_fast_rcnn(
    model: FastRCNN,
    images: Tensor,
    targets: list[dict],
    proposals_per_image: list[Tensor],
    *,
    epochs: int,
    batch_size: int = 4,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = False,
) -> History:
    """Train Fast R-CNN end to end (both losses at once) on images with their external proposals.

    Returns the ``train.fit`` History: ``batch_loss`` and ``batch_parts`` (``loss_classifier``,
    ``loss_box_reg``) per step, ``seconds``.
    """
    g = torch.Generator().manual_seed(seed)  # the RoI sampling
    batches = [
        (images[i : i + batch_size], proposals_per_image[i : i + batch_size], targets[i : i + batch_size])
        for i in range(0, len(images), batch_size)
    ]
    return _fit_detector(model, batches, g, epochs=epochs, lr=lr, progress=progress)


def fit_faster_rcnn(
    model: FasterRCNN,
    images: Tensor,
    targets: list[dict],
    *,
    epochs: int,
    batch_size: int = 8,
    lr: float = 2e-3,
    seed: int = 0,
    progress: bool = False,
) -> History:
    """Train all four losses jointly (approximate joint training); returns the ``train.fit`` History."""
    g = torch.Generator().manual_seed(seed)  # the anchor and RoI sampling
    batches = [
        (images[i : i + batch_size], targets[i : i + batch_size]) for i in range(0, len(images), batch_size)
    ]
    return _fit_detector(model, batches, g, epochs=epochs, lr=lr, progress=progress)


def training_seconds_per_scene(
    cnn: CropClassifier,
    fast: FastRCNN,
    images: Tensor,
    targets: list[dict],
    proposals: list[Tensor],
    *,
    epochs: int,
    warp: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """What each detector's training spends on each training scene, timed live (``train.timed``).

    R-CNN: its CNN on every region of the scene (ground-truth boxes and proposals), once: the
    feature pass before its SVMs and regressors, which learn from all scenes at once and are left
    out (so R-CNN's time is a lower bound). Fast R-CNN: one training step on the scene alone,
    times ``epochs`` (the recipe sees every scene once per epoch; alone, a step's fixed cost is
    not shared with other scenes, so its time is an upper bound). ``fast`` is trained by the
    timed steps: pass a copy.

    Args:
        cnn: R-CNN's CNN. fast: a Fast R-CNN to train. images (Tensor[N, 3, H, W]): the scenes.
        targets: one ``{"boxes", "labels"}`` per scene. proposals: one ``Tensor[P_i, 4]`` per scene.
        epochs: Fast R-CNN's training epochs. warp: R-CNN's crop size.

    Returns:
        (rcnn array[N], fast array[N]): seconds per scene, paired by scene.
    """
    n = check_tensor(images, "images", "(N, 3, H, W)", dtype="float")["N"]
    check_int(epochs, "epochs", low=1)
    check_tensor_list(proposals, "proposals", n)
    if not isinstance(targets, (list, tuple)):
        raise TypeError(
            f"targets must be a list of {{'boxes', 'labels'}} dicts, got {type(targets).__name__}"
        )
    if n == 0 or len(targets) != n:
        raise ValueError(
            f"need >= 1 scene and one target per scene, got {n} scenes and {len(targets)} targets"
        )
    rcnn, fast_s = np.zeros(n), np.zeros(n)
    extract_features(cnn, images[0], targets[0]["boxes"].float(), warp=warp)  # warm-up, not timed
    for i, (img, t, p) in enumerate(zip(images, targets, proposals)):
        regions = torch.cat([t["boxes"].float(), p.float()])
        features = partial(extract_features, cnn, img, regions, warp=warp)
        rcnn[i] = timed(features, repeat=1, warmup=0).median
        step = partial(fit_fast_rcnn, fast, img[None], [t], [p], epochs=1, batch_size=1)
        fast_s[i] = epochs * timed(step, repeat=1).median
    return rcnn, fast_s


def curve(history: History) -> dict:
    """The loss curve stored in the detector checkpoints: ``{"loss", "parts", "seconds"}`` per step."""
    return {
        "loss": list(history.batch_loss),
        "parts": {k: list(v) for k, v in history.batch_parts.items()},
        "seconds": float(history.seconds),
    }


def detection_loss(model: nn.Module, batch) -> dict[str, Tensor]:
    """torchvision's detector in train mode returns its multi-task loss dict. ``batch``:
    ``([image Tensor[3, H, W]], [{"boxes", "labels"}])`` as ``GlobalBatches`` gives."""
    images, targets = batch
    p = next(model.parameters())
    return model(
        [x.to(p.device, p.dtype) for x in images],
        [{k: v.to(p.device) for k, v in t.items()} for t in targets],
    )


def detector_to_finetune(
    weights: str | None = "DEFAULT", size: int = 800, *, rois_per_image: int = 512
) -> nn.Module:
    """``fasterrcnn_resnet50_fpn_v2`` (``weights=None``: untrained) at input side ``size``
    (torchvision's ``min_size``; 800 as its COCO training, ``max_size`` scaled alike), sampling
    ``rois_per_image`` proposals per image for its box head's loss (512 as torchvision's default;
    the four-conv box head costs most of a training step, so tests take fewer)."""
    if isinstance(rois_per_image, bool) or not isinstance(rois_per_image, int) or rois_per_image < 1:
        raise ValueError(f"rois_per_image must be a positive int, got {rois_per_image!r}")
    return coco_faster_rcnn(
        weights,
        min_size=size,
        max_size=max(size, 1333 * size // 800),
        box_batch_size_per_image=rois_per_image,
    )


def finetune_detector(
    root=None,
    *,
    image_set: str = "trainval",
    size: int = 800,
    weights: str | None = "DEFAULT",
    rois_per_image: int = 512,
    **kwargs,
) -> tuple[nn.Module, History]:
    """torchvision's COCO Faster R-CNN finetuned on VOC 2007 ``image_set`` (the VOC classes as their
    COCO ids); ``rois_per_image`` as ``detector_to_finetune``; ``kwargs`` (steps, batch_size, lr,
    seed, dropout, dtype) as
    ``lecture_lib.distributed.finetune``. Returns ``(model, History)``.

    The RPN and RoI head sample anchors and proposals with each process's own random stream, so
    N processes train the same weights but not one process's trajectory step by step."""
    data = VOCDetectionTensors(root, image_set)
    return distributed.finetune(
        lambda: detector_to_finetune(weights, size, rois_per_image=rois_per_image),
        data,
        detection_loss,
        **kwargs,
    )
