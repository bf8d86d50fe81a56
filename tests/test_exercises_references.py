"""The exercises' references are right: each agrees, on every visible and hidden case, with the
framework function or library twin it stands for (which the exercise refuses to the student)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from torchvision.models.detection import rpn as tv_rpn
from torchvision.models.detection._utils import BoxCoder as TVBoxCoder

from lecture_lib import boxes, cnn, plain, pose
from lecture_lib.cnn.exercises import EXERCISES as CNN
from lecture_lib.detection import (
    EXERCISES_03A,
    EXERCISES_03B,
    EXERCISES_03C,
    BoxCoder,
    RegionProposalNetwork,
    fastrcnn_loss,
    match,
)
from lecture_lib.detection import cell_anchors as library_cell_anchors
from lecture_lib.embeddings import analogy as library_analogy
from lecture_lib.embeddings import sgns_loss
from lecture_lib.embeddings.exercises import EXERCISES as EMB
from lecture_lib.faces import mine_triplets, triplet_loss
from lecture_lib.faces.exercises import EXERCISES as FACES
from lecture_lib.metrics import (
    iou_from_confusion,
    kfold_accuracy,
    precision_recall_curve,
    verification_auc,
    verification_roc,
)
from lecture_lib.pose.exercises import EXERCISES as POSE
from lecture_lib.segmentation.exercises import EXERCISES as SEG
from lecture_lib.transfer import trainable_names, unfreeze_top
from lecture_lib.transfer.exercises import EXERCISES as TRANSFER


def all_cases(exercises, name):
    ex = exercises[name]
    return ex, [*ex.cases(), *ex.hidden()]


def test_cases_are_deterministic_and_named():
    for group in (CNN, EXERCISES_03A, EXERCISES_03B, EXERCISES_03C, SEG, POSE, FACES, EMB, TRANSFER):
        for ex in group.exercises.values():
            first, second = ex.hidden(), ex.hidden()
            assert ex.cases() and len(first) >= 4, ex.name
            assert all(c.name for c in [*ex.cases(), *first]), ex.name
            for a, b in zip(first, second):
                assert plain.compare(plain.to_plain(a.args), plain.to_plain(b.args)) is None, (
                    ex.name,
                    a.name,
                )


def test_output_size_matches_conv_layers():
    ex, cases = all_cases(CNN, "output_size")
    for c in cases:
        n, k, s, p = c.args
        layer = torch.nn.Conv2d(1, 1, k, stride=s, padding=p, device="meta")
        assert ex.reference(*c.args) == layer(torch.empty(1, 1, n, n, device="meta")).shape[-1], c.name


def test_max_pool_matches_autograd_through_max_pool2d():
    ex, cases = all_cases(CNN, "max_pool_forward_backward")
    for c in cases:
        x, grad_out, k, s = c.args
        out, grad = ex.reference(*c.args)
        xt = x.clone().requires_grad_()
        ref = F.max_pool2d(xt, k, s)
        ref.backward(grad_out)
        assert torch.equal(out, ref.detach()), c.name
        assert torch.allclose(grad, xt.grad, atol=1e-6), c.name


def test_receptive_field_matches_library_and_backprop():
    ex, cases = all_cases(CNN, "stack_receptive_field")
    for c in cases:
        (layers,) = c.args
        expected = cnn.receptive_field(layers)[-1] if layers else 1
        assert ex.reference(layers) == expected, c.name
    net = torch.nn.Sequential(
        *(torch.nn.Conv2d(1, 1, k, s, dilation=d) for k, s, d in [(3, 2, 3), (3, 1, 2)])
    )
    assert ex.reference([(3, 2, 3), (3, 1, 2)]) == cnn.measured_receptive_field(net, 64)


def test_batch_norm_matches_autograd_through_batch_norm():
    ex, cases = all_cases(CNN, "batch_norm_forward_backward")
    for c in cases:
        x, gamma, beta, grad_out = c.args
        xt, gt, bt = (t.clone().requires_grad_() for t in (x, gamma, beta))
        out = F.batch_norm(xt, None, None, gt, bt, training=True, eps=c.kwargs.get("eps", 1e-5))
        out.backward(grad_out)
        got = ex.reference(*c.args, **c.kwargs)
        assert all(t.dtype == x.dtype for t in got), c.name
        for mine, theirs in zip(got, (out, xt.grad, gt.grad, bt.grad)):
            assert torch.allclose(mine, theirs.detach(), rtol=1e-4, atol=1e-4), c.name
    # the module in training mode normalises with the same statistics
    x, gamma, beta, grad_out = ex.cases()[0].args
    layer = torch.nn.BatchNorm2d(x.shape[1]).train()
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
        assert torch.allclose(layer(x), ex.reference(x, gamma, beta, grad_out)[0], atol=1e-5)


def test_iou_and_nms_match_torchvision():
    ex, cases = all_cases(EXERCISES_03A, "iou")
    for c in cases:
        a, b = (torch.tensor([v], dtype=torch.float64) for v in c.args)
        expected = torchvision.ops.box_iou(a, b).item()
        assert ex.reference(*c.args) == pytest.approx(0.0 if expected != expected else expected), c.name
    ex, cases = all_cases(EXERCISES_03A, "nms")
    for c in cases:
        got = ex.reference(*c.args)
        assert got.dtype == torch.int64
        assert torch.equal(got, torchvision.ops.nms(*c.args)), c.name
        assert torch.equal(got, boxes.nms(*c.args)), c.name


def test_encode_and_roi_pool_and_anchors_match_the_library():
    ex, cases = all_cases(EXERCISES_03A, "encode")
    for c in cases:
        if len(c.args[0]):
            assert torch.allclose(ex.reference(*c.args), boxes.encode(*c.args), atol=1e-5), c.name
    ex, cases = all_cases(EXERCISES_03B, "roi_max_pool")
    for c in cases:
        fmap, box, size = c.args
        ref = torchvision.ops.roi_pool(fmap[None, None], torch.tensor([[0.0, *box]]), size, 1.0)[0, 0]
        assert torch.equal(ex.reference(*c.args), ref), c.name
    ex, cases = all_cases(EXERCISES_03C, "my_cell_anchors")
    for c in cases:
        assert torch.equal(ex.reference(*c.args), library_cell_anchors(*c.args)), c.name


def test_segmentation_references():
    ex, cases = all_cases(SEG, "iou_per_class")
    for c in cases:
        expected = iou_from_confusion(c.args[0])["iou_per_class"]
        assert torch.allclose(ex.reference(*c.args), expected.double(), equal_nan=True), c.name
    ex, cases = all_cases(SEG, "upsample_bilinear")
    for c in cases:
        x, s, align = c.args
        expected = F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=align)
        got = ex.reference(*c.args)
        assert got.dtype == x.dtype and torch.allclose(got, expected, atol=1e-5), c.name


def test_pose_references():
    ex, cases = all_cases(POSE, "my_disk_heatmaps")
    for c in cases:
        assert torch.equal(ex.reference(*c.args), pose.disk_heatmaps(*c.args)), c.name
    ex, cases = all_cases(POSE, "my_decode")
    for c in cases:
        xy, conf = ex.reference(*c.args)
        if len(c.args[0]):
            ref_xy, ref_conf = pose.heatmaps_to_keypoints(*c.args)
            assert torch.allclose(xy, ref_xy, atol=1e-5) and torch.equal(conf, ref_conf), c.name


def test_pck_reference_matches_the_library():
    from test_exercises_bypasses import pck_by_library  # pose.pck and pck_per_joint, zero lengths left out

    ex, cases = all_cases(POSE, "my_pck")
    for c in cases:
        per_joint, overall = ex.reference(*c.args)
        ref_joint, ref_overall = pck_by_library(*c.args)
        assert torch.allclose(per_joint, ref_joint, equal_nan=True), c.name
        assert overall == ref_overall or (math.isnan(overall) and math.isnan(ref_overall)), c.name
    assert any(math.isnan(ex.reference(*c.args)[1]) for c in cases)  # the nan paths are exercised
    assert any(0 < ex.reference(*c.args)[1] < 1 for c in cases)


def test_faces_references():
    ex, cases = all_cases(FACES, "my_triplet_loss_backward")
    for c in cases:
        a, p, n, margin = (t.clone().requires_grad_() if isinstance(t, torch.Tensor) else t for t in c.args)
        loss = triplet_loss(a, p, n, margin)
        loss.backward()
        got = ex.reference(*c.args)
        for mine, theirs in zip(got, (loss, a.grad, p.grad, n.grad)):
            assert torch.allclose(mine, theirs.detach(), atol=1e-6), c.name
    ex, cases = all_cases(FACES, "my_semi_hard")
    for c in cases:
        emb, labels, margin = c.args
        if len(labels) == 0:
            assert ex.reference(*c.args) == []
            continue
        a, p, n = mine_triplets(emb, labels, margin, "semi-hard")
        assert ex.reference(*c.args) == sorted(zip(a.tolist(), p.tolist(), n.tolist())), c.name


def test_faces_verification_references():
    ex, cases = all_cases(FACES, "my_verification_roc")
    for c in cases:
        distances, same = c.args
        far, tar, auc = ex.reference(*c.args)
        sk_far, sk_tar, _ = roc_curve(same.numpy(), -distances.double().numpy(), drop_intermediate=False)
        assert np.array_equal(far.numpy(), sk_far) and np.array_equal(tar.numpy(), sk_tar), c.name
        assert auc == pytest.approx(roc_auc_score(same.numpy(), -distances.double().numpy()), abs=1e-12)
        assert auc == pytest.approx(verification_auc(distances, same), abs=1e-12), c.name
        # the library's curve drops the collinear points: every point it keeps is one of ours
        lib_far, lib_tar, _ = verification_roc(distances, same)
        ours = set(zip(far.tolist(), tar.tolist()))
        assert set(zip(lib_far.tolist(), lib_tar.tolist())) <= ours, c.name
    ex, cases = all_cases(FACES, "my_lfw_kfold")
    for c in cases:
        accuracies, thresholds = ex.reference(*c.args)
        expected = kfold_accuracy(*c.args)
        assert accuracies.tolist() == list(expected.fold_accuracy), c.name
        assert thresholds.tolist() == list(expected.thresholds), c.name


def test_embedding_references():
    ex, cases = all_cases(EMB, "my_analogy")
    for c in cases:
        got, expected = ex.reference(*c.args), library_analogy(*c.args)
        assert [w for w, _ in got] == [w for w, _ in expected], c.name
        assert ex.compare(expected, got) is None, c.name
    ex, cases = all_cases(EMB, "my_sgns_loss_grad")
    for c in cases:
        w_in, w_out, centre, context, noise = c.args
        win, wout = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
        loss = sgns_loss(win[centre], wout[context], wout[noise])
        loss.backward()
        got = ex.reference(*c.args)
        for mine, theirs in zip(got, (loss, win.grad, wout.grad)):
            assert torch.allclose(mine, theirs.detach(), rtol=1e-4, atol=1e-5), c.name


def test_ppmi_reference_matches_the_library():
    from test_exercises_bypasses import ppmi_by_library  # counts.ppmi(counts.cooccurrence(...))

    ex, cases = all_cases(EMB, "my_ppmi")
    for c in cases:
        got, expected = ex.reference(*c.args), ppmi_by_library(*c.args)
        assert got.dtype == torch.float64 and torch.allclose(got, expected, rtol=1e-10, atol=1e-12), c.name
    assert sum(bool(ex.reference(*c.args).any()) for c in cases) == len(cases) - 1  # one corpus has no pair


def test_transfer_references_agree_with_the_library():
    ex, cases = all_cases(TRANSFER, "prepare_finetune")
    for c in cases:
        model, n, k = c.args
        import copy

        twin = unfreeze_top(copy.deepcopy(model), 0)
        twin.fc = torch.nn.Linear(twin.fc.in_features, n)
        twin = unfreeze_top(twin, k)
        got, count = ex.reference(model, n, k)
        assert trainable_names(got) == trainable_names(twin), c.name
        assert count == sum(p.numel() for p in twin.parameters() if p.requires_grad), c.name
        assert ex.compare((twin, count), (got, count)) is None, c.name


def all_point_ap_of_the_library(det_boxes, det_scores, gt_boxes, iou_threshold=0.5):
    """All-point AP from ``lecture_lib.metrics.precision_recall_curve`` (its matching and curve are
    checked against pycocotools in tests/test_metrics_detection.py): the area under the envelope."""
    preds = [
        {"boxes": b, "scores": s, "labels": torch.ones(len(b), dtype=torch.int64)}
        for b, s in zip(det_boxes, det_scores)
    ]
    targets = [{"boxes": b, "labels": torch.ones(len(b), dtype=torch.int64)} for b in gt_boxes]
    curve = precision_recall_curve(preds, targets, label=1, iou_threshold=iou_threshold)
    if curve["num_gt"] == 0:
        return float("nan")
    recall, precision = curve["recall"].numpy(), curve["precision"].numpy()
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * envelope))


def test_average_precision_matches_the_library_and_hand_values():
    ex, cases = all_cases(EXERCISES_03A, "average_precision")
    values = set()
    for c in cases:
        got = ex.reference(*c.args)
        assert isinstance(got, float), c.name
        assert got == pytest.approx(all_point_ap_of_the_library(*c.args), abs=1e-12, nan_ok=True), c.name
        values.add(round(got, 6))
    assert len(values) >= 8  # the cases are not all 0, 1 or nan
    by_name = {c.name: ex.reference(*c.args) for c in ex.cases()}
    # TP FP TP FP TP on 3 objects: envelope 1, 2/3, 2/3, 3/5, 3/5 at recall 1/3, 1/3, 2/3, 2/3, 1
    assert by_name["by hand: TP FP TP FP TP"] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    assert by_name["equal scores: image 0's false positive comes first"] == pytest.approx(0.25)
    assert by_name["equal IoU with two ground-truth boxes: the later one is taken"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "flags", [[1, 1, 0, 1, 0, 0, 1], [1, 0, 1, 0, 0, 1, 0], [1, 1, 1, 0, 0], [1, 0, 0, 0, 1]]
)
def test_average_precision_matches_sklearn_where_the_envelope_changes_nothing(flags):
    """One image, every object found, distinct scores, precision at the true positives never rising:
    there the area under the envelope is scikit-learn's average precision."""
    ex = EXERCISES_03A["average_precision"]
    n_tp = sum(flags)
    gt = torch.tensor([[20.0 * k, 0, 20 * k + 10, 10] for k in range(n_tp)])
    dets, k = [], 0
    for i, hit in enumerate(flags):
        dets.append(gt[k].tolist() if hit else [20.0 * i, 50, 20 * i + 10, 60])
        k += hit
    scores = torch.linspace(1.0, 0.1, len(flags))
    tp_precision = [sum(flags[: i + 1]) / (i + 1) for i, hit in enumerate(flags) if hit]
    assert tp_precision == sorted(tp_precision, reverse=True)  # the condition holds
    got = ex.reference([torch.tensor(dets)], [scores], [gt])
    assert got == pytest.approx(average_precision_score(flags, scores.numpy()), abs=1e-12)


def test_roi_align_matches_torchvision():
    ex, cases = all_cases(EXERCISES_03B, "roi_align_one")
    for c in cases:
        fmap, box, size, ratio, aligned = (*c.args, *(2, True)[len(c.args) - 3 :])  # the defaults
        rois = torch.tensor([[0.0, *box]], dtype=torch.float64)
        got = ex.reference(*c.args)
        assert got.dtype == fmap.dtype and got.shape == size, c.name
        ref64 = torchvision.ops.roi_align(fmap[None, None].double(), rois, size, 1.0, ratio, aligned)[0, 0]
        assert torch.allclose(ex.reference(fmap.double(), *c.args[1:]), ref64, rtol=0, atol=1e-12), c.name
        ref32 = torchvision.ops.RoIAlign(size, 1.0, ratio, aligned)(fmap[None, None], rois.float())[0, 0]
        assert torch.allclose(got, ref32, rtol=1e-5, atol=1e-6), c.name


def ncm_by_torch(train_x, train_y, test_x, num_classes):
    """The nearest class mean with framework functions: one-hot class sums, F.normalize."""
    onehot = F.one_hot(train_y, num_classes).double()  # [N, C]
    sums = onehot.T @ F.normalize(train_x.double(), dim=1)  # [C, D]
    counts = onehot.sum(0)
    prototypes = F.normalize(sums / counts.clamp(min=1)[:, None], dim=1)
    scores = (F.normalize(test_x.double(), dim=1) @ prototypes.T).masked_fill(counts == 0, float("-inf"))
    return scores.argmax(1), scores


def test_nearest_class_mean_matches_torch_and_sklearn():
    from sklearn.neighbors import NearestCentroid

    ex, cases = all_cases(TRANSFER, "nearest_class_mean")
    compared = 0
    for c in cases:
        predictions, scores = ex.reference(*c.args)
        want_pred, want_scores = ncm_by_torch(*c.args)
        assert predictions.dtype == torch.int64 and scores.dtype == c.args[2].dtype, c.name
        assert torch.equal(predictions, want_pred), c.name
        assert torch.allclose(scores.double(), want_scores, atol=1e-6), c.name
        train_x, train_y, test_x, _ = c.args
        if len(test_x) == 0 or len(train_y.unique()) < 2:  # sklearn needs a test set and two classes
            continue
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # its spread statistics of 1-vector classes
            clf = NearestCentroid().fit(F.normalize(train_x.double(), dim=1).numpy(), train_y.numpy())
        lengths = torch.from_numpy(clf.centroids_).norm(dim=1)
        if bool((lengths == 0).any()):  # sklearn's distance to a zero prototype is not a cosine
            continue
        clf.centroids_ = clf.centroids_ / lengths.numpy()[:, None]  # prototypes of length 1
        sk = torch.from_numpy(clf.predict(F.normalize(test_x.double(), dim=1).numpy()))
        nonzero = (
            test_x.norm(dim=1) > 0
        )  # a zero vector is equally far from every prototype: rounding decides
        assert torch.equal(predictions[nonzero], sk.long()[nonzero]), c.name
        compared += 1
    assert compared >= len(cases) - 3  # sklearn checked all but the degenerate cases
    assert sum(bool((ex.reference(*c.args)[1] == float("-inf")).any()) for c in cases) >= 2  # unseen classes


def test_fast_rcnn_loss_and_anchor_matching_match_the_library():
    ex, cases = all_cases(EXERCISES_03B, "fast_rcnn_loss")
    for c in cases:
        cls, box = ex.reference(*c.args)
        ref = fastrcnn_loss(*c.args)
        assert torch.allclose(cls, ref["loss_classifier"], rtol=1e-5), c.name
        assert torch.allclose(box, ref["loss_box_reg"], rtol=1e-5, atol=1e-7), c.name
    ex, cases = all_cases(EXERCISES_03C, "match_anchors")
    for c in cases:
        iou, high, low = (*c.args, 0.7, 0.3)[:3]
        expected = match(iou, high=high, low=low, allow_low_quality=True)
        assert torch.equal(ex.reference(*c.args), expected), c.name
        if len(iou):
            matcher = torchvision.models.detection._utils.Matcher(high, low, allow_low_quality_matches=True)
            assert torch.equal(ex.reference(*c.args), matcher(iou)), c.name


def test_conv2d_backward_matches_autograd():
    ex, cases = all_cases(CNN, "conv2d_backward")
    for c in cases:
        x, weight, grad_out, stride = c.args
        xt, wt = x.clone().requires_grad_(), weight.clone().requires_grad_()
        F.conv2d(xt[None], wt, stride=stride)[0].backward(grad_out)
        grad_x, grad_w = ex.reference(*c.args)
        assert torch.allclose(grad_x, xt.grad, atol=1e-5) and torch.allclose(grad_w, wt.grad, atol=1e-4), (
            c.name
        )


def test_linear_head_matches_sgd_with_autograd():
    ex, cases = all_cases(TRANSFER, "train_linear_head")
    for c in cases:
        x, y, num_classes = c.args
        weight = torch.zeros(x.shape[1], num_classes, dtype=torch.float64, requires_grad=True)
        bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([weight, bias], lr=c.kwargs.get("lr", 0.5))
        for _ in range(c.kwargs.get("steps", 50)):
            opt.zero_grad()
            F.cross_entropy(x.double() @ weight + bias, y).backward()
            opt.step()
        got_w, got_b = ex.reference(*c.args, **c.kwargs)
        assert got_w.dtype == x.dtype, c.name
        assert torch.allclose(got_w.double(), weight.detach(), atol=1e-5), c.name
        assert torch.allclose(got_b.double(), bias.detach(), atol=1e-5), c.name


def test_rpn_proposals_match_torchvision_and_the_library():
    ex, cases = all_cases(EXERCISES_03C, "rpn_proposals")
    for c in cases:
        anchors, objectness, deltas, size = c.args
        kw = {"pre_nms_top_n": 1000, "post_nms_top_n": 1000, "nms_thresh": 0.7, "min_size": 1e-3}
        kw.update(c.kwargs)
        weights = kw.pop("weights", (1.0, 1.0, 1.0, 1.0))
        # no two scores equal in float32 after the sigmoid: the order (top-k, NMS) is unambiguous
        assert len(set(torch.sigmoid(objectness).tolist())) == len(objectness), c.name
        boxes, scores = ex.reference(*c.args, **c.kwargs)
        assert boxes.shape == (len(scores), 4) and boxes.dtype == scores.dtype == torch.float32, c.name

        tops = [{"training": kw[k], "testing": kw[k]} for k in ("pre_nms_top_n", "post_nms_top_n")]
        tv = tv_rpn.RegionProposalNetwork(None, None, 0.7, 0.3, 256, 0.5, *tops, kw["nms_thresh"]).eval()
        tv.min_size = kw["min_size"]
        decoded = TVBoxCoder(weights).decode_single(deltas, anchors)
        tv_boxes, tv_scores = tv.filter_proposals(decoded[None], objectness[None], [size], [len(anchors)])

        ours = RegionProposalNetwork(4, (1, 1), 8, anchor_sizes=(16,), aspect_ratios=(1.0,)).eval()
        ours.anchors = anchors
        ours.pre_nms_top_n["testing"], ours.post_nms_top_n["testing"] = (
            kw["pre_nms_top_n"],
            kw["post_nms_top_n"],
        )
        ours.nms_thresh, ours.min_size, ours.box_coder = kw["nms_thresh"], kw["min_size"], BoxCoder(weights)
        lib_boxes, lib_scores = ours.filter_proposals(objectness[None], deltas[None], size)

        for other_boxes, other_scores in ((tv_boxes[0], tv_scores[0]), (lib_boxes[0], lib_scores[0])):
            assert other_boxes.shape == boxes.shape, c.name
            assert torch.allclose(boxes, other_boxes, atol=1e-4), c.name
            assert torch.allclose(scores, other_scores, atol=1e-6), c.name


def test_transposed_conv_matches_conv_transpose2d_and_the_gradient_of_conv2d():
    ex, cases = all_cases(SEG, "transposed_conv2d")
    for c in cases:
        x, weight, stride, padding = c.args
        got = ex.reference(*c.args)
        expected = F.conv_transpose2d(x, weight, stride=stride, padding=padding)
        assert got.dtype == x.dtype and got.shape == expected.shape, c.name
        assert torch.allclose(got, expected, atol=1e-5), c.name
        z = torch.zeros(expected.shape, dtype=x.dtype, requires_grad=True)  # the adjoint of conv2d
        (grad,) = torch.autograd.grad(F.conv2d(z, weight, stride=stride, padding=padding), z, x)
        assert torch.allclose(got, grad, atol=1e-5), c.name
