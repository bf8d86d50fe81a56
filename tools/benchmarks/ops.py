"""How fast are the teaching box ops compared with torchvision's C++ kernels?

Prints, for ``lecture_lib.boxes.box_iou``, ``nms`` and ``roi_pool`` against ``torchvision.ops``,
the median time of each (``lecture_lib.train.timed``: warm-up, then repeats) and the ratio
ours / torchvision, on one CPU thread. Results are checked to be equal first.

    python tools/benchmarks/ops.py              # defaults: 512 RoIs, 7x7 bins, 1 thread
    python tools/benchmarks/ops.py --repeat 21

Settings: box_iou on 1000 x 1000 boxes; nms on 2000 boxes (IoU 0.7, as the RPN); roi_pool of
512 RoIs to 7x7 bins from a Tensor[2, 256, 38, 50] feature map (VGG16 conv5 of a 600 x 800 image,
stride 16), RoIs of 32..400 pixels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lecture_lib import boxes  # noqa: E402
from lecture_lib.train import timed  # noqa: E402


def random_boxes(
    n: int,
    generator: torch.Generator,
    *,
    size: tuple[int, int] = (600, 800),
    side: tuple[float, float] = (32, 400),
) -> torch.Tensor:
    """``n`` xyxy boxes inside an ``(H, W)`` image with sides in ``side``."""
    h, w = size
    wh = side[0] + torch.rand(n, 2, generator=generator) * (side[1] - side[0])
    wh = torch.minimum(wh, torch.tensor([w - 1.0, h - 1.0]))
    xy = torch.rand(n, 2, generator=generator) * (torch.tensor([w, h]) - wh)
    return torch.cat([xy, xy + wh], dim=1)


def cases(generator: torch.Generator) -> dict:
    """``{name: (ours, torchvision)}`` zero-argument callables on fixed random inputs."""
    a, b = random_boxes(1000, generator), random_boxes(1000, generator)
    nms_boxes, nms_scores = random_boxes(2000, generator), torch.rand(2000, generator=generator)
    features = torch.randn(2, 256, 38, 50, generator=generator)
    rois = [random_boxes(256, generator), random_boxes(256, generator)]
    return {
        "box_iou (1000 x 1000)": (lambda: boxes.box_iou(a, b), lambda: torchvision.ops.box_iou(a, b)),
        "nms (2000 boxes, IoU 0.7)": (
            lambda: boxes.nms(nms_boxes, nms_scores, 0.7),
            lambda: torchvision.ops.nms(nms_boxes, nms_scores, 0.7),
        ),
        "roi_pool (512 RoIs, 7x7, [2, 256, 38, 50])": (
            lambda: boxes.roi_pool(features, rois, (7, 7), 1 / 16),
            lambda: torchvision.ops.roi_pool(features, rois, (7, 7), 1 / 16),
        ),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    ratios = {}
    for name, (ours, ref) in cases(torch.Generator().manual_seed(0)).items():
        torch.testing.assert_close(ours(), ref())  # the same result before comparing speed
        t_ours, t_ref = timed(ours, repeat=args.repeat), timed(ref, repeat=args.repeat)
        ratios[name] = t_ours.median / t_ref.median
        print(
            f"{name:45s} ours {t_ours}\n{'':45s} torchvision {t_ref}\n{'':45s} ratio ours/torchvision "
            f"{ratios[name]:.1f}x"
        )
    print(f"{args.threads} thread(s), torch {torch.__version__}, torchvision {torchvision.__version__}")
    return ratios


if __name__ == "__main__":
    main()
