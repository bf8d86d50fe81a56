"""lecture_lib.boxes against torchvision.ops and torchvision's BoxCoder(weights=(1, 1, 1, 1))."""

import math

import pytest
import torch
import torchvision
from torchvision.models.detection._utils import BoxCoder

from lecture_lib import boxes as B


def rand_boxes(n: int, g: torch.Generator, size: float = 100.0, min_wh: float = 1.0) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=g) * size
    wh = min_wh + torch.rand(n, 2, generator=g) * size / 2
    return torch.cat((xy, xy + wh), dim=1)


def t(x) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


# ---- IoU, area, formats -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_box_iou_matches_torchvision(seed):
    g = torch.Generator().manual_seed(seed)
    a, b = rand_boxes(7 + seed, g), rand_boxes(5, g)
    torch.testing.assert_close(B.box_iou(a, b), torchvision.ops.box_iou(a, b))
    torch.testing.assert_close(B.box_area(a), torchvision.ops.box_area(a))


def test_box_iou_hand_geometry_and_empty():
    assert B.box_iou(t([[0, 0, 2, 2]]), t([[0, 0, 1, 1]])).item() == pytest.approx(0.25)
    assert B.box_iou(t([[0, 0, 1, 1]]), t([[2, 2, 3, 3]])).item() == 0.0
    assert B.box_iou(torch.zeros(0, 4), t([[0, 0, 1, 1]])).shape == (0, 1)
    assert B.box_iou(t([[0, 0, 1, 1]]), torch.zeros(0, 4)).shape == (1, 0)


@pytest.mark.parametrize("in_fmt", B.FORMATS)
@pytest.mark.parametrize("out_fmt", B.FORMATS)
def test_box_convert_matches_torchvision(in_fmt, out_fmt):
    x = rand_boxes(9, torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        B.box_convert(x, in_fmt, out_fmt), torchvision.ops.box_convert(x, in_fmt, out_fmt)
    )


def test_clip_boxes_matches_torchvision():
    x = rand_boxes(20, torch.Generator().manual_seed(2), size=150) - 20
    torch.testing.assert_close(B.clip_boxes(x, (90, 110)), torchvision.ops.clip_boxes_to_image(x, (90, 110)))


# ---- encode / decode ----------------------------------------------------------------------

CODER = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))


@pytest.mark.parametrize("seed", range(10))
def test_encode_decode_match_boxcoder(seed):
    g = torch.Generator().manual_seed(seed)
    proposals, targets = rand_boxes(30, g), rand_boxes(30, g)
    deltas = B.encode(proposals, targets)
    torch.testing.assert_close(deltas, CODER.encode_single(targets, proposals))
    wild = deltas * 3 + torch.randn(30, 4, generator=g) * 3  # includes dw, dh beyond the clamp
    torch.testing.assert_close(B.decode(proposals, wild), CODER.decode_single(wild, proposals))
    torch.testing.assert_close(B.decode(proposals, deltas), targets, rtol=1e-5, atol=1e-4)  # round trip


def test_encode_slide_formula():
    # proposal centre (5, 5), 10 x 10; target centre (7, 4), 20 x 5
    d = B.encode(t([[0, 0, 10, 10]]), t([[-3, 1.5, 17, 6.5]]))[0]
    torch.testing.assert_close(d, t([0.2, -0.1, math.log(2.0), math.log(0.5)]))


def test_decode_clamps_large_dw():
    out = B.decode(t([[0, 0, 10, 10]]), t([[0, 0, 100.0, 100.0]]))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0, 2] - out[0, 0], torch.tensor(10 * 1000 / 16))


def test_encode_decode_empty():
    assert B.encode(torch.zeros(0, 4), torch.zeros(0, 4)).shape == (0, 4)
    assert B.decode(torch.zeros(0, 4), torch.zeros(0, 4)).shape == (0, 4)


# ---- NMS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("thr", [0.3, 0.5, 0.7])
def test_nms_matches_torchvision(seed, thr):
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(1, 200, (1,), generator=g))
    boxes = rand_boxes(n, g, size=60)
    scores = torch.rand(n, generator=g)
    if seed % 2:  # many exact ties
        scores = (scores * 4).floor() / 4
    ours = B.nms(boxes, scores, thr)
    assert ours.dtype == torch.int64
    torch.testing.assert_close(ours, torchvision.ops.nms(boxes, scores, thr), rtol=0, atol=0)


def test_nms_ties_keep_input_order():
    boxes = t([[0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10.5], [40, 40, 50, 50]])
    scores = t([0.5, 0.5, 0.5, 0.9])
    assert B.nms(boxes, scores, 0.5).tolist() == [3, 0, 1] == torchvision.ops.nms(boxes, scores, 0.5).tolist()


def test_nms_empty_and_identical():
    assert B.nms(torch.zeros(0, 4), torch.zeros(0), 0.5).shape == (0,)
    boxes = t([[0, 0, 1, 1]] * 3)
    assert B.nms(boxes, t([0.1, 0.3, 0.2]), 0.5).tolist() == [1]


@pytest.mark.parametrize(
    ("seed", "n"), [(s, n) for s in range(15) for n in (0, 1, 50)] + [(0, 1200), (1, 1200), (2, 1200)]
)
def test_batched_nms_matches_torchvision(seed, n):
    # n = 1200 boxes: torchvision switches from its offset trick to a per-class loop
    g = torch.Generator().manual_seed(seed)
    boxes = rand_boxes(n, g, size=60)
    scores = torch.rand(n, generator=g)
    if seed % 2:
        scores = (scores * 8).floor() / 8
    labels = torch.randint(0, 4, (n,), generator=g)
    ours = B.batched_nms(boxes, scores, labels, 0.5)
    ref = torchvision.ops.batched_nms(boxes, scores, labels, 0.5)
    if n > 1000 and seed % 2:
        # torchvision's per-class path re-sorts with an unstable sort: equal scores come in any
        # order there, so compare the kept set and the score order
        assert sorted(ours.tolist()) == sorted(ref.tolist())
        torch.testing.assert_close(scores[ours], scores[ref])
    else:
        torch.testing.assert_close(ours, ref, rtol=0, atol=0)


# ---- RoI pooling --------------------------------------------------------------------------


def roi_pool_loops(x, rois, oh, ow, scale):
    """The plain bin loops of torchvision's CPU kernel, as an independent reference."""
    out = torch.zeros(len(rois), x.shape[1], oh, ow)
    H, W = x.shape[-2:]
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        sx, sy = (math.floor(abs(v * scale) + 0.5) * (1 if v >= 0 else -1) for v in (x1, y1))
        ex, ey = (math.floor(abs(v * scale) + 0.5) * (1 if v >= 0 else -1) for v in (x2, y2))
        bw, bh = max(ex - sx + 1, 1) / ow, max(ey - sy + 1, 1) / oh
        for i in range(oh):
            for j in range(ow):
                h0 = min(max(math.floor(i * bh) + sy, 0), H)
                h1 = min(max(math.ceil((i + 1) * bh) + sy, 0), H)
                w0 = min(max(math.floor(j * bw) + sx, 0), W)
                w1 = min(max(math.ceil((j + 1) * bw) + sx, 0), W)
                if h1 > h0 and w1 > w0:
                    out[k, :, i, j] = x[int(b), :, h0:h1, w0:w1].amax(dim=(-1, -2))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_roi_pool_matches_torchvision(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 13, 17, generator=g)
    scale = [1.0, 0.5, 0.25, 1 / 8][seed % 4]
    img = 17 / scale
    k = int(torch.randint(0, 12, (1,), generator=g))
    boxes = rand_boxes(k, g, size=img, min_wh=0.0) - img / 8  # some partly outside the map
    rois = torch.cat((torch.randint(0, 2, (k, 1), generator=g).float(), boxes), dim=1)
    size = [(2, 2), (7, 7), (3, 5), 4][seed % 4]
    ours = B.roi_pool(x, rois, size, spatial_scale=scale)
    ref = torchvision.ops.roi_pool(x, rois, size, spatial_scale=scale)
    torch.testing.assert_close(ours, ref)
    oh, ow = (size, size) if isinstance(size, int) else size
    torch.testing.assert_close(ours, roi_pool_loops(x, rois, oh, ow, scale))


def test_roi_pool_list_format_and_gradient():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 16, 16, generator=g, requires_grad=True)
    per_image = [rand_boxes(3, g, size=100), rand_boxes(2, g, size=100)]
    out = B.roi_pool(x, per_image, (7, 7), spatial_scale=1 / 8)
    assert out.shape == (5, 4, 7, 7)
    torch.testing.assert_close(out, torchvision.ops.roi_pool(x, per_image, (7, 7), spatial_scale=1 / 8))
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert B.roi_pool(x, torch.zeros(0, 5), 2).shape == (0, 4, 2, 2)


def test_roi_pool_half_rounding_like_c():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    rois = t([[0, 0.5, 0.5, 2.5, 2.5]])  # C's round(0.5) = 1, torch.round(0.5) = 0
    torch.testing.assert_close(B.roi_pool(x, rois, 1), torchvision.ops.roi_pool(x, rois, 1))


# ---- bad inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: B.box_iou(torch.zeros(3, 5), torch.zeros(2, 4)),
            ValueError,
            r"shape \(N, 4\).*got \(3, 5\)",
        ),
        (
            lambda: B.box_iou([[0, 0, 1, 1]], torch.zeros(2, 4)),
            TypeError,
            r"boxes1 must be a torch.Tensor.*got list",
        ),
        (
            lambda: B.box_iou(torch.zeros(1, 4, dtype=torch.int64), torch.zeros(1, 4)),
            TypeError,
            r"floating-point.*int64",
        ),
        (lambda: B.box_iou(t([[0, 0, float("nan"), 1]]), t([[0, 0, 1, 1]])), ValueError, r"finite.*nan"),
        (
            lambda: B.box_iou(t([[5, 0, 1, 1]]), t([[0, 0, 1, 1]])),
            ValueError,
            r"boxes1\[0\].*x2 >= x1.*box_convert",
        ),
        (lambda: B.encode(t([[0, 0, 0, 1]]), t([[0, 0, 1, 1]])), ValueError, r"proposals\[0\].*x2 > x1"),
        (lambda: B.encode(t([[0, 0, 1, 1]] * 2), t([[0, 0, 1, 1]])), ValueError, r"same length, got 2 and 1"),
        (
            lambda: B.decode(t([[0, 0, 1, 1]]), torch.zeros(1, 3)),
            ValueError,
            r"deltas must have shape \(N, 4\).*got \(1, 3\)",
        ),
        (
            lambda: B.decode(t([[0, 0, 1, 1]]), t([[0, 0, float("inf"), 0]])),
            ValueError,
            r"deltas must be finite",
        ),
        (
            lambda: B.nms(t([[0, 0, 1, 1]] * 2), torch.zeros(3), 0.5),
            ValueError,
            r"scores must have shape \(2,\).*got \(3,\)",
        ),
        (lambda: B.nms(t([[0, 0, 1, 1]]), t([float("nan")]), 0.5), ValueError, r"scores must be finite"),
        (
            lambda: B.batched_nms(t([[0, 0, 1, 1]]), t([1.0]), torch.zeros(2), 0.5),
            ValueError,
            r"labels must have shape \(1,\).*got \(2,\)",
        ),
        (
            lambda: B.roi_pool(torch.zeros(1, 1, 4, 4), torch.zeros(2, 4), 2),
            ValueError,
            r"Tensor\[K, 5\].*got \(2, 4\)",
        ),
        (
            lambda: B.roi_pool(torch.zeros(1, 1, 4, 4), t([[1, 0, 0, 1, 1]]), 2),
            ValueError,
            r"batch indices in 0..0, got \[1.0\]",
        ),
        (
            lambda: B.roi_pool(torch.zeros(2, 1, 4, 4), [torch.zeros(1, 4)], 2),
            ValueError,
            r"one Tensor\[L, 4\] per image \(2\), got 1",
        ),
        (
            lambda: B.roi_pool(torch.zeros(1, 4, 4), torch.zeros(0, 5), 2),
            ValueError,
            r"\(B, C, H, W\), got \(1, 4, 4\)",
        ),
        (
            lambda: B.box_convert(torch.zeros(1, 4), "xyxy", "yxyx"),
            ValueError,
            r"out_fmt must be one of.*'yxyx'",
        ),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("seed", range(4))
def test_roi_pool_gradient_and_float64_match_torchvision(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 10, 12, generator=g, dtype=torch.float64)
    boxes = rand_boxes(6, g, size=90)
    rois = torch.cat((torch.randint(0, 2, (6, 1), generator=g).float(), boxes), dim=1).double()
    grads = []
    for fn in (B.roi_pool, torchvision.ops.roi_pool):
        xi = x.clone().requires_grad_(True)
        out = fn(xi, rois, (3, 4), spatial_scale=1 / 8)
        (out * torch.arange(out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
        grads.append((out.detach(), xi.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])
