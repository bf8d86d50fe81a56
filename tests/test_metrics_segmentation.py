"""lecture_lib.metrics.segmentation against a per-pixel loop and scikit-learn."""

import math

import numpy as np
import pytest
import sklearn.metrics
import torch

from lecture_lib.metrics import (
    bootstrap_miou,
    boundary_band,
    boundary_iou,
    confusion_matrix,
    image_confusions,
    mean_iou,
    segmentation_confusions,
)
from lecture_lib.metrics.segmentation import iou_from_confusion


def random_maps(seed, shape=(2, 7, 9), num_classes=5, p_ignore=0.2, absent=(3,)):
    """Random pred/target label maps with ignored pixels and classes absent from the target."""
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, num_classes, shape, generator=g)
    pred = torch.randint(0, num_classes, shape, generator=g)
    for c in absent:  # absent from the target (may still be predicted: union > 0, IoU 0)
        target[target == c] = 0
    target[torch.rand(shape, generator=g) < p_ignore] = 255
    return pred, target


def reference_confusion(pred, target, num_classes, ignore_index=255):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for p, t in zip(pred.reshape(-1).tolist(), target.reshape(-1).tolist()):  # one pixel at a time
        if t == ignore_index:
            continue
        cm[t, p] += 1
    return cm


def reference_iou(pred, target, num_classes, ignore_index=255):
    """IoU per class straight from the set definition |P & T| / |P | T| over non-ignored pixels."""
    keep = target != ignore_index
    ious = []
    for c in range(num_classes):
        p, t = (pred == c) & keep, (target == c) & keep
        union = (p | t).sum().item()
        ious.append((p & t).sum().item() / union if union else math.nan)
    return ious


@pytest.mark.parametrize("seed", range(8))
def test_confusion_matches_loop_and_sklearn(seed):
    pred, target = random_maps(seed)
    cm = confusion_matrix(pred, target, 5)
    assert cm.dtype == torch.int64 and cm.shape == (5, 5)
    np.testing.assert_array_equal(cm.numpy(), reference_confusion(pred, target, 5))
    keep = (target != 255).reshape(-1)
    sk = sklearn.metrics.confusion_matrix(
        target.reshape(-1)[keep].numpy(), pred.reshape(-1)[keep].numpy(), labels=list(range(5))
    )
    np.testing.assert_array_equal(cm.numpy(), sk)
    assert int(cm.sum()) == int(keep.sum())


@pytest.mark.parametrize("seed", range(8))
def test_mean_iou_matches_reference_and_jaccard(seed):
    num_classes = 6
    pred, target = random_maps(seed, num_classes=num_classes, absent=(3, 5))
    pred[pred == 5] = 0  # class 5 in neither map -> NaN, left out of the mean
    out = mean_iou(pred, target, num_classes)
    ref = reference_iou(pred, target, num_classes)
    np.testing.assert_allclose(out["iou_per_class"].numpy(), np.array(ref), equal_nan=True)
    assert math.isnan(out["iou_per_class"][5]) and not math.isnan(out["iou_per_class"][3])
    assert out["iou_per_class"][3] == 0.0  # predicted but absent from the target: IoU 0, counted
    assert out["miou"] == pytest.approx(np.nanmean(ref))
    keep = (target != 255).reshape(-1)
    t, p = target.reshape(-1)[keep].numpy(), pred.reshape(-1)[keep].numpy()
    labels = [c for c in range(num_classes) if not math.isnan(ref[c])]
    jac = sklearn.metrics.jaccard_score(t, p, labels=labels, average=None, zero_division=0)
    np.testing.assert_allclose(out["iou_per_class"][labels].numpy(), jac)
    assert out["miou"] == pytest.approx(jac.mean())
    assert out["pixel_accuracy"] == pytest.approx(sklearn.metrics.accuracy_score(t, p))


def test_accumulating_over_batches_equals_one_big_batch():
    pairs = [random_maps(s) for s in range(4)]
    total = sum(confusion_matrix(p, t, 5) for p, t in pairs)
    allp = torch.cat([p for p, _ in pairs])
    allt = torch.cat([t for _, t in pairs])
    one = mean_iou(allp, allt, 5)
    acc = iou_from_confusion(total)
    assert acc["miou"] == pytest.approx(one["miou"])
    torch.testing.assert_close(acc["iou_per_class"], one["iou_per_class"], equal_nan=True)


def test_hand_example_and_perfect_prediction():
    target = torch.tensor([[[0, 0, 1, 1]]])
    pred = torch.tensor([[[0, 1, 1, 1]]])
    out = mean_iou(pred, target, 2)
    # class 0: inter 1, union 2 -> 0.5; class 1: inter 2, union 3 -> 2/3
    np.testing.assert_allclose(out["iou_per_class"].numpy(), [0.5, 2 / 3])
    assert out["pixel_accuracy"] == pytest.approx(0.75)
    perfect = mean_iou(target, target, 4)
    assert perfect["miou"] == 1.0 and perfect["pixel_accuracy"] == 1.0
    assert torch.isnan(perfect["iou_per_class"][2:]).all()


def test_empty_and_all_ignored():
    empty = torch.zeros(0, 4, 4, dtype=torch.long)
    out = mean_iou(empty, empty, 3)
    assert out["confusion"].sum() == 0 and math.isnan(out["miou"]) and math.isnan(out["pixel_accuracy"])
    target = torch.full((1, 3, 3), 255)
    out = mean_iou(torch.zeros(1, 3, 3, dtype=torch.long), target, 3)
    assert math.isnan(out["miou"])


def test_ignore_index_none_and_uint8():
    pred, target = random_maps(0, p_ignore=0.0)
    out = mean_iou(pred.to(torch.uint8), target.to(torch.uint8), 5, ignore_index=None)
    assert out["miou"] == pytest.approx(mean_iou(pred, target, 5)["miou"])


@pytest.mark.parametrize(
    ("pred", "target", "match"),
    [
        (
            torch.zeros(1, 4, 4, dtype=torch.long),
            torch.zeros(1, 4, 5, dtype=torch.long),
            r"same shape.*\(1, 4, 4\).*\(1, 4, 5\)",
        ),
        (torch.zeros(1, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), r"integer class ids.*float32"),
        (torch.zeros(1, 4, 4, dtype=torch.long), torch.full((1, 4, 4), 3), r"target holds label 3.*\[0, 3\)"),
        (torch.full((1, 4, 4), 7), torch.zeros(1, 4, 4, dtype=torch.long), r"pred holds label 7"),
        (torch.zeros(1, 4, 4, dtype=torch.long), torch.full((1, 4, 4), -1), r"target holds label -1"),
    ],
)
def test_bad_inputs(pred, target, match):
    with pytest.raises(ValueError, match=match):
        mean_iou(pred, target, 3)


def test_bad_arguments():
    x = torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        confusion_matrix(x, x, 0)
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        confusion_matrix(np.zeros((1, 2, 2), dtype=np.int64), x, 2)
    with pytest.raises(ValueError, match=r"square matrix.*\(2, 3\)"):
        iou_from_confusion(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="non-negative"):
        iou_from_confusion(-torch.ones(2, 2))
    # the ignore label in pred is fine where the target is ignored too
    t = torch.tensor([[[0, 255]]])
    assert confusion_matrix(torch.tensor([[[0, 255]]]), t, 2).sum() == 1


def reference_band(target, width):
    """Slow loop: a pixel is in the band if some pixel within Chebyshev distance ``width`` lies on an edge."""
    b, h, w = target.shape
    edge = np.zeros((b, h, w), dtype=bool)
    t = target.numpy()
    for n in range(b):
        for r in range(h):
            for c in range(w):
                for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < h and 0 <= cc < w and t[n, rr, cc] != t[n, r, c]:
                        edge[n, r, c] = True
    band = np.zeros_like(edge)
    for n in range(b):
        for r in range(h):
            for c in range(w):
                band[n, r, c] = edge[
                    n, max(0, r - width) : r + width + 1, max(0, c - width) : c + width + 1
                ].any()
    return band


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("width", [0, 1, 3])
def test_boundary_band_matches_loop(seed, width):
    g = torch.Generator().manual_seed(seed)
    target = torch.zeros(2, 12, 13, dtype=torch.long)
    target[:, 3:8, 2:9] = torch.randint(1, 3, (1,), generator=g).item()
    target[1, 5:, 6:] = 2
    target[0, torch.rand(12, 13, generator=g) < 0.05] = 1
    np.testing.assert_array_equal(boundary_band(target, width).numpy(), reference_band(target, width))


def test_boundary_iou_counts_only_the_band():
    target = torch.zeros(1, 20, 20, dtype=torch.long)
    target[0, 5:15, 5:15] = 1
    pred = target.clone()
    pred[0, 10, 10] = 0  # an error deep inside the square: outside a 2-px band
    assert boundary_iou(pred, target, 2, width=2)["miou"] == 1.0
    assert mean_iou(pred, target, 2)["miou"] < 1.0
    blurred = target.clone()
    blurred[0, 5, 5:15] = 0  # an error on the edge
    assert boundary_iou(blurred, target, 2, width=2)["miou"] < 1.0
    band = boundary_band(target, 2)
    cm_all, cm_band = segmentation_confusions(blurred, target, 2, width=2)
    assert int(cm_band.sum()) == int(band.sum()) and int(cm_all.sum()) == 400


def test_boundary_bad_inputs():
    x = torch.zeros(1, 4, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"\[B, H, W\]"):
        boundary_band(x[0], 2)
    with pytest.raises(ValueError, match="width must be an int >= 0"):
        boundary_band(x, -1)
    with pytest.raises(ValueError, match="same shape"):
        boundary_iou(x, x[:, :3], 2)
    with pytest.raises(ValueError, match="integer class ids"):
        boundary_iou(x.float(), x, 2)


def test_image_confusions_sum_to_the_dataset_matrix_and_keep_each_image():
    pred, target = random_maps(3, shape=(4, 6, 5))
    per = image_confusions(pred, target, 5)
    assert per.shape == (4, 5, 5) and per.dtype == torch.int64
    assert torch.equal(per.sum(0), confusion_matrix(pred, target, 5))
    for b in range(4):  # each matrix is that image's own
        assert torch.equal(per[b], confusion_matrix(pred[b : b + 1], target[b : b + 1], 5))
    every, band = segmentation_confusions(pred, target, 5, per_image=True)
    assert torch.equal(every, per)
    assert torch.equal(band.sum(0), segmentation_confusions(pred, target, 5)[1])


def test_bootstrap_miou_is_the_dataset_miou_with_a_paired_interval():
    pred, target = random_maps(4, shape=(12, 8, 8), p_ignore=0.0, absent=())
    cm_pred, cm_true = image_confusions(pred, target, 5), image_confusions(target, target, 5)
    alone = bootstrap_miou(cm_pred, item="scenes")
    assert alone.point == pytest.approx(mean_iou(pred, target, 5)["miou"])  # accumulated, not averaged
    assert alone.low < alone.point < alone.high and alone.n == "12 scenes" and alone.seeds == 1
    diff = bootstrap_miou(cm_true, cm_pred)
    assert diff.point == pytest.approx(1.0 - alone.point) and diff.low > 0
    same = bootstrap_miou(cm_pred, cm_pred)  # paired: a model minus itself is exactly 0 on every resample
    assert same.low == same.point == same.high == 0.0
    with pytest.raises(ValueError, match="paired"):
        bootstrap_miou(cm_pred, cm_pred[:5])
    with pytest.raises(ValueError, match=r"Tensor\[B, C, C\]"):
        bootstrap_miou(cm_pred.sum(0))
    with pytest.raises(ValueError, match="integer pixel counts"):
        bootstrap_miou(cm_pred.double())
