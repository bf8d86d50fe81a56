"""Pretrain the "small" detection backbone as a crop classifier (03a-03c notebooks)."""

from _detection_recipes import pretrain_backbone

NAME = "detection_backbone_small.pt"


def build() -> dict:
    return pretrain_backbone("small", epochs=5)
