"""Running a student's function with the shortcuts out of reach (``lecture_lib.exercises``, the grader).

Three guards, each undone on the way out (also after an exception or a KeyboardInterrupt):

- ``refused(names)``: every dotted name (``"torchvision.ops.nms"``, ``"torch.nn.functional.
  max_pool2d"``, ``"torch.Tensor.backward"``, ``"torch.nn.MaxPool2d"``) raises ``ShortcutRefused``
  ("this exercise asks you to write it yourself: <name> is not available here"). A Python function
  has its code swapped, so every alias of it is refused too (a name saved before the check, a
  default argument, a ``functools.partial``); a class refuses to be built and to run ``forward``;
  anything else (C functions such as ``torch.max_pool2d``) is replaced where it lives, so list
  its aliases (``torch.max_pool2d``, ``torch._C._nn.max_pool2d_with_indices``...).
- ``hidden_modules(("lecture_lib",))``: the library leaves ``sys.modules`` and any import of it
  (``import``, ``__import__``, ``importlib.import_module``) is refused by a finder placed first.
- ``rebind(fn)``: a copy of the student's function whose globals, default arguments and closure
  cells hold a ``Hidden`` stand-in instead of any ``lecture_lib`` object or refused object (helper
  functions of the same notebook are rebound alike); using a stand-in says what is refused.

``call_in_thread`` runs the function in a fresh thread, so walking up its frames
(``sys._getframe(1).f_back``...) never reaches the caller's locals; ``sys._current_frames`` and
the garbage collector's object lists are refused while it runs (``ALWAYS_REFUSED``).

This module imports no ``lecture_lib`` module: the grader's child process executes it by path.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.abc
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

REFUSAL = "this exercise asks you to write it yourself: {name} is not available here"
REFUSAL_PREFIX = REFUSAL.split("{")[0]
ALWAYS_REFUSED = ("sys._current_frames", "gc.get_objects", "gc.get_referrers", "gc.get_referents")
_MISSING = object()


class ShortcutRefused(RuntimeError):
    """Raised by a refused function while a student's function runs."""


def is_refusal(exc: BaseException | None, prefixes: tuple[str, ...] = ("lecture_lib",)) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a refusal, or a ``KeyError`` for a
    hidden module (``sys.modules["lecture_lib..."]``)."""
    seen = 0
    while exc is not None and seen < 10:
        if str(exc).startswith(REFUSAL_PREFIX):
            return True
        key = exc.args[0] if isinstance(exc, KeyError) and exc.args else None
        if isinstance(key, str) and _matches(key, prefixes):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _refuser(name: str) -> Callable:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise ShortcutRefused(REFUSAL.format(name=name))

    refused.__name__ = refused.__qualname__ = name.rsplit(".", 1)[-1]
    return refused


def _refusing_code(name: str, n_free: int) -> types.CodeType:
    """A code object raising the refusal, with ``n_free`` free variables (to fit any closure).

    It names only builtins: after ``fn.__code__ = ...`` it runs with ``fn``'s own globals.
    """
    free = [f"_free{i}" for i in range(n_free)]
    lines = ["def _outer():"] + [f"    {v} = None" for v in free]
    lines += ["    def refused(*args, **kwargs):"] + [f"        {v}" for v in free]
    lines += [f"        raise RuntimeError({REFUSAL.format(name=name)!r})", "    return refused"]
    scope: dict[str, Any] = {}
    exec(compile("\n".join(lines), f"<refused {name}>", "exec"), scope)
    return scope["_outer"]().__code__


def resolve(name: str) -> tuple[Any, str, Any] | None:
    """``(owner, attribute, object)`` for a dotted name; ``None`` if its top package is not installed.

    Raises ``ValueError`` for a name that does not exist in an installed package.
    """
    parts = name.split(".")
    if len(parts) < 2 or not all(parts):
        raise ValueError(
            f"a refused name must be dotted, e.g. 'torch.nn.functional.max_pool2d', got {name!r}"
        )
    for i in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj: Any = importlib.import_module(module_name)
            break
        except ModuleNotFoundError as exc:
            if i == 1 and exc.name == parts[0]:
                return None  # the package is not installed: nothing to refuse
            if exc.name is None or not module_name.startswith(exc.name):
                raise
    owner, attr = obj, parts[i]
    for attr in parts[i:]:
        owner = obj
        if not hasattr(owner, attr):
            raise ValueError(f"refused name {name!r}: {getattr(owner, '__name__', owner)!r} has no {attr!r}")
        obj = getattr(owner, attr)
    return owner, attr, obj


def _swap_code(fn: types.FunctionType, name: str) -> Callable[[], None]:
    original = fn.__code__
    fn.__code__ = _refusing_code(name, len(original.co_freevars))

    def undo() -> None:
        fn.__code__ = original

    return undo


def _set(owner: Any, attr: str, value: Any) -> Callable[[], None]:
    own = getattr(owner, "__dict__", {})
    before = own[attr] if attr in own else _MISSING
    setattr(owner, attr, value)

    def undo() -> None:
        if before is _MISSING:
            delattr(owner, attr)
        else:
            setattr(owner, attr, before)

    return undo


def _refuse(name: str, owner: Any, attr: str, obj: Any) -> list[Callable[[], None]]:
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, types.FunctionType):
        return [_swap_code(obj, name)]
    if isinstance(obj, type):
        try:
            undo = [_set(obj, "__init__", _refuser(name))]
            if "forward" in vars(obj):
                undo.append(_set(obj, "forward", _refuser(name)))
            return undo
        except TypeError:  # a built-in type: replace it where it lives
            pass
    try:
        return [_set(owner, attr, _refuser(name))]
    except (AttributeError, TypeError) as exc:
        raise ValueError(f"cannot refuse {name!r}: {exc}") from None


@contextmanager
def refused(names: Iterable[str], functions: Iterable[tuple[str, Callable]] = ()) -> Iterator[dict]:
    """Refuse ``names`` (dotted) and ``functions`` (``(label, fn)``) inside the block.

    Yields ``{id(object): stand-in}`` for every refused object, for ``rebind``.
    """
    undo: list[Callable[[], None]] = []
    swapped: dict[int, Any] = {}
    done: set[tuple] = set()
    try:
        targets = []
        for name in dict.fromkeys([*ALWAYS_REFUSED, *names]):
            found = resolve(name)
            if found is not None:
                targets.append((name, *found))
        targets += [  # Python functions only: their code is swapped wherever they are referenced
            (label, None, "", fn)
            for label, fn in functions
            if isinstance(fn, (types.FunctionType, types.MethodType))
        ]
        for name, owner, attr, obj in targets:
            target = obj.__func__ if isinstance(obj, types.MethodType) else obj
            # A Python function or class is refused once for all its aliases; anything else (a C
            # function such as torch.conv2d, which is also F.conv2d) in every place it is named.
            where = (id(target),) if isinstance(target, (types.FunctionType, type)) else (id(owner), attr)
            if where not in done:
                done.add(where)
                swapped.setdefault(id(target), Hidden(name))
                undo += _refuse(name, owner, attr, obj)
        yield swapped
    finally:
        for action in reversed(undo):
            action()


class _RefuseImports(importlib.abc.MetaPathFinder):
    def __init__(self, prefixes: tuple[str, ...]):
        self.prefixes = prefixes

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if _matches(fullname, self.prefixes):
            raise ImportError(REFUSAL.format(name=fullname), name=fullname)
        return None


def _matches(module_name: str, prefixes: tuple[str, ...]) -> bool:
    return any(module_name == p or module_name.startswith(p + ".") for p in prefixes)


@contextmanager
def hidden_modules(prefixes: tuple[str, ...] = ("lecture_lib",)) -> Iterator[None]:
    """Inside the block the packages ``prefixes`` are out of ``sys.modules`` and cannot be imported."""
    saved = {k: sys.modules.pop(k) for k in [k for k in sys.modules if _matches(k, prefixes)]}
    finder = _RefuseImports(prefixes)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if _matches(k, prefixes)]:
            del sys.modules[k]
        sys.modules.update(saved)


class Hidden:
    """Stands in for a hidden object: any use raises the refusal naming it."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ShortcutRefused(REFUSAL.format(name=object.__getattribute__(self, "_name")))

    __call__ = __getattr__ = __getitem__ = __iter__ = __len__ = __bool__ = _refuse
    __add__ = __radd__ = __mul__ = __rmul__ = __sub__ = __matmul__ = __truediv__ = _refuse

    def __repr__(self) -> str:
        return f"<hidden: {object.__getattribute__(self, '_name')}>"


def from_library(value: Any, prefixes: tuple[str, ...] = ("lecture_lib",)) -> bool:
    """Whether ``value`` is a module, function, class or instance of the packages ``prefixes``."""
    if isinstance(value, types.ModuleType):
        name: Any = value.__name__
    elif isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        name = getattr(value, "__module__", None)
    elif isinstance(value, types.MethodType):
        return from_library(value.__func__, prefixes) or from_library(value.__self__, prefixes)
    else:
        name = type(value).__module__
    return isinstance(name, str) and _matches(name, prefixes)


def rebind(
    fn: types.FunctionType,
    replace: dict[int, Any] | None = None,
    allow: Iterable[Any] = (),
    prefixes: tuple[str, ...] = ("lecture_lib",),
) -> types.FunctionType:
    """A copy of ``fn`` whose globals, defaults and closure hold no library or refused object.

    Args:
        fn: the student's function.
        replace: ``{id(object): stand-in}`` (what ``refused`` yields).
        allow: library objects the exercise may use (kept).
    """
    replace = dict(replace or {})
    allowed = {id(a) for a in allow}
    home = fn.__globals__
    scope: dict[str, Any] = {}
    done: dict[int, types.FunctionType] = {}

    def scrub(value: Any, label: str) -> Any:
        if id(value) in allowed:
            return value
        if id(value) in replace:
            return replace[id(value)]
        if isinstance(value, types.FunctionType) and value.__globals__ is home:
            return copy_fn(value)
        return Hidden(label) if from_library(value, prefixes) else value

    def copy_fn(f: types.FunctionType) -> types.FunctionType:
        if id(f) in done:
            return done[id(f)]
        cells = tuple(types.CellType() for _ in f.__closure__ or ())
        new = types.FunctionType(f.__code__, scope, f.__name__, None, cells or None)
        done[id(f)] = new
        for cell, old in zip(cells, f.__closure__ or ()):
            try:
                cell.cell_contents = scrub(old.cell_contents, f"{f.__name__}'s closure")
            except ValueError:  # an empty cell
                pass
        new.__defaults__ = tuple(scrub(d, f"a default of {f.__name__}") for d in f.__defaults__ or ()) or None
        kw = {k: scrub(v, f"the default {k}") for k, v in (f.__kwdefaults__ or {}).items()}
        new.__kwdefaults__ = kw or None
        new.__qualname__, new.__doc__ = f.__qualname__, f.__doc__
        return new

    for key, value in list(home.items()):
        scope[key] = value if key == "__builtins__" else scrub(value, key)
    return copy_fn(fn)


def _run(fn: Callable, args: tuple, kwargs: dict, box: dict) -> None:
    try:
        box["result"] = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 (SystemExit, GeneratorExit...: all reported)
        box["error"] = exc


def call_in_thread(fn: Callable, args: tuple, kwargs: dict) -> dict:
    """``{"result": ...}`` or ``{"error": exception}`` of ``fn(*args, **kwargs)`` run in a new thread.

    A KeyboardInterrupt while waiting is passed on to the thread (it stops at its next Python
    instruction) and raised again here.
    """
    box: dict = {}
    worker = threading.Thread(target=_run, args=(fn, args, kwargs, box), name="exercise", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
    except KeyboardInterrupt:
        if worker.ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(worker.ident), ctypes.py_object(KeyboardInterrupt)
            )
        worker.join(2.0)
        raise
    return box
