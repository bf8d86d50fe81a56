"""Evaluation metrics shared by several notebooks.

- ``detection_ap``, ``precision_recall_curve``: COCO-style average precision at one IoU
  threshold (03a-03c detection notebooks).
- ``confusion_matrix``, ``mean_iou``, ``iou_from_confusion``: semantic segmentation (04_segmentation).
"""

from lecture_lib.metrics.detection import detection_ap, precision_recall_curve
from lecture_lib.metrics.segmentation import confusion_matrix, iou_from_confusion, mean_iou

__all__ = ["confusion_matrix", "detection_ap", "iou_from_confusion", "mean_iou", "precision_recall_curve"]
