"""Small committed checkpoints in ``data/`` and their manifest.

``data/MANIFEST.json`` lists every file with its SHA-256, size and the command that regenerates
it (``make checkpoints`` runs the recipes of the concept packages). Checkpoints are plain dicts of
tensors, numbers, strings and lists, loaded with ``torch.load(..., weights_only=True)``.

A trained network is stored as a *model entry* (``model_entry``): the dotted path of the
``lecture_lib`` class or function that builds it, its keyword arguments and its state dict, so that
``load_model(name)`` is one call: build, load the manifest-checked weights, eval.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lecture_lib.data import OFFLINE_HINT, OfflineError, download, sha256_file
from lecture_lib.paths import REPO_BRANCH, REPO_URL, data_dir

MANIFEST = "MANIFEST.json"
# The only builders a checkpoint may name (a checkpoint is data: it never chooses which code runs).
# Dotted names, so the core need not import the concept packages; a new model class is added here.
BUILDERS = frozenset(
    {
        "lecture_lib.detection.backbone.CropClassifier",
        "lecture_lib.detection.fast_rcnn.FastRCNN",
        "lecture_lib.detection.faster_rcnn.FasterRCNN",
        "lecture_lib.detection.rcnn.RCNN",
        "lecture_lib.embeddings.attributes.AttributeClassifier",
        "lecture_lib.embeddings.autoencoder.FaceAutoencoder",
        "lecture_lib.embeddings.duplicates.CopyDetector",
        "lecture_lib.faces.models.FaceClassifier",
        "lecture_lib.faces.models.FaceEmbedder",
        "lecture_lib.layers.ResidualBlock",
        "lecture_lib.pose.models.PoseFCN",
        "lecture_lib.pose.models.PoseRegressor",
        "lecture_lib.segmentation.models.FCN",
        "lecture_lib.segmentation.models.window_classifier",
        "lecture_lib.transfer.models.SmallResNet",
    }
)


def read_manifest(folder: str | os.PathLike | None = None) -> dict[str, dict]:
    """``{file name: {"sha256", "size", "command"}}`` from ``<folder>/MANIFEST.json`` (empty if absent)."""
    path = Path(folder or data_dir()) / MANIFEST
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["files"]
        return {e["file"]: e for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{path} is not a checkpoint manifest ({type(exc).__name__}: {exc}); "
            'expected {"files": [{"file", "sha256", "size", "command"}, ...]}'
        ) from None


def _inside(folder: Path, name: str) -> Path:
    """``folder / name``, refused unless it resolves inside ``folder`` (no ``../`` or absolute names)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a checkpoint name must be a non-empty str, got {name!r}")
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ValueError(f"checkpoint {name!r} resolves to {path}, outside {folder}; refusing to load it")
    return path


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
        raise TypeError(
            f"a checkpoint must be a dict (of tensors, numbers, strings), got {type(obj).__name__}"
        )
    if "/" in name or "\\" in name or not name.endswith(".pt"):
        raise ValueError(f"name must be a plain file name ending in .pt, got {name!r}")
    folder = Path(folder or data_dir())
    buf = io.BytesIO()
    torch.save(obj, buf)
    payload = buf.getvalue()
    _atomic_write_bytes(folder / name, payload)
    entry = {
        "file": name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size": len(payload),
        "command": command,
    }
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
    _inside(folder, name)
    path = folder / name
    if not path.is_file():
        download(checkpoint_url(name), entry["sha256"], path)
    digest = sha256_file(path)
    if digest != str(entry["sha256"]).lower():  # a digest written in upper case is the same digest
        raise ValueError(
            f"{path} has SHA-256 {digest[:12]}..., the manifest expects {entry['sha256'][:12]}...; "
            f"regenerate it with: {entry['command']}"
        )
    return torch.load(path, map_location=map_location, weights_only=True)


def model_entry(builder: Callable[..., nn.Module], model: nn.Module, **kwargs: Any) -> dict:
    """What a recipe stores for a trained network: ``{"builder", "kwargs", "state_dict"}``.

    Args:
        builder: the ``lecture_lib`` class or function that built ``model`` (``builder(**kwargs)``).
        model: the trained network; its state dict is copied (detached, on the CPU).
        kwargs: the keyword arguments ``builder`` was called with (plain numbers, strings, lists).
    """
    path = f"{builder.__module__}.{builder.__qualname__}"
    if not path.startswith("lecture_lib.") or "<" in path:
        raise ValueError(f"builder must be a top-level class or function of lecture_lib, got {path}")
    if path not in BUILDERS:
        raise ValueError(f"builder {path} is not registered; add it to lecture_lib.checkpoints.BUILDERS")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return {"builder": path, "kwargs": dict(kwargs), "state_dict": state}


def build_model(entry: dict) -> nn.Module:
    """The network of a model entry (see ``model_entry``), weights loaded strictly, in eval mode."""
    if not isinstance(entry, dict) or not {"builder", "kwargs", "state_dict"} <= set(entry):
        got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ValueError(f"a model entry needs the keys builder, kwargs, state_dict; got {got}")
    module_name, _, attr = str(entry["builder"]).rpartition(".")
    if not module_name.startswith("lecture_lib"):
        raise ValueError(f"refusing to build {entry['builder']!r}: only lecture_lib builders are loaded")
    if entry["builder"] not in BUILDERS:
        raise ValueError(
            f"refusing to build {entry['builder']!r}: not a registered model builder "
            f"(lecture_lib.checkpoints.BUILDERS: {sorted(BUILDERS)})"
        )
    if not isinstance(entry["kwargs"], dict) or not all(isinstance(k, str) for k in entry["kwargs"]):
        raise ValueError(
            f"a model entry's kwargs must be a dict of keyword arguments, got {entry['kwargs']!r}"
        )
    builder = getattr(importlib.import_module(module_name), attr)
    model = builder(**entry["kwargs"])
    model.load_state_dict(entry["state_dict"])
    return model.eval()


def load_model(name: str, key: str = "model", *, folder: str | os.PathLike | None = None) -> nn.Module:
    """Build the network stored under ``key`` in checkpoint ``name``, load its verified weights, eval.

    Example: ``fcn = load_model("fcn_scenes.pt")``; ``clf = load_model("fcn_scenes.pt", "classifier")``.

    Raises:
        ValueError: the checkpoint has no model entry ``key`` (the message lists the ones it has).
    """
    ckpt = load_checkpoint(name, folder=folder)
    entries = sorted(k for k, v in ckpt.items() if isinstance(v, dict) and "builder" in v)
    if key not in entries:
        raise ValueError(f"{name} has no model entry {key!r}; it has {entries}")
    return build_model(ckpt[key])


def build_order(declared: list[str], needs: dict[str, tuple[str, ...]]) -> list[str]:
    """The checkpoints of ``declared`` in the order to build them: every one after those it
    ``needs`` (a recipe's ``NEEDS``: file -> files it loads), otherwise in declaration order.

    Raises:
        ValueError: a need no recipe builds, or a cycle (which files, in which order).
    """
    known = set(declared)
    for name, deps in needs.items():
        missing = [d for d in (name, *deps) if d not in known]
        if missing:
            raise ValueError(
                f"NEEDS of {name} names {missing}, which no recipe builds; known: {sorted(known)}"
            )
    order: list[str] = []
    state: dict[str, str] = {}  # name -> "visiting" | "done"

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name) :] + (name,)
            raise ValueError(f"the recipes' NEEDS form a cycle: {' -> '.join(cycle)}")
        state[name] = "visiting"
        for dep in needs.get(name, ()):
            visit(dep, (*path, name))
        state[name] = "done"
        order.append(name)

    for name in declared:
        visit(name, ())
    return order
