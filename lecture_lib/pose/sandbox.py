"""Run an exercise function with the library's reference out of reach (used by 05_pose's checks).

``without_lecture_lib(fn)`` returns ``fn`` re-bound to a copy of its globals from which every
``lecture_lib`` module, function and class is removed, with ``import lecture_lib...`` refused,
so ``return pose.disk_heatmaps(...)`` fails the check instead of passing it. (A general helper; it
could move to ``lecture_lib.exercises``.)
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable


def _from_lecture_lib(value) -> bool:
    name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return isinstance(name, str) and (name == "lecture_lib" or name.startswith("lecture_lib."))


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "lecture_lib" or name.startswith("lecture_lib."):
        raise ImportError(
            f"this exercise is checked without lecture_lib: write it yourself (tried to import {name})"
        )
    return builtins.__import__(name, globals, locals, fromlist, level)


def without_lecture_lib(fn: Callable) -> Callable:
    """``fn`` with ``lecture_lib`` hidden from its globals and its imports (see module docstring)."""
    if not isinstance(fn, types.FunctionType):
        raise TypeError(f"fn must be a plain Python function, got {type(fn).__name__}")
    scope = {k: v for k, v in fn.__globals__.items() if not _from_lecture_lib(v)}
    scope["__builtins__"] = {**vars(builtins), "__import__": _guarded_import}
    return types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
