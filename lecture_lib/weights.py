"""Pretrained weights, torchvision's way: the ``weights=`` lookup and the ImageNet statistics.

- ``resolve_weights(weights, choices)``: ``"DEFAULT"`` | a weights name | a weights entry |
  ``None`` -> the entry (or ``None``), with one error message naming the valid choices. Every
  ``pretrained.py`` of the full profile takes ``weights=`` and resolves it here.
- ``IMAGENET_MEAN``, ``IMAGENET_STD``: the per-channel RGB statistics every ImageNet-pretrained
  torchvision network expects its ``[0, 1]`` input to be normalised with.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "resolve_weights"]

# torchvision's ImageNet normalisation (``ResNet18_Weights.IMAGENET1K_V1.transforms()``), RGB order
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def resolve_weights(
    weights: Any,
    choices: type[enum.Enum] | Sequence[str],
    *,
    default: str | None = None,
    allow_none: bool = True,
) -> Any:
    """The weights entry that ``weights`` names.

    Args:
        weights: ``"DEFAULT"``, the name of one entry (``"IMAGENET1K_V1"``), an entry itself
            (``ResNet18_Weights.IMAGENET1K_V1``), or ``None`` (no pretrained weights).
        choices: a torchvision weights enum (``ResNet18_Weights``), or the names of the available
            sets (e.g. the GloVe files).
        default: the name ``"DEFAULT"`` stands for when ``choices`` is a list of names (a
            torchvision enum has its own ``DEFAULT`` member).
        allow_none: whether ``None`` is a valid choice.

    Returns:
        The enum member (``choices`` an enum) or the name (``choices`` names); ``None`` for
        ``weights=None``.

    Raises:
        TypeError: ``weights`` is neither a str, an entry nor ``None`` (e.g. ``True``).
        ValueError: an unknown name; the message lists the valid choices.
    """
    members: dict[str, Any]
    if isinstance(choices, type) and issubclass(choices, enum.Enum):
        members = dict(choices.__members__)  # torchvision's enums hold "DEFAULT" as an alias
        if isinstance(weights, choices):
            return weights
    elif isinstance(choices, Sequence) and not isinstance(choices, str):
        if default is not None and default not in choices:
            raise ValueError(f"default must be one of {list(choices)}, got {default!r}")
        members = {name: name for name in choices}
        if default is not None:
            members["DEFAULT"] = default
    else:
        raise TypeError(f"choices must be a weights enum or a sequence of names, got {choices!r}")
    names = [n for n in members if n != "DEFAULT"]
    valid = f"'DEFAULT'{', None' if allow_none else ''} or one of {names}"
    if weights is None and allow_none:
        return None
    if not isinstance(weights, str):
        raise TypeError(f"weights must be {valid}, got {type(weights).__name__} {weights!r}")
    if weights == "DEFAULT" and "DEFAULT" not in members:
        raise ValueError(f"weights='DEFAULT' needs a default among {names}")
    if weights not in members:
        raise ValueError(f"weights must be {valid}, got {weights!r}")
    return members[weights]
