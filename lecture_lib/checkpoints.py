"""Small committed checkpoints in ``data/`` and their manifest.

``data/MANIFEST.json`` lists every file with its SHA-256, size and the command that regenerates
it (``make checkpoints`` runs every builder in ``tools/checkpoints/``). Checkpoints are plain
dicts of tensors, numbers, strings and lists, loaded with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import torch

from lecture_lib.config import REPO_BRANCH, REPO_URL, data_dir
from lecture_lib.data import OFFLINE_HINT, OfflineError, download, sha256_file

MANIFEST = "MANIFEST.json"


def read_manifest(folder: str | os.PathLike | None = None) -> dict[str, dict]:
    """``{file name: {"sha256", "size", "command"}}`` from ``<folder>/MANIFEST.json`` (empty if absent)."""
    path = Path(folder or data_dir()) / MANIFEST
    if not path.is_file():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))["files"]
    return {e["file"]: e for e in entries}


def _atomic_write_bytes(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files; a checkpoint is ordinary data
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_checkpoint(obj: dict, name: str, *, command: str, folder: str | os.PathLike | None = None) -> dict:
    """Write ``obj`` to ``<folder>/<name>`` atomically and record it in the manifest.

    Returns the manifest entry ``{"file", "sha256", "size", "command"}``.
    """
    if not isinstance(obj, dict):
        raise TypeError(f"a checkpoint must be a dict (of tensors, numbers, strings), got {type(obj).__name__}")
    if "/" in name or "\\" in name or not name.endswith(".pt"):
        raise ValueError(f"name must be a plain file name ending in .pt, got {name!r}")
    folder = Path(folder or data_dir())
    buf = io.BytesIO()
    torch.save(obj, buf)
    payload = buf.getvalue()
    _atomic_write_bytes(folder / name, payload)
    entry = {"file": name, "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload), "command": command}
    manifest = read_manifest(folder)
    manifest[name] = entry
    text = json.dumps({"files": [manifest[k] for k in sorted(manifest)]}, indent=2) + "\n"
    _atomic_write_bytes(folder / MANIFEST, text.encode("utf-8"))
    return entry


def checkpoint_url(name: str) -> str:
    """Where a checkpoint lives on the web (used when the package was installed without ``data/``)."""
    return f"{REPO_URL}/raw/{REPO_BRANCH}/data/{name}"


def _fetch_manifest(folder: Path) -> None:
    """Download ``MANIFEST.json`` of ``REPO_BRANCH`` (the trust root, like the git install itself;
    every checkpoint is then verified against its SHA-256)."""
    import urllib.request

    url = checkpoint_url(MANIFEST)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            payload = response.read()
    except OSError as exc:
        raise OfflineError(f"Could not fetch {url} ({getattr(exc, 'reason', exc)}). {OFFLINE_HINT}") from None
    try:
        json.loads(payload)["files"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{url} is not a checkpoint manifest") from None
    _atomic_write_bytes(folder / MANIFEST, payload)


def load_checkpoint(name: str, *, folder: str | os.PathLike | None = None, map_location: str = "cpu") -> dict:
    """Load a manifest-listed checkpoint after checking its SHA-256.

    If the file is missing (e.g. the package was installed from git on Colab, without ``data/``)
    it is downloaded, verified and stored atomically. A file whose hash does not match the
    manifest is refused with ``ValueError`` (regenerate it with ``make checkpoints``).
    """
    folder = Path(folder or data_dir())
    manifest = read_manifest(folder)
    if not manifest:  # package installed from git (Colab) without data/: fetch the branch's manifest
        _fetch_manifest(folder)
        manifest = read_manifest(folder)
    if name not in manifest:
        raise ValueError(f"{name!r} is not in {folder / MANIFEST}; known: {sorted(manifest)}")
    entry = manifest[name]
    path = folder / name
    if not path.is_file():
        download(checkpoint_url(name), entry["sha256"], path)
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        raise ValueError(f"{path} has SHA-256 {digest[:12]}..., the manifest expects {entry['sha256'][:12]}...; "
                         f"regenerate it with: {entry['command']}")
    return torch.load(path, map_location=map_location, weights_only=True)
