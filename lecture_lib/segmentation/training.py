"""Segmentation training: the jointly trained FCN-32s/16s/8s and the window classifier (``train.fit``).

- ``train_fcn(s, val)``: the FCN with all three decoders on fresh scenes (``FreshScenes``), the sum
  of the three cross-entropy losses, validation mIoU and boundary mIoU of each decoder per epoch.
- ``train_classifier(s, train)``: the window classifier on crops labelled by their centre pixel.
- ``finetune_fcn(root, ...)`` (full profile, ``tools/train_full.py``; one process or ``torchrun``):
  torchvision's ``fcn_resnet50`` finetuned on VOC 2012 with ``segmentation_loss``.

``s`` is a settings dict shaped as ``recipes.SETTINGS`` (the committed checkpoint's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lecture_lib import distributed
from lecture_lib.datasets.scenes import FreshScenes
from lecture_lib.metrics.segmentation import iou_from_confusion, segmentation_confusions
from lecture_lib.segmentation.models import FCN, window_classifier
from lecture_lib.segmentation.pretrained import VOCSegmentationTensors, load_segmenter
from lecture_lib.segmentation.windows import sample_crops
from lecture_lib.train import History, fit, predict


def train_fcn(s: dict, val, *, progress: bool = False) -> tuple[FCN, dict]:
    """The FCN with all three decoders, trained on fresh scenes; validated on ``val`` every epoch."""
    sc, tr = s["scenes"], s["train"]
    with torch.random.fork_rng():  # seeded initialisation; the caller's RNG is untouched
        torch.manual_seed(tr["seed"])
        model = FCN(val.num_classes, variant="all", **s["arch"])
    loader = FreshScenes(
        sc["n_train"],
        sc["train_seed"],
        tr["batch_size"],
        torch.Generator().manual_seed(tr["seed"]),
        **sc["kwargs"],
    )
    opt = torch.optim.AdamW(model.parameters(), lr=tr["lr"], weight_decay=tr["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=tr["lr"], total_steps=tr["epochs"] * len(loader), pct_start=tr["pct_start"]
    )

    def losses(m, batch):  # one encoder pass, the three decoders' losses (summed by fit)
        x, y = batch
        return {v: F.cross_entropy(out, y) for v, out in m(x).items()}

    def evaluate(m):
        metrics = {}
        for v in FCN.VARIANTS:
            pred = predict(m.head(v), val.images, batch_size=32).argmax(1)
            cm, cb = segmentation_confusions(pred, val.masks, val.num_classes)
            metrics[f"val_miou_{v}"] = iou_from_confusion(cm)["miou"]
            metrics[f"val_boundary_miou_{v}"] = iou_from_confusion(cb)["miou"]
        return metrics

    hist = fit(
        model,
        loader,
        epochs=tr["epochs"],
        optimizer=opt,
        scheduler=sched,
        scheduler_step="batch",
        loss_fn=losses,
        eval_fn=evaluate,
        progress=progress,
    )
    return model, hist.as_dict()


def train_classifier(s: dict, train, *, progress: bool = False) -> tuple[torch.nn.Module, dict]:
    """The window classifier, trained on crops of ``train`` labelled by their centre pixel."""
    cfg = s["classifier_cfg"]
    g = torch.Generator().manual_seed(1)
    crops, labels = sample_crops(train.images, train.masks, cfg["n_crops"], cfg["crop"], generator=g)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = window_classifier(train.num_classes, crop=cfg["crop"])
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(crops, labels), batch_size=cfg["batch_size"], shuffle=True, generator=g
    )
    hist = fit(model, loader, epochs=cfg["epochs"], lr=cfg["lr"], progress=progress)
    return model, hist.as_dict()


def segmentation_loss(model: torch.nn.Module, batch) -> dict[str, torch.Tensor]:
    """Pixel-wise cross-entropy (void 255 ignored) of torchvision's segmenter, + 0.5 x its auxiliary
    head's. ``batch``: ``([image Tensor[3, S, S]], [mask Tensor[S, S]])`` as ``GlobalBatches`` gives."""
    images, masks = batch
    p = next(model.parameters())
    x, y = torch.stack(images).to(p.device, p.dtype), torch.stack(masks).to(p.device)
    out = model(x)
    losses = {"pixels": F.cross_entropy(out["out"], y, ignore_index=255)}
    if out.get("aux") is not None:
        losses["aux"] = 0.5 * F.cross_entropy(out["aux"], y, ignore_index=255)
    return losses


def finetune_fcn(
    root=None,
    *,
    image_set: str = "train",
    size: int = 320,
    weights: str | None = "DEFAULT",
    **kwargs,
) -> tuple[torch.nn.Module, History]:
    """torchvision's ``fcn_resnet50`` (``weights``; None: untrained, nothing downloaded) finetuned on
    VOC 2012 ``image_set`` squares of ``size`` px; ``kwargs`` (steps, batch_size, lr, seed, dropout,
    dtype) as ``lecture_lib.distributed.finetune``. Returns ``(model, History)``."""
    data = VOCSegmentationTensors(root, image_set, size)
    return distributed.finetune(
        lambda: load_segmenter("fcn_resnet50", weights=weights)[0], data, segmentation_loss, **kwargs
    )
