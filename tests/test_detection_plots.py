"""show_detections draws only boxes above the score threshold, one colour per class, named in a legend."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from lecture_lib.detection.plots import show_detections  # noqa: E402


def test_show_detections_threshold_colours_and_legend():
    det = {
        "boxes": torch.tensor([[0.0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 8, 8], [2, 2, 9, 9]]),
        "scores": torch.tensor([0.9, 0.8, 0.1, 0.95]),
        "labels": torch.tensor([1, 2, 1, 1]),
    }
    names = ("background", "circle", "square")
    ax = show_detections(
        torch.zeros(3, 32, 32),
        det,
        class_names=names,
        score_thresh=0.5,
        gt_boxes=torch.tensor([[0.0, 0, 10, 10]]),
    )
    boxes = [p for p in ax.patches]
    assert len(boxes) == 1 + 3  # the truth, and the three boxes above 0.5
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["circle", "square", "truth"]
    colours = {tuple(p.get_edgecolor()) for p in boxes[1:]}
    assert len(colours) == 2  # one colour per class
    plt.close("all")
