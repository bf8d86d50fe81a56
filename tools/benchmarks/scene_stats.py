"""The data's own statistics, first edition -> second edition (issue "quick-profile data").

Prints, for ``make_scenes`` (edition 1) and ``make_scenes_v2`` (edition 2) on the same seed,
``scene_statistics``: objects per image, share of objects occluded (> 10% hidden), share of small
objects, the size histogram, and Selective Search's mean average best overlap (MABO) and recall
at IoU 0.5 / 0.7 with its full proposal set (``max_proposals=None``, the paper's fast mode).
Target, from Uijlings et al. (IJCV 2013) on PASCAL VOC 2007: MABO ~0.80 (accepted 0.70-0.88),
recall@0.5 >= 0.95; VOC has ~2.4 objects per image. Then, for the people, how often a colour rule
("the redder elbow is the person's right") names the sides correctly, edition 1 -> 2.

    python tools/benchmarks/scene_stats.py              # 40 scenes per edition (~1 min), 200 people
    python tools/benchmarks/scene_stats.py --n 100
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lecture_lib.datasets.people import JOINTS, make_people  # noqa: E402
from lecture_lib.datasets.people_v2 import make_people_v2  # noqa: E402
from lecture_lib.datasets.scenes import make_scenes  # noqa: E402
from lecture_lib.datasets.scenes_v2 import SIZE_BINS, make_scenes_v2, scene_statistics  # noqa: E402
from lecture_lib.detection.selective_search import selective_search  # noqa: E402

ROWS = (
    ("objects per image", "objects_per_image", "{:.2f}", "~2.4 (VOC)"),
    ("share occluded (>10% hidden)", "share_occluded", "{:.2f}", ">= 0.20"),
    ("mean hidden fraction", "mean_hidden", "{:.3f}", ""),
    (f"share small (sqrt(area)/side < {SIZE_BINS[1]})", "share_small", "{:.2f}", ""),
    ("SS proposals per image", "proposals_per_image", "{:.0f}", "~2,000 (VOC, 500x375 px)"),
    ("SS MABO", "mabo", "{:.3f}", "0.70-0.88 (VOC07: ~0.80)"),
    ("SS recall @ IoU 0.5", "recall_05", "{:.3f}", ">= 0.95"),
    ("SS recall @ IoU 0.7", "recall_07", "{:.3f}", ""),
)


def _fmt(fmt: str, v) -> str:
    return "n/a" if v is None else fmt.format(v)


def colour_rule_accuracy(people) -> float:
    """Share of images (both elbows visible) where the redder elbow is the person's right."""
    re, le = JOINTS.index("right elbow"), JOINTS.index("left elbow")
    idx = (people.visible[:, re] & people.visible[:, le]).nonzero().flatten()
    kp_r, kp_l = people.keypoints[idx, re].round().long(), people.keypoints[idx, le].round().long()
    red_r = people.images[idx, 0, kp_r[:, 1], kp_r[:, 0]]
    red_l = people.images[idx, 0, kp_l[:, 1], kp_l[:, 0]]
    return float((red_r > red_l).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="scenes per edition")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--people", type=int, default=200)
    args = parser.parse_args()
    stats = {}
    for name, make in (("edition 1", make_scenes), ("edition 2", make_scenes_v2)):
        t0 = time.perf_counter()
        scenes = make(args.n, seed=args.seed)
        props = [selective_search(im.permute(1, 2, 0).numpy(), max_proposals=None) for im in scenes.images]
        stats[name] = scene_statistics(scenes, props)
        print(f"{name}: {args.n} scenes, seed {args.seed}, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(f"Scenes ({args.n} per edition, seed {args.seed}, 128 x 128 px)")
    print("| statistic | edition 1 | edition 2 | real-data target |\n|---|---|---|---|")
    for label, key, fmt, target in ROWS:
        before, after = (_fmt(fmt, stats[e][key]) for e in ("edition 1", "edition 2"))
        print(f"| {label} | {before} | {after} | {target} |")
    bins = [f"{lo:g}-{hi:g}" for lo, hi in zip(SIZE_BINS[:-1], SIZE_BINS[1:])]
    for name in stats:
        hist = ", ".join(f"{b}: {v:.2f}" for b, v in zip(bins, stats[name]["size_histogram"]))
        abo = ", ".join(f"{c} {v:.2f}" for c, v in stats[name]["abo_per_class"].items())
        print(f"{name}: size histogram (sqrt(area)/side) {hist}; ABO per class {abo}")
    p1, p2 = make_people(args.people, seed=args.seed), make_people_v2(args.people, seed=args.seed)
    print(f"\nPeople ({args.people} per edition, seed {args.seed})")
    print("| statistic | edition 1 | edition 2 |\n|---|---|---|")
    print(
        f"| colour rule names the sides (redder elbow = right) | {colour_rule_accuracy(p1):.2f} | "
        f"{colour_rule_accuracy(p2):.2f} |"
    )
    for label, f in (
        ("front views", lambda p: p.facing_camera),
        ("joints visible", lambda p: p.visible),
        ("images with an occluded joint", lambda p: p.occluded.any(1)),
    ):
        print(f"| {label} | {f(p1).float().mean():.2f} | {f(p2).float().mean():.2f} |")


if __name__ == "__main__":
    main()
