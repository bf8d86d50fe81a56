"""Semantic segmentation with fully convolutional networks.

Notebook: ``notebooks/04_segmentation.ipynb``. Slides (lecture 16): "Semantic Image Segmentation",
"CNNs vs. FCNs", "Encoder-Decoder Architecture".

Public API:

- ``models``: ``window_classifier`` (the "CNN": centre-pixel class of one window), ``FCN``
  (FCN-32s / 16s / 8s on one VGG-style encoder; ``variant="all"`` trains the three together).
- ``windows`` (CNN -> FCN): ``convolutionalize``, ``classify_windows`` (the slow reference),
  ``fcn_output_size``, ``sample_crops`` (windows labelled by their centre pixel).
- ``upsampling``: ``bilinear_kernel``, ``BilinearUpsample``, ``ideal_coarse_labels``.
- ``training``: ``train_fcn``, ``train_classifier`` (the loops, through ``train.fit``);
  ``finetune_fcn``, ``segmentation_loss`` (full profile, ``tools/train_full.py``, torchrun).
- ``recipes``: ``SETTINGS``, ``CHECKPOINTS`` (how ``data/fcn_scenes.pt`` is trained;
  ``load_model("fcn_scenes.pt")`` gives the FCN, ``load_model("fcn_scenes.pt", "classifier")`` the
  window classifier).
- ``pretrained`` (full profile): ``load_segmenter(arch, weights="DEFAULT")``, ``segment``,
  ``evaluate_segmenter``, ``pair_to_tensors``, ``VOC_CLASSES``, ``VOCSegmentationTensors``.

Metrics (mIoU, boundary IoU) live in ``lecture_lib.metrics``; the scenes in ``lecture_lib.datasets.scenes``.

Claims (issue 22): ``REGISTRY`` (``claims``): the registered lecture claims this concept's notebook
judges in its closing ledger (``Ledger(title, claims=REGISTRY)``).

Exercises (issue 25): ``exercises``: ``EXERCISES``, the exercises of 04_segmentation (references,
visible and hidden cases, refused shortcuts).
"""

from lecture_lib.segmentation.claims import REGISTRY
from lecture_lib.segmentation.exercises import EXERCISES
from lecture_lib.segmentation.models import FCN, window_classifier
from lecture_lib.segmentation.upsampling import BilinearUpsample, bilinear_kernel, ideal_coarse_labels
from lecture_lib.segmentation.windows import classify_windows, convolutionalize, fcn_output_size, sample_crops

__all__ = [
    "FCN",
    "BilinearUpsample",
    "bilinear_kernel",
    "classify_windows",
    "convolutionalize",
    "fcn_output_size",
    "ideal_coarse_labels",
    "sample_crops",
    "window_classifier",
    "EXERCISES",
    "REGISTRY",
]
