"""Every exercise of the nine notebooks: the known shortcuts fail its check, and so do plausible
honest mistakes.

For each exercise the test tries, as a student would: calling the reference; calling the library
twin and the equivalent framework functions (each shown first to give the right answer when not
refused, so the refusal is what makes it fail); reading the check's expected values from the
calling frames; returning an object whose ``==`` is always true; patching the check from inside
the function. The lecture edition's own solution passes (``tests/test_exercises_content.py``).
"""

from __future__ import annotations

import copy
import math
import sys
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from pytorch_metric_learning import miners
from sklearn import metrics as sklearn_metrics
from torch import nn
from torchvision.models.detection import _utils as tv_utils
from torchvision.models.detection import rpn as tv_rpn

from lecture_lib import boxes, cnn, embeddings, faces, metrics, plain, pose, transfer
from lecture_lib.cnn import EXERCISES as CNN
from lecture_lib.detection import (
    EXERCISES_03A,
    EXERCISES_03B,
    EXERCISES_03C,
    BoxCoder,
    RegionProposalNetwork,
    cell_anchors,
    fastrcnn_loss,
    match,
)
from lecture_lib.embeddings import EXERCISES as EMB
from lecture_lib.embeddings.counts import cooccurrence, ppmi
from lecture_lib.faces import EXERCISES as FACES
from lecture_lib.metrics import detection, iou_from_confusion, precision_recall_curve
from lecture_lib.pose import EXERCISES as POSE
from lecture_lib.segmentation import EXERCISES as SEG
from lecture_lib.transfer import EXERCISES as TRANSFER

REGISTRIES = [CNN, TRANSFER, EXERCISES_03A, EXERCISES_03B, EXERCISES_03C, SEG, POSE, FACES, EMB]
ALL = [(r, name) for r in REGISTRIES for name in r.exercises]
IDS = [f"{r.notebook}:{name}" for r, name in ALL]


def registry_of(name: str):
    return next(r for r, n in ALL if n == name)


# --- generic bypasses ---------------------------------------------------------------------------


def call_reference(reference: Callable) -> Callable:
    def answer(*args, **kwargs):
        return reference(*args, **kwargs)

    return answer


def import_reference(module: str, name: str) -> Callable:
    def answer(*args, **kwargs):
        import importlib

        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return answer


def from_sys_modules(module: str, name: str) -> Callable:
    def answer(*args, **kwargs):
        return getattr(sys.modules[module], name)(*args, **kwargs)

    return answer


def read_frames(*args, **kwargs):
    frame = sys._getframe(1)
    while frame is not None:
        for key in ("expected", "want", "reference", "answers"):
            if key in frame.f_locals:
                value = frame.f_locals[key]
                return value(*args, **kwargs) if callable(value) else value
        frame = frame.f_back
    return None


class Liar:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        return True


def lying_object(*args, **kwargs):
    return Liar()


def lying_tensor(*args, **kwargs):
    class AlwaysEqual(torch.Tensor):
        def __eq__(self, other):
            return True

    return torch.zeros(1).as_subclass(AlwaysEqual)


def patch_the_check(*args, **kwargs):
    import lecture_lib.plain

    lecture_lib.plain.compare = lambda *a, **k: None
    return None


def generic_bypasses(registry, name: str) -> dict[str, Callable]:
    ex = registry[name]
    return {
        "call the reference": call_reference(ex.reference),
        "import the reference": import_reference(ex.reference.__module__, ex.reference.__name__),
        "the reference from sys.modules": from_sys_modules(ex.reference.__module__, ex.reference.__name__),
        "read the expected values from the frames": read_frames,
        "an object whose == is always true": lying_object,
        "a tensor whose == is always true": lying_tensor,
        "patch the comparison": patch_the_check,
    }


# --- the library twins and framework functions, per exercise ------------------------------------


def pool_by_autograd(x, grad_out, k, s):
    xt = x.clone().requires_grad_()
    out = F.max_pool2d(xt, k, s)
    out.backward(grad_out)
    return out.detach(), xt.grad


def pool_by_module(x, grad_out, k, s):
    xt = x.clone().requires_grad_()
    out = nn.MaxPool2d(k, s)(xt)
    (grad,) = torch.autograd.grad(out, xt, grad_out)
    return out.detach(), grad


def pool_by_c_function(x, grad_out, k, s):
    xt = x.clone().requires_grad_()
    out = torch.max_pool2d(xt, k, s)
    out.backward(grad_out)
    return out.detach(), xt.grad


def conv_by_autograd(x, weight, grad_out, stride=1):
    xt, wt = x.clone().requires_grad_(), weight.clone().requires_grad_()
    F.conv2d(xt[None], wt, stride=stride)[0].backward(grad_out)
    return xt.grad, wt.grad


def conv_by_nn_grad(x, weight, grad_out, stride=1):
    gx = torch.nn.grad.conv2d_input((1, *x.shape), weight, grad_out[None], stride=stride)[0]
    gw = torch.nn.grad.conv2d_weight(x[None], weight.shape, grad_out[None], stride=stride)
    return gx, gw


def conv_overwrites(x, weight, grad_out, stride=1):  # "=" instead of "+=" where patches overlap
    k = weight.shape[-1]
    gx, gw = torch.zeros_like(x), torch.zeros_like(weight)
    for i in range(grad_out.shape[1]):
        for j in range(grad_out.shape[2]):
            g = grad_out[:, i, j][:, None, None, None]
            gx[:, i * stride : i * stride + k, j * stride : j * stride + k] = (g * weight).sum(0)
            gw += g * x[None, :, i * stride : i * stride + k, j * stride : j * stride + k]
    return gx, gw


def conv_flipped(x, weight, grad_out, stride=1):  # a flipped kernel (the textbook "full convolution")
    return conv_by_autograd(x, weight.flip(-1, -2), grad_out, stride)


def rf_by_backprop(layers):
    if not layers:
        return 1
    net = nn.Sequential(*(nn.Conv2d(1, 1, k, s, dilation=d) for k, s, d in layers))
    return cnn.measured_receptive_field(net, 128)


def bn_by_autograd(x, gamma, beta, grad_out, eps=1e-5):
    xt, gt, bt = (t.clone().requires_grad_() for t in (x, gamma, beta))
    out = F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    out.backward(grad_out)
    return out.detach(), xt.grad, gt.grad, bt.grad


def bn_by_module(x, gamma, beta, grad_out, eps=1e-5):
    layer = nn.BatchNorm2d(x.shape[1], eps=eps).train()
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
    xt = x.clone().requires_grad_()
    out = layer(xt)
    grad_x, grad_gamma, grad_beta = torch.autograd.grad(out, (xt, layer.weight, layer.bias), grad_out)
    return out.detach(), grad_x, grad_gamma, grad_beta


def bn_by_instance_norm(x, gamma, beta, grad_out, eps=1e-5):  # BatchNorm = InstanceNorm of x.transpose(0, 1)
    xt, gt, bt = (t.clone().requires_grad_() for t in (x, gamma, beta))
    out = F.instance_norm(xt.transpose(0, 1)[None], weight=gt, bias=bt, eps=eps)[0].transpose(0, 1)
    out.backward(grad_out)
    return out.detach(), xt.grad, gt.grad, bt.grad


def iou_by_torchvision(a, b):
    v = torchvision.ops.box_iou(
        torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64)
    )
    return float(v.nan_to_num(0.0))


def encode_by_torchvision(proposals, targets):
    coder = torchvision.models.detection._utils.BoxCoder((1.0, 1.0, 1.0, 1.0))
    return coder.encode_single(targets, proposals)


def roi_by_torchvision(fmap, box, size):
    return torchvision.ops.roi_pool(fmap[None, None], torch.tensor([[0.0, *box]]), size, 1.0)[0, 0]


def roi_by_torch_ops(fmap, box, size):
    out, _ = torch.ops.torchvision.roi_pool(fmap[None, None], torch.tensor([[0.0, *box]]), 1.0, *size)
    return out[0, 0]


def ap_by_library(curve_fn):
    """The area under the envelope of ``curve_fn``'s precision-recall curve (lecture_lib.metrics)."""

    def answer(det_boxes, det_scores, gt_boxes, iou_threshold=0.5):
        ones = [torch.ones(len(b), dtype=torch.int64) for b in det_boxes]
        preds = [{"boxes": b, "scores": s, "labels": o} for b, s, o in zip(det_boxes, det_scores, ones)]
        targets = [{"boxes": b, "labels": torch.ones(len(b), dtype=torch.int64)} for b in gt_boxes]
        curve = curve_fn(preds, targets, label=1, iou_threshold=iou_threshold)
        if curve["num_gt"] == 0:
            return float("nan")
        recall, precision = curve["recall"], curve["precision"]
        envelope = precision.flip(0).cummax(0).values.flip(0)
        return float((torch.diff(recall, prepend=torch.zeros(1, dtype=recall.dtype)) * envelope).sum())

    return answer


def align_by_torchvision(fmap, box, size, sampling_ratio=2, aligned=True):
    rois = torch.tensor([[0.0, *box]])
    return torchvision.ops.roi_align(fmap[None, None], rois, size, 1.0, sampling_ratio, aligned)[0, 0]


def align_by_module(fmap, box, size, sampling_ratio=2, aligned=True):
    layer = torchvision.ops.RoIAlign(size, 1.0, sampling_ratio, aligned)
    return layer(fmap[None, None], torch.tensor([[0.0, *box]]))[0, 0]


def align_by_torch_ops(fmap, box, size, sampling_ratio=2, aligned=True):
    rois = torch.tensor([[0.0, *box]])
    return torch.ops.torchvision.roi_align(fmap[None, None], rois, 1.0, *size, sampling_ratio, aligned)[0, 0]


def loss_by_library(logits, deltas, labels, reg_targets):
    out = fastrcnn_loss(logits, deltas, labels, reg_targets)
    return out["loss_classifier"], out["loss_box_reg"]


def loss_by_torch(logits, deltas, labels, reg_targets):
    fg = torch.nonzero(labels > 0).flatten()
    box = F.smooth_l1_loss(deltas[fg, labels[fg]], reg_targets, beta=1 / 9, reduction="sum") / len(labels)
    return F.cross_entropy(logits, labels), box


def loss_per_foreground(logits, deltas, labels, reg_targets):  # box loss averaged over foreground only
    fg = torch.nonzero(labels > 0).flatten()
    err = (deltas[fg, labels[fg]] - reg_targets).abs()
    box = torch.where(err < 1 / 9, 4.5 * err**2, err - 1 / 18).sum() / max(len(fg), 1)
    cls = (torch.logsumexp(logits, 1) - logits[torch.arange(len(labels)), labels]).mean()
    return cls, box


def loss_beta_one(logits, deltas, labels, reg_targets):  # smooth-L1 with beta = 1 (the paper's sigma)
    fg = torch.nonzero(labels > 0).flatten()
    err = (deltas[fg, labels[fg]] - reg_targets).abs()
    box = torch.where(err < 1, 0.5 * err**2, err - 0.5).sum() / len(labels)
    cls = (torch.logsumexp(logits, 1) - logits[torch.arange(len(labels)), labels]).mean()
    return cls, box


def match_without_low_quality(iou, high=0.7, low=0.3):
    if len(iou) == 0:
        return torch.full((iou.shape[1],), -1, dtype=torch.int64)
    best, idx = iou.max(0)
    return torch.where(best >= high, idx, torch.where(best < low, -1, -2))


def match_strict(iou, high=0.7, low=0.3):  # > high instead of >= high, and no low-quality matches
    if len(iou) == 0:
        return torch.full((iou.shape[1],), -1, dtype=torch.int64)
    best, idx = iou.max(0)
    out = torch.where(best > high, idx, torch.where(best <= low, -1, -2))
    top = iou.max(1, keepdim=True).values
    _, cols = torch.nonzero(iou == top, as_tuple=True)
    out[cols] = idx[cols]
    return out


def proposals_with(mistake: str) -> Callable:
    """The RPN's proposal filter with one plausible mistake (``rpn_proposals``)."""

    def proposals(
        anchors,
        objectness,
        deltas,
        size,
        pre_nms_top_n=1000,
        post_nms_top_n=1000,
        nms_thresh=0.7,
        min_size=1e-3,
        weights=(1.0, 1.0, 1.0, 1.0),
    ):
        top = objectness.topk(min(pre_nms_top_n, len(objectness))).indices
        a, d = anchors[top], deltas[top] / torch.tensor(weights)
        wh = a[:, 2:] - a[:, :2]
        centre = a[:, :2] + 0.5 * wh + d[:, :2] * wh
        clip = math.inf if mistake == "no clamp of dw, dh" else math.log(1000 / 16)
        half = 0.5 * wh * torch.exp(d[:, 2:].clamp(max=clip))
        boxes = torch.cat([centre - half, centre + half], dim=1)
        h, w = size[::-1] if mistake == "height and width swapped" else size
        clipped = torch.stack([boxes[:, 0::2].clamp(0, w), boxes[:, 1::2].clamp(0, h)], dim=2).flatten(1)
        measured = boxes if mistake == "size filter before clipping" else clipped
        ok = ((measured[:, 2:] - measured[:, :2]) >= min_size).all(dim=1)
        boxes, logits = clipped[ok], objectness[top][ok]
        scores = logits if mistake == "logits, not probabilities" else torch.sigmoid(logits)
        if mistake == "post_nms_top_n before NMS":
            return boxes[:post_nms_top_n], scores[:post_nms_top_n]
        keep = torchvision.ops.nms(boxes, scores, nms_thresh)[:post_nms_top_n]
        return boxes[keep], scores[keep]

    return proposals


def anchors_by_torchvision(sizes, ratios):
    gen = torchvision.models.detection.anchor_utils.AnchorGenerator((tuple(sizes),), (tuple(ratios),))
    return gen.generate_anchors(list(sizes), list(ratios))


def proposals_by_library(
    anchors,
    objectness,
    deltas,
    size,
    pre_nms_top_n=1000,
    post_nms_top_n=1000,
    nms_thresh=0.7,
    min_size=1e-3,
    weights=(1.0, 1.0, 1.0, 1.0),
):
    rpn = RegionProposalNetwork(4, (1, 1), 8, anchor_sizes=(16,), aspect_ratios=(1.0,)).eval()
    rpn.anchors = anchors
    rpn.pre_nms_top_n["testing"], rpn.post_nms_top_n["testing"] = pre_nms_top_n, post_nms_top_n
    rpn.nms_thresh, rpn.min_size, rpn.box_coder = nms_thresh, min_size, BoxCoder(weights)
    boxes, scores = rpn.filter_proposals(objectness[None], deltas[None], size)
    return boxes[0], scores[0]


def proposals_by_torchvision(
    anchors,
    objectness,
    deltas,
    size,
    pre_nms_top_n=1000,
    post_nms_top_n=1000,
    nms_thresh=0.7,
    min_size=1e-3,
    weights=(1.0, 1.0, 1.0, 1.0),
):
    tops = (
        {"training": pre_nms_top_n, "testing": pre_nms_top_n},
        {"training": post_nms_top_n, "testing": post_nms_top_n},
    )
    rpn = tv_rpn.RegionProposalNetwork(None, None, 0.7, 0.3, 256, 0.5, *tops, nms_thresh).eval()
    rpn.min_size = min_size
    decoded = tv_utils.BoxCoder(weights).decode_single(deltas, anchors)
    boxes, scores = rpn.filter_proposals(decoded[None], objectness[None], [size], [len(anchors)])
    return boxes[0], scores[0]


def proposals_by_torchvision_ops(
    anchors,
    objectness,
    deltas,
    size,
    pre_nms_top_n=1000,
    post_nms_top_n=1000,
    nms_thresh=0.7,
    min_size=1e-3,
    weights=(1.0, 1.0, 1.0, 1.0),
):
    top = objectness.topk(min(pre_nms_top_n, len(objectness))).indices
    boxes = torchvision.ops.clip_boxes_to_image(
        tv_utils.BoxCoder(weights).decode_single(deltas[top], anchors[top]), size
    )
    ok = torchvision.ops.remove_small_boxes(boxes, min_size)
    boxes, scores = boxes[ok], torch.sigmoid(objectness[top][ok])
    keep = torchvision.ops.nms(boxes, scores, nms_thresh)[:post_nms_top_n]
    return boxes[keep], scores[keep]


def upsample_by_module(x, s, align_corners=False):
    return nn.Upsample(scale_factor=s, mode="bilinear", align_corners=align_corners)(x)


def upsample_by_c_function(x, s, align_corners=False):
    return torch._C._nn.upsample_bilinear2d(x, [s * x.shape[2], s * x.shape[3]], align_corners, None)


def tconv_by_module(x, weight, stride=1, padding=0):
    layer = nn.ConvTranspose2d(
        weight.shape[0], weight.shape[1], weight.shape[2:], stride, padding, bias=False
    )
    with torch.no_grad():
        layer.weight.copy_(weight)
        return layer.to(x.dtype)(x)


def tconv_by_autograd(x, weight, stride=1, padding=0):  # the gradient of conv2d with respect to its input
    size = [(n - 1) * stride - 2 * padding + k for n, k in zip(x.shape[2:], weight.shape[2:])]
    z = torch.zeros(x.shape[0], weight.shape[1], *size, dtype=x.dtype, requires_grad=True)
    (grad,) = torch.autograd.grad(F.conv2d(z, weight, stride=stride, padding=padding), z, x)
    return grad


def tconv_by_fold(x, weight, stride=1, padding=0):  # every pixel's stamp, then overlap-add with F.fold
    (B, _, H, W), (_, c_out, kh, kw) = x.shape, weight.shape
    stamps = torch.einsum("bcij,cokl->boklij", x, weight).reshape(B, c_out * kh * kw, H * W)
    size = ((H - 1) * stride + kh, (W - 1) * stride + kw)
    full = F.fold(stamps, size, (kh, kw), stride=stride)
    return full[:, :, padding : size[0] - padding, padding : size[1] - padding]


def decode_by_library(heatmaps):
    return pose.heatmaps_to_keypoints(heatmaps)


def person_length(target, norm):
    """Tensor[N]: the torso (``pose.torso_size``) or the longer side of the joints' bounding box."""
    return pose.torso_size(target) if norm == "torso" else (target.amax(1) - target.amin(1)).amax(1)


def pck_by_library(pred, target, visible, alpha, norm="torso"):
    length = person_length(target, norm)
    keep = length > 0  # the library refuses a length of 0: leave those people out
    args = (pred[keep], target[keep], visible[keep], alpha, length[keep])
    overall = pose.pck(*args) if visible[keep].any() else math.nan
    return pose.pck_per_joint(*args), overall


def pck_by_correct_keypoints(pred, target, visible, alpha, norm="torso"):
    length = person_length(target, norm)
    counted = visible & (length > 0)[:, None]
    ok = pose.correct_keypoints(pred, target, alpha, length) & counted
    per_joint = ok.sum(0).double() / counted.sum(0).double()
    return per_joint, ok.sum().item() / counted.sum().item() if counted.any() else math.nan


def triplet_by_autograd(a, p, n, margin=0.2):
    a, p, n = (t.clone().requires_grad_() for t in (a, p, n))
    loss = torch.relu(((a - p) ** 2).sum(1) - ((a - n) ** 2).sum(1) + margin).mean()
    loss.backward()
    return loss.detach(), a.grad, p.grad, n.grad


def triplet_by_functorch(a, p, n, margin=0.2):
    def loss(a, p, n):
        return torch.relu(((a - p) ** 2).sum(1) - ((a - n) ** 2).sum(1) + margin).mean()

    grads = torch.func.grad(loss, argnums=(0, 1, 2))(a, p, n)
    return loss(a, p, n), *grads


def triplet_by_library(a, p, n, margin=0.2):
    a, p, n = (t.clone().requires_grad_() for t in (a, p, n))
    loss = faces.triplet_loss(a, p, n, margin)
    ga, gp, gn = torch.autograd.grad(loss, (a, p, n))
    return loss.detach(), ga, gp, gn


def semi_hard_by_library(emb, labels, margin=0.2):
    if len(labels) == 0:
        return []
    a, p, n = faces.mine_triplets(emb, labels, margin, "semi-hard")
    return sorted(zip(a.tolist(), p.tolist(), n.tolist()))


def semi_hard_by_pml(emb, labels, margin=0.2):
    if len(labels) == 0:
        return []
    d = torch.cdist(emb.double(), emb.double()) ** 2
    a, p, n = miners.TripletMarginMiner(margin=margin, type_of_triplets="semihard")(emb, labels)
    keep = d[a, n] - d[a, p] < margin  # PML keeps == margin; the exercise does not
    return sorted(zip(a[keep].tolist(), p[keep].tolist(), n[keep].tolist()))


def _roc_curve_by_cumsum(distances, same):
    """The exercise's curve written out (for twins that take only the area from a shortcut)."""
    d, s = distances.double(), same.bool()
    order = torch.argsort(d, stable=True)
    d, s = d[order], s[order]
    last = torch.ones(len(d), dtype=torch.bool)
    last[:-1] = d[1:] != d[:-1]
    zero = torch.zeros(1, dtype=torch.float64)
    far = torch.cat([zero, torch.cumsum((~s).double(), 0)[last] / int((~s).sum())])
    tar = torch.cat([zero, torch.cumsum(s.double(), 0)[last] / int(s.sum())])
    return far, tar


def roc_by_sklearn(distances, same):
    score, truth = -distances.double().numpy(), same.numpy()
    far, tar, _ = sklearn_metrics.roc_curve(truth, score, drop_intermediate=False)
    return torch.from_numpy(far), torch.from_numpy(tar), float(sklearn_metrics.roc_auc_score(truth, score))


def roc_by_sklearn_auc(distances, same):
    score, truth = -distances.double().numpy(), same.numpy()
    far, tar, _ = sklearn_metrics.roc_curve(truth, score, drop_intermediate=False)
    return torch.from_numpy(far), torch.from_numpy(tar), float(sklearn_metrics.auc(far, tar))


def roc_by_trapezoid(distances, same):
    far, tar = _roc_curve_by_cumsum(distances, same)
    return far, tar, float(torch.trapezoid(tar, far))


def roc_by_library_auc(distances, same):
    far, tar = _roc_curve_by_cumsum(distances, same)
    return far, tar, metrics.verification_auc(distances, same)


def kfold_by_library(distances, same, folds):
    result = metrics.kfold_accuracy(distances, same, folds)
    return torch.tensor(result.fold_accuracy), torch.tensor(result.thresholds, dtype=torch.float64)


def kfold_by_best_threshold(distances, same, folds):
    accuracies, thresholds = [], []
    for k in folds.unique():
        held = folds == k
        t, _ = metrics.best_threshold(distances[~held], same[~held])
        accuracies.append(float(((distances[held].double() <= t) == same[held]).double().mean()))
        thresholds.append(t)
    return torch.tensor(accuracies), torch.tensor(thresholds, dtype=torch.float64)


def kfold_by_roc_curve(distances, same, folds):  # sklearn's ROC gives the accuracy at every threshold
    d, s = distances.double().numpy(), same.numpy()
    accuracies, thresholds = [], []
    for k in folds.unique():
        held = (folds == k).numpy()
        # point i of the ROC accepts the i smallest distinct distances: candidate threshold i
        far, tar, _ = sklearn_metrics.roc_curve(s[~held], -d[~held], drop_intermediate=False)
        correct = np.round(tar * s[~held].sum() + (1 - far) * (~s[~held]).sum())
        u = np.unique(d[~held])
        t = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])[int(np.argmax(correct))]
        accuracies.append(float(((d[held] <= t) == s[held]).mean()))
        thresholds.append(float(t))
    return torch.tensor(accuracies), torch.tensor(thresholds, dtype=torch.float64)


def analogy_by_gensim(vectors, vocab, a, b, c, topn=1):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(list(vocab), vectors.numpy())
    return kv.most_similar(positive=[b, c], negative=[a], topn=topn)


def sgns_by_autograd(w_in, w_out, centre, context, noise):
    w_in, w_out = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    v = w_in[centre]
    loss = -(
        F.logsigmoid((v * w_out[context]).sum(1))
        + F.logsigmoid(-(w_out[noise] @ v[:, :, None])[..., 0]).sum(1)
    )
    loss = loss.mean()
    loss.backward()
    return loss.detach(), w_in.grad, w_out.grad


def sgns_by_library(w_in, w_out, centre, context, noise):
    w_in, w_out = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    loss = embeddings.sgns_loss(w_in[centre], w_out[context], w_out[noise])
    g_in, g_out = torch.autograd.grad(loss, (w_in, w_out))
    return loss.detach(), g_in, g_out


def ppmi_by_library(sentences, vocab_size, window, alpha=0.75):
    ids = torch.tensor([w for s in sentences for w in s], dtype=torch.int64)
    sentence = torch.tensor([i for i, s in enumerate(sentences) for _ in s], dtype=torch.int64)
    with np.errstate(invalid="ignore"):  # a corpus without a pair: 0 / 0 marginals, no entries
        matrix = ppmi(cooccurrence(ids, sentence, vocab_size, window), alpha)
    return torch.from_numpy(matrix.toarray())


def probe_by_sgd(features, labels, num_classes, steps=50, lr=0.5):
    weight = torch.zeros(features.shape[1], num_classes, requires_grad=True)
    bias = torch.zeros(num_classes, requires_grad=True)
    opt = torch.optim.SGD([weight, bias], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(features @ weight + bias, labels).backward()
        opt.step()
    return weight.detach(), bias.detach()


def probe_by_autograd_grad(features, labels, num_classes, steps=50, lr=0.5):
    weight, bias = torch.zeros(features.shape[1], num_classes), torch.zeros(num_classes)
    for _ in range(steps):
        w, b = weight.requires_grad_(), bias.requires_grad_()
        logits = features @ w + b
        loss = (torch.logsumexp(logits, 1) - logits[torch.arange(len(labels)), labels]).mean()
        gw, gb = torch.autograd.grad(loss, (w, b))
        weight, bias = (w - lr * gw).detach(), (b - lr * gb).detach()
    return weight, bias


def probe_sum_not_mean(features, labels, num_classes, steps=50, lr=0.5):  # gradient of the summed loss
    weight, bias = torch.zeros(features.shape[1], num_classes), torch.zeros(num_classes)
    onehot = F.one_hot(labels, num_classes).float()
    for _ in range(steps):
        err = torch.softmax(features @ weight + bias, 1) - onehot
        weight, bias = weight - lr * features.T @ err, bias - lr * err.sum(0)
    return weight, bias


def probe_no_bias(features, labels, num_classes, steps=50, lr=0.5):  # the bias is never updated
    weight, bias = torch.zeros(features.shape[1], num_classes), torch.zeros(num_classes)
    onehot = F.one_hot(labels, num_classes).float()
    for _ in range(steps):
        err = (torch.softmax(features @ weight + bias, 1) - onehot) / len(labels)
        weight = weight - lr * features.T @ err
    return weight, bias


def head_by_library(model, num_classes):
    return transfer.replace_head(transfer.freeze(model), num_classes)


def finetune_by_library(model, num_classes, k):
    transfer.replace_head(model, num_classes)
    transfer.unfreeze_top(model, k)
    return model, sum(p.numel() for p in model.parameters() if p.requires_grad)


def ncm_scores_masked(scores, counts):
    return scores.masked_fill(counts == 0, float("-inf"))


def ncm_by_sklearn(train_x, train_y, test_x, num_classes):
    from sklearn.neighbors import NearestCentroid

    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # its spread statistics of classes of one vector
        clf = NearestCentroid().fit(F.normalize(train_x, dim=1).numpy(), train_y.numpy())
    clf.centroids_ = F.normalize(torch.from_numpy(clf.centroids_), dim=1).numpy()
    prototypes = torch.zeros(num_classes, train_x.shape[1])
    prototypes[torch.from_numpy(clf.classes_)] = torch.from_numpy(clf.centroids_).float()
    counts = torch.bincount(train_y, minlength=num_classes)
    scores = ncm_scores_masked(F.normalize(test_x, dim=1) @ prototypes.T, counts)
    return torch.from_numpy(clf.predict(F.normalize(test_x, dim=1).numpy())).long(), scores


def ncm_by_cosine_similarity(train_x, train_y, test_x, num_classes):
    onehot = F.one_hot(train_y, num_classes).float()
    counts = onehot.sum(0)
    prototypes = onehot.T @ F.normalize(train_x, dim=1) / counts.clamp(min=1)[:, None]
    scores = ncm_scores_masked(F.cosine_similarity(test_x[:, None], prototypes[None], dim=2), counts)
    return scores.argmax(1), scores


def ncm_by_sklearn_cosine(train_x, train_y, test_x, num_classes):
    from sklearn.metrics.pairwise import cosine_similarity

    onehot = F.one_hot(train_y, num_classes).float()
    counts = onehot.sum(0)
    prototypes = onehot.T @ F.normalize(train_x, dim=1) / counts.clamp(min=1)[:, None]
    scores = ncm_scores_masked(
        torch.from_numpy(cosine_similarity(test_x.numpy(), prototypes.numpy())), counts
    )
    return scores.argmax(1), scores


TWINS: dict[str, dict[str, Callable]] = {
    "output_size": {
        "a conv layer on the meta device": lambda n, k, s=1, p=0: nn.Conv2d(1, 1, k, s, p, device="meta")(
            torch.empty(1, 1, n, n, device="meta")
        ).shape[-1],
        "cnn.conv_output_size": lambda n, k, s=1, p=0: cnn.conv_output_size(n, k, s, p),
    },
    "max_pool_forward_backward": {
        "F.max_pool2d + backward": pool_by_autograd,
        "nn.MaxPool2d + autograd.grad": pool_by_module,
        "torch.max_pool2d + backward": pool_by_c_function,
    },
    "conv2d_backward": {
        "autograd through F.conv2d": conv_by_autograd,
        "torch.nn.grad.conv2d_input / conv2d_weight": conv_by_nn_grad,
    },
    "stack_receptive_field": {
        "cnn.receptive_field": lambda layers: cnn.receptive_field(layers)[-1] if layers else 1,
        "back-propagation": rf_by_backprop,
    },
    "batch_norm_forward_backward": {
        "F.batch_norm + backward": bn_by_autograd,
        "nn.BatchNorm2d + autograd.grad": bn_by_module,
        "F.instance_norm of the transpose + backward": bn_by_instance_norm,
    },
    "new_head": {"transfer.replace_head + freeze": head_by_library},
    "prepare_finetune": {"transfer.unfreeze_top": finetune_by_library},
    "train_linear_head": {
        "torch.optim.SGD + F.cross_entropy": probe_by_sgd,
        "torch.autograd.grad": probe_by_autograd_grad,
    },
    "nearest_class_mean": {
        "sklearn's NearestCentroid": ncm_by_sklearn,
        "F.cosine_similarity": ncm_by_cosine_similarity,
        "sklearn's cosine_similarity": ncm_by_sklearn_cosine,
    },
    "iou": {
        "torchvision.ops.box_iou": iou_by_torchvision,
        "lecture_lib.boxes.box_iou": lambda a, b: float(
            boxes.box_iou(
                torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64)
            ).nan_to_num(0)
        ),
    },
    "nms": {
        "torchvision.ops.nms": lambda b, s, t: torchvision.ops.nms(b, s, t),
        "torch.ops.torchvision.nms": lambda b, s, t: torch.ops.torchvision.nms(b, s, t),
        "lecture_lib.boxes.nms": lambda b, s, t: boxes.nms(b, s, t),
    },
    "encode": {
        "lecture_lib.boxes.encode": lambda p, t: boxes.encode(p, t) if len(p) else torch.zeros(0, 4),
        "torchvision's BoxCoder": encode_by_torchvision,
    },
    "average_precision": {
        "lecture_lib.metrics.precision_recall_curve": ap_by_library(precision_recall_curve),
        "lecture_lib.metrics.detection.precision_recall_curve": ap_by_library(
            detection.precision_recall_curve
        ),
    },
    "roi_max_pool": {
        "torchvision.ops.roi_pool": roi_by_torchvision,
        "torch.ops.torchvision.roi_pool": roi_by_torch_ops,
        "lecture_lib.boxes.roi_pool": lambda fmap, box, size: boxes.roi_pool(
            fmap[None, None], torch.tensor([[0.0, *box]]), size, 1.0
        )[0, 0],
    },
    "fast_rcnn_loss": {
        "lecture_lib's fastrcnn_loss": loss_by_library,
        "F.cross_entropy + F.smooth_l1_loss": loss_by_torch,
    },
    "roi_align_one": {
        "torchvision.ops.roi_align": align_by_torchvision,
        "torchvision.ops.RoIAlign": align_by_module,
        "torch.ops.torchvision.roi_align": align_by_torch_ops,
    },
    "match_anchors": {
        "lecture_lib's match": lambda iou, high=0.7, low=0.3: match(
            iou, high=high, low=low, allow_low_quality=True
        ),
        "torchvision's Matcher": lambda iou, high=0.7, low=0.3: (
            torchvision.models.detection._utils.Matcher(high, low, allow_low_quality_matches=True)(iou)
            if len(iou)
            else torch.full((iou.shape[1],), -1, dtype=torch.int64)
        ),
    },
    "my_cell_anchors": {
        "lecture_lib's cell_anchors": lambda sizes, ratios: cell_anchors(sizes, ratios),
        "torchvision's AnchorGenerator": anchors_by_torchvision,
    },
    "rpn_proposals": {
        "lecture_lib's RegionProposalNetwork.filter_proposals": proposals_by_library,
        "torchvision's RegionProposalNetwork.filter_proposals": proposals_by_torchvision,
        "torchvision's BoxCoder, clip_boxes_to_image, remove_small_boxes": proposals_by_torchvision_ops,
    },
    "iou_per_class": {
        "lecture_lib.metrics.iou_from_confusion": lambda cm: iou_from_confusion(cm)["iou_per_class"].double(),
    },
    "upsample_bilinear": {
        "F.interpolate": lambda x, s, align_corners=False: F.interpolate(
            x, scale_factor=s, mode="bilinear", align_corners=align_corners
        ),
        "nn.Upsample": upsample_by_module,
        "torch._C._nn.upsample_bilinear2d": upsample_by_c_function,
    },
    "transposed_conv2d": {
        "F.conv_transpose2d": lambda x, w, s=1, p=0: F.conv_transpose2d(x, w, stride=s, padding=p),
        "torch.conv_transpose2d": lambda x, w, s=1, p=0: torch.conv_transpose2d(x, w, stride=s, padding=p),
        "nn.ConvTranspose2d": tconv_by_module,
        "torch.nn.grad.conv2d_input": lambda x, w, s=1, p=0: torch.nn.grad.conv2d_input(
            (x.shape[0], w.shape[1], *((n - 1) * s - 2 * p + k for n, k in zip(x.shape[2:], w.shape[2:]))),
            w,
            x,
            stride=s,
            padding=p,
        ),
        "autograd through F.conv2d": tconv_by_autograd,
        "F.fold (overlap-add)": tconv_by_fold,
    },
    "my_disk_heatmaps": {
        "pose.disk_heatmaps": lambda kp, size, r, visible=None: pose.disk_heatmaps(kp, size, r, visible),
    },
    "my_decode": {"pose.heatmaps_to_keypoints": decode_by_library},
    "my_pck": {
        "pose.pck + pose.pck_per_joint": pck_by_library,
        "pose.correct_keypoints + pose.torso_size": pck_by_correct_keypoints,
    },
    "my_triplet_loss_backward": {
        "autograd (backward)": triplet_by_autograd,
        "torch.func.grad": triplet_by_functorch,
        "faces.triplet_loss + autograd.grad": triplet_by_library,
    },
    "my_semi_hard": {
        "faces.mine_triplets": semi_hard_by_library,
        "pytorch-metric-learning's TripletMarginMiner": semi_hard_by_pml,
    },
    "my_verification_roc": {
        "sklearn roc_curve + roc_auc_score": roc_by_sklearn,
        "sklearn roc_curve + auc": roc_by_sklearn_auc,
        "torch.trapezoid for the area": roc_by_trapezoid,
        "lecture_lib.metrics.verification_auc": roc_by_library_auc,
    },
    "my_lfw_kfold": {
        "lecture_lib.metrics.kfold_accuracy": kfold_by_library,
        "lecture_lib.metrics.best_threshold per fold": kfold_by_best_threshold,
        "sklearn roc_curve's accuracy at every threshold": kfold_by_roc_curve,
    },
    "my_analogy": {
        "embeddings.analogy": lambda v, vocab, a, b, c, topn=1: embeddings.analogy(v, vocab, a, b, c, topn),
        "gensim's most_similar": analogy_by_gensim,
    },
    "my_sgns_loss_grad": {
        "autograd (backward)": sgns_by_autograd,
        "embeddings.sgns_loss + autograd.grad": sgns_by_library,
    },
    "my_ppmi": {"embeddings.counts.ppmi(cooccurrence(...))": ppmi_by_library},
}


# --- plausible honest mistakes, per exercise ----------------------------------------------------


def pool_last_max(x, grad_out, k, s):  # ties to the LAST maximum
    B, C, H, W = x.shape
    ho, wo = (H - k) // s + 1, (W - k) // s + 1
    out, grad = torch.zeros(B, C, ho, wo), torch.zeros_like(x)
    for b in range(B):
        for c in range(C):
            for i in range(ho):
                for j in range(wo):
                    win = x[b, c, i * s : i * s + k, j * s : j * s + k].flatten()
                    r = int(len(win) - 1 - win.flip(0).argmax())
                    out[b, c, i, j] = win[r]
                    grad[b, c, i * s + r // k, j * s + r % k] += grad_out[b, c, i, j]
    return out, grad


def pool_overwrites(x, grad_out, k, s):  # "=" instead of "+=": overlapping gradients lost
    B, C, H, W = x.shape
    ho, wo = (H - k) // s + 1, (W - k) // s + 1
    out, grad = torch.zeros(B, C, ho, wo), torch.zeros_like(x)
    for b in range(B):
        for c in range(C):
            for i in range(ho):
                for j in range(wo):
                    win = x[b, c, i * s : i * s + k, j * s : j * s + k].flatten()
                    r = int(win.argmax())
                    out[b, c, i, j] = win[r]
                    grad[b, c, i * s + r // k, j * s + r % k] = grad_out[b, c, i, j]
    return out, grad


def bn_mistake(x, gamma, beta, grad_out, eps=1e-5, *, unbiased=False, constant_stats=False, dims=(0, 2, 3)):
    """BatchNorm with one honest mistake switched on (see MISTAKES)."""
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=1 if unbiased else 0)
    inv_std = 1 / torch.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    g = gamma[:, None, None] * grad_out
    n = x.numel() // len(gamma) if dims == (0, 2, 3) else x.shape[2] * x.shape[3]
    if constant_stats:  # the mean and the variance treated as constants
        grad_x = g * inv_std
    else:
        grad_x = (
            inv_std / n * (n * g - g.sum(dims, keepdim=True) - x_hat * (g * x_hat).sum(dims, keepdim=True))
        )
    out = gamma[:, None, None] * x_hat + beta[:, None, None]
    return out, grad_x, (grad_out * x_hat).sum((0, 2, 3)), grad_out.sum((0, 2, 3))


def bn_eps_on_std(x, gamma, beta, grad_out, eps=1e-5):  # eps added to the standard deviation
    mean, std = x.mean((0, 2, 3), keepdim=True), x.var((0, 2, 3), keepdim=True, correction=0).sqrt()
    inv_std = 1 / (std + eps)
    x_hat = (x - mean) * inv_std
    g, n = gamma[:, None, None] * grad_out, x.numel() // len(gamma)
    grad_x = (
        inv_std
        / n
        * (n * g - g.sum((0, 2, 3), keepdim=True) - x_hat * (g * x_hat).sum((0, 2, 3), keepdim=True))
    )
    out = gamma[:, None, None] * x_hat + beta[:, None, None]
    return out, grad_x, (grad_out * x_hat).sum((0, 2, 3)), grad_out.sum((0, 2, 3))


def ncm_mistake(train_x, train_y, test_x, num_classes, *, raw_mean=False, mask=True, last=False, guard=True):
    """The nearest class mean with one honest mistake switched on (see MISTAKES)."""

    def unit(v):
        length = v.norm(dim=1, keepdim=True)
        return v / (length.clamp(min=1e-12) if guard else length)

    feats = train_x if raw_mean else unit(train_x)
    onehot = F.one_hot(train_y, num_classes).float()
    counts = onehot.sum(0)
    scores = unit(test_x) @ unit(onehot.T @ feats / counts.clamp(min=1)[:, None]).T
    if mask:
        scores = scores.masked_fill(counts == 0, float("-inf"))
    if last:  # ties to the largest class index
        return num_classes - 1 - scores.flip(1).argmax(1), scores
    return scores.argmax(1), scores


def nms_keeps_at_threshold_wrong(boxes, scores, iou_threshold):  # drops IoU == threshold
    order, keep = scores.argsort(descending=True, stable=True).tolist(), []
    b = boxes.tolist()
    for i in order:
        if all(_iou(b[i], b[j]) < iou_threshold for j in keep):
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)


def nms_unstable_ties(boxes, scores, iou_threshold):  # ties in reverse index order
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), -i))
    keep, b = [], boxes.tolist()
    for i in order:
        if all(_iou(b[i], b[j]) <= iou_threshold for j in keep):
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def upsample_no_clamp(x, s, align_corners=False):  # forgets to clamp at the border
    B, C, H, W = x.shape

    def taps(n):
        pos = (torch.arange(s * n, dtype=torch.float64) + 0.5) / s - 0.5
        lo = pos.floor().long().clamp(0, n - 1)
        return lo, (lo + 1).clamp(max=n - 1), (pos - pos.floor()).to(x.dtype)

    r0, r1, fr = taps(H)
    c0, c1, fc = taps(W)
    rows = x[:, :, r0] * (1 - fr)[:, None] + x[:, :, r1] * fr[:, None]
    return rows[..., c0] * (1 - fc) + rows[..., c1] * fc


def tconv_with(mistake: str) -> Callable:
    """The transposed convolution with one plausible mistake (``transposed_conv2d``)."""

    def tconv(x, weight, stride=1, padding=0):
        if mistake == "kernel flipped":
            weight = weight.flip(-1, -2)
        if mistake == "weight read as [C_out, C_in]":  # conv2d's layout
            weight = weight.transpose(0, 1)
        B, c_in, H, W = x.shape
        kh, kw = weight.shape[2:]
        full = torch.zeros(B, weight.shape[1], (H - 1) * stride + kh, (W - 1) * stride + kw, dtype=x.dtype)
        for i in range(H):
            for j in range(W):
                stamp = torch.einsum("bc,cokl->bokl", x[:, :, i, j], weight)
                block = full[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                block.copy_(stamp) if mistake == "= instead of +=" else block.add_(stamp)
        if mistake == "padding cropped at the end only":
            return full[:, :, : full.shape[2] - 2 * padding, : full.shape[3] - 2 * padding]
        return full[:, :, padding : full.shape[2] - padding, padding : full.shape[3] - padding]

    return tconv


def semi_hard_inclusive(emb, labels, margin=0.2):  # <= instead of <
    d = ((emb[:, None] - emb[None]) ** 2).sum(-1)
    n = len(labels)
    return sorted(
        (a, p, q)
        for a in range(n)
        for p in range(n)
        for q in range(n)
        if a != p and labels[a] == labels[p] != labels[q] and d[a, p] <= d[a, q] <= d[a, p] + margin
    )


def triplet_no_hinge(a, p, n, margin=0.2):  # forgets that inactive triplets have no gradient
    B = len(a)
    d = ((a - p) ** 2).sum(1) - ((a - n) ** 2).sum(1) + margin
    return torch.relu(d).mean(), 2 * (n - p) / B, -2 * (a - p) / B, 2 * (a - n) / B


def _roc(distances, same, *, group_ties=True, trapezoid=True, origin=True, descending=False):
    """The verification ROC with one of the honest mistakes switched on."""
    d, s = distances.double(), same.bool()
    order = torch.argsort(d, descending=descending, stable=True)
    d, s = d[order], s[order]
    last = torch.ones(len(d), dtype=torch.bool)
    if group_ties:
        last[:-1] = d[1:] != d[:-1]
    start = [torch.zeros(1, dtype=torch.float64)] if origin else []
    far = torch.cat([*start, torch.cumsum((~s).double(), 0)[last] / int((~s).sum())])
    tar = torch.cat([*start, torch.cumsum(s.double(), 0)[last] / int(s.sum())])
    heights = (tar[1:] + tar[:-1]) / 2 if trapezoid else tar[:-1]  # step: ties get no half credit
    return far, tar, float(((far[1:] - far[:-1]) * heights).sum())


def _kfold(distances, same, folds, *, choose_on_held=False, ties_last=False, strict=False, midpoints=True):
    """LFW's k-fold protocol with one of the honest mistakes switched on."""
    d, s = distances.double(), same.bool()
    accuracies, thresholds = [], []
    for k in folds.unique():
        held = folds == k
        pick = held if choose_on_held else ~held
        u = d[pick].unique()
        cands = torch.cat([u[:1] - 1, (u[:-1] + u[1:]) / 2, u[-1:] + 1]) if midpoints else u
        correct = ((d[pick][None] <= cands[:, None]) == s[pick][None]).sum(1)
        best = int(torch.nonzero(correct == correct.max()).flatten()[-1 if ties_last else 0])
        t = cands[best]
        says = d[held] < t if strict else d[held] <= t
        accuracies.append((says == s[held]).double().mean())
        thresholds.append(t)
    return torch.stack(accuracies), torch.stack(thresholds)


def sgns_no_accumulation(w_in, w_out, centre, context, noise):  # "=" where repeated ids must add
    B = len(centre)
    v = w_in[centre]
    pos = torch.sigmoid((v * w_out[context]).sum(1))
    neg = torch.sigmoid((w_out[noise] @ v[:, :, None])[..., 0])
    loss = -(torch.log(pos) + torch.log(1 - neg).sum(1)).mean()
    g_in, g_out = torch.zeros_like(w_in), torch.zeros_like(w_out)
    g_in[centre] = (-(1 - pos)[:, None] * w_out[context] + (neg[..., None] * w_out[noise]).sum(1)) / B
    g_out[context] = -(1 - pos)[:, None] * v / B
    g_out[noise] = neg[..., None] * v[:, None] / B
    return loss, g_in, g_out


def analogy_keeps_question_words(vectors, vocab, a, b, c, topn=1):
    unit = vectors / vectors.norm(dim=1, keepdim=True)
    at = {w: i for i, w in enumerate(vocab)}
    q = unit[at[b]] - unit[at[a]] + unit[at[c]]
    cos = unit @ (q / q.norm())
    top = cos.topk(topn)
    return [(vocab[i], float(v)) for i, v in zip(top.indices.tolist(), top.values.tolist())]


def decode_no_refinement(heatmaps):
    k, h, w = heatmaps.shape
    conf, idx = heatmaps.reshape(k, -1).max(1)
    return torch.stack([idx % w, idx // w], 1).float(), conf


def pck_mistaken(pred, target, visible, alpha, norm="torso", **mistake):
    """A vectorised PCK with one of the mistakes switched on (``mean_of_joints``, ``invisible_count``,
    ``length_of_pred``, ``strict``, ``zero_length_kept``)."""
    truth = pred if mistake.get("length_of_pred") else target  # LSP torso: joints 9 and 2
    box = (truth.amax(1) - truth.amin(1)).amax(1)
    length = (truth[:, 9] - truth[:, 2]).norm(dim=1) if norm == "torso" else box
    counted = torch.ones_like(visible) if mistake.get("invisible_count") else visible.clone()
    if not mistake.get("zero_length_kept"):
        counted &= (length > 0)[:, None]
    error, limit = (pred - target).norm(dim=2), alpha * length[:, None]
    ok = (error < limit if mistake.get("strict") else error <= limit) & counted
    per_joint = ok.sum(0).double() / counted.sum(0).double()
    overall = ok.sum().item() / counted.sum().item() if counted.any() else math.nan
    return per_joint, per_joint.nanmean().item() if mistake.get("mean_of_joints") else overall


def ppmi_mistaken(sentences, vocab_size, window, alpha=0.75, **mistake):
    """PPMI with one of the mistakes switched on (``no_smoothing``, ``unweighted``, ``across_sentences``,
    ``one_direction``, ``negatives_kept``)."""
    if mistake.get("across_sentences"):
        sentences = [[w for s in sentences for w in s]]
    counts = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)
    for s in sentences:
        for i in range(len(s)):
            for d in range(1, min(window, len(s) - 1 - i) + 1):
                weight = 1.0 if mistake.get("unweighted") else (window - d + 1) / window
                counts[s[i], s[i + d]] += weight
                if not mistake.get("one_direction"):
                    counts[s[i + d], s[i]] += weight
    if counts.sum() == 0:
        return counts
    ctx = counts.sum(0) ** (1.0 if mistake.get("no_smoothing") else alpha)
    pmi = torch.log(counts / counts.sum() / (counts.sum(1, keepdim=True) / counts.sum() * ctx / ctx.sum()))
    return torch.where(counts > 0, pmi if mistake.get("negatives_kept") else pmi.clamp(min=0), 0.0)


def finetune_counts_all(model, num_classes, k):  # counts every parameter, not the trainable ones
    for p in model.parameters():
        p.requires_grad = False
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    stages = [n for n, _ in model.named_children() if n.startswith("layer")]
    for n in stages[len(stages) - k :] if k else []:
        for p in getattr(model, n).parameters():
            p.requires_grad = True
    return model, sum(p.numel() for p in model.parameters())


def head_not_frozen(model, num_classes):
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


MISTAKES: dict[str, dict[str, Callable]] = {
    "output_size": {
        "no floor": lambda n, k, s=1, p=0: (n + 2 * p - k) / s + 1,
        "padding once": lambda n, k, s=1, p=0: (n + p - k) // s + 1,
    },
    "max_pool_forward_backward": {
        "ties to the last maximum": pool_last_max,
        "= instead of +=": pool_overwrites,
    },
    "conv2d_backward": {"= instead of +=": conv_overwrites, "flipped kernel": conv_flipped},
    "stack_receptive_field": {
        "dilation ignored": lambda layers: (
            1 + sum((k - 1) * math.prod(s for _, s, _ in layers[:i]) for i, (k, _, _) in enumerate(layers))
        ),
        "jump updated too early": lambda layers: _rf_jump_first(layers),
    },
    "batch_norm_forward_backward": {
        "unbiased variance (n - 1)": lambda *a, **k: bn_mistake(*a, **k, unbiased=True),
        "mean and variance treated as constants in backward": lambda *a, **k: bn_mistake(
            *a, **k, constant_stats=True
        ),
        "statistics per image (instance norm)": lambda *a, **k: bn_mistake(*a, **k, dims=(2, 3)),
        "eps added to the standard deviation": bn_eps_on_std,
    },
    "new_head": {"trunk not frozen": head_not_frozen},
    "prepare_finetune": {"counts every parameter": finetune_counts_all},
    "train_linear_head": {"summed loss, not the mean": probe_sum_not_mean, "bias not updated": probe_no_bias},
    "nearest_class_mean": {
        "mean of the raw vectors": lambda *a: ncm_mistake(*a, raw_mean=True),
        "an unseen class scores 0, not -inf": lambda *a: ncm_mistake(*a, mask=False),
        "ties to the largest class": lambda *a: ncm_mistake(*a, last=True),
        "a zero vector divided by its length 0 (nan)": lambda *a: ncm_mistake(*a, guard=False),
    },
    "iou": {
        "intersection not subtracted": lambda a, b: (
            _inter(a, b) / (_area(a) + _area(b)) if _area(a) + _area(b) else 0.0
        )
    },
    "nms": {
        "drops IoU == threshold": nms_keeps_at_threshold_wrong,
        "ties in reverse order": nms_unstable_ties,
    },
    "encode": {
        "corners instead of centres": lambda p, t: torch.stack(
            [
                (t[:, 0] - p[:, 0]) / (p[:, 2] - p[:, 0]),
                (t[:, 1] - p[:, 1]) / (p[:, 3] - p[:, 1]),
                torch.log((t[:, 2] - t[:, 0]) / (p[:, 2] - p[:, 0])),
                torch.log((t[:, 3] - t[:, 1]) / (p[:, 3] - p[:, 1])),
            ],
            1,
        ).reshape(-1, 4)
    },
    "average_precision": {
        "a ground-truth box matched twice": lambda *a: _ap(*a, reuse=True),
        "no precision envelope": lambda *a: _ap(*a, envelope=False),
        "ground truth of all images pooled": lambda *a: _ap(*a, pooled=True),
        "IoU > threshold instead of >=": lambda *a: _ap(*a, strict=True),
    },
    "roi_max_pool": {"exclusive box end": lambda fmap, box, size: _roi(fmap, box, size, inclusive=False)},
    "fast_rcnn_loss": {"box loss over foreground only": loss_per_foreground, "beta = 1": loss_beta_one},
    "roi_align_one": {
        "aligned ignored (no half-cell shift)": lambda *a: _align(*a, shift=False),
        "samples at the sub-cell corners": lambda *a: _align(*a, centre=0.0),
        "clamped everywhere (never 0 outside)": lambda *a: _align(*a, zero_outside=False),
    },
    "match_anchors": {"no low-quality matches": match_without_low_quality, "strict thresholds": match_strict},
    "rpn_proposals": {
        name: proposals_with(name)
        for name in (
            "height and width swapped",
            "size filter before clipping",
            "post_nms_top_n before NMS",
            "logits, not probabilities",
            "no clamp of dw, dh",
        )
    },
    "my_cell_anchors": {
        "size-major order": lambda sizes, ratios: torch.tensor(
            [
                [-s / math.sqrt(r) / 2, -s * math.sqrt(r) / 2, s / math.sqrt(r) / 2, s * math.sqrt(r) / 2]
                for s in sizes
                for r in ratios
            ]
        ).round()
    },
    "iou_per_class": {"absent class as 0": lambda cm: torch.nan_to_num(_iou_cm(cm), nan=0.0)},
    "upsample_bilinear": {"no clamp at the border, align_corners ignored": upsample_no_clamp},
    "transposed_conv2d": {
        name: tconv_with(name)
        for name in (
            "= instead of +=",
            "padding cropped at the end only",
            "weight read as [C_out, C_in]",
            "kernel flipped",
        )
    },
    "my_disk_heatmaps": {
        "strict <": lambda kp, size, r, visible=None: _disk(kp, size, r, strict=True),
        "visible ignored": lambda kp, size, r, visible=None: _disk(kp, size, r),
    },
    "my_decode": {"no sub-pixel refinement": decode_no_refinement},
    "my_pck": {
        label: lambda *args, m=m: pck_mistaken(*args, **{m: True})
        for label, m in [
            ("overall = mean of the per-joint PCKs", "mean_of_joints"),
            ("invisible joints counted", "invisible_count"),
            ("length measured on the prediction", "length_of_pred"),
            ("strict <", "strict"),
            ("people of length 0 kept", "zero_length_kept"),
        ]
    },
    "my_triplet_loss_backward": {"gradient of inactive triplets": triplet_no_hinge},
    "my_semi_hard": {"<= instead of <": semi_hard_inclusive},
    "my_verification_roc": {
        "one point per pair (ties split)": lambda d, same: _roc(d, same, group_ties=False),
        "step area (ties get no half)": lambda d, same: _roc(d, same, trapezoid=False),
        "no (0, 0) point": lambda d, same: _roc(d, same, origin=False),
        "distance sorted as a similarity": lambda d, same: _roc(d, same, descending=True),
    },
    "my_lfw_kfold": {
        "threshold chosen on the held-out fold": lambda d, same, f: _kfold(d, same, f, choose_on_held=True),
        "ties to the largest threshold": lambda d, same, f: _kfold(d, same, f, ties_last=True),
        "< instead of <=": lambda d, same, f: _kfold(d, same, f, strict=True),
        "distances as thresholds, not midpoints": lambda d, same, f: _kfold(d, same, f, midpoints=False),
    },
    "my_analogy": {"question words not excluded": analogy_keeps_question_words},
    "my_sgns_loss_grad": {"repeated ids overwrite": sgns_no_accumulation},
    "my_ppmi": {
        label: lambda *args, m=m: ppmi_mistaken(*args, **{m: True})
        for label, m in [
            ("context counts not smoothed", "no_smoothing"),
            ("every distance weighs 1", "unweighted"),
            ("pairs across sentence boundaries", "across_sentences"),
            ("counted in one direction only", "one_direction"),
            ("negative PMI kept", "negatives_kept"),
        ]
    },
}


def _rf_jump_first(layers):
    rf, jump = 1, 1
    for k, s, d in layers:
        jump *= s
        rf += d * (k - 1) * jump
    return rf


def _inter(a, b):
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _area(a):
    return (a[2] - a[0]) * (a[3] - a[1])


def _roi(fmap, box, size, inclusive=True):
    x1, y1, x2, y2 = box
    h, w = y2 - y1 + inclusive, x2 - x1 + inclusive
    out = torch.zeros(size)
    for i in range(size[0]):
        for j in range(size[1]):
            rows = slice(y1 + math.floor(i * h / size[0]), max(y1 + math.ceil((i + 1) * h / size[0]), y1 + 1))
            cols = slice(x1 + math.floor(j * w / size[1]), max(x1 + math.ceil((j + 1) * w / size[1]), x1 + 1))
            out[i, j] = fmap[rows, cols].max()
    return out


def _ap(det_boxes, det_scores, gt_boxes, thr=0.5, reuse=False, envelope=True, pooled=False, strict=False):
    """Average precision with one of the honest mistakes switched on."""
    gts = [g.tolist() for g in gt_boxes]
    if pooled:  # every detection may match the ground truth of any image
        gts = [[b for g in gts for b in g]] * len(gts)
    num_gt = sum(len(g) for g in gt_boxes)
    if num_gt == 0:
        return float("nan")
    dets = sorted(
        (
            (s, i, b)
            for i, (bs, ss) in enumerate(zip(det_boxes, det_scores))
            for b, s in zip(bs.tolist(), ss.tolist())
        ),
        key=lambda d: -d[0],
    )
    used: set = set()
    tp, precision, recall = 0, [], []
    for k, (_, i, box) in enumerate(dets, start=1):
        best, best_iou = None, -1.0
        for j, gt in enumerate(gts[i]):
            o = _inter(box, gt) / (_area(box) + _area(gt) - _inter(box, gt) or 1.0)
            ok = o > thr if strict else o >= thr
            if ok and o >= best_iou and (reuse or (i if not pooled else 0, j) not in used):
                best, best_iou = j, o
        if best is not None:
            used.add((i if not pooled else 0, best))
            tp += 1
        precision.append(tp / k)
        recall.append(tp / num_gt)
    if envelope:
        precision = [max(precision[k:]) for k in range(len(precision))]
    return sum((r - q) * p for r, q, p in zip(recall, [0.0, *recall], precision))


def _align(fmap, box, size, ratio=2, aligned=True, shift=True, centre=0.5, zero_outside=True):
    """RoIAlign with one of the honest mistakes switched on."""
    h, w = fmap.shape
    off = 0.5 if aligned and shift else 0.0
    x1, y1, x2, y2 = (float(v) - off for v in box)
    rw, rh = (x2 - x1, y2 - y1) if aligned else (max(x2 - x1, 1.0), max(y2 - y1, 1.0))
    gh = ratio if ratio > 0 else math.ceil(rh / size[0])
    gw = ratio if ratio > 0 else math.ceil(rw / size[1])
    out = torch.zeros(size)
    for i in range(size[0]):
        for j in range(size[1]):
            total = 0.0
            for iy in range(gh):
                for ix in range(gw):
                    y = y1 + i * rh / size[0] + (iy + centre) * rh / size[0] / gh
                    x = x1 + j * rw / size[1] + (ix + centre) * rw / size[1] / gw
                    if zero_outside and (y < -1 or y > h or x < -1 or x > w):
                        continue
                    y, x = min(max(y, 0.0), h - 1), min(max(x, 0.0), w - 1)
                    t, le = int(y), int(x)
                    b, r = min(t + 1, h - 1), min(le + 1, w - 1)
                    ly, lx = y - t, x - le
                    top = (1 - lx) * fmap[t, le] + lx * fmap[t, r]
                    total += (1 - ly) * top + ly * ((1 - lx) * fmap[b, le] + lx * fmap[b, r])
            out[i, j] = total / max(gh * gw, 1)
    return out


def _iou_cm(cm):
    cm = cm.double()
    inter = cm.diag()
    return inter / (cm.sum(0) + cm.sum(1) - inter)


def _disk(kp, size, r, strict=False):
    ys = torch.arange(size[0], dtype=torch.float32)[None, :, None]
    xs = torch.arange(size[1], dtype=torch.float32)[None, None, :]
    d2 = (xs - kp[:, 0, None, None]) ** 2 + (ys - kp[:, 1, None, None]) ** 2
    return (d2 < r**2 if strict else d2 <= r**2).float()


# --- the tests ----------------------------------------------------------------------------------


def test_every_exercise_has_twins_and_mistakes():
    assert set(TWINS) == {name for _, name in ALL}
    assert set(MISTAKES) == {name for _, name in ALL}


@pytest.mark.parametrize(("registry", "name"), ALL, ids=IDS)
def test_generic_bypasses_fail(registry, name, capsys):
    for label, fn in generic_bypasses(registry, name).items():
        assert registry.check(name, fn) != "pass", label
    # patching from inside the function changed nothing outside it
    assert plain.compare(1.0, 2.0) is not None


def would_pass(ex, fn) -> str | None:
    """Why ``fn`` gets a visible case wrong when nothing is refused (None: it is right)."""
    for case in ex.cases():
        args, kwargs = copy.deepcopy((case.args, case.kwargs))
        reason = ex.judge(plain.to_plain(fn(*args, **kwargs)), ex.expected(case))
        if reason:
            return f"{case.name}: {reason}"
    return None


@pytest.mark.parametrize(("registry", "name"), ALL, ids=IDS)
def test_twins_give_the_answer_but_are_refused(registry, name, capsys):
    ex = registry[name]
    for label, fn in TWINS[name].items():
        assert would_pass(ex, fn) is None, label  # the shortcut works when not refused ...
        assert registry.check(name, fn) != "pass", label  # ... and is refused by the check
        assert "write it yourself" in capsys.readouterr().out, label


@pytest.mark.parametrize(("registry", "name"), ALL, ids=IDS)
def test_honest_mistakes_fail(registry, name, capsys):
    for label, fn in MISTAKES[name].items():
        assert registry.check(name, fn) != "pass", label


@pytest.mark.parametrize(
    ("name", "fn"),
    [("my_pck", pck_mistaken), ("my_ppmi", ppmi_mistaken)],
)
def test_mistaken_helpers_pass_without_a_mistake(name, fn, capsys):
    """So each mistake above fails for its mistake, not for a refused library call."""
    assert registry_of(name).check(name, fn) == "pass", capsys.readouterr().out
