"""Argument checks of the public API: one small set, used at the entry of every public function.

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, wrong
value) with a message that names the argument, what was expected and what was received
(STYLE.md §3), e.g. ``boxes must have shape (N, 4) in xyxy format, got (3, 5)``. Checks run at
public entry points only; inner loops do not re-check.

A base module: it imports torch and NumPy, nothing from ``lecture_lib``.

- numbers: :func:`check_int` (Python ints, NumPy integer scalars and 0-d integer tensors; never
  bools or floats such as 1.7), :func:`check_number`, :func:`check_probability`;
- tensors: :func:`check_tensor` with a named shape such as ``"(N, 4)"``, a dtype kind and
  finiteness; :func:`check_boxes` (``Tensor[N, 4]`` xyxy with x2 >= x1); :func:`check_image`
  (``"HWC"``, ``"CHW"`` or ``"BCHW"``, by documented layout only); :func:`check_tensor_list`;
- others: :func:`check_option` (known strings), :func:`check_size` (``(H, W)``),
  :func:`check_memory` (refuse a request that would need more than a stated number of bytes).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

MAX_BYTES = 2 * 1024**3  # the largest intermediate a public function builds in one piece (2 GiB)
_DTYPE_KINDS = ("float", "int", "bool", "number")


def _got(x: object) -> str:
    """How a message shows a received value: a tensor's shape and dtype, else its repr (short)."""
    if isinstance(x, Tensor):
        return f"Tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if isinstance(x, np.ndarray):
        return f"ndarray of shape {x.shape} and dtype {x.dtype}"
    text = repr(x)
    return f"{type(x).__name__} {text[:60] + '...' if len(text) > 60 else text}"


def _is_integer(x: object) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (int, np.integer)):
        return True
    return isinstance(x, Tensor) and x.ndim == 0 and not x.is_floating_point() and x.dtype != torch.bool


def check_int(x: object, name: str, *, low: int | None = 0, high: int | None = None) -> int:
    """``x`` as a Python ``int`` in ``[low, high]`` (``None``: no bound).

    Accepts Python ints, NumPy integer scalars and 0-d integer tensors; refuses bools, floats
    (``1.0`` too: an index or a count is never a float) and everything else with ``TypeError``.
    """
    if not _is_integer(x):
        raise TypeError(f"{name} must be an int, got {_got(x)}")
    value = int(x)  # type: ignore[call-overload]
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be an int in [{lo}, {hi}], got {value}")
    return value


def check_number(
    x: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    finite: bool = True,
) -> float:
    """``x`` as a Python ``float`` in ``[low, high]`` (``(low, high]`` with ``low_open``); NaN never passes.

    Accepts Python/NumPy real scalars and 0-d real tensors; refuses bools and everything else.
    """
    if isinstance(x, Tensor) and x.ndim == 0 and x.dtype != torch.bool and not x.is_complex():
        value = float(x)
    elif isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)):
        value = float(x)
    else:
        raise TypeError(f"{name} must be a real number, got {_got(x)}")
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be a {'finite ' if finite else ''}number, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in {'(' if low_open else '['}{lo}, {hi}], got {value}")
    return value


def check_probability(x: object, name: str) -> float:
    """``x`` as a float in ``[0, 1]`` (a probability, a fraction or an IoU threshold)."""
    return check_number(x, name, low=0.0, high=1.0)


def check_option(x: object, name: str, options: Sequence[str]) -> str:
    """``x`` must be one of the strings ``options``."""
    if not isinstance(x, str) or x not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {x!r}")
    return x


def _parse_shape(shape: str) -> list[str]:
    inner = shape.strip()
    if not (inner.startswith("(") and inner.endswith(")")):
        raise ValueError(f"a shape is written like '(N, 4)', got {shape!r}")
    return [p.strip() for p in inner[1:-1].split(",") if p.strip()]


def check_tensor(
    x: object,
    name: str,
    shape: str | None = None,
    *,
    dtype: str | None = None,
    finite: bool = False,
    sizes: dict[str, int] | None = None,
) -> dict[str, int]:
    """``x`` must be a ``Tensor`` with the named ``shape`` (e.g. ``"(N, 4)"``, ``"(..., K, H, W)"``).

    Args:
        x: the argument.
        name: how the message calls it.
        shape: dimensions separated by commas: a number is a fixed size, a name any size (the
            same name twice: the same size), ``...`` first or last: any number of leading or
            trailing dimensions.
        dtype: ``"float"``, ``"int"``, ``"bool"`` or ``"number"`` (int or float, no bool).
        finite: refuse NaN and inf (float tensors).
        sizes: sizes already known for some names (``{"N": 3}``).

    Returns:
        ``{name: size}`` of the named dimensions (to check against other arguments).
    """
    if not isinstance(x, Tensor):
        want = f"a torch.Tensor of shape {shape}" if shape else "a torch.Tensor"
        raise TypeError(f"{name} must be {want}, got {_got(x)}")
    known = dict(sizes or {})
    if shape is not None:
        dims = _parse_shape(shape)
        lead = bool(dims) and dims[0] == "..."
        trail = not lead and bool(dims) and dims[-1] == "..."
        dims = dims[1:] if lead else dims[:-1] if trail else dims
        ok = x.ndim >= len(dims) if lead or trail else x.ndim == len(dims)
        if ok:
            shown = x.shape[: len(dims)] if trail else x.shape[x.ndim - len(dims) :]
            for dim, size in zip(dims, shown):
                if re.fullmatch(r"\d+", dim):
                    ok = ok and size == int(dim)
                elif dim in known:
                    ok = ok and size == known[dim]
                else:
                    known[dim] = size
        if not ok:
            given = ", ".join(f"{k}={v}" for k, v in (sizes or {}).items())
            raise ValueError(
                f"{name} must have shape {shape}{f' with {given}' if given else ''}, got {tuple(x.shape)}"
            )
    if dtype is not None:
        kind = (
            "bool"
            if x.dtype == torch.bool
            else "float"
            if x.is_floating_point()
            else "complex"
            if x.is_complex()
            else "int"
        )
        if not (kind == dtype or (dtype == "number" and kind in ("int", "float"))):
            raise TypeError(f"{name} must be a {dtype} tensor, got dtype {x.dtype}")
    if finite and x.is_floating_point() and x.numel() and not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} must be finite, got {bad} NaN/inf value(s) of {x.numel()}")
    return known


def check_boxes(boxes: Tensor, name: str = "boxes", *, strict: bool = False) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``boxes`` is a finite float ``Tensor[N, 4]`` in xyxy.

    Args:
        boxes (Tensor[N, 4]): boxes to check.
        name: how the message calls them.
        strict: require ``x2 > x1`` and ``y2 > y1`` (positive size), not only ``>=``.
    """
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 4), got {type(boxes).__name__}")
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) in xyxy format, got {tuple(boxes.shape)}")
    if not boxes.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {boxes.dtype}")
    if not torch.isfinite(boxes).all():
        i = int((~torch.isfinite(boxes)).any(dim=1).nonzero()[0])
        raise ValueError(f"{name} must be finite, got {name}[{i}] = {boxes[i].tolist()}")
    bad = (boxes[:, 2:] <= boxes[:, :2]) if strict else (boxes[:, 2:] < boxes[:, :2])
    if bad.any():
        i = int(bad.any(dim=1).nonzero()[0])
        need = "x2 > x1 and y2 > y1" if strict else "x2 >= x1 and y2 >= y1"
        raise ValueError(
            f"{name}[{i}] = {boxes[i].tolist()} is not an xyxy box (expected {need}). "
            "Were these cxcywh/xywh boxes? Use box_convert(..., out_fmt='xyxy')."
        )


def check_tensor_list(xs: object, name: str, n: int | None = None, *, what: str = "Tensor") -> list:
    """``xs`` must be a list or tuple (of ``n`` items when given), e.g. one proposal tensor per image."""
    if not isinstance(xs, (list, tuple)):
        raise TypeError(f"{name} must be a list of {what} (one per image), got {_got(xs)}")
    if n is not None and len(xs) != n:
        raise ValueError(f"{name} must hold exactly one {what} per image ({n}), got {len(xs)}")
    return list(xs)


LAYOUTS = {"HWC": "(H, W, C)", "CHW": "(C, H, W)", "BCHW": "(B, C, H, W)", "HW": "(H, W)"}


def check_image(x: object, name: str, layout: str, *, channels: Sequence[int] = (1, 3)) -> None:
    """``x`` must be an image tensor/array in the documented ``layout`` (``"HWC"``, ``"CHW"``, ``"BCHW"``).

    The layout is never guessed from the sizes: a ``(3, 4, 4)`` array passed where ``(H, W, C)``
    is documented is a 3 x 4 image with 4 channels, and refused unless 4 is in ``channels``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {tuple(LAYOUTS)}, got {layout!r}")
    if not isinstance(x, (Tensor, np.ndarray)):
        raise TypeError(f"{name} must be an image array of shape {LAYOUTS[layout]}, got {_got(x)}")
    shape = tuple(x.shape)
    if len(shape) != len(layout):
        raise ValueError(f"{name} must have shape {LAYOUTS[layout]}, got {shape}")
    c = shape[layout.index("C")] if "C" in layout else None
    if c is not None and c not in channels:
        raise ValueError(f"{name} must have shape {LAYOUTS[layout]} with C in {tuple(channels)}, got {shape}")
    if 0 in shape:
        raise ValueError(f"{name} must not be empty, got shape {shape}")


def check_size(size: object, name: str = "size") -> tuple[int, int]:
    """``size`` must be ``(H, W)``: two positive ints (NumPy and 0-d tensor ints accepted)."""
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise TypeError(f"{name} must be (H, W), two positive ints, got {_got(size)}")
    return check_int(size[0], f"{name}[0]", low=1), check_int(size[1], f"{name}[1]", low=1)


def check_memory(nbytes: int, what: str, *, limit: int = MAX_BYTES, hint: str = "") -> None:
    """Refuse (``ValueError``) a request whose intermediate would need more than ``limit`` bytes."""
    if nbytes > limit:
        raise ValueError(
            f"{what} would need {nbytes / 1024**3:.3g} GiB of memory (limit {limit / 1024**3:.3g} GiB)"
            f"{'; ' + hint if hint else ''}"
        )
