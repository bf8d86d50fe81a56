"""Property-based tests of the public API's input guards (Hypothesis, profile in conftest.py).

Every property says: for any input, bad shapes, dtypes, NaN/inf, empty, negative or huge, the
call either raises a clear ``ValueError``/``TypeError`` naming the argument, or returns the
correct result (checked against torchvision/sklearn where a twin exists).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from lecture_lib import boxes as B
from lecture_lib import checks
from lecture_lib.detection.matching import BELOW_LOW, BETWEEN, match
from lecture_lib.embeddings.words import nearest
from lecture_lib.faces import triplets
from lecture_lib.metrics.detection import detection_ap
from lecture_lib.metrics.segmentation import confusion_matrix
from lecture_lib.pose.heatmaps import heatmaps_to_keypoints
from lecture_lib.train import RandomBatches

floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
finite = st.floats(-100, 100, allow_nan=False, width=32)


def clear(exc: BaseException, *names: str) -> bool:
    """A clear error: ValueError/TypeError naming one of the arguments and what was received or needed."""
    msg = str(exc)
    said = any(word in msg for word in ("got", "expected", "would need"))
    return (
        isinstance(exc, (ValueError, TypeError))
        and said
        and any(re.search(rf"(?<!\w){n}(?!\w)", msg) for n in names)
    )


def arrays(shape=None, elements=floats):
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5) if shape is None else shape
    return hnp.arrays(np.float32, shapes, elements=elements).map(torch.from_numpy)


@st.composite
def xyxy(draw):
    k = draw(st.integers(0, 8))
    xy = draw(hnp.arrays(np.float32, (k, 2), elements=st.floats(0, 50, width=32)))
    wh = draw(hnp.arrays(np.float32, (k, 2), elements=st.floats(0, 50, width=32)))
    return torch.from_numpy(np.concatenate([xy, xy + wh], axis=1).astype(np.float32))


# --- the checks themselves -----------------------------------------------------------------------


@given(
    st.one_of(
        st.integers(-10, 10),
        st.floats(allow_nan=True),
        st.booleans(),
        st.text(max_size=3),
        st.integers(-10, 10).map(np.int64),
        st.integers(-10, 10).map(torch.tensor),
        st.none(),
    )
)
def test_check_int_accepts_exactly_the_integers(x):
    integer = not isinstance(x, (bool, float, str, type(None))) and not (
        isinstance(x, torch.Tensor) and x.dtype == torch.bool
    )
    try:
        value = checks.check_int(x, "n", low=0)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "n")
        assert not integer or int(x) < 0
    else:
        assert integer and value == int(x) >= 0 and type(value) is int


@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3), st.booleans()))
def test_check_probability_never_passes_nan(x):
    try:
        p = checks.check_probability(x, "p")
    except (TypeError, ValueError) as exc:
        assert clear(exc, "p")
    else:
        assert 0.0 <= p <= 1.0 and not isinstance(x, bool)


@given(arrays())
def test_check_boxes_clear_or_valid(x):
    try:
        checks.check_boxes(x, "boxes")
    except (TypeError, ValueError) as exc:
        assert clear(exc, "boxes") or "is not an xyxy box" in str(exc)
    else:
        assert x.shape[-1] == 4 and x.ndim == 2 and torch.isfinite(x).all()
        assert (x[:, 2:] >= x[:, :2]).all()


# --- boxes against torchvision -------------------------------------------------------------------


@given(arrays(), xyxy())
def test_box_iou_clear_error_or_torchvision(a, b):
    try:
        got = B.box_iou(a, b)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "boxes1") or "is not an xyxy box" in str(exc)
    else:
        torch.testing.assert_close(got, torchvision.ops.box_iou(a, b), equal_nan=True)


@given(xyxy(), st.data(), st.one_of(st.floats(0, 1), st.floats(allow_nan=True), st.integers(-2, 2)))
def test_nms_clear_error_or_torchvision(boxes, data, threshold):
    scores = torch.from_numpy(data.draw(hnp.arrays(np.float32, (len(boxes),), elements=floats)))
    try:
        keep = B.nms(boxes, scores, threshold)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "scores", "iou_threshold")
    else:
        assume(len(torch.unique(scores)) == len(scores))  # ties: both keep input order, but float32 sorts
        assert torch.equal(keep, torchvision.ops.nms(boxes, scores, float(threshold)))


@given(xyxy(), st.data())
def test_batched_nms_clear_error_or_torchvision(boxes, data):
    n = len(boxes)
    scores = torch.from_numpy(
        data.draw(hnp.arrays(np.float32, (n,), elements=st.floats(0, 1, width=32), unique=True))
    )
    labels = torch.from_numpy(
        data.draw(hnp.arrays(np.float32, (n,), elements=st.sampled_from([0.0, 1.0, 2.0, math.nan])))
    )
    try:
        keep = B.batched_nms(boxes, scores, labels, 0.5)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "labels") and torch.isnan(labels).any()
    else:
        assert torch.equal(keep, torchvision.ops.batched_nms(boxes, scores, labels.long(), 0.5))


@given(arrays(), st.tuples(st.integers(-2, 40), st.integers(-2, 40)))
def test_clip_boxes_clear_error_or_torchvision(boxes, size):
    try:
        got = B.clip_boxes(boxes, size)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "boxes", r"size\[0\]", r"size\[1\]")
    else:
        assert boxes.shape[-1] == 4
        torch.testing.assert_close(got, torchvision.ops.clip_boxes_to_image(boxes, size), equal_nan=True)


@given(xyxy(), st.sampled_from([torch.float32, torch.float64, torch.int64, torch.int32]))
def test_decode_never_narrows_the_dtype(proposals, dtype):
    deltas = torch.zeros(len(proposals), 4, dtype=dtype)
    out = B.decode(proposals, deltas)
    assert out.is_floating_point()
    torch.testing.assert_close(out.float(), proposals, atol=1e-4, rtol=1e-5)


# --- detection -----------------------------------------------------------------------------------


@given(arrays(hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=5)))
def test_match_clear_error_or_valid_assignment(iou):
    try:
        m = match(iou, high=0.5, low=0.3)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "iou") and not torch.isfinite(iou).all()
    else:
        assert m.shape == (iou.shape[1],)
        assert ((m == BELOW_LOW) | (m == BETWEEN) | ((m >= 0) & (m < max(iou.shape[0], 1)))).all()


@given(st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.booleans()))
def test_detection_ap_max_detections_clear_error_or_an_ap(k):
    pred = [
        {
            "boxes": torch.tensor([[0.0, 0, 10, 10]]),
            "scores": torch.tensor([0.9]),
            "labels": torch.tensor([1]),
        }
    ]
    target = [{"boxes": torch.tensor([[0.0, 0, 10, 10]]), "labels": torch.tensor([1])}]
    try:
        ap = detection_ap(pred, target, max_detections=k)["map"]
    except (TypeError, ValueError) as exc:
        assert clear(exc, "max_detections")
    else:
        assert isinstance(k, int) and not isinstance(k, bool) and k >= 1 and ap == pytest.approx(1.0)


# --- pose, faces, embeddings, metrics ------------------------------------------------------------


@given(arrays(hnp.array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=5)))
def test_heatmaps_to_keypoints_clear_error_or_inside_the_map(maps):
    try:
        xy, conf = heatmaps_to_keypoints(maps)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "heatmaps")
    else:
        h, w = maps.shape[-2:]
        assert torch.isfinite(xy).all() and torch.isfinite(conf).all()
        assert ((xy[..., 0] >= 0) & (xy[..., 0] <= w - 1) & (xy[..., 1] >= 0) & (xy[..., 1] <= h - 1)).all()


@given(arrays(hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=6), finite))
def test_pairwise_distances_match_cdist(x):
    d = triplets.pairwise_sq_distances(x)
    torch.testing.assert_close(d, torch.cdist(x.double(), x.double()).pow(2).float(), atol=1e-2, rtol=1e-4)


@given(st.integers(0, 12), st.integers(1, 4), st.sampled_from(triplets.STRATEGIES), st.integers(0, 3))
def test_mine_triplets_valid_for_any_batch_size(n, k, strategy, seed):
    g = torch.Generator().manual_seed(seed)
    x, labels = torch.randn(n, 3, generator=g), torch.randint(0, k, (n,), generator=g)
    a, p, neg = triplets.mine_triplets(x, labels, 0.5, strategy, generator=g)
    assert a.shape == p.shape == neg.shape
    assert (labels[a] == labels[p]).all() and (a != p).all() and (labels[a] != labels[neg]).all()


@given(st.integers(0, 4), st.integers(1, 5))
def test_triplet_loss_of_any_batch_is_finite_with_a_gradient(b, d):
    anchor = torch.randn(b, d, requires_grad=True)
    loss = triplets.triplet_loss(anchor, torch.randn(b, d), torch.randn(b, d))
    loss.backward()
    assert torch.isfinite(loss) and anchor.grad is not None


@given(arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5)), st.integers(-1, 6))
def test_nearest_clear_error_or_sklearn(vectors, k):
    from sklearn.neighbors import NearestNeighbors

    query = torch.ones(vectors.shape[-1]) if vectors.ndim else torch.ones(1)
    try:
        idx, cos = nearest(vectors, query, k)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "vectors", "query", "k")
    else:
        assert torch.isfinite(cos).all()
        nn_ = NearestNeighbors(n_neighbors=k, metric="cosine").fit(vectors.double().numpy())
        dist, _ = nn_.kneighbors(query[None].double().numpy())
        np.testing.assert_allclose(np.sort(1 - dist[0])[::-1], cos.double().numpy(), atol=1e-5)


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")  # sklearn, num_classes = 1
@given(st.integers(1, 6), st.integers(0, 3), st.one_of(st.integers(-2, 8), st.just(10**6)))
def test_confusion_matrix_clear_error_or_sklearn(c, seed, num_classes):
    g = torch.Generator().manual_seed(seed)
    pred, target = torch.randint(0, c, (1, 4, 4), generator=g), torch.randint(0, c, (1, 4, 4), generator=g)
    try:
        cm = confusion_matrix(pred, target, num_classes, ignore_index=None)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "num_classes", "pred", "target") or "would need" in str(exc)
    else:
        expected = sk_confusion_matrix(target.flatten(), pred.flatten(), labels=list(range(num_classes)))
        np.testing.assert_array_equal(cm.numpy(), expected)


@given(
    st.one_of(st.integers(-2, 5), st.floats(0, 3), st.just(10**12)),
    st.one_of(st.integers(-2, 5), st.floats(0, 3)),
)
def test_random_batches_clear_error_or_batches_of_the_size(batch_size, steps):
    x, y = torch.rand(6, 2), torch.arange(6)
    try:
        loader = RandomBatches(x, y, batch_size=batch_size, steps=steps)
    except (TypeError, ValueError) as exc:
        assert clear(exc, "batch_size", "steps")
    else:
        first = next(iter(loader))  # lazily drawn: fast even for huge batch sizes of a small set
        assert len(first[0]) == batch_size or batch_size > 6
