"""lecture_lib: helpers for the "Deep Learning Applications" course companion notebooks.

Dimension glossary used in every docstring:
    B batch, C channels/classes, H, W height/width, N predicted boxes, M ground-truth boxes,
    A anchors per location, K keypoints, D embedding dimension.
Boxes are ``(x1, y1, x2, y2)`` in absolute pixels unless a name says otherwise.
"""

from lecture_lib.config import Config, seed_everything, setup
from lecture_lib.version import __version__

__all__ = ["Config", "seed_everything", "setup", "__version__"]
