"""Evaluation metrics shared by several notebooks.

- ``detection_ap``, ``precision_recall_curve``: COCO-style average precision at one IoU
  threshold (03a-03c detection notebooks).
- ``confusion_matrix``, ``mean_iou``, ``iou_from_confusion``, ``boundary_iou``, ``boundary_band``,
  ``segmentation_confusions``: semantic segmentation (04_segmentation).
"""

from lecture_lib.metrics.detection import detection_ap, precision_recall_curve
from lecture_lib.metrics.segmentation import (
    boundary_band,
    boundary_iou,
    confusion_matrix,
    iou_from_confusion,
    mean_iou,
    segmentation_confusions,
)

__all__ = ["boundary_band", "boundary_iou", "confusion_matrix", "detection_ap", "iou_from_confusion", "mean_iou",
           "precision_recall_curve", "segmentation_confusions"]
