"""lecture_lib.metrics.detection against pycocotools' COCOeval (bbox, one IoU threshold)."""

import contextlib
import io
import math

import numpy as np
import pytest
import torch

from lecture_lib.metrics.detection import bootstrap_map, detection_ap, precision_recall_curve

pycocotools = pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402


def _coco(images, anns, cats):
    coco = COCO()
    coco.dataset = {
        "images": [{"id": i} for i in images],
        "annotations": anns,
        "categories": [{"id": c} for c in cats],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def coco_reference(predictions, targets, thr):
    """{"map", "ap_per_class"} from COCOeval (boxes converted to COCO's xywh)."""
    images = list(range(1, len(targets) + 1))
    cats = sorted({int(v) for d in targets + predictions for v in d["labels"].tolist()}) or [1]
    gts, dts = [], []
    for img, tgt, pred in zip(images, targets, predictions):
        for b, lab in zip(tgt["boxes"].double().tolist(), tgt["labels"].tolist()):
            w, h = b[2] - b[0], b[3] - b[1]
            gts.append(
                {
                    "id": len(gts) + 1,
                    "image_id": img,
                    "category_id": lab,
                    "bbox": [b[0], b[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for b, s, lab in zip(
            pred["boxes"].double().tolist(), pred["scores"].double().tolist(), pred["labels"].tolist()
        ):
            w, h = b[2] - b[0], b[3] - b[1]
            dts.append(
                {
                    "id": len(dts) + 1,
                    "image_id": img,
                    "category_id": lab,
                    "bbox": [b[0], b[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                    "score": s,
                }
            )
    coco_gt, coco_dt = _coco(images, gts, cats), _coco(images, dts, cats)
    ev = COCOeval(coco_gt, coco_dt, "bbox")
    ev.params.iouThrs = np.array([thr])
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][0, :, :, 0, 2]  # (R, K) at area "all", maxDets=100
    ap = {
        c: float(precision[:, k].mean())
        for k, c in enumerate(ev.params.catIds)
        if (precision[:, k] > -1).all()
    }
    valid = precision[precision > -1]
    return {"map": float(valid.mean()) if valid.size else float("nan"), "ap_per_class": ap}


def random_case(seed: int):
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    n_img = int(torch.randint(1, 7, (1,), generator=g))
    n_cls = int(torch.randint(1, 5, (1,), generator=g))
    predictions, targets = [], []
    for _ in range(n_img):
        m = int(torch.randint(0, 6, (1,), generator=g))  # images without GT happen
        xy = rnd(m, 2) * 80
        gt = torch.cat((xy, xy + 5 + rnd(m, 2) * 40), dim=1)
        gt_labels = torch.randint(1, n_cls + 1, (m,), generator=g)
        # detections: jittered copies of GT (some with a wrong label) plus random false positives
        k = int(torch.randint(0, 3 * m + 2, (1,), generator=g))
        src = torch.randint(0, max(m, 1), (k,), generator=g)
        boxes = gt[src] + (rnd(k, 4) - 0.5) * 16 if m else torch.zeros(k, 4)
        labels = gt_labels[src] if m else torch.randint(1, n_cls + 2, (k,), generator=g)
        wrong = rnd(k) < 0.15
        labels = torch.where(wrong, torch.randint(1, n_cls + 2, (k,), generator=g), labels)
        n_fp = int(torch.randint(0, 4, (1,), generator=g))
        xy = rnd(n_fp, 2) * 80
        boxes = torch.cat((boxes, torch.cat((xy, xy + 5 + rnd(n_fp, 2) * 40), dim=1)))
        labels = torch.cat((labels, torch.randint(1, n_cls + 2, (n_fp,), generator=g)))  # n_cls + 1: no GT
        boxes = torch.cat((boxes[:, :2], torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)), dim=1)
        scores = rnd(len(boxes))
        if seed % 3 == 0:  # exact ties
            scores = (scores * 3).round() / 3
        predictions.append({"boxes": boxes, "scores": scores, "labels": labels})
        targets.append({"boxes": gt, "labels": gt_labels})
    return predictions, targets


def assert_same(ours, ref):
    assert set(ours["ap_per_class"]) == set(ref["ap_per_class"])
    for c, v in ref["ap_per_class"].items():
        assert ours["ap_per_class"][c] == pytest.approx(v, abs=1e-6), f"class {c}"
    if math.isnan(ref["map"]):
        assert math.isnan(ours["map"])
    else:
        assert ours["map"] == pytest.approx(ref["map"], abs=1e-6)


@pytest.mark.parametrize("seed", range(40))
def test_matches_cocoeval_random(seed):
    predictions, targets = random_case(seed)
    thr = [0.5, 0.75, 0.3, 0.9][seed % 4]
    assert_same(detection_ap(predictions, targets, thr), coco_reference(predictions, targets, thr))


def test_more_than_100_detections_per_image_and_class():
    g = torch.Generator().manual_seed(0)
    gt = torch.tensor([[10.0, 10, 30, 30], [50, 50, 70, 70]])
    targets = [{"boxes": gt, "labels": torch.tensor([1, 1])}, {"boxes": gt, "labels": torch.tensor([1, 2])}]
    predictions = []
    for _ in targets:  # 150 junk detections above the true ones: COCO counts the top 100 only
        junk = 100 + torch.rand(150, 2, generator=g) * 60  # far from every GT box
        boxes = torch.cat((torch.cat((junk, junk + 20), 1), gt))
        scores = torch.cat((0.5 + torch.rand(150, generator=g) / 2, torch.tensor([0.4, 0.3])))
        predictions.append({"boxes": boxes, "scores": scores, "labels": torch.ones(152, dtype=torch.int64)})
    ours = detection_ap(predictions, targets)
    assert_same(ours, coco_reference(predictions, targets, 0.5))
    assert ours["map"] == 0.0  # the true boxes ranked 151st and 152nd are not counted
    assert detection_ap(predictions, targets, max_detections=200)["ap_per_class"][1] > 0


def test_iou_ties_take_the_last_gt_like_coco():
    # det 1 overlaps GT A and GT B equally (IoU 1/3); COCO matches it to the later one (B), so
    # det 2 (exactly A) is a hit too
    targets = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [10, 0, 20, 10]]), "labels": torch.tensor([1, 1])}]
    preds = [
        {
            "boxes": torch.tensor([[5.0, 0, 15, 10], [0, 0, 10, 10]]),
            "scores": torch.tensor([0.9, 0.8]),
            "labels": torch.tensor([1, 1]),
        }
    ]
    ours = detection_ap(preds, targets, 0.3)
    assert_same(ours, coco_reference(preds, targets, 0.3))
    assert ours["map"] == pytest.approx(1.0)


def test_empty_predictions_and_no_gt():
    targets = [
        {"boxes": torch.tensor([[0.0, 0, 10, 10]]), "labels": torch.tensor([3])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)},
    ]
    empty = {
        "boxes": torch.zeros(0, 4),
        "scores": torch.zeros(0),
        "labels": torch.zeros(0, dtype=torch.int64),
    }
    assert detection_ap([empty, empty], targets) == {"map": 0.0, "ap_per_class": {3: 0.0}}
    out = detection_ap([empty], [targets[1]])
    assert math.isnan(out["map"]) and out["ap_per_class"] == {}
    assert math.isnan(detection_ap([], [])["map"])


def test_perfect_and_hand_example():
    gt = torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]])
    targets = [{"boxes": gt, "labels": torch.tensor([1, 1])}]
    perfect = [{"boxes": gt, "scores": torch.tensor([0.9, 0.8]), "labels": torch.tensor([1, 1])}]
    assert detection_ap(perfect, targets)["map"] == pytest.approx(1.0)
    # a false positive ranked between the two hits: precision 1, 1/2, 2/3 -> envelope 1 up to
    # recall 0.5, then 2/3: AP = (51 * 1 + 50 * 2/3) / 101
    boxes = torch.tensor([[0.0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]])
    preds = [{"boxes": boxes, "scores": torch.tensor([0.9, 0.8, 0.7]), "labels": torch.tensor([1, 1, 1])}]
    assert detection_ap(preds, targets)["map"] == pytest.approx((51 + 50 * 2 / 3) / 101)


def test_precision_recall_curve_consistent():
    predictions, targets = random_case(5)
    res = detection_ap(predictions, targets)
    for label, ap in res["ap_per_class"].items():
        curve = precision_recall_curve(predictions, targets, label=label)
        assert curve["ap"] == pytest.approx(ap)
        assert curve["interpolated"].shape == (101,) and curve["recall_thresholds"].shape == (101,)
        assert (curve["recall"].diff() >= 0).all() and (curve["scores"].diff() <= 0).all()
        assert (curve["interpolated"].diff() <= 1e-12).all()  # monotone envelope


@pytest.mark.parametrize(
    ("preds", "tgts", "error", "match"),
    [
        (
            [],
            [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}],
            ValueError,
            r"one prediction dict per target image, got 0 predictions and 1",
        ),
        ("x", [], TypeError, r"lists of dicts.*got str"),
        (
            [{"boxes": torch.zeros(1, 4), "labels": torch.zeros(1)}],
            [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}],
            ValueError,
            r"predictions\[0\] must be a dict with keys \['boxes', 'scores', 'labels'\], "
            r"got \['boxes', 'labels'\]",
        ),
        (
            [{"boxes": torch.zeros(2, 5), "scores": torch.zeros(2), "labels": torch.zeros(2)}],
            [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}],
            ValueError,
            r"predictions\[0\]\['boxes'\] must have shape \(N, 4\).*got \(2, 5\)",
        ),
        (
            [{"boxes": torch.zeros(2, 4), "scores": torch.zeros(3), "labels": torch.zeros(2)}],
            [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}],
            ValueError,
            r"predictions\[0\]\['scores'\] must have shape \(2,\).*got \(3,\)",
        ),
        (
            [{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0)}],
            [{"boxes": torch.tensor([[5.0, 0, 1, 1]]), "labels": torch.ones(1)}],
            ValueError,
            r"targets\[0\]\['boxes'\]\[0\].*x2 < x1",
        ),
        (
            [{"boxes": torch.zeros(1, 4), "scores": torch.tensor([float("nan")]), "labels": torch.zeros(1)}],
            [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)}],
            ValueError,
            r"scores'\] must be finite",
        ),
    ],
)
def test_bad_inputs(preds, tgts, error, match):
    with pytest.raises(error, match=match):
        detection_ap(preds, tgts)


def _loop_bootstrap(predictions, targets, n_boot, seed):
    """Reference: build every resampled list of images explicitly and score it with detection_ap."""
    n = len(targets)
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    out = []
    for row in counts:
        idx = np.repeat(np.arange(n), row)
        out.append(detection_ap([predictions[i] for i in idx], [targets[i] for i in idx])["map"])
    return np.array(out)


@pytest.mark.parametrize("seed", [1, 2, 4, 5, 7, 8])  # seeds without exact score ties (copies tie anyway)
def test_bootstrap_samples_match_explicit_resampling(seed):
    predictions, targets = random_case(seed)
    if not any(len(t["labels"]) for t in targets):
        pytest.skip("no ground truth in this case")
    got = bootstrap_map(predictions, targets, n_boot=60, seed=seed)
    ref = _loop_bootstrap(predictions, targets, 60, seed)
    np.testing.assert_allclose(got["samples"], ref, atol=1e-9, equal_nan=True)
    assert got["map"] == pytest.approx(detection_ap(predictions, targets)["map"])


def test_bootstrap_interval_brackets_and_shrinks_with_more_images():
    predictions, targets = [], []
    for s in range(60):  # many images, half the detections wrong: a clearly non-degenerate interval
        p, t = random_case(100 + s)
        predictions += p
        targets += t
    small = bootstrap_map(predictions[:20], targets[:20], n_boot=300, seed=0)
    large = bootstrap_map(predictions, targets, n_boot=300, seed=0)
    for r in (small, large):
        assert r["low"] <= r["map"] <= r["high"]
        assert r["low"] < r["high"]
    assert large["high"] - large["low"] < small["high"] - small["low"]


def test_bootstrap_same_seed_pairs_resamples_and_perfect_detector_has_zero_width():
    predictions, targets = random_case(4)
    perfect = [
        {"boxes": t["boxes"], "scores": torch.ones(len(t["boxes"])), "labels": t["labels"]} for t in targets
    ]
    r = bootstrap_map(perfect, targets, n_boot=50, seed=3)
    assert r["low"] == r["high"] == pytest.approx(1.0)
    a = bootstrap_map(predictions, targets, n_boot=50, seed=3)["samples"]
    b = bootstrap_map(predictions, targets, n_boot=50, seed=3)["samples"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match", [({"n_boot": 0}, "n_boot"), ({"level": 1.0}, "level"), ({"n_boot": 2.5}, "n_boot")]
)
def test_bootstrap_bad_arguments(kwargs, match):
    predictions, targets = random_case(4)
    with pytest.raises(ValueError, match=match):
        bootstrap_map(predictions, targets, **kwargs)


@pytest.mark.parametrize("seed", [0, 3, 6, 9])  # exact score ties across images
def test_bootstrap_point_estimate_is_detection_ap_with_ties(seed):
    predictions, targets = random_case(seed)
    if not any(len(t["labels"]) for t in targets):
        pytest.skip("no ground truth in this case")
    ref = detection_ap(predictions, targets)["map"]
    assert bootstrap_map(predictions, targets, n_boot=5)["map"] == pytest.approx(ref, abs=1e-12)
