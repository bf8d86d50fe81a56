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
the same weights). Rank 0 saves the weights to ``--out``. Datasets come through
``lecture_lib.data.full_profile_dataset`` (one ``OfflineError`` without network).

This script only parses arguments: the recipes are ``lecture_lib.segmentation.training.finetune_fcn``
and ``lecture_lib.detection.training.finetune_detector`` (on ``lecture_lib.distributed.finetune``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lecture_lib import train  # noqa: E402
from lecture_lib.detection.training import finetune_detector  # noqa: E402
from lecture_lib.segmentation.training import finetune_fcn  # noqa: E402

RECIPES = {"fcn_resnet50": finetune_fcn, "fasterrcnn_resnet50_fpn_v2": finetune_detector}
DEFAULT_SIZE = {"fcn_resnet50": 320, "fasterrcnn_resnet50_fpn_v2": 800}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("arch", choices=tuple(RECIPES))
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=8, help="global batch (all processes together)")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--size", type=int, default=None, help="input side (default: FCN 320, detector 800)")
    p.add_argument("--root", default=None, help="dataset folder (default: the lecture_lib cache)")
    p.add_argument("--weights", default="DEFAULT", help="torchvision weights name, or 'none'")
    p.add_argument("--out", default=None, help="where rank 0 saves the finetuned weights (.pt)")
    a = p.parse_args(argv)
    model, history = RECIPES[a.arch](
        a.root,
        size=a.size or DEFAULT_SIZE[a.arch],
        weights=None if a.weights.lower() == "none" else a.weights,
        steps=a.steps,
        batch_size=a.batch_size,
        lr=a.lr,
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
