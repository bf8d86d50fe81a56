"""Regenerate the checkpoints in data/ (``make checkpoints``).

Every concept package's ``recipes.py`` (``lecture_lib/<concept>/recipes.py``) holds a
``CHECKPOINTS`` dict: file name in ``data/`` -> ``build() -> dict``, a deterministic,
quick-profile training run through ``lecture_lib.train.fit``. This script only calls them: it runs
the ones named on the command line (all by default), saves each with ``save_checkpoint`` and
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lecture_lib  # noqa: E402
from lecture_lib.checkpoints import save_checkpoint  # noqa: E402


def recipes() -> dict[str, tuple[str, Callable[[], dict]]]:
    """``{file stem: (recipe module, build)}`` over every ``lecture_lib.<concept>.recipes``."""
    found: dict[str, tuple[str, Callable[[], dict]]] = {}
    for info in pkgutil.iter_modules(lecture_lib.__path__):
        if not info.ispkg or importlib.util.find_spec(f"lecture_lib.{info.name}.recipes") is None:
            continue
        module = importlib.import_module(f"lecture_lib.{info.name}.recipes")
        for file_name, build in getattr(module, "CHECKPOINTS", {}).items():
            stem = file_name.removesuffix(".pt")
            if stem in found:
                raise RuntimeError(f"{file_name} is built by both {found[stem][0]} and {module.__name__}")
            found[stem] = (module.__name__, build)
    return found


def main(argv: list[str]) -> int:
    available = recipes()
    if argv == ["--list"]:
        for stem, (module, build) in sorted(available.items()):
            print(f"{stem + '.pt':32s} {module}.{build.__name__}")
        return 0
    wanted = argv or sorted(available)
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(f"unknown checkpoint(s) {unknown}; available: {sorted(available)}", file=sys.stderr)
        return 2
    for stem in wanted:
        start = time.perf_counter()
        obj = available[stem][1]()
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
