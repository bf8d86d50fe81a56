"""Train Faster R-CNN (deep backbone): RPN + Fast R-CNN head, four losses jointly (03c notebook)."""

from _detection_recipes import train_faster_rcnn

NAME = "faster_rcnn_deep.pt"


def build() -> dict:
    return train_faster_rcnn("deep", n_train=800, epochs=7)
