"""Human pose estimation with FCN keypoint heatmaps. Used in 05_pose.ipynb.

Slides (lecture 16): "FCNs for Human Pose Estimation", "Heat Map Predictions from FCN", results
of Rafi, Gall & Leibe (BMVC 2016). Annotate joints as keypoints, set the target to 1 inside a
disk of radius r around each keypoint, and infer one heatmap per joint as in semantic
segmentation.

Public API (pixel convention: (x, y) = (column, row), pixel centres at integers):

- ``disk_heatmaps(keypoints [K, 2], size (H, W), radius, visible [K] | None) -> Tensor[K, H, W]``
  (heatmaps.py): the slide's binary disk targets.
- ``gaussian_heatmaps(keypoints, size, sigma, visible=None) -> Tensor[K, H, W]``: the Gaussian
  targets of later methods (Tompson 2015, Newell 2016).
- ``heatmaps_to_keypoints(heatmaps [..., K, H, W], subpixel=True) -> (xy [..., K, 2], conf [..., K])``:
  argmax decoding with parabolic sub-pixel refinement.
- ``pck(pred [N, K, 2], target [N, K, 2], visible [N, K], threshold, normalize [N]) -> float``
  (metrics.py), with ``torso_size``, ``pck_per_joint``, ``pck_curve``, ``correct_keypoints`` and
  ``pck_figure_scores`` (per-figure scores whose mean is the PCK: a bootstrap over test figures).
- ``PoseFCN`` (FCN-8s heatmaps), ``PoseRegressor`` (the same encoder regressing (x, y) directly)
  (models.py).
- ``training`` (module): ``FlippedBatches``, ``batch_targets``, ``heatmap_loss``, ``regression_loss``,
  ``decode(model, images, kind)``, ``train_pose`` (the loop, through ``train.fit``).
- ``recipes`` (module): the committed checkpoints' settings (``DATA``, ``ARCH``, ``TARGETS``, ``TRAIN``,
  ``SWEEP``) and builders (``CHECKPOINTS``). ``plots`` (module): ``show_pose``, ``show_heatmap``,
  ``draw_skeleton``.
- Full profile: ``pretrained.keypoint_rcnn(weights="DEFAULT" | name | None)`` (torchvision's
  COCO-pretrained Keypoint R-CNN) and ``pretrained.detect_keypoints``.

The data: ``lecture_lib.datasets.people.make_people`` (14 LSP joints, procedurally drawn figures).

Claims (issue 22): ``REGISTRY`` (``claims``): the registered lecture claims this concept's notebook
judges in its closing ledger (``Ledger(title, claims=REGISTRY)``).

Exercises (issue 25): ``exercises``: ``EXERCISES``, the exercises of 05_pose (references, visible
and hidden cases, refused shortcuts).
"""

from lecture_lib.pose.claims import REGISTRY
from lecture_lib.pose.exercises import EXERCISES
from lecture_lib.pose.heatmaps import disk_heatmaps, gaussian_heatmaps, heatmaps_to_keypoints
from lecture_lib.pose.metrics import (
    correct_keypoints,
    pck,
    pck_curve,
    pck_figure_scores,
    pck_per_joint,
    torso_size,
)
from lecture_lib.pose.models import PoseFCN, PoseRegressor

__all__ = [
    "PoseFCN",
    "PoseRegressor",
    "correct_keypoints",
    "disk_heatmaps",
    "gaussian_heatmaps",
    "heatmaps_to_keypoints",
    "pck",
    "pck_curve",
    "pck_figure_scores",
    "pck_per_joint",
    "torso_size",
    "EXERCISES",
    "REGISTRY",
]
