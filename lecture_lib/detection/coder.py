"""Box coding: ground-truth boxes <-> regression deltas relative to proposals or anchors.

The slide's formulas ``t = ((x*-x)/w, (y*-y)/h, ln(w*/w), ln(h*/h))`` live in
:func:`lecture_lib.boxes.encode` / :func:`~lecture_lib.boxes.decode`; :class:`BoxCoder` scales
them by per-coordinate weights, as torchvision's ``models.detection._utils.BoxCoder`` (checked in
``tests/test_detection_coder.py``). Fast R-CNN normalises its regression targets to roughly unit
variance by dividing by ``(0.1, 0.1, 0.2, 0.2)``: that is ``weights=(10, 10, 5, 5)``, the default,
used by the Fast/Faster R-CNN heads and the RPN; R-CNN's ridge regressors use ``(1, 1, 1, 1)``.

Used in 03a_rcnn, 03b_fast_rcnn and 03c_faster_rcnn (slides "Bounding Box Regressors",
"Fast R-CNN", "Region Proposal Networks").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from lecture_lib import boxes as box_ops


class BoxCoder:
    """Encode boxes as weighted deltas ``(dx, dy, dw, dh)`` and decode them back.

    Args:
        weights: ``(wx, wy, ww, wh)``; ``encode`` multiplies the slide's targets by them,
            ``decode`` divides the deltas by them first.
        bbox_xform_clip: largest ``dw``, ``dh`` (after the division) fed to ``exp`` in ``decode``
            (``ln(1000 / 16)``, as torchvision).
    """

    def __init__(
        self,
        weights: Sequence[float] = (10.0, 10.0, 5.0, 5.0),
        bbox_xform_clip: float = math.log(1000.0 / 16),
    ):
        w = tuple(float(x) for x in weights)
        if len(w) != 4 or not all(math.isfinite(x) and x > 0 for x in w):
            raise ValueError(f"weights must be 4 positive numbers (wx, wy, ww, wh), got {w}")
        self.weights: tuple[float, float, float, float] = (w[0], w[1], w[2], w[3])
        self.bbox_xform_clip = float(bbox_xform_clip)

    def __repr__(self) -> str:
        return f"BoxCoder(weights={self.weights}, bbox_xform_clip={self.bbox_xform_clip:.4f})"

    def _weights(self, like: Tensor) -> Tensor:
        return torch.tensor(self.weights, dtype=like.dtype, device=like.device)

    def encode(self, proposals: Tensor, gt: Tensor) -> Tensor:
        """Regression targets of ``gt`` relative to ``proposals``.

        Args:
            proposals (Tensor[N, 4]): xyxy proposals or anchors (positive size).
            gt (Tensor[N, 4]): the xyxy ground-truth box matched to each one.

        Returns:
            Tensor[N, 4]: deltas ``weights * encode(proposals, gt)``.
        """
        return box_ops.encode(proposals, gt) * self._weights(proposals)

    def decode(self, proposals: Tensor, deltas: Tensor) -> Tensor:
        """Boxes from ``proposals`` moved by ``deltas`` (the inverse of :meth:`encode`).

        Args:
            proposals (Tensor[N, 4]): xyxy proposals or anchors.
            deltas (Tensor[N, 4]): weighted deltas, e.g. a head's output.

        Returns:
            Tensor[N, 4]: xyxy boxes.
        """
        if not isinstance(deltas, Tensor) or deltas.ndim != 2 or deltas.shape[-1] != 4:
            got = tuple(deltas.shape) if isinstance(deltas, Tensor) else type(deltas).__name__
            raise ValueError(f"deltas must have shape (N, 4) = (dx, dy, dw, dh), got {got}")
        return box_ops.decode(proposals, deltas / self._weights(deltas), bbox_xform_clip=self.bbox_xform_clip)
