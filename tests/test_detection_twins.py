"""The detection heads' teaching re-implementations against their torchvision twins.

Same random inputs, several seeds; where a step samples, both sides draw from identically
seeded generators (ours takes ``generator=``, torchvision's ``BalancedPositiveNegativeSampler``
draws from the global one, both with the same ``randperm`` calls in the same order):

- ``fastrcnn_loss`` -- ``torchvision.models.detection.roi_heads.fastrcnn_loss``;
- ``RoIHead.losses`` (RoI sampling + targets + loss) -- ``RoIHeads.forward`` in training mode;
- ``RoIHead.postprocess`` -- ``RoIHeads.postprocess_detections``;
- ``RegionProposalNetwork.filter_proposals`` / ``losses`` -- torchvision's ``filter_proposals`` /
  ``assign_targets_to_anchors`` + ``compute_loss``, and the whole RPN forward pass.
"""

import pytest
import torch
from torch import Tensor
from torchvision.models.detection import roi_heads as tv_roi_heads
from torchvision.models.detection import rpn as tv_rpn
from torchvision.models.detection._utils import BoxCoder as TVBoxCoder
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

from lecture_lib.detection.backbone import POOL5
from lecture_lib.detection.roi_heads import ROI_POOLS, RoIHead, fastrcnn_loss
from lecture_lib.detection.rpn import RegionProposalNetwork

SEEDS = range(5)
NUM_CLASSES = 4  # with background
IMAGE_SIZE = (48, 56)  # (H, W): not square, so a swapped height/width shows
FEATURE_SIZE, STRIDE = (6, 7), 8  # IMAGE_SIZE / STRIDE
SIZES, RATIOS = (16, 32), (0.5, 1.0, 2.0)
RPN_WEIGHTS = [(10.0, 10.0, 5.0, 5.0), (1.0, 1.0, 1.0, 1.0)]  # ours (the notebooks'), torchvision's


def boxes_in_image(n: int, g: torch.Generator, size=IMAGE_SIZE, min_wh: float = 4.0) -> Tensor:
    """``Tensor[n, 4]`` random xyxy boxes with sides >= ``min_wh``, inside an ``(H, W)`` image."""
    h, w = size
    wh = min_wh + torch.rand(n, 2, generator=g) * (torch.tensor([w, h]) / 2 - min_wh)
    xy = torch.rand(n, 2, generator=g) * (torch.tensor([w, h]) - wh)
    return torch.cat([xy, xy + wh], dim=1)


def jittered(boxes: Tensor, n: int, g: torch.Generator, scale: float = 0.15) -> Tensor:
    """``Tensor[n, 4]``: copies of random ``boxes`` moved by up to ``scale`` of their size (so some
    proposals overlap the ground truth well: foreground RoIs / positive anchors)."""
    pick = boxes[torch.randint(len(boxes), (n,), generator=g)]
    wh = (pick[:, 2:] - pick[:, :2]).repeat(1, 2)
    moved = pick + (torch.rand(n, 4, generator=g) * 2 - 1) * scale * wh
    return torch.cat([moved[:, :2], torch.maximum(moved[:, 2:], moved[:, :2] + 1)], dim=1)


def random_targets(g: torch.Generator, seed: int, images: int = 2) -> list[dict[str, Tensor]]:
    """One ``{"boxes", "labels"}`` per image; for every third seed the last image has no object."""
    targets = []
    for i in range(images):
        m = 0 if (seed % 3 == 2 and i == images - 1) else int(torch.randint(1, 4, (1,), generator=g))
        labels = torch.randint(1, NUM_CLASSES, (m,), generator=g)
        targets.append({"boxes": boxes_in_image(m, g, min_wh=10.0), "labels": labels})
    return targets


# ---- Fast R-CNN head ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_fastrcnn_loss_matches_torchvision(seed):
    g = torch.Generator().manual_seed(seed)
    k = 30 + 7 * seed  # RoIs of two images, split unevenly
    logits = torch.randn(k, NUM_CLASSES, generator=g).requires_grad_()
    # small deltas and targets: some differences fall below smooth-L1's beta = 1/9, some above
    deltas = (0.2 * torch.randn(k, NUM_CLASSES, 4, generator=g)).requires_grad_()
    labels = torch.randint(0, NUM_CLASSES, (k,), generator=g)
    labels[: seed + 1] = 0  # background RoIs in every case
    reg_targets = 0.2 * torch.randn(k, 4, generator=g)  # torchvision: one row per RoI ...

    ours = fastrcnn_loss(logits, deltas, labels, reg_targets[labels > 0])  # ... ours: foreground only
    grads = torch.autograd.grad(ours["loss_classifier"] + ours["loss_box_reg"], (logits, deltas))
    cut = k // 3
    ref = tv_roi_heads.fastrcnn_loss(
        logits, deltas.reshape(k, -1), [labels[:cut], labels[cut:]], [reg_targets[:cut], reg_targets[cut:]]
    )
    ref_grads = torch.autograd.grad(ref[0] + ref[1], (logits, deltas))
    torch.testing.assert_close(ours["loss_classifier"], ref[0])
    torch.testing.assert_close(ours["loss_box_reg"], ref[1])
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


def torchvision_roi_heads(head: RoIHead) -> tv_roi_heads.RoIHeads:
    """torchvision's ``RoIHeads`` with our head's numbers, pooling, fc layers and predictor."""

    def pool(features, proposals, image_shapes):  # ours: one feature map, no multi-scale
        return ROI_POOLS[head.box_roi_pool](features["0"], proposals, (POOL5, POOL5), 1.0 / head.stride)

    return tv_roi_heads.RoIHeads(
        pool,
        head.head,
        lambda x: (head.cls_score(x), head.bbox_pred(x)),
        head.fg_iou_thresh,
        head.bg_iou_thresh,
        head.batch_size_per_image,
        head.positive_fraction,
        head.box_coder.weights,
        head.score_thresh,
        head.nms_thresh,
        head.detections_per_img,
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_roi_head_losses_match_torchvision_with_the_same_sampling(seed):
    g = torch.Generator().manual_seed(seed)
    targets = random_targets(g, seed)
    proposals = [
        torch.cat([boxes_in_image(40, g), jittered(t["boxes"], 12, g)])
        if len(t["boxes"])
        else boxes_in_image(40, g)
        for t in targets
    ]
    features = torch.randn(2, 8, *FEATURE_SIZE, generator=g)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        head = RoIHead(
            8,
            NUM_CLASSES,
            dim=16,
            stride=STRIDE,
            box_fg_iou_thresh=0.5,
            box_bg_iou_thresh=0.3 if seed % 2 else 0.5,  # with and without ignored RoIs
            box_batch_size_per_image=24,  # fewer than the candidates: the sampling matters
        )
    ours = head.losses(features, proposals, targets, generator=torch.Generator().manual_seed(seed))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        _, ref = torchvision_roi_heads(head)({"0": features}, proposals, [IMAGE_SIZE] * 2, targets)
    # the same RoIs in another order (torchvision: by index; ours: foreground first), so the
    # means agree up to rounding
    torch.testing.assert_close(ours, ref)


def lecture_size_filter(boxes: Tensor, min_size: float) -> Tensor:
    """Our size rule in the place of torchvision's ``remove_small_boxes(boxes, min_size=1e-2)``."""
    assert min_size == 1e-2  # what RoIHeads.postprocess_detections passes
    return torch.where(((boxes[:, 2:] - boxes[:, :2]) > 1).all(dim=1))[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_roi_head_postprocess_matches_torchvision(seed, monkeypatch):
    # The one difference: ours drops boxes with a side <= 1 pixel, torchvision only those with a
    # side < 1e-2 (fixed inside postprocess_detections); torchvision gets our rule here, and
    # test_roi_head_postprocess_thin_boxes_differ pins the difference itself.
    monkeypatch.setattr(tv_roi_heads.box_ops, "remove_small_boxes", lecture_size_filter)
    g = torch.Generator().manual_seed(seed)
    counts = (25 + seed, 40)
    # small proposals and large deltas: some decoded boxes leave the image and are clipped to
    # thin or empty boxes, which the size filter must drop
    proposals = [boxes_in_image(n, g, min_wh=2.0) for n in counts]
    k = sum(counts)
    logits = 2 * torch.randn(k, NUM_CLASSES, generator=g)
    deltas = 3 * torch.randn(k, NUM_CLASSES, 4, generator=g)
    top = 30 if seed % 2 else 1000  # with and without the detections_per_img cut
    head = RoIHead(8, NUM_CLASSES, box_score_thresh=0.1, box_nms_thresh=0.4, box_detections_per_img=top)
    ours = head.postprocess(logits, deltas, proposals, IMAGE_SIZE)
    boxes, scores, labels = torchvision_roi_heads(head).postprocess_detections(
        logits, deltas.reshape(k, -1), proposals, [IMAGE_SIZE] * 2
    )
    assert all((len(b) == 30) if seed % 2 else (30 < len(b) < 3 * n) for b, n in zip(boxes, counts))
    for out, b, s, lb in zip(ours, boxes, scores, labels):
        torch.testing.assert_close(out["boxes"], b)
        torch.testing.assert_close(out["scores"], s)
        torch.testing.assert_close(out["labels"], lb)


def test_roi_head_postprocess_thin_boxes_differ():
    """Known difference, not fixed: torchvision keeps a confident 0.5-pixel-wide box, ours drops it.
    Adopting torchvision's rule would change Fast R-CNN's detections on the test scenes of
    03b/03c (thin boxes clipped at the border), hence committed notebook numbers."""
    head = RoIHead(8, NUM_CLASSES)
    rois = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 20.5, 30.0]])
    logits = torch.tensor([[0.0, 5.0, 0.0, 0.0], [0.0, 5.0, 0.0, 0.0]])
    deltas = torch.zeros(2, NUM_CLASSES, 4)
    ours = head.postprocess(logits, deltas, [rois], IMAGE_SIZE)[0]["boxes"]
    ref = torchvision_roi_heads(head).postprocess_detections(
        logits, deltas.reshape(2, -1), [rois], [IMAGE_SIZE]
    )
    torch.testing.assert_close(ours, rois[:1])
    torch.testing.assert_close(ref[0][0], rois)


# ---- Region Proposal Network --------------------------------------------------------------


def make_rpns(weights, hidden: int = 8) -> tuple[RegionProposalNetwork, tv_rpn.RegionProposalNetwork]:
    """Our RPN and torchvision's with the same numbers, box-coder weights and head parameters."""
    numbers = {
        "fg_iou_thresh": 0.7,
        "bg_iou_thresh": 0.3,
        "batch_size_per_image": 32,  # fewer than the candidates: the sampling matters
        "positive_fraction": 0.5,
        "nms_thresh": 0.6,
    }
    top_n = {
        "pre_nms_top_n": {"training": 120, "testing": 60},
        "post_nms_top_n": {"training": 50, "testing": 15},
    }
    ours = RegionProposalNetwork(
        hidden,
        FEATURE_SIZE,
        STRIDE,
        anchor_sizes=SIZES,
        aspect_ratios=RATIOS,
        hidden=hidden,  # torchvision's RPNHead keeps the input width in its 3x3 conv
        weights=weights,
        pre_nms_top_n_train=top_n["pre_nms_top_n"]["training"],
        pre_nms_top_n_test=top_n["pre_nms_top_n"]["testing"],
        post_nms_top_n_train=top_n["post_nms_top_n"]["training"],
        post_nms_top_n_test=top_n["post_nms_top_n"]["testing"],
        **numbers,
    )
    ref = tv_rpn.RegionProposalNetwork(
        AnchorGenerator(sizes=(SIZES,), aspect_ratios=(RATIOS,)),
        tv_rpn.RPNHead(hidden, len(SIZES) * len(RATIOS)),
        **top_n,
        **numbers,
    )
    ref.box_coder = TVBoxCoder(weights)  # torchvision fixes (1, 1, 1, 1) in the constructor
    # What else differs, and why it does not matter here: torchvision has a score threshold
    # (default 0 with ">=": keeps everything), ours none; torchvision takes the top-k and runs NMS
    # per feature level, ours has one level (the same as one level of theirs); min_size is 1e-3 in
    # both (torchvision fixes it in the constructor, ours is an argument).
    assert ref.score_thresh == 0.0 and ref.min_size == ours.min_size
    with torch.no_grad():
        ref.head.conv[0][0].weight.copy_(ours.conv.weight)
        ref.head.conv[0][0].bias.copy_(ours.conv.bias)
        ref.head.cls_logits.weight.copy_(ours.objectness.weight)
        ref.head.cls_logits.bias.copy_(ours.objectness.bias)
        ref.head.bbox_pred.weight.copy_(ours.deltas.weight)
        ref.head.bbox_pred.bias.copy_(ours.deltas.bias)
    return ours, ref


def random_rpn_outputs(g: torch.Generator, n: int, images: int = 2) -> tuple[Tensor, Tensor]:
    """Objectness logits ``Tensor[B, n]`` and deltas ``Tensor[B, n, 4]`` (wide enough that some
    decoded boxes leave the image and are clipped away by ``min_size``)."""
    return 2 * torch.randn(images, n, generator=g), torch.randn(images, n, 4, generator=g)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("weights", RPN_WEIGHTS)
@pytest.mark.parametrize("seed", SEEDS)
def test_rpn_filter_proposals_matches_torchvision(seed, weights, training):
    ours, ref = make_rpns(weights)
    ours.train(training)
    ref.train(training)
    logits, deltas = random_rpn_outputs(torch.Generator().manual_seed(seed), len(ours.anchors))
    props, scores = ours.filter_proposals(logits, deltas, IMAGE_SIZE)
    decoded = ref.box_coder.decode(deltas, [ours.anchors] * 2).view(2, -1, 4)  # as in torchvision's forward
    ref_props, ref_scores = ref.filter_proposals(decoded, logits, [IMAGE_SIZE] * 2, [len(ours.anchors)])
    # ours ranks and suppresses on the logits, torchvision on their sigmoid: the same order as long
    # as no two logits round to the same probability (random logits of this size never do)
    assert all(len(p) == (50 if training else 15) for p in ref_props)
    for p, s, rp, rs in zip(props, scores, ref_props, ref_scores):
        torch.testing.assert_close(p, rp)
        torch.testing.assert_close(s, rs)


def rpn_targets(g: torch.Generator, seed: int, anchors: Tensor) -> list[dict[str, Tensor]]:
    """Ground truth near some anchors (positives above ``fg_iou_thresh``, not only the best per box)."""
    targets = random_targets(g, seed)
    for t in targets:
        if len(t["boxes"]):
            t["boxes"] = torch.cat([t["boxes"], jittered(anchors, 2, g, scale=0.05)]).clamp(min=0)
            t["labels"] = torch.cat([t["labels"], torch.ones(2, dtype=torch.int64)])
    return targets


@pytest.mark.parametrize("weights", RPN_WEIGHTS)
@pytest.mark.parametrize("seed", SEEDS)
def test_rpn_losses_match_torchvision_with_the_same_sampling(seed, weights):
    ours, ref = make_rpns(weights)
    g = torch.Generator().manual_seed(seed)
    logits, deltas = random_rpn_outputs(g, len(ours.anchors))
    logits.requires_grad_()
    deltas = (0.1 * deltas).requires_grad_()  # around smooth-L1's beta = 1/9
    targets = rpn_targets(g, seed, ours.anchors)
    losses = ours.losses(logits, deltas, targets, generator=torch.Generator().manual_seed(seed))
    grads = torch.autograd.grad(sum(losses.values()), (logits, deltas))

    anchors = [ours.anchors] * 2
    labels, matched_gt = ref.assign_targets_to_anchors(anchors, targets)
    reg_targets = ref.box_coder.encode(matched_gt, anchors)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ref_losses = ref.compute_loss(logits, deltas.reshape(-1, 4), labels, reg_targets)
    ref_grads = torch.autograd.grad(sum(ref_losses), (logits, deltas))
    assert int((torch.cat(labels) == 1).sum()) > len(targets)  # more positives than the best anchors
    torch.testing.assert_close(losses["loss_objectness"], ref_losses[0])
    torch.testing.assert_close(losses["loss_rpn_box_reg"], ref_losses[1])
    for a, b in zip(grads, ref_grads):  # the same sampled anchors get the same gradients
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_rpn_forward_matches_torchvision(seed):
    """The whole RPN: head outputs in the anchors' order, proposals and both losses."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ours, ref = make_rpns(RPN_WEIGHTS[0])
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(2, 8, *FEATURE_SIZE, generator=g)
    targets = rpn_targets(g, seed, ours.anchors)
    logits, deltas = ours(features)
    losses = ours.losses(logits, deltas, targets, generator=torch.Generator().manual_seed(seed))
    props, _ = ours.filter_proposals(logits, deltas, IMAGE_SIZE)
    images = ImageList(torch.zeros(2, 3, *IMAGE_SIZE), [IMAGE_SIZE] * 2)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ref_props, ref_losses = ref(images, {"0": features}, targets)
    torch.testing.assert_close(losses, ref_losses)
    for p, rp in zip(props, ref_props):
        torch.testing.assert_close(p, rp)
