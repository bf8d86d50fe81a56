"""Answers as plain data, and the default comparison of an exercise's answer with the expected one.

A self-check must not trust the object a student's function returns: a tensor subclass or an
object whose ``__eq__`` is always true would pass any ``==``. ``to_plain`` rebuilds the answer
from base types only (``torch.Tensor``, ``numpy.ndarray``, ``int``/``float``/``bool``/``str``/
``None``, lists, tuples and dicts of them; an ``nn.Module`` becomes a dict of its parameters),
reading containers through the base classes' own slots, so no method of the student's object runs.
Anything else raises ``NotPlain`` with what was received. ``compare`` then compares two plain
values and returns ``None`` (equal) or one sentence saying where they differ.

This module imports only numpy and torch: the grader's child process (``lecture_lib.grading``)
executes this file by path, without importing ``lecture_lib``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

MAX_DEPTH = 6
MAX_ITEMS = 10_000


class NotPlain(TypeError):
    """The answer is not made of tensors, arrays, numbers, strings, lists, tuples and dicts."""


def _tensor(value: torch.Tensor) -> torch.Tensor:
    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        raise NotPlain(f"a {type(value).__name__} (a tensor subclass); return a plain torch.Tensor")
    out = torch.Tensor.detach(value).cpu().clone()
    return out.as_subclass(torch.Tensor)


def _module(value: torch.nn.Module, depth: int) -> dict:
    params = {name: (_tensor(p), bool(p.requires_grad)) for name, p in value.named_parameters()}
    buffers = {name: _tensor(b) for name, b in value.named_buffers() if b is not None}
    kinds = [(name, type(m).__name__) for name, m in value.named_modules()]
    return {"module": type(value).__name__, "parameters": params, "buffers": buffers, "modules": kinds}


def to_plain(value: Any, depth: int = 0) -> Any:
    """``value`` rebuilt from base types (see module docstring); ``NotPlain`` for anything else.

    Tensors come back detached, on the CPU and cloned; numpy scalars as Python numbers; tuple
    subclasses (named tuples, ``torch.return_types``) as tuples.
    """
    if depth > MAX_DEPTH:
        raise NotPlain(f"a structure nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind in (bool, int, float, complex, str):
        return value
    if isinstance(value, torch.Tensor):
        return _tensor(value)
    if kind is np.ndarray:
        if value.dtype == object:
            raise NotPlain("a numpy array of Python objects; return numbers")
        return np.array(value, copy=True)
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        return value.item()
    if isinstance(value, (list, tuple)):
        items = list(list.__iter__(value)) if isinstance(value, list) else list(tuple.__iter__(value))
        if len(items) > MAX_ITEMS:
            raise NotPlain(f"a sequence of {len(items)} items (more than {MAX_ITEMS})")
        plain = [to_plain(v, depth + 1) for v in items]
        return plain if isinstance(value, list) else tuple(plain)
    if isinstance(value, dict):
        pairs = list(dict.items(value))
        for key, _ in pairs:
            if type(key) not in (str, int, bool, float, tuple):
                raise NotPlain(f"a dict with a key of type {type(key).__name__}")
        return {key: to_plain(v, depth + 1) for key, v in pairs}
    if isinstance(value, torch.nn.Module):
        return _module(value, depth)
    raise NotPlain(f"an object of type {kind.__name__}")


def describe(value: Any) -> str:
    """A short description of a plain value for a message (shape and the first numbers)."""
    if isinstance(value, torch.Tensor):
        text = f"tensor of shape {tuple(value.shape)}: {value.flatten()[:6].tolist()}"
        return text + (" ..." if value.numel() > 6 else "")
    if isinstance(value, np.ndarray):
        return describe(torch.from_numpy(np.ascontiguousarray(value))).replace("tensor", "array", 1)
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."


def _as_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return torch.from_numpy(np.ascontiguousarray(value))
    if type(value) in (bool, int, float):
        return torch.tensor(value, dtype=torch.float64)
    return None


def _compare_tensors(got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float, where: str):
    if got.numel() == 1 and expected.numel() == 1:
        got, expected = got.reshape(()), expected.reshape(())
    if tuple(got.shape) != tuple(expected.shape):
        return f"{where}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
    if got.is_complex() or expected.is_complex():
        return None if torch.allclose(got, expected.to(got.dtype)) else f"{where}: values differ"
    g, e = got.double(), expected.double()
    floating = expected.dtype.is_floating_point
    close = torch.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True) if floating else g == e
    if bool(close.all()):
        return None
    bad = (~close).nonzero()[0].tolist()
    index = tuple(bad) if bad else ()
    return (
        f"{where}: {int((~close).sum())} of {close.numel()} values differ, e.g. at index {index}: "
        f"expected {e[index].item():.6g}, got {g[index].item():.6g}"
    )


def compare(
    got: Any, expected: Any, *, rtol: float = 1e-5, atol: float = 1e-6, where: str = "result"
) -> str | None:
    """``None`` if the plain values ``got`` and ``expected`` agree, else a sentence saying where not.

    Floating-point tensors, arrays and floats agree within ``rtol``/``atol``; integer and boolean
    ones exactly. A one-element tensor and a number may stand for each other; a list for a tuple.
    """
    exp_t = _as_tensor(expected) if isinstance(expected, (torch.Tensor, np.ndarray)) else None
    if exp_t is not None or isinstance(got, (torch.Tensor, np.ndarray)):
        got_t, exp_t = _as_tensor(got), _as_tensor(expected)
        if got_t is None or exp_t is None:
            return f"{where}: expected {describe(expected)}, got {describe(got)}"
        return _compare_tensors(got_t, exp_t, rtol, atol, where)
    if type(expected) is bool or type(got) is bool:
        ok = type(got) is type(expected) and got == expected
        return None if ok else f"{where}: expected {expected!r}, got {describe(got)}"
    if type(expected) in (int, float):
        if type(got) not in (int, float):
            return f"{where}: expected a number ({expected!r}), got {describe(got)}"
        if type(expected) is int and type(got) is int:
            return None if got == expected else f"{where}: expected {expected}, got {got}"
        if math.isclose(float(got), float(expected), rel_tol=rtol, abs_tol=atol) or (
            math.isnan(float(got)) and math.isnan(float(expected))
        ):
            return None
        return f"{where}: expected {expected!r}, got {got!r}"
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            return f"{where}: expected a sequence of {len(expected)} items, got {describe(got)}"
        if len(got) != len(expected):
            return f"{where}: expected {len(expected)} items, got {len(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            reason = compare(g, e, rtol=rtol, atol=atol, where=f"{where}[{i}]")
            if reason:
                return reason
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where}: expected a dict with keys {sorted(map(str, expected))}, got {describe(got)}"
        if set(got) != set(expected):
            return f"{where}: expected keys {sorted(map(str, expected))}, got {sorted(map(str, got))}"
        for key in expected:
            reason = compare(got[key], expected[key], rtol=rtol, atol=atol, where=f"{where}[{key!r}]")
            if reason:
                return reason
        return None
    if type(got) is type(expected) and got == expected:
        return None
    return f"{where}: expected {describe(expected)}, got {describe(got)}"
