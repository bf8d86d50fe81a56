"""A toy exercise registry for the tests of lecture_lib.exercises and the grader (two exercises)."""

from __future__ import annotations

import torch

from lecture_lib import boxes
from lecture_lib.exercises import Case, Exercise, Exercises

POOL_FORBIDDEN = (
    "torch.nn.functional.max_pool2d",
    "torch.nn.functional.max_pool2d_with_indices",
    "torch.max_pool2d",
    "torch._C._nn.max_pool2d_with_indices",
    "torch.nn.MaxPool2d",
)


def pool2_reference(x: torch.Tensor) -> torch.Tensor:
    """2x2 max-pool, stride 2: x [B, C, H, W] -> [B, C, H // 2, W // 2]."""
    b, c, h, w = x.shape
    return x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(b, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def _pool_cases(seed: int, sizes: list[tuple[int, int]]) -> list[Case]:
    g = torch.Generator().manual_seed(seed)
    return [Case((torch.randn(2, 3, h, w, generator=g),), name=f"{h}x{w}") for h, w in sizes]


def pool_visible() -> list[Case]:
    ties = Case((torch.ones(1, 1, 4, 4),), name="ties")
    return [*_pool_cases(0, [(4, 4), (5, 7)]), ties]


def pool_hidden() -> list[Case]:
    return _pool_cases(1, [(2, 2), (6, 8), (9, 3)])


def area_visible() -> list[Case]:
    return [
        Case((torch.tensor([[0.0, 0.0, 2.0, 3.0]]),), name="one box"),
        Case((torch.zeros(0, 4),), name="empty"),
    ]


def area_hidden() -> list[Case]:
    return [Case((torch.tensor([[1.0, 1.0, 4.0, 5.0], [0.0, 0.0, 1.0, 1.0]]),))]


POOL = Exercise(
    name="pool2",
    title="2x2 max-pool",
    reference=pool2_reference,
    cases=pool_visible,
    hidden=pool_hidden,
    forbidden=POOL_FORBIDDEN,
    points=2,
)
AREA = Exercise(
    name="box_area",
    title="box areas",
    reference=boxes.box_area,  # the reference lives in lecture_lib, as the real ones
    cases=area_visible,
    hidden=area_hidden,
    forbidden=("torchvision.ops.box_area",),
)


def registry() -> Exercises:
    """A fresh registry (statuses start empty) for the toy notebook ``toy``."""
    return Exercises("toy", [POOL, AREA])


EXERCISES = registry()  # what tools/grade.py --registry exercise_toys finds
