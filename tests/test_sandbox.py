"""lecture_lib.sandbox: refused names, hidden library, rebound functions; everything restored."""

from __future__ import annotations

import _thread
import functools
import importlib
import sys
import threading
import time

import pytest
import torch
import torch.nn.functional as F

from lecture_lib import boxes, sandbox

ONE = torch.tensor([[0.0, 0.0, 2.0, 3.0]])


def uses_global(b):
    return boxes.box_area(b)


def uses_helper(b):
    return helper(b)


def helper(b):
    return boxes.box_area(b)


def test_resolve_names():
    owner, attr, obj = sandbox.resolve("torch.nn.functional.max_pool2d")
    assert owner is F and attr == "max_pool2d" and obj is F.max_pool2d
    assert sandbox.resolve("no_such_package_xyz.f") is None
    with pytest.raises(ValueError, match="has no 'nope'"):
        sandbox.resolve("torch.nope")
    with pytest.raises(ValueError, match="dotted"):
        sandbox.resolve("len")


def test_refused_functions_classes_and_builtins_are_restored_even_after_an_error():
    saved = functools.partial(F.max_pool2d, kernel_size=2)  # an alias made before
    with pytest.raises(ZeroDivisionError):
        with sandbox.refused(["torch.nn.functional.max_pool2d", "torch.max_pool2d", "torch.nn.MaxPool2d"]):
            for call in (
                lambda: saved(torch.ones(1, 1, 2, 2)),
                lambda: torch.max_pool2d(torch.ones(1, 1, 2, 2), 2),
            ):
                with pytest.raises(RuntimeError, match="write it yourself: torch"):
                    call()
            with pytest.raises(sandbox.ShortcutRefused, match="torch.nn.MaxPool2d"):
                torch.nn.MaxPool2d(2)
            raise ZeroDivisionError
    assert (
        saved(torch.ones(1, 1, 2, 2)).item() == 1.0
        and torch.nn.MaxPool2d(2)(torch.ones(1, 1, 2, 2)).item() == 1
    )
    assert torch.max_pool2d(torch.ones(1, 1, 2, 2), 2).item() == 1.0


def test_hidden_modules_refuse_imports_and_restore_sys_modules():
    before = {k: v for k, v in sys.modules.items() if k.startswith("lecture_lib")}
    with sandbox.hidden_modules(("lecture_lib",)):
        assert not any(k.startswith("lecture_lib") for k in sys.modules)
        with pytest.raises(ImportError, match="write it yourself: lecture_lib"):
            importlib.import_module("lecture_lib.boxes")
        with pytest.raises(ImportError, match="write it yourself"):
            __import__("lecture_lib.exercises")
    assert {k: v for k, v in sys.modules.items() if k.startswith("lecture_lib")} == before


def test_rebind_hides_the_library_in_globals_defaults_closures_and_helpers():
    def with_default(b, f=boxes.box_area):
        return f(b)

    def closure():
        f = boxes.box_area
        return lambda b: f(b)

    for fn in (uses_global, uses_helper, with_default, closure()):
        assert fn(ONE).item() == 6.0  # works as written
        with pytest.raises(sandbox.ShortcutRefused, match="write it yourself"):
            sandbox.rebind(fn)(ONE)
    assert sandbox.rebind(uses_global, allow=[boxes])(ONE).item() == 6.0
    assert repr(sandbox.Hidden("cfg")) == "<hidden: cfg>"
    with pytest.raises(sandbox.ShortcutRefused, match="cfg is not available"):
        _ = sandbox.Hidden("cfg").device


def test_is_refusal_follows_the_cause_and_hidden_module_keys():
    try:
        try:
            raise sandbox.ShortcutRefused(sandbox.REFUSAL.format(name="x"))
        except RuntimeError as exc:
            raise ValueError("wrapped") from exc
    except ValueError as exc:
        assert sandbox.is_refusal(exc)
    assert sandbox.is_refusal(KeyError("lecture_lib.boxes")) and not sandbox.is_refusal(KeyError("a"))


def test_an_interrupt_stops_the_students_loop_and_goes_through():
    def forever():
        while True:
            pass

    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sandbox.call_in_thread(forever, (), {})
    deadline = time.monotonic() + 5
    while any(t.name == "exercise" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "exercise" for t in threading.enumerate())
    assert sandbox.call_in_thread(lambda a: a + 1, (1,), {}) == {"result": 2}
