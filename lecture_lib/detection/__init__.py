"""Object detection (lecture 16, "Object Detection": R-CNN, Fast R-CNN, Faster R-CNN).

Notebooks: ``03a_rcnn.ipynb`` (slides "R-CNN Pipeline" to "Problems with R-CNN"),
``03b_fast_rcnn.ipynb`` ("Fast R-CNN", "Fast R-CNN Training"), ``03c_faster_rcnn.ipynb``
("Region Proposal Networks", "Faster R-CNN", summary). Box operations (IoU, NMS, RoI pooling, the
slide's box-regression formulas) are in the shared core, ``lecture_lib.boxes``.

Modules and their public API:

- ``selective_search`` (not imported here: the function has the module's name, so notebooks import
  it from ``lecture_lib.detection.selective_search``): ``selective_search``, ``proposal_recall``
  (the proposals of R-CNN/Fast R-CNN).
- ``anchors``: ``make_anchors``, ``cell_anchors`` (torchvision's ``AnchorGenerator`` order).
- ``coder``: ``BoxCoder(weights=(10, 10, 5, 5), bbox_xform_clip=log(1000/16))`` (``encode``, ``decode``).
- ``matching``: ``match``, ``sample`` (torchvision's ``Matcher``/sampler), ``sample_rois`` (the RoI
  mini-batch).
- ``backbone``: ``Backbone``, ``BoxHead``, ``CropClassifier``, ``warp_crops``, ``load_pretrained``.
- ``rcnn``: ``RCNN`` (CNN + per-class SVMs + box regressors), ``extract_features``, ``train_svms``,
  ``train_box_regressors``, ``regressor_examples``, ``region_statistics``, ``cache_bytes``.
- ``roi_heads``: ``RoIHead`` (RoI pooling -> fc6/fc7 -> scores and deltas), ``fastrcnn_loss``.
- ``fast_rcnn``: ``FastRCNN``. ``rpn``: ``RegionProposalNetwork``. ``faster_rcnn``: ``FasterRCNN``,
  ``ANCHOR_SIZES``, ``ASPECT_RATIOS``.
- ``training``: ``fit_fast_rcnn``, ``fit_faster_rcnn``, ``pretrain_backbone`` (through ``train.fit``);
  ``training_seconds_per_scene`` (R-CNN's and Fast R-CNN's training time per scene, timed live);
  ``finetune_detector``, ``detector_to_finetune``, ``detection_loss`` (full profile,
  ``tools/train_full.py``, torchrun).
- ``recipes``: ``N_TEST``, ``TEST_SEED`` (imported here): the one test set of 03a-03c, whose
  Selective Search proposals, R-CNN detections and timings ``rcnn_detector.pt`` stores;
  ``recipes.CHECKPOINTS`` (how ``data/*detection*``, ``rcnn_detector.pt``, ``fast_rcnn_detector.pt``
  and ``faster_rcnn_{small,deep,fair}.pt`` are trained; load them with ``checkpoints.load_model``).
- ``pretrained``: full profile, torchvision's COCO Faster R-CNN: ``coco_faster_rcnn(weights="DEFAULT")``,
  ``coco_category_names``, ``voc_subset``, ``detect_voc_classes``, ``VOCDetectionTensors``.
- ``plots``: ``draw_boxes``, ``show_boxes``, ``show_detections`` (after threshold and NMS, with a legend).

Exercises (issue 25): ``EXERCISES_03A`` (``exercises_rcnn``), ``EXERCISES_03B``
(``exercises_fast_rcnn``), ``EXERCISES_03C`` (``exercises_faster_rcnn``): the exercises of 03a, 03b
and 03c (references, visible and hidden cases, refused shortcuts).

Claims (issue 22): ``REGISTRY_03A``, ``REGISTRY_03B``, ``REGISTRY_03C`` (``claims``): the registered
lecture claims each notebook's closing ledger judges (``Ledger(title, claims=REGISTRY_03C)``).
"""

from lecture_lib.detection.anchors import cell_anchors, make_anchors
from lecture_lib.detection.backbone import Backbone, BoxHead, CropClassifier, load_pretrained, warp_crops
from lecture_lib.detection.claims import REGISTRY_03A, REGISTRY_03B, REGISTRY_03C
from lecture_lib.detection.coder import BoxCoder
from lecture_lib.detection.exercises_fast_rcnn import EXERCISES_03B
from lecture_lib.detection.exercises_faster_rcnn import EXERCISES_03C
from lecture_lib.detection.exercises_rcnn import EXERCISES_03A
from lecture_lib.detection.fast_rcnn import FastRCNN
from lecture_lib.detection.faster_rcnn import ANCHOR_SIZES, ASPECT_RATIOS, FasterRCNN
from lecture_lib.detection.matching import match, sample, sample_rois
from lecture_lib.detection.plots import draw_boxes, show_boxes, show_detections
from lecture_lib.detection.pretrained import (
    coco_category_names,
    coco_faster_rcnn,
    detect_voc_classes,
    voc_subset,
)
from lecture_lib.detection.rcnn import RCNN
from lecture_lib.detection.recipes import N_TEST, TEST_SEED
from lecture_lib.detection.roi_heads import RoIHead, fastrcnn_loss
from lecture_lib.detection.rpn import RegionProposalNetwork
from lecture_lib.detection.training import (
    fit_fast_rcnn,
    fit_faster_rcnn,
    pretrain_backbone,
    training_seconds_per_scene,
)

__all__ = [
    "ANCHOR_SIZES",
    "ASPECT_RATIOS",
    "N_TEST",
    "TEST_SEED",
    "coco_category_names",
    "coco_faster_rcnn",
    "detect_voc_classes",
    "fit_fast_rcnn",
    "fit_faster_rcnn",
    "pretrain_backbone",
    "training_seconds_per_scene",
    "show_detections",
    "voc_subset",
    "RCNN",
    "Backbone",
    "BoxCoder",
    "BoxHead",
    "CropClassifier",
    "FastRCNN",
    "FasterRCNN",
    "RegionProposalNetwork",
    "RoIHead",
    "cell_anchors",
    "draw_boxes",
    "fastrcnn_loss",
    "load_pretrained",
    "make_anchors",
    "match",
    "sample",
    "sample_rois",
    "show_boxes",
    "warp_crops",
    "EXERCISES_03A",
    "EXERCISES_03B",
    "EXERCISES_03C",
    "REGISTRY_03A",
    "REGISTRY_03B",
    "REGISTRY_03C",
]
