"""Small networks shared by the transfer tests (seeded, eval mode)."""

import torch
import torchvision

from lecture_lib.transfer import SmallResNet


def small(num_classes=5, seed=0):
    torch.manual_seed(seed)
    return SmallResNet(num_classes, widths=(4, 6, 8)).eval()


def resnet18(num_classes=7, seed=0):
    torch.manual_seed(seed)
    return torchvision.models.resnet18(weights=None, num_classes=num_classes).eval()
