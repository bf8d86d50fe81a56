"""Drawing boxes, proposals, anchors and detections. Used in the 03a-03c detection notebooks."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
from torch import Tensor

from lecture_lib.viz import to_numpy_image


def draw_boxes(
    ax,
    boxes: Tensor,
    *,
    labels: Tensor | None = None,
    scores: Tensor | None = None,
    class_names: Sequence[str] | None = None,
    color: str = "yellow",
    linewidth: float = 1.5,
    alpha: float = 1.0,
    linestyle: str = "-",
):
    """Draw xyxy pixel boxes on ``ax`` (optionally with ``"name score"`` captions); returns ``ax``."""
    for i, b in enumerate(boxes.tolist()):
        ax.add_patch(
            Rectangle(
                (b[0], b[1]),
                b[2] - b[0],
                b[3] - b[1],
                fill=False,
                edgecolor=color,
                linewidth=linewidth,
                alpha=alpha,
                linestyle=linestyle,
            )
        )
        text = []
        if labels is not None:
            lab = int(labels[i])
            text.append(class_names[lab] if class_names is not None else str(lab))
        if scores is not None:
            text.append(f"{float(scores[i]):.2f}")
        if text:
            ax.text(
                b[0],
                b[1] - 1,
                " ".join(text),
                color="black",
                fontsize=6,
                va="bottom",
                bbox={"facecolor": color, "alpha": 0.8, "pad": 0.5, "linewidth": 0},
            )
    return ax


def show_boxes(image: Tensor, boxes: Tensor, *, ax=None, title: str = "", **kwargs):
    """An image with boxes drawn on it (see :func:`draw_boxes`); returns ``ax``."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(to_numpy_image(image))
    draw_boxes(ax, boxes, **kwargs)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return ax


def show_detections(
    image: Tensor,
    detections: dict,
    *,
    class_names: Sequence[str],
    score_thresh: float,
    gt_boxes: Tensor | None = None,
    ax=None,
    title: str = "",
    legend: bool = True,
):
    """What a detector outputs: the boxes of ``detections`` scoring above ``score_thresh``, one colour
    per class, named in a legend (not on each box), and the ground truth dashed white.

    Args:
        detections: ``{"boxes" (Tensor[N, 4] xyxy), "scores" (Tensor[N]), "labels" (Tensor[N])}``
            after the detector's own NMS.
        class_names: name of each label (index 0: background).
        score_thresh: boxes scoring at or below this are not drawn.

    Returns:
        ``ax``.
    """
    ax = show_boxes(image, detections["boxes"][:0], ax=ax, title=title)
    if gt_boxes is not None and len(gt_boxes):
        draw_boxes(ax, gt_boxes, color="white", linestyle="--", linewidth=1.0)
    keep = detections["scores"] > score_thresh
    handles = []
    for label in sorted({int(v) for v in detections["labels"][keep].tolist()}):
        colour = f"C{label % 10}"
        draw_boxes(ax, detections["boxes"][keep & (detections["labels"] == label)], color=colour)
        handles.append(Rectangle((0, 0), 1, 1, fill=False, edgecolor=colour, label=class_names[label]))
    if gt_boxes is not None and len(gt_boxes):
        handles.append(Rectangle((0, 0), 1, 1, fill=False, edgecolor="gray", linestyle="--", label="truth"))
    if legend and handles:
        ax.legend(handles=handles, fontsize=6, loc="lower left", framealpha=0.7, handlelength=1)
    return ax
