"""Smoke mode: the full profile executed offline on fixtures, on a CPU, in seconds (``make smoke-full``).

``LECTURE_SMOKE=1`` together with the full profile makes ``lecture_lib.setup`` call ``activate()``:

- the network is cut at the socket layer (``guard_network``): any connection to a host or name
  lookup raises ``NetworkBlocked`` (a ``BaseException``, so no ``except Exception`` can swallow
  it) and is logged to ``$LECTURE_SMOKE_LOG``, which the runner checks, so nothing hides a download;
- the full profile's datasets are tiny fixtures in their real on-disk layouts, written by the
  writers ``setup`` passes to ``activate`` (``lecture_lib.datasets.fixtures.write_all``) under
  ``cache_dir()/datasets`` (a temporary folder in smoke mode), read with ``download=False``
  (``lecture_lib.data.full_profile_dataset``). What the writers return is kept: code that checks
  downloads asks ``fixture(key)`` for the fixture's checksums or folders (LFW's SHA-256s in
  ``faces.pretrained``, gensim's data folder in ``embeddings.pretrained``), ``None`` outside smoke mode;
- ``lecture_lib.data.pretrained`` builds every torchvision model with ``weights=None``;
- ``lecture_lib.train.fit`` takes at most ``SMOKE_STEPS`` batches per epoch;
- quality floors are not applied: in the notebook, an ``assert`` whose condition holds an ordering
  comparison (``>=``, ``<`` ...: a floor or ceiling on a measured quality) that fails prints
  "smoke mode: quality floor not applied ..." instead of raising (logged too). Every other assert
  (equalities, shapes, ``allclose``) still raises.

This module imports nothing of the library: the library asks it (``active()``, ``fixture(key)``).
"""

from __future__ import annotations

import ast
import json
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SMOKE_STEPS = 2  # training batches per epoch in smoke mode
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "", None}


_ACTIVE = False
_FIXTURES: dict[str, Any] = {}  # what the fixture writers returned (checksums, folders), while active


def active() -> bool:
    """Smoke mode is on in this process (``activate()`` ran)."""
    return _ACTIVE


def fixture(key: str) -> Any:
    """What the fixture writers recorded under ``key`` (e.g. ``"lfw_files"``: LFW's file names ->
    (file URL, SHA-256) of the fixture; ``"gensim_data_dir"``), or ``None`` outside smoke mode."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__}")
    return _FIXTURES.get(key) if _ACTIVE else None


class NetworkBlocked(BaseException):
    """A network access in smoke mode (where everything must come from fixtures)."""


def _log(kind: str, detail: str) -> None:
    path = os.environ.get("LECTURE_SMOKE_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps({"kind": kind, "detail": detail}) + "\n")


def _blocked(what: str):
    _log("network", what)
    raise NetworkBlocked(
        f"smoke mode: network access refused ({what}); the full profile must run on fixtures"
    )


_ORIGINAL: dict[str, Any] = {}


def guard_network() -> None:
    """Refuse every IP connection and every non-local name lookup in this process (idempotent)."""
    if _ORIGINAL:
        return
    _ORIGINAL.update(
        connect=socket.socket.connect, connect_ex=socket.socket.connect_ex, getaddrinfo=socket.getaddrinfo
    )

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _blocked(f"connect to {address!r}")
        return _ORIGINAL["connect"](self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _blocked(f"connect to {address!r}")
        return _ORIGINAL["connect_ex"](self, address)

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in _LOCAL_HOSTS:
            _blocked(f"name lookup of {name!r}")
        return _ORIGINAL["getaddrinfo"](host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo


def unguard_network() -> None:
    """Undo ``guard_network`` (tests)."""
    if _ORIGINAL:
        socket.socket.connect = _ORIGINAL.pop("connect")  # type: ignore[method-assign]
        socket.socket.connect_ex = _ORIGINAL.pop("connect_ex")  # type: ignore[method-assign]
        socket.getaddrinfo = _ORIGINAL.pop("getaddrinfo")


def floor_not_applied(source: str) -> None:
    """What a failing quality assert does in smoke mode: say so (stdout) and log it."""
    why = f"fixture data, {SMOKE_STEPS} steps per epoch"
    print(f"smoke mode: quality floor not applied ({why}): assert {source}")
    _log("floor", source)


_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def is_quality_floor(test: ast.expr) -> bool:
    """Does an assert's condition compare measured values by order (a floor/ceiling)?"""
    return any(
        isinstance(node, ast.Compare) and any(isinstance(op, _ORDERING) for op in node.ops)
        for node in ast.walk(test)
    )


class FloorsToReports(ast.NodeTransformer):
    """``assert <ordering comparison>, msg`` -> ``if not (...): floor_not_applied("<source>")``."""

    def visit_Assert(self, node: ast.Assert):
        if not is_quality_floor(node.test):
            return node
        module = ast.Attribute(  # __import__("lecture_lib.smoke").smoke: no name needed in the notebook
            value=ast.Call(ast.Name("__import__", ast.Load()), [ast.Constant("lecture_lib.smoke")], []),
            attr="smoke",
            ctx=ast.Load(),
        )
        report = ast.Call(
            func=ast.Attribute(value=module, attr="floor_not_applied", ctx=ast.Load()),
            args=[ast.Constant(ast.unparse(node.test))],
            keywords=[],
        )
        new = ast.If(test=ast.UnaryOp(ast.Not(), node.test), body=[ast.Expr(report)], orelse=[])
        return ast.fix_missing_locations(ast.copy_location(new, node))


def _install_assert_transformer() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        return False
    ip = get_ipython()
    if ip is None:
        return False
    if not any(isinstance(t, FloorsToReports) for t in ip.ast_transformers):
        ip.ast_transformers.append(FloorsToReports())
    return True


def activate(root: str | os.PathLike, writers: Iterable[Callable[[Path], dict]] = ()) -> Path:
    """Enter smoke mode in this process (``setup`` calls it): network guard, fixtures, floors.

    Args:
        root: the fixtures' folder (``setup`` passes ``cache_dir()/datasets``).
        writers: each is called with ``root`` and writes its fixtures there; the dicts they return
            are merged and answered by ``fixture(key)``.

    Returns the fixtures' folder.
    """
    global _ACTIVE
    root = Path(root)
    guard_network()
    _ACTIVE = True
    _FIXTURES.clear()
    for write in writers:
        _FIXTURES.update(write(root))
    _install_assert_transformer()
    return root


def deactivate() -> None:
    """Leave smoke mode (tests): network back, fit/pretrained/datasets behave normally again."""
    global _ACTIVE
    _ACTIVE = False
    _FIXTURES.clear()
    unguard_network()
