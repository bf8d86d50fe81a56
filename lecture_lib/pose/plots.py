"""Figures of 05_pose.ipynb: a skeleton over an image, and one joint's heatmap with its colour bar."""

from __future__ import annotations

import matplotlib.pyplot as plt
from torch import Tensor

from lecture_lib.datasets.people import JOINTS, SKELETON
from lecture_lib.viz import show_image

RIGHT, LEFT, CENTRE = "tab:red", "tab:blue", "white"


def _side(name: str) -> str:
    return RIGHT if name.startswith("right") else LEFT if name.startswith("left") else CENTRE


def draw_skeleton(
    ax,
    keypoints: Tensor,
    *,
    visible: Tensor | None = None,
    skeleton=SKELETON,
    names=JOINTS,
    lw: float = 1.5,
    marker: str = "o",
    size: float = 12,
):
    """Bones and joints on ``ax`` (person's right red, left blue); joints with ``visible`` False hollow.

    Args:
        keypoints (Tensor[K, 2]): (x, y) pixels.
        visible (Tensor[K] bool, optional): which joints to fill.
    """
    kp = keypoints.detach().cpu().float()
    for a, b in skeleton:
        colour = _side(names[a]) if _side(names[a]) == _side(names[b]) else CENTRE
        ax.plot(kp[[a, b], 0], kp[[a, b], 1], color=colour, lw=lw, alpha=0.9)
    for k, (x, y) in enumerate(kp.tolist()):
        filled = visible is None or bool(visible[k])
        ax.scatter(
            [x],
            [y],
            s=size,
            marker=marker,
            edgecolors="black",
            linewidths=0.5,
            c=_side(names[k]) if filled else "none",
        )
    return ax


def show_pose(image: Tensor, keypoints: Tensor, *, visible: Tensor | None = None, ax=None, title: str = ""):
    """An image with its skeleton; returns the ``Axes`` (image pixels: x right, y down)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    show_image(image, ax=ax, title=title)
    h, w = image.shape[-2:]
    draw_skeleton(ax, keypoints, visible=visible)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    return ax


def show_heatmap(
    heatmap: Tensor, *, ax, title: str, label: str = "probability", vmin=None, vmax=None, cmap: str = "magma"
):
    """One joint's map with a colour bar (``label`` names its unit); returns the ``Axes``."""
    im = ax.imshow(heatmap.detach().cpu(), cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cb.set_label(label, fontsize=7)
    cb.ax.tick_params(labelsize=6)
    return ax
