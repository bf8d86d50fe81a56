"""Full-profile training of the heavy models on several GPUs: torchrun + DDP through ``train.fit``.

    torchrun --nproc_per_node=4 tools/train_full.py fcn_resnet50 --steps 2000 --batch-size 32
    torchrun --nproc_per_node=4 tools/train_full.py fasterrcnn_resnet50_fpn_v2 --steps 5000 --batch-size 16
    python tools/train_full.py fcn_resnet50 --steps 10          # one process works the same way

- ``fcn_resnet50``: torchvision's FCN (COCO-with-VOC-labels weights) finetuned on PASCAL VOC 2012
  segmentation ``train``, images and masks resized to ``--size`` (pixel-wise cross-entropy, void
  pixels 255 ignored, + 0.5 x the auxiliary head's loss);
- ``fasterrcnn_resnet50_fpn_v2``: torchvision's COCO Faster R-CNN finetuned on VOC 2007 ``trainval``
  (the VOC classes as their COCO ids; the detector's own multi-task loss dict).

``--batch-size`` is the GLOBAL batch: every process loads its share of the same seeded batch
(``lecture_lib.distributed.GlobalBatches``), ``fit`` wraps the loss in DistributedDataParallel, and
BatchNorm statistics are frozen, so N processes follow the trajectory of one process on the same
global batches (``tests/test_train_full.py`` checks this with two CPU processes for the FCN; the
detector samples anchors and proposals per process, so there it checks that both processes train
the same weights). Rank 0 saves the
weights to ``--out``. Datasets come through ``lecture_lib.data.full_profile_dataset`` (one
``OfflineError`` without network).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lecture_lib import distributed, train  # noqa: E402
from lecture_lib.data import full_profile_dataset  # noqa: E402

ARCHS = ("fcn_resnet50", "fasterrcnn_resnet50_fpn_v2")
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class VOCSegmentationTensors(torch.utils.data.Dataset):
    """VOC segmentation pairs as ``(image Tensor[3, S, S] normalised, mask Tensor[S, S] int64)``."""

    def __init__(self, root, image_set: str, size: int):
        self.voc = full_profile_dataset(
            torchvision.datasets.VOCSegmentation, root, year="2012", image_set=image_set
        )
        self.size = size

    def __len__(self) -> int:
        return len(self.voc)

    def __getitem__(self, i: int):
        image, mask = self.voc[i]
        x = torchvision.transforms.functional.pil_to_tensor(image).float()[None] / 255
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True)[0]
        m = torch.as_tensor(torchvision.transforms.functional.pil_to_tensor(mask)[None].float())
        m = F.interpolate(m, size=(self.size, self.size), mode="nearest")[0, 0].long()
        return torchvision.transforms.functional.normalize(x, MEAN, STD), m


class VOCDetectionTensors(torch.utils.data.Dataset):
    """VOC detection pairs as ``(image Tensor[3, H, W] in [0, 1], {"boxes", "labels"})`` (COCO ids)."""

    def __init__(self, root, image_set: str):
        self.voc = full_profile_dataset(
            torchvision.datasets.VOCDetection, root, year="2007", image_set=image_set
        )

    def __len__(self) -> int:
        return len(self.voc)

    def __getitem__(self, i: int):
        from lecture_lib.detection.pretrained import voc_target

        image, annotation = self.voc[i]
        return torchvision.transforms.functional.pil_to_tensor(image).float() / 255, voc_target(annotation)


def segmentation_loss(model: nn.Module, batch) -> dict[str, torch.Tensor]:
    images, masks = batch
    device = next(model.parameters()).device
    x, y = torch.stack(images).to(device), torch.stack(masks).to(device)
    out = model(x)
    losses = {"pixels": F.cross_entropy(out["out"], y, ignore_index=255)}
    if out.get("aux") is not None:
        losses["aux"] = 0.5 * F.cross_entropy(out["aux"], y, ignore_index=255)
    return losses


def detection_loss(model: nn.Module, batch) -> dict[str, torch.Tensor]:
    images, targets = batch
    device = next(model.parameters()).device
    return model([x.to(device) for x in images], [{k: v.to(device) for k, v in t.items()} for t in targets])


def build(arch: str, weights: str | None, size: int = 800) -> nn.Module:
    """The model to finetune (``weights=None``: untrained, nothing downloaded), BatchNorm frozen.

    ``size``: the detector's input side (torchvision's ``min_size``; 800 as its COCO training)."""
    if arch == "fcn_resnet50":
        from lecture_lib.segmentation.pretrained import load_segmenter

        model, _ = load_segmenter(arch, weights=weights)
    elif arch == "fasterrcnn_resnet50_fpn_v2":
        from lecture_lib.detection.pretrained import coco_faster_rcnn

        model = coco_faster_rcnn(weights, min_size=size, max_size=max(size, 1333 * size // 800))
    else:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    return distributed.freeze_batchnorm(model.train())


def run(
    arch: str,
    *,
    root=None,
    image_set: str | None = None,
    steps: int = 100,
    batch_size: int = 8,
    lr: float = 0.01,
    size: int | None = None,
    weights: str | None = "DEFAULT",
    seed: int = 0,
    dropout: float | None = None,
) -> tuple[nn.Module, train.History]:
    """Finetune ``arch`` for ``steps`` global batches of ``batch_size``; returns (model, History).

    ``dropout`` (optional) sets every ``nn.Dropout``'s rate (0 makes runs with different process
    counts comparable step by step: dropout masks are drawn per process)."""
    if size is None:  # the FCN on 320 px squares, the detector at torchvision's 800 px
        size = 320 if arch == "fcn_resnet50" else 800
    device = distributed.init_from_env()
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # the same initial weights in every process
        model = build(arch, weights, size).to(device)
    if dropout is not None:
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = dropout
    if arch == "fcn_resnet50":
        data = VOCSegmentationTensors(root, image_set or "train", size)
        loss_fn = segmentation_loss
    else:
        data = VOCDetectionTensors(root, image_set or "trainval")
        loss_fn = detection_loss
    batches = distributed.GlobalBatches(data, batch_size=batch_size, steps=steps, seed=seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    history = train.fit(
        model,
        batches,
        epochs=1,
        optimizer=optimizer,
        loss_fn=loss_fn,
        device=device,
        progress=train.rank() == 0,
    )
    return model, history


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("arch", choices=ARCHS)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=8, help="global batch (all processes together)")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--size", type=int, default=None, help="input side (default: FCN 320, detector 800)")
    p.add_argument("--root", default=None, help="dataset folder (default: the lecture_lib cache)")
    p.add_argument("--weights", default="DEFAULT", help="torchvision weights name, or 'none'")
    p.add_argument("--out", default=None, help="where rank 0 saves the finetuned weights (.pt)")
    a = p.parse_args(argv)
    weights = None if a.weights.lower() == "none" else a.weights
    model, history = run(
        a.arch, root=a.root, steps=a.steps, batch_size=a.batch_size, lr=a.lr, size=a.size, weights=weights
    )
    if train.rank() == 0:
        loss = f"loss {history.batch_loss[0]:.3f} -> {history.batch_loss[-1]:.3f}"
        where = f"{a.steps} x {a.batch_size} on {train.world_size()} process(es)"
        print(f"{a.arch}: {where}, {loss}, {history.seconds:.0f} s")
        if a.out:
            torch.save(model.state_dict(), a.out)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
