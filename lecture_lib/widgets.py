"""Interactive explorers and the image upload, working on ipywidgets 7 (Colab) and 8.

Widgets only render in a live Jupyter front end. Where they do not (GitHub's notebook viewer,
nbval/CI, the committed outputs) ``explore`` draws one static figure with the default values
instead. ``LECTURE_STATIC_WIDGETS=1`` forces the static version (CI and ``tools/nb.py`` set it).
Importing this module needs no display.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable

from lecture_lib.io import load_image


def widgets_live() -> bool:
    """True in a Jupyter kernel with ipywidgets installed, unless ``LECTURE_STATIC_WIDGETS`` is set."""
    if os.environ.get("LECTURE_STATIC_WIDGETS", "") not in ("", "0"):
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def default_value(control, param_default=inspect.Parameter.empty):
    """The value ``interact`` would start with for an abbreviation ``control``.

    ``(lo, hi[, step])`` -> the function's default if given, else the midpoint (as ipywidgets);
    a list/tuple of options -> the first; a widget -> its ``value``; anything else -> itself.
    """
    if param_default is not inspect.Parameter.empty:
        return param_default
    if hasattr(control, "value"):
        return control.value
    if (
        isinstance(control, tuple)
        and 2 <= len(control) <= 3
        and all(isinstance(v, (int, float)) for v in control)
    ):
        lo, hi = control[0], control[1]
        mid = (lo + hi) / 2
        return int(round(mid)) if all(isinstance(v, int) for v in control) else mid
    if isinstance(control, (list, tuple)):
        if not control:
            raise ValueError("an options list for a control must not be empty")
        first = control[0]
        return first[1] if isinstance(first, tuple) and len(first) == 2 else first
    if isinstance(control, dict):
        return next(iter(control.values()))
    return control


def static_values(plot_fn: Callable, controls: dict) -> dict:
    """Keyword arguments for one static call of ``plot_fn``: each control's default value."""
    params = inspect.signature(plot_fn).parameters
    unknown = [name for name in controls if name not in params]
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise TypeError(f"{plot_fn.__name__}() has no parameter(s) {unknown}; it takes {list(params)}")
    return {
        name: default_value(c, params[name].default if name in params else inspect.Parameter.empty)
        for name, c in controls.items()
    }


def explore(plot_fn: Callable, **controls):
    """An ``interact``-style explorer with a static fallback.

    Args:
        plot_fn: draws a figure (and may print) for one setting of the controls.
        **controls: ipywidgets abbreviations: ``(lo, hi[, step])`` for a slider, a list of
            options for a dropdown, a bool for a checkbox, or a widget.

    Returns:
        The ``ipywidgets.interactive`` widget when live; otherwise ``plot_fn``'s return value
        for the default values (drawn as a static figure).
    """
    if not callable(plot_fn):
        raise TypeError(f"plot_fn must be callable, got {type(plot_fn).__name__}")
    kwargs = static_values(plot_fn, controls)
    if not widgets_live():
        return plot_fn(**kwargs)
    import ipywidgets
    from IPython.display import display

    widget = ipywidgets.interactive(plot_fn, **controls)
    display(widget)
    return widget


def uploaded_files(value) -> list[tuple[str, bytes]]:
    """``FileUpload.value`` as ``[(name, content bytes)]`` on ipywidgets 7 and 8.

    ipywidgets 7: ``{name: {"metadata": {...}, "content": bytes}}``;
    ipywidgets 8: ``({"name": ..., "content": memoryview, ...}, ...)``.
    """
    if isinstance(value, dict):  # ipywidgets 7
        return [(name, bytes(item["content"])) for name, item in value.items()]
    if isinstance(value, (tuple, list)):  # ipywidgets 8
        return [(item["name"], bytes(item["content"])) for item in value]
    raise TypeError(f"unexpected FileUpload value of type {type(value).__name__}")


def image_upload(on_image: Callable, *, description: str = "Upload an image", max_side: int = 512):
    """A "try your own picture" button: each uploaded image goes through ``load_image`` and then
    to ``on_image(image: np.ndarray[H, W, 3] uint8)``; unreadable files show a short message.

    Returns the widget box when live, else ``None`` (a note is printed instead).
    """
    if not widgets_live():
        print("(Run this notebook in Jupyter or Colab to upload your own image here.)")
        return None
    import ipywidgets
    from IPython.display import display

    upload = ipywidgets.FileUpload(accept="image/*", multiple=False, description=description)
    out = ipywidgets.Output()

    def handle(change):
        with out:
            out.clear_output(wait=True)
            for name, content in uploaded_files(change["new"]):
                try:
                    image = load_image(content, max_side=max_side)
                except (ValueError, TypeError, OSError) as exc:  # OSError: whatever PIL still raises
                    print(f"Could not use {name}: {exc}")
                    continue
                on_image(image)

    upload.observe(handle, names="value")
    box = ipywidgets.VBox([upload, out])
    display(box)
    return box
