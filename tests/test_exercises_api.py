"""Exercises.check / progress on a toy registry: honest answers, wrong ones, and the known bypasses."""

from __future__ import annotations

import functools
import gc
import importlib
import sys

import pytest
import torch
import torch.nn.functional as F
import torchvision
from exercise_toys import pool2_reference, registry

import lecture_lib.boxes
from lecture_lib import boxes
from lecture_lib.exercises import Case, Exercise, Exercises


def pool2(x):  # an honest solution with a loop
    b, c, h, w = x.shape
    out = torch.empty(b, c, h // 2, w // 2)
    for i in range(h // 2):
        for j in range(w // 2):
            out[:, :, i, j] = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].amax(dim=(2, 3))
    return out


def box_area(b):
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def _status(fn, name="pool2", capsys=None):
    ex = registry()
    status = ex.check(name, fn)
    return status, (capsys.readouterr().out if capsys else "")


def test_honest_solutions_pass_and_progress_counts(capsys):
    ex = registry()
    assert ex.progress() == (0, 2)
    out = capsys.readouterr().out
    assert "0 of 2 done" in out and "not yet  pool2" in out
    assert ex.check("pool2", pool2) == "pass"
    assert ex.check("box_area", box_area) == "pass"
    out = capsys.readouterr().out
    assert "[pass] 2x2 max-pool (pool2): all 3 visible and 3 hidden cases pass." in out
    assert ex.progress() == (2, 2)
    assert "2 of 2 done" in capsys.readouterr().out
    assert F.max_pool2d(torch.ones(1, 1, 2, 2), 2).item() == 1.0  # restored afterwards


def test_stub_wrong_values_wrong_types_and_exceptions_never_raise(capsys):
    def stub(x):
        raise NotImplementedError

    assert _status(stub, capsys=capsys) == (
        "not yet",
        "[not yet] 2x2 max-pool (pool2): replace `raise NotImplementedError` with your code.\n",
    )
    status, out = _status(lambda x: pool2(x) + (x.shape[-1] == 8), capsys=capsys)  # wrong on one hidden case
    assert status == "not yet" and "3 of 3 visible cases pass, 1 of 3 hidden cases failed" in out
    status, out = _status(lambda x: pool2(x) * 0, capsys=capsys)
    assert status == "not yet" and "case 'ties'" in out and "values differ" in out
    for answer in (None, "a string", object(), [1, 2]):
        status, out = _status(lambda x, a=answer: a, capsys=capsys)
        assert status == "not yet" and out.startswith("[not yet]"), out
    status, out = _status(lambda x: 1 / 0, capsys=capsys)
    assert status == "error" and "raised ZeroDivisionError" in out
    assert _status(lambda x: sys.exit(3), capsys=capsys)[0] == "error"
    assert registry().check("pool2", 42) == "error" and registry().check("nope", pool2) == "error"


def test_lying_objects_fail(capsys):
    class Always:
        def __eq__(self, other):
            return True

    class Sub(torch.Tensor):
        def __eq__(self, other):
            return True

    assert _status(lambda x: Always())[0] == "not yet"
    assert _status(lambda x: torch.zeros(1).as_subclass(Sub))[0] == "not yet"
    assert _status(lambda x: (pool2(x),))[0] == "not yet"  # a tuple is not the tensor


def test_the_reference_the_twin_and_the_framework_are_refused(capsys):
    status, out = _status(pool2_reference, capsys=capsys)
    assert status == "not yet" and "asks you to write it yourself" in out
    saved_ref = functools.partial(pool2_reference)  # a name saved before the check
    assert _status(lambda x: saved_ref(x))[0] == "not yet"
    assert _status(lambda x, ref=pool2_reference: ref(x))[0] == "not yet"  # a default argument
    for cheat in (
        lambda x: F.max_pool2d(x, 2),
        lambda x: torch.max_pool2d(x, 2),
        lambda x: torch.nn.MaxPool2d(2)(x),
        lambda x: torch.nn.functional.max_pool2d_with_indices(x, 2)[0],
    ):
        status, out = _status(cheat, capsys=capsys)
        assert status == "not yet" and "is not available here" in out, out
    status, out = _status(lambda b: boxes.box_area(b), "box_area", capsys)
    assert status == "not yet" and "write it yourself" in out
    assert _status(lambda b: torchvision.ops.box_area(b), "box_area")[0] == "not yet"
    assert boxes.box_area(torch.tensor([[0.0, 0.0, 1.0, 2.0]])).item() == 2.0  # restored


def test_a_c_function_is_refused_under_each_of_its_names():
    # torch.conv2d and F.conv2d are one builtin object: each place that names it is replaced
    conv = Exercise(
        name="conv",
        title="conv",
        reference=lambda x: x,
        cases=lambda: [Case((torch.ones(1, 1, 3, 3),))],
        hidden=list,
        forbidden=("torch.nn.functional.conv2d", "torch.conv2d"),
    )
    ex = Exercises("toy", [conv])
    assert ex.check("conv", lambda x: torch.conv2d(x, torch.ones(1, 1, 1, 1))) == "not yet"
    assert ex.check("conv", lambda x: F.conv2d(x, torch.ones(1, 1, 1, 1))) == "not yet"
    assert (
        F.conv2d is torch.conv2d and torch.conv2d(torch.ones(1, 1, 1, 1), torch.ones(1, 1, 1, 1)).item() == 1
    )


def test_the_library_is_hidden_from_sys_modules_and_imports(capsys):
    cheats = [
        lambda b: sys.modules["lecture_lib.boxes"].box_area(b),
        lambda b: importlib.import_module("lecture_lib.boxes").box_iou(b, b).diag(),
        lambda b: __import__("lecture_lib.boxes").boxes.box_area(b),
        lambda b: lecture_lib.boxes.box_area(b),
    ]
    for cheat in cheats:
        status, out = _status(cheat, "box_area", capsys)
        assert status == "not yet" and "write it yourself" in out, out
    assert "lecture_lib.boxes" in sys.modules and sys.modules["lecture_lib.boxes"] is boxes


def test_frames_and_the_garbage_collector_lead_nowhere(capsys):
    found = []

    def frame_reader(x):
        frame = sys._getframe(0)
        while frame is not None:
            found.extend(v for v in frame.f_locals.values() if isinstance(v, (Exercise, Exercises, Case)))
            frame = frame.f_back
        return pool2_reference(x) if found else torch.zeros(1)

    assert _status(frame_reader)[0] == "not yet" and found == []
    assert _status(lambda x: gc.get_objects())[0] == "not yet"
    assert _status(lambda x: sys._current_frames())[0] == "not yet"
    assert gc.get_objects() and sys._current_frames()  # restored


def test_patching_inside_the_function_does_not_outlive_it():
    def patcher(x):
        import lecture_lib.exercises  # refused: the library is hidden

        lecture_lib.exercises.Exercises.check = lambda *a: "pass"

    assert _status(patcher)[0] == "not yet"
    assert registry().check("pool2", lambda x: x) == "not yet"


def test_keyboard_interrupt_goes_through_and_everything_is_restored(monkeypatch):
    def interrupted(x):
        raise KeyboardInterrupt

    monkeypatch.setattr("lecture_lib.sandbox.call_in_thread", lambda fn, a, k: interrupted(*a))
    with pytest.raises(KeyboardInterrupt):
        registry().check("pool2", pool2)
    assert F.max_pool2d(torch.ones(1, 1, 2, 2), 2).item() == 1.0
    assert "lecture_lib.boxes" in sys.modules and pool2_reference(torch.ones(1, 1, 2, 2)).item() == 1.0


def test_registry_validation():
    with pytest.raises(ValueError, match="unique"):
        Exercises("toy", [registry()["pool2"], registry()["pool2"]])
    with pytest.raises(ValueError, match="function name"):
        Exercise(name="not a name", title="t", reference=len, cases=list, hidden=list)
    with pytest.raises(KeyError, match="no exercise"):
        registry()["nope"]
    bad = Exercise(name="f", title="t", reference=len, cases=list, hidden=list, forbidden=("torch.nope",))
    assert Exercises("toy", [bad]).check("f", lambda: 0) == "error"
