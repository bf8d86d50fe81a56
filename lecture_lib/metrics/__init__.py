"""Evaluation metrics shared by several notebooks.

- ``detection_ap``: COCO-style average precision at one IoU threshold (03_* detection notebooks).
- ``confusion_matrix``, ``mean_iou``: semantic segmentation (04_segmentation).
"""

from lecture_lib.metrics.detection import detection_ap
from lecture_lib.metrics.segmentation import confusion_matrix, mean_iou

__all__ = ["confusion_matrix", "detection_ap", "mean_iou"]
