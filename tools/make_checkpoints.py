"""Regenerate the checkpoints in data/ (``make checkpoints``).

Every concept package's ``recipes.py`` (``lecture_lib/<concept>/recipes.py``) holds a
``CHECKPOINTS`` dict: file name in ``data/`` -> ``build() -> dict``, a deterministic,
quick-profile training run through ``lecture_lib.train.fit``; its ``NEEDS`` dict (file -> files
its build loads) says which checkpoints must exist first. This script only calls them: it runs the
ones named on the command line (all by default) in the order the recipes declare, dependencies
first (``checkpoints.build_order``; a cycle is an error), saves each with ``save_checkpoint`` and
updates ``data/MANIFEST.json``.

    python tools/make_checkpoints.py                # all
    python tools/make_checkpoints.py fcn_scenes     # only data/fcn_scenes.pt
    python tools/make_checkpoints.py --list         # what there is, and which recipe builds it
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lecture_lib  # noqa: E402
from lecture_lib.checkpoints import build_order, save_checkpoint  # noqa: E402


class Recipe(NamedTuple):
    module: str  # the recipes module that declares it
    build: Callable[[], dict]
    needs: tuple[str, ...] = ()  # stems of the checkpoints its build loads


def recipes() -> dict[str, Recipe]:
    """``{file stem: Recipe}`` over every ``lecture_lib.<concept>.recipes``, in declaration order."""
    found: dict[str, Recipe] = {}
    for info in pkgutil.iter_modules(lecture_lib.__path__):
        if not info.ispkg or importlib.util.find_spec(f"lecture_lib.{info.name}.recipes") is None:
            continue
        module = importlib.import_module(f"lecture_lib.{info.name}.recipes")
        needs = getattr(module, "NEEDS", {})
        for file_name, build in getattr(module, "CHECKPOINTS", {}).items():
            stem = file_name.removesuffix(".pt")
            if stem in found:
                raise RuntimeError(f"{file_name} is built by both {found[stem].module} and {module.__name__}")
            deps = tuple(d.removesuffix(".pt") for d in needs.get(file_name, ()))
            found[stem] = Recipe(module.__name__, build, deps)
    return found


def order(available: dict[str, Recipe], wanted: list[str]) -> list[str]:
    """``wanted`` in build order: dependencies first, otherwise as the recipes declare them."""
    ranked = build_order(list(available), {stem: r.needs for stem, r in available.items()})
    return [stem for stem in ranked if stem in set(wanted)]


def main(argv: list[str]) -> int:
    available = recipes()
    if argv == ["--list"]:
        for stem in order(available, list(available)):
            r = available[stem]
            after = f"  (after {', '.join(r.needs)})" if r.needs else ""
            print(f"{stem + '.pt':32s} {r.module}.{r.build.__name__}{after}")
        return 0
    wanted = argv or list(available)
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(f"unknown checkpoint(s) {unknown}; available: {sorted(available)}", file=sys.stderr)
        return 2
    for stem in order(available, wanted):
        start = time.perf_counter()
        obj = available[stem].build()
        entry = save_checkpoint(
            obj, f"{stem}.pt", command=f"python tools/make_checkpoints.py {stem}", folder=ROOT / "data"
        )
        print(
            f"{entry['file']}: {entry['size']} bytes, sha256 {entry['sha256'][:16]}..., "
            f"{time.perf_counter() - start:.1f} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
