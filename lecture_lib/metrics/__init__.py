"""Evaluation metrics shared by several notebooks.

- ``detection_ap``, ``precision_recall_curve``, ``bootstrap_map`` (interval over images): COCO-style
  average precision at one IoU threshold (03a-03c detection notebooks).
- ``confusion_matrix``, ``mean_iou``, ``iou_from_confusion``, ``boundary_iou``, ``boundary_band``,
  ``segmentation_confusions``, ``image_confusions``, ``bootstrap_miou`` (interval over images):
  semantic segmentation (04_segmentation).
- ``paired_bootstrap``, ``bootstrap_statistic``: the 95% interval of a claim's estimate, paired
  over test items (and training seeds) — what ``ledger.Ledger.judge`` judges; ``bootstrap_ratio``:
  a speed-up (ratio of median times) over two methods' timed runs.
- ``verification_roc``, ``verification_auc``, ``kfold_accuracy``, ``kfold_pair_correct``,
  ``tar_at_far``, ``best_threshold``: face verification, LFW's 10-fold protocol (06_faces, 07_embeddings).
"""

from lecture_lib.metrics.bootstrap import bootstrap_ratio, bootstrap_statistic, paired_bootstrap
from lecture_lib.metrics.detection import bootstrap_map, detection_ap, precision_recall_curve
from lecture_lib.metrics.segmentation import (
    bootstrap_miou,
    boundary_band,
    boundary_iou,
    confusion_matrix,
    image_confusions,
    iou_from_confusion,
    mean_iou,
    segmentation_confusions,
)
from lecture_lib.metrics.verification import (
    KFoldResult,
    best_threshold,
    kfold_accuracy,
    kfold_pair_correct,
    tar_at_far,
    verification_auc,
    verification_roc,
)

__all__ = [
    "KFoldResult",
    "best_threshold",
    "boundary_band",
    "bootstrap_map",
    "bootstrap_miou",
    "bootstrap_ratio",
    "bootstrap_statistic",
    "boundary_iou",
    "confusion_matrix",
    "detection_ap",
    "image_confusions",
    "iou_from_confusion",
    "kfold_accuracy",
    "kfold_pair_correct",
    "mean_iou",
    "paired_bootstrap",
    "precision_recall_curve",
    "segmentation_confusions",
    "tar_at_far",
    "verification_auc",
    "verification_roc",
]
