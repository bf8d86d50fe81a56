"""Pretrain the "deep" detection backbone as a crop classifier (03a-03c notebooks)."""

from _detection_recipes import pretrain_backbone

NAME = "detection_backbone_deep.pt"


def build() -> dict:
    return pretrain_backbone("deep", epochs=3)
