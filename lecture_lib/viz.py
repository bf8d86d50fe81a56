"""Figure helpers shared by the notebooks: image grids, filters, activation maps, curves.

Every helper takes ``ax=None`` (or a figure size), returns what it drew on, sets a title and
axis labels, and never changes global matplotlib state (only ``enable_accessible_figures``, which
``lecture_lib.setup()`` calls, sets the colour cycle).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from torch import Tensor

from lecture_lib.train import History


def to_numpy_image(img: Tensor | np.ndarray) -> np.ndarray:
    """``[C, H, W]`` / ``[H, W, C]`` / ``[H, W]`` tensor or array -> ``[H, W(, 3)]`` float array for imshow.

    Single-channel images lose their channel axis; values are not rescaled.
    """
    if isinstance(img, Tensor):
        img = img.detach().cpu().float().numpy()
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = np.moveaxis(img, 0, -1)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3):
        raise ValueError(f"expected an image [C, H, W], [H, W, C] or [H, W], got shape {img.shape}")
    return img


def show_images(
    images: Sequence | Tensor,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    cmap: str = "gray",
    size: float = 1.6,
    suptitle: str | None = None,
    normalize: bool = False,
):
    """Grid of images; returns the ``Figure``. ``images``: list of images or a ``[B, C, H, W]`` tensor."""
    images = list(images)
    if not images:
        raise ValueError("show_images() got no images")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= len(images):
            continue
        img = to_numpy_image(images[i])
        if normalize:
            lo, hi = float(img.min()), float(img.max())
            img = (img - lo) / (hi - lo + 1e-12)
        elif img.ndim == 3 and img.dtype.kind == "f":
            img = np.clip(img, 0.0, 1.0)
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_filters(weight: Tensor, *, ncols: int = 8, title: str = "learned filters", size: float = 1.0):
    """First-layer filters ``[C_out, C_in, kH, kW]``: each drawn as an image (RGB if ``C_in == 3``,
    else the channel mean), min-max normalised per filter. Returns the ``Figure``."""
    if weight.ndim != 4:
        raise ValueError(f"weight must be [C_out, C_in, kH, kW], got shape {tuple(weight.shape)}")
    w = weight.detach().cpu().float()
    w = w if w.shape[1] == 3 else w.mean(dim=1, keepdim=True)
    titles = [f"#{i}" for i in range(w.shape[0])]
    return show_images(list(w), titles, ncols=ncols, cmap="gray", size=size, suptitle=title, normalize=True)


def show_activation_maps(
    activations: Tensor,
    *,
    ncols: int = 8,
    title: str = "activation maps",
    max_maps: int = 32,
    size: float = 1.2,
):
    """Activation maps of one image ``[C, H, W]``: one depth slice each (slide "Activation Maps")."""
    if activations.ndim == 4:
        if activations.shape[0] != 1:
            raise ValueError(f"pass the activations of one image [C, H, W], got {tuple(activations.shape)}")
        activations = activations[0]
    if activations.ndim != 3:
        raise ValueError(f"activations must be [C, H, W], got shape {tuple(activations.shape)}")
    maps = list(activations[:max_maps].detach().cpu())
    titles = [f"slice {i}" for i in range(len(maps))]
    return show_images(maps, titles, ncols=ncols, cmap="viridis", size=size, suptitle=title)


def plot_history(
    history: History | Mapping[str, History],
    *,
    ax=None,
    title: str = "training loss",
    metric: str | None = None,
    logy: bool = False,
):
    """Training curve(s): per-epoch train loss, or ``history.metrics[metric]`` if given.

    ``history`` may be one ``History`` or a mapping ``label -> History`` (one line each).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    runs = history if isinstance(history, Mapping) else {"": history}
    for label, h in runs.items():
        values = h.train_loss if metric is None else h.metrics[metric]
        ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=label or None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" if metric is None else metric)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    if len(runs) > 1:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_lines(
    xs: Sequence,
    series: Mapping[str, Sequence],
    *,
    ax=None,
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    spread: Mapping[str, Sequence] | None = None,
):
    """Several labelled series over one x axis (``spread``: optional +- band per series)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for label, values in series.items():
        ys = np.asarray(values, dtype=float)
        line = ax.plot(xs, ys, marker="o", ms=3, label=label)[0]
        if spread is not None and label in spread:
            s = np.asarray(spread[label], dtype=float)
            ax.fill_between(xs, ys - s, ys + s, color=line.get_color(), alpha=0.2)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def show_image(img: Tensor | np.ndarray, *, ax=None, title: str = "", cmap: str | None = None):
    """One image on ``ax`` with its title and no axis ticks; returns the ``Axes``."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    arr = to_numpy_image(img)
    ax.imshow(arr, cmap=cmap if cmap else ("gray" if arr.ndim == 2 else None))
    ax.set_title(title)
    ax.set_axis_off()
    return ax


# ----------------------------------------------------------------------------------------------
# Accessibility: a colour-blind-safe colour cycle and alt text for every figure a notebook shows

# Okabe & Ito's palette: distinguishable with every common colour-vision deficiency.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def describe_figure(fig) -> str:
    """Alt text of a matplotlib figure from what it says about itself: its title, each panel's
    title and axis labels (``"Figure: training loss — loss vs epoch"``)."""
    parts = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        parts.append(suptitle.get_text())
    panels = []
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        text = ax.get_title()
        x, y = ax.get_xlabel(), ax.get_ylabel()
        if x or y:
            text += f" ({y or '?'} vs {x or '?'})" if text else f"{y or '?'} vs {x or '?'}"
        if text:
            panels.append(text)
    if panels:
        shown = panels[:6] + ([f"and {len(panels) - 6} more panels"] if len(panels) > 6 else [])
        parts.append("; ".join(shown))
    return "Figure: " + (" — ".join(parts) if parts else f"{len(fig.axes)} panel(s) without titles")


def enable_accessible_figures() -> bool:
    """Colour-blind-safe colour cycle, and alt text (``describe_figure``) attached to every figure
    a notebook displays (``image/png`` output metadata ``alt``, used by ``make book``).

    Called by ``lecture_lib.setup()``; returns False outside IPython (then only the colours change).
    """
    from cycler import cycler
    from matplotlib.figure import Figure

    plt.rcParams["axes.prop_cycle"] = cycler(color=list(OKABE_ITO))
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebooks
        return False
    shell = get_ipython()
    if shell is None:
        return False
    import matplotlib

    if "inline" in str(matplotlib.rcParams._get("backend")):
        # Loading the inline backend registers its PNG formatter; do it now so that ours wraps it
        # (otherwise the first figure would load the backend and replace our formatter).
        importlib.import_module("matplotlib_inline.backend_inline")
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        original = formatter.lookup_by_type(Figure)
    except KeyError:  # the inline backend is not active (e.g. a terminal IPython)
        return False
    if getattr(original, "_adds_alt_text", False):
        return True

    def png_with_alt(fig):
        data = original(fig)
        return (data, {"alt": describe_figure(fig)}) if data else data

    png_with_alt._adds_alt_text = True  # type: ignore[attr-defined]
    formatter.for_type(Figure, png_with_alt)
    return True
