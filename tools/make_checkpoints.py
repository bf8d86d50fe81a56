"""Regenerate the checkpoints in data/ (``make checkpoints``).

Every module in ``tools/checkpoints/`` not starting with ``_`` defines ``NAME`` (file name in data/) and
``build() -> dict`` (a deterministic, quick-profile training run). This script runs the ones
named on the command line (all by default), saves each with ``save_checkpoint`` and updates
``data/MANIFEST.json``.

    python tools/make_checkpoints.py            # all
    python tools/make_checkpoints.py lenet      # only tools/checkpoints/lenet.py
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "checkpoints"))  # builders share recipes from _*.py modules there

from lecture_lib.checkpoints import save_checkpoint  # noqa: E402


def builders() -> dict[str, Path]:
    return {p.stem: p for p in sorted((HERE / "checkpoints").glob("*.py")) if not p.stem.startswith("_")}


def main(argv: list[str]) -> int:
    available = builders()
    wanted = argv or list(available)
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(f"unknown checkpoint builder(s) {unknown}; available: {sorted(available)}", file=sys.stderr)
        return 2
    for stem in wanted:
        spec = importlib.util.spec_from_file_location(f"ckpt_{stem}", available[stem])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        start = time.perf_counter()
        obj = module.build()
        entry = save_checkpoint(obj, module.NAME, command=f"python tools/make_checkpoints.py {stem}",
                                folder=ROOT / "data")
        print(f"{entry['file']}: {entry['size']} bytes, sha256 {entry['sha256'][:16]}..., "
              f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
