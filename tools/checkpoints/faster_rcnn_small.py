"""Train Faster R-CNN (small backbone): RPN + Fast R-CNN head, four losses jointly (03c notebook)."""

from _detection_recipes import train_faster_rcnn

NAME = "faster_rcnn_small.pt"


def build() -> dict:
    return train_faster_rcnn("small", n_train=800, epochs=7)
