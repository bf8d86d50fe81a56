"""R-CNN: warped region crops -> CNN -> fc7 features -> one linear SVM per class, plus per-class
box regressors on pool5 features, then per-class NMS.

Used in 03a_rcnn.ipynb (slides "R-CNN pipeline", "Classification", "Bounding Box Regressors",
"Problems with R-CNN"). Training follows Girshick et al. (2014): the SVMs take ground-truth
boxes as positives and proposals with IoU < 0.3 as negatives, mined in rounds of hard
negatives; the regressors are ridge regressions from pool5 to the slide's targets
``((x*-x)/w, (y*-y)/h, ln(w*/w), ln(h*/h))`` (``BoxCoder(weights=(1, 1, 1, 1))``) for proposals
with IoU >= 0.6. Every proposal's features are computed and cached first - the disk cost of R-CNN.
The three training stages are run by ``lecture_lib.detection.recipes`` (``rcnn_detector.pt``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np
import torch
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.svm import LinearSVC
from torch import Tensor, nn

from lecture_lib import boxes as box_ops
from lecture_lib.checks import check_boxes, check_int, check_probability, check_tensor
from lecture_lib.detection.backbone import POOL5, CropClassifier, warp_crops
from lecture_lib.detection.coder import BoxCoder
from lecture_lib.runtime import evaluating


def extract_features(
    model: CropClassifier, image: Tensor, proposals: Tensor, *, warp: int = 64, batch: int = 512
) -> tuple[Tensor, Tensor]:
    """Warp every proposal to ``warp x warp`` and run the CNN on each crop separately.

    Runs in eval and inference mode; the caller's train/eval state is kept.

    Returns:
        (pool5 Tensor[N, C*4*4], fc7 Tensor[N, D]): the features of each proposal.
    """
    pool5, fc7 = [], []
    with evaluating(model), torch.inference_mode():
        for start in range(0, len(proposals), batch):
            crops = warp_crops(image, proposals[start : start + batch], warp)  # (n, 3, warp, warp)
            p5 = model.pool5(crops)
            pool5.append(p5.flatten(1))
            fc7.append(model.head(p5))
    if not pool5:
        return torch.zeros(0, model.head.fc6.in_features), torch.zeros(0, model.head.dim)
    return torch.cat(pool5), torch.cat(fc7)


def cache_bytes(features: list[Tensor]) -> int:
    """Write the features to a temporary ``.npy`` file (as R-CNN caches them) and return its size on disk."""
    with tempfile.TemporaryDirectory() as tmp:
        total = 0
        for i, f in enumerate(features):
            path = os.path.join(tmp, f"features_{i}.npy")
            np.save(path, f.numpy().astype(np.float32))
            total += os.path.getsize(path)
    return total


def train_svms(
    fc7: Tensor,
    best_iou: Tensor,
    best_label: Tensor,
    is_gt: Tensor,
    num_classes: int,
    *,
    C: float = 0.01,
    neg_iou: float = 0.3,
    rounds: int = 3,
    first_negatives: int = 500,
    seed: int = 0,
) -> tuple[Tensor, Tensor, list[int]]:
    """One linear SVM per object class with hard-negative mining: ``f_c(x) = w_c^T x_fc7 + b_c``.

    Args:
        fc7 (Tensor[N, D]): features of all training regions (ground-truth boxes and proposals).
        best_iou (Tensor[N, C-1]): each region's max IoU with a ground-truth box of each class.
        best_label (Tensor[N]): unused for negatives; ground-truth class for ``is_gt`` rows.
        is_gt (Tensor[N] bool): the region is a ground-truth box (the only positives, as in R-CNN).
        num_classes: including background.
        C: SVM regularisation (scikit-learn's ``LinearSVC``).
        neg_iou: a proposal is a negative for class c if its IoU with every c box is below this.
        rounds: training rounds; after each, negatives scoring above -1 (inside the margin) are added.
        first_negatives: random negatives in the first round.

    Returns:
        (weights Tensor[C-1, D], biases Tensor[C-1], negatives in the last training round, per class).
    """
    rng = np.random.default_rng(seed)
    x = fc7.numpy().astype(np.float64)
    weights, biases, used = [], [], []
    for c in range(1, num_classes):
        pos = np.nonzero((is_gt & (best_label == c)).numpy())[0]
        neg_pool = np.nonzero(((~is_gt) & (best_iou[:, c - 1] < neg_iou)).numpy())[0]
        if len(pos) == 0 or len(neg_pool) == 0:  # nothing to learn from: this class never fires
            weights.append(torch.zeros(x.shape[1]))
            biases.append(-10.0)
            used.append(0)
            continue
        neg = rng.choice(neg_pool, size=min(first_negatives, len(neg_pool)), replace=False)
        for r in range(rounds):
            svm = LinearSVC(C=C, class_weight="balanced", max_iter=5000, random_state=seed)
            svm.fit(np.concatenate([x[pos], x[neg]]), np.r_[np.ones(len(pos)), np.zeros(len(neg))])
            if r == rounds - 1:
                break
            scores = svm.decision_function(x[neg_pool])
            hard = neg_pool[scores > -1.0]  # negatives inside the margin: the "hard" ones
            new = np.setdiff1d(hard, neg)
            if len(new) == 0:
                break
            neg = np.concatenate([neg, new])
        weights.append(torch.tensor(svm.coef_[0], dtype=torch.float32))
        biases.append(float(svm.intercept_[0]))
        used.append(len(neg))
    return torch.stack(weights), torch.tensor(biases), used


def train_box_regressors(
    pool5: Tensor,
    proposals: Tensor,
    matched_boxes: Tensor,
    matched_iou: Tensor,
    matched_label: Tensor,
    num_classes: int,
    *,
    alpha: float | Sequence[float] = 1000.0,
    min_iou: float = 0.6,
) -> tuple[Tensor, Tensor, list[float]]:
    """Per-class ridge regression pool5 -> ``encode(proposal, ground truth)`` (the slide's targets).

    Args:
        pool5 (Tensor[N, F]): pool5 features of the proposals.
        proposals (Tensor[N, 4]), matched_boxes (Tensor[N, 4]): each proposal and its best ground truth.
        matched_iou (Tensor[N]), matched_label (Tensor[N]): their IoU and the ground truth's class.
        alpha: the ridge penalty (R-CNN: 1000, tuned for AlexNet's 9216-dim pool5), or a sequence
            of candidates, one chosen per class by leave-one-out cross-validation on its own
            training proposals (scikit-learn's ``RidgeCV``): the penalty's right size depends on
            the scale and number of the features, so it is chosen on this CNN's features.
        min_iou: only proposals at least this close to their ground truth are regressed (R-CNN: 0.6).

    Returns:
        (W Tensor[C-1, F, 4], b Tensor[C-1, 4], the penalty used per class) with
        deltas = pool5 @ W[c-1] + b[c-1].
    """
    feats = pool5.numpy().astype(np.float64)
    W = torch.zeros(num_classes - 1, pool5.shape[1], 4)
    b = torch.zeros(num_classes - 1, 4)
    alphas = [float(a) for a in alpha] if isinstance(alpha, Sequence) else [float(alpha)]
    if not alphas or min(alphas) <= 0:
        raise ValueError(f"alpha must be a positive number or a non-empty sequence of them, got {alpha!r}")
    used = []
    for c in range(1, num_classes):
        idx = torch.nonzero((matched_label == c) & (matched_iou >= min_iou)).flatten()
        if len(idx) < 2:
            used.append(float("nan"))
            continue
        targets = BoxCoder((1.0, 1.0, 1.0, 1.0)).encode(proposals[idx], matched_boxes[idx]).numpy()
        if len(alphas) == 1:
            reg = Ridge(alpha=alphas[0]).fit(feats[idx.numpy()], targets)
            used.append(alphas[0])
        else:
            reg = RidgeCV(alphas=alphas).fit(feats[idx.numpy()], targets)
            used.append(float(reg.alpha_))
        W[c - 1] = torch.tensor(reg.coef_.T, dtype=torch.float32)
        b[c - 1] = torch.tensor(reg.intercept_, dtype=torch.float32)
    return W, b, used


def regressor_examples(
    matched_iou: Tensor, matched_label: Tensor, num_classes: int, min_iou: float = 0.6
) -> list[int]:
    """How many training proposals each class's regressor learns from (IoU >= ``min_iou``), per class."""
    return [int(((matched_label == c) & (matched_iou >= min_iou)).sum()) for c in range(1, num_classes)]


class RCNN(nn.Module):
    """The trained R-CNN: a CNN (``cnn``), per-class SVMs (``svm_w``, ``svm_b``) and regressors (``reg_*``).

    Built empty (SVMs and regressors zero) from its sizes, so that ``load_model`` can rebuild it;
    :meth:`set_classifiers` stores trained ones.

    Args:
        num_classes: classes including background.
        depth, dim: the CNN's depth and fc7 width (a :class:`CropClassifier`).
        warp: side of the warped crops.
        bbox_reg_weights: the regressors' :class:`BoxCoder` weights (R-CNN: ``(1, 1, 1, 1)``).
    """

    svm_w: Tensor
    svm_b: Tensor
    reg_w: Tensor
    reg_b: Tensor

    def __init__(
        self,
        num_classes: int,
        depth: str = "small",
        dim: int = 128,
        warp: int = 64,
        *,
        bbox_reg_weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
    ):
        super().__init__()
        self.cnn = CropClassifier(num_classes, depth, dim)
        features = self.cnn.backbone.out_channels * POOL5 * POOL5
        self.register_buffer("svm_w", torch.zeros(num_classes - 1, dim))
        self.register_buffer("svm_b", torch.zeros(num_classes - 1))
        self.register_buffer("reg_w", torch.zeros(num_classes - 1, features, 4))
        self.register_buffer("reg_b", torch.zeros(num_classes - 1, 4))
        self.warp = warp
        self.box_coder = BoxCoder(bbox_reg_weights)

    def set_classifiers(self, svm_w: Tensor, svm_b: Tensor, reg_w: Tensor, reg_b: Tensor) -> None:
        """Store trained SVMs and regressors.

        Shapes: ``svm_w`` Tensor[C-1, D], ``svm_b`` Tensor[C-1],
        ``reg_w`` Tensor[C-1, F, 4], ``reg_b`` Tensor[C-1, 4].
        """
        for name, value in (("svm_w", svm_w), ("svm_b", svm_b), ("reg_w", reg_w), ("reg_b", reg_b)):
            buffer = getattr(self, name)
            if value.shape != buffer.shape:
                raise ValueError(f"{name} must have shape {tuple(buffer.shape)}, got {tuple(value.shape)}")
            buffer.copy_(value)

    def scores(self, fc7: Tensor) -> Tensor:
        """SVM scores ``f_c(x) = w_c^T x_fc7 + b_c`` -> ``Tensor[N, C-1]`` (class c in column c-1)."""
        return fc7 @ self.svm_w.T + self.svm_b

    def regress(self, pool5: Tensor, proposals: Tensor, label: int) -> Tensor:
        """Refined boxes of class ``label`` for every proposal."""
        deltas = pool5 @ self.reg_w[label - 1] + self.reg_b[label - 1]
        return self.box_coder.decode(proposals.float(), deltas)

    def detect(
        self,
        image: Tensor,
        proposals: Tensor,
        *,
        nms_thresh: float = 0.3,
        score_thresh: float = -1.0,
        max_det: int = 100,
        regress: bool = True,
    ) -> dict:
        """Detections ``{"boxes", "scores", "labels"}`` for one image (per-class NMS at 0.3, as R-CNN)."""
        check_tensor(image, "image", "(3, H, W)", dtype="float", finite=True)
        check_boxes(proposals.float() if isinstance(proposals, Tensor) else proposals, "proposals")
        check_int(max_det, "max_det", low=0)  # a negative max_det would slice from the end
        check_probability(nms_thresh, "nms_thresh")
        if len(proposals) == 0:
            return _empty()
        pool5, fc7 = extract_features(self.cnn, image, proposals.float(), warp=self.warp)
        return self.detect_from_features(
            pool5,
            fc7,
            proposals,
            (int(image.shape[-2]), int(image.shape[-1])),
            nms_thresh=nms_thresh,
            score_thresh=score_thresh,
            max_det=max_det,
            regress=regress,
        )

    def detect_from_features(
        self,
        pool5: Tensor,
        fc7: Tensor,
        proposals: Tensor,
        image_size: tuple[int, int],
        *,
        nms_thresh: float = 0.3,
        score_thresh: float = -1.0,
        max_det: int = 100,
        regress: bool = True,
    ) -> dict:
        """:meth:`detect` on features already computed by :func:`extract_features` (one image).

        Each class scores every proposal with its SVM; with ``regress`` the proposals above
        ``score_thresh`` are moved by *that class's* regressor (R-CNN applies the regressor of the
        detected class); then per-class NMS.
        """
        check_boxes(proposals.float() if isinstance(proposals, Tensor) else proposals, "proposals")
        check_int(max_det, "max_det", low=0)
        check_probability(nms_thresh, "nms_thresh")
        if len(proposals) == 0:
            return _empty()
        with evaluating(self), torch.inference_mode():
            scores = self.scores(fc7)  # (N, C-1)
            all_boxes, all_scores, all_labels = [], [], []
            for c in range(1, scores.shape[1] + 1):
                keep = scores[:, c - 1] > score_thresh
                if not keep.any():
                    continue
                b = self.regress(pool5[keep], proposals[keep], c) if regress else proposals[keep].float()
                all_boxes.append(box_ops.clip_boxes(b, image_size))
                all_scores.append(scores[keep, c - 1])
                all_labels.append(torch.full((int(keep.sum()),), c, dtype=torch.int64))
            if not all_boxes:
                return _empty()
            boxes, scores, labels = torch.cat(all_boxes), torch.cat(all_scores), torch.cat(all_labels)
            keep = box_ops.batched_nms(boxes, scores, labels, nms_thresh)[:max_det]
            return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}


def _empty() -> dict:
    return {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.int64)}


def region_statistics(proposals: Tensor, gt_boxes: Tensor, gt_labels: Tensor, num_classes: int):
    """For each proposal: max IoU with a ground truth of each class ``[N, C-1]``, best box, IoU and label."""
    n = len(proposals)
    per_class = torch.zeros(n, num_classes - 1)
    if len(gt_boxes) == 0 or n == 0:
        return per_class, torch.zeros(n, 4), torch.zeros(n), torch.zeros(n, dtype=torch.int64)
    iou = box_ops.box_iou(proposals.float(), gt_boxes.float())  # (N, M)
    for c in range(1, num_classes):
        m = gt_labels == c
        if m.any():
            per_class[:, c - 1] = iou[:, m].max(dim=1).values
    best_iou, best = iou.max(dim=1)
    return per_class, gt_boxes[best].float(), best_iou, gt_labels[best]
