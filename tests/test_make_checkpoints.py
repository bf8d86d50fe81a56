"""``make checkpoints`` builds in the order the recipes declare, dependencies first (NEEDS), without
training anything here: the discovery of the recipes and the saving are replaced."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from lecture_lib.checkpoints import build_order

TOOL = Path(__file__).resolve().parent.parent / "tools" / "make_checkpoints.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("make_checkpoints", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_checkpoints"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("make_checkpoints", None)


def test_dependencies_first_otherwise_declaration_order():
    declared = ["experiment", "glyphs", "fcn", "rcnn", "fast", "backbone"]
    needs = {"experiment": ("glyphs",), "rcnn": ("backbone", "fast"), "fast": ("backbone",)}
    assert build_order(declared, needs) == ["glyphs", "experiment", "fcn", "backbone", "fast", "rcnn"]
    assert build_order(["b", "a"], {}) == ["b", "a"]  # not alphabetical


def test_a_cycle_or_an_unknown_need_is_a_clear_error():
    with pytest.raises(ValueError, match="cycle: a -> b -> c -> a"):
        build_order(["a", "b", "c"], {"a": ("b",), "b": ("c",), "c": ("a",)})
    with pytest.raises(ValueError, match=r"NEEDS of a names \['zz'\], which no recipe builds"):
        build_order(["a"], {"a": ("zz",)})


def test_the_tool_builds_in_that_order(tool, monkeypatch, tmp_path, capsys):
    built: list[str] = []

    def recipe(stem, needs=()):
        return tool.Recipe("lecture_lib.fake.recipes", lambda: built.append(stem) or {"x": 1}, needs)

    available = {  # as discovered: the experiment declared before what it loads
        "transfer_experiment": recipe("transfer_experiment", ("transfer_glyphs_resnet",)),
        "transfer_glyphs_resnet": recipe("transfer_glyphs_resnet"),
        "fcn_scenes": recipe("fcn_scenes"),
    }
    monkeypatch.setattr(tool, "recipes", lambda: available)
    monkeypatch.setattr(
        tool, "save_checkpoint", lambda obj, name, **kw: {"file": name, "size": 1, "sha256": "0" * 64}
    )
    assert tool.main([]) == 0
    assert built == ["transfer_glyphs_resnet", "transfer_experiment", "fcn_scenes"]
    built.clear()
    assert tool.main(["transfer_experiment", "transfer_glyphs_resnet"]) == 0  # the command line's order too
    assert built == ["transfer_glyphs_resnet", "transfer_experiment"]
    available["transfer_glyphs_resnet"] = recipe("transfer_glyphs_resnet", ("transfer_experiment",))
    with pytest.raises(ValueError, match="cycle"):
        tool.main([])


def test_the_real_recipes_declare_their_needs(tool):
    """Without training: every checkpoint a recipe loads comes earlier in the real build order."""
    available = tool.recipes()
    ranked = tool.order(available, list(available))
    assert sorted(ranked) == sorted(available)
    assert ranked.index("transfer_glyphs_resnet") < ranked.index("transfer_experiment")
    assert ranked.index("fast_rcnn_detector") < ranked.index("rcnn_detector")
    for stem, r in available.items():
        assert all(ranked.index(dep) < ranked.index(stem) for dep in r.needs)
