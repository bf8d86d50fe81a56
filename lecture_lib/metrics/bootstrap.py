"""Paired bootstrap intervals over test items (and training seeds) for the claims' estimates.

``paired_bootstrap(scores_a, scores_b)`` estimates ``mean(a) - mean(b)`` where ``a[i]`` and
``b[i]`` are two methods' scores on the same test item ``i`` (accuracy 0/1, IoU, PCK, AUC per
fold ...): each resample draws the *same* items for both, so what the two share (hard items,
easy items) cancels, as a paired test does. With scores of shape ``(S, N)`` (S training seeds x
N items) each resample also draws S seeds with replacement (a two-way bootstrap), so the interval
covers the seed-to-seed spread of training as well as the choice of test items.

For statistics that are not means over items (mAP), ``bootstrap_statistic(fn, n_items)`` calls
``fn(item_idx)`` on each resample's item indices; ``metrics.bootstrap_map`` is the detection
version (its samples give a paired difference through ``Estimate.from_samples``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lecture_lib.claims import Estimate

MAX_RESAMPLE_CELLS = 50_000_000  # resamples x seeds x items held at once (~400 MB of float64)


def _scores(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (N,) or (S, N) (seeds x items), got {arr.shape}")
    if arr.shape[1] == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} needs at least one seed and one item, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has {int((~np.isfinite(arr)).sum())} NaN/inf score(s)")
    return arr


def _check_n(n_resamples: int, level: float) -> None:
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool) or n_resamples < 1000:
        raise ValueError(f"n_resamples must be an int >= 1000 (the claims' rule), got {n_resamples!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _describe(n_seeds: int, n_items: int, item: str) -> str:
    return f"{n_items} {item}" + (f" x {n_seeds} seeds" if n_seeds > 1 else "")


def paired_bootstrap(
    scores_a,
    scores_b=None,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    item: str = "items",
    unit: str = "",
) -> Estimate:
    """``mean(a) - mean(b)`` (or ``mean(a)`` without ``b``) with a paired percentile interval.

    Args:
        scores_a (array[N] or array[S, N]): per-item scores of method A (S training seeds).
        scores_b (same shape, optional): method B on the same items (and seeds, paired by index).
        n_resamples: bootstrap resamples (>= 1000). level: the interval's coverage.
        seed: the resampling seed; the same seed draws the same items for every comparison.
        item: what an item is ("images", "pairs", "questions"), for the estimate's ``n``.

    Returns:
        Estimate: point = the difference of means on all items and seeds; low/high = percentiles.
    """
    _check_n(n_resamples, level)
    a = _scores(scores_a, "scores_a")
    diff = a
    if scores_b is not None:
        b = _scores(scores_b, "scores_b")
        if b.shape != a.shape:
            raise ValueError(
                f"scores_a and scores_b must be paired (same shape), got {a.shape} and {b.shape}"
            )
        diff = a - b
    n_seeds, n_items = diff.shape
    rng = np.random.default_rng(seed)
    samples = np.empty(n_resamples)
    chunk = max(1, MAX_RESAMPLE_CELLS // (n_seeds * n_items))
    for start in range(0, n_resamples, chunk):
        k = min(chunk, n_resamples - start)
        items = rng.integers(0, n_items, size=(k, n_items))  # (k, N) the same items for A and B
        seeds = rng.integers(0, n_seeds, size=(k, n_seeds)) if n_seeds > 1 else np.zeros((k, 1), int)
        per_seed = diff[seeds[:, :, None], items[:, None, :]]  # (k, S, N)
        samples[start : start + k] = per_seed.mean(axis=(1, 2))
    return Estimate.from_samples(
        float(diff.mean()),
        samples,
        n=_describe(n_seeds, n_items, item),
        level=level,
        unit=unit,
        seeds=n_seeds,
    )


def bootstrap_statistic(
    fn: Callable[[np.ndarray], float],
    n_items: int,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    item: str = "items",
    unit: str = "",
) -> Estimate:
    """Any statistic of the test items: ``fn(item_idx)`` on all items, then on each resample.

    ``fn`` receives ``np.ndarray[int]`` of length ``n_items`` (indices, with repeats) and returns
    a number; for a paired comparison it computes both methods on the same indices and returns
    their difference.
    """
    _check_n(n_resamples, level)
    if not isinstance(n_items, (int, np.integer)) or isinstance(n_items, bool) or n_items < 1:
        raise ValueError(f"n_items must be a positive int, got {n_items!r}")
    rng = np.random.default_rng(seed)
    point = float(fn(np.arange(n_items)))
    samples = np.array([float(fn(rng.integers(0, n_items, size=n_items))) for _ in range(n_resamples)])
    return Estimate.from_samples(point, samples, n=f"{n_items} {item}", level=level, unit=unit)


def bootstrap_ratio(
    times_slow,
    times_fast,
    *,
    per: int = 1,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    item: str = "timed runs",
) -> Estimate:
    """How many times faster: ``median(times_slow) / median(times_fast)`` with a bootstrap interval.

    For timings of two methods measured *one after the other* (``train.timed``'s repeats): run
    ``i`` of one method has no partner in the other, so each resample draws the runs of the two
    methods independently (with replacement, as many as each has) and takes the ratio of their
    medians.

    Args:
        times_slow (array[Na]): seconds of each timed run of the slower method (> 0).
        times_fast (array[Nb]): seconds of each timed run of the faster method (> 0).
        per: how many images (or items) each run covered, for the estimate's ``n``; the ratio
            does not depend on it.
        n_resamples: bootstrap resamples (>= 1000). level: the interval's coverage.
        seed: the resampling seed. item: what a run is, for ``n``.

    Returns:
        Estimate: point = the ratio of the medians of all runs, unit ``"x"``;
        ``n`` = ``"5 + 5 timed runs of 4 images"``.
    """
    _check_n(n_resamples, level)
    slow = _scores(times_slow, "times_slow")
    fast = _scores(times_fast, "times_fast")
    if slow.shape[0] != 1 or fast.shape[0] != 1:
        raise ValueError(
            f"times_slow and times_fast must be 1-D (seconds per run), got {slow.shape} and {fast.shape}"
        )
    if (slow <= 0).any() or (fast <= 0).any():
        raise ValueError("timings must be positive seconds, got a run of <= 0 s")
    if isinstance(per, bool) or not isinstance(per, (int, np.integer)) or per < 1:
        raise ValueError(f"per must be a positive int (images per run), got {per!r}")
    slow, fast = slow[0], fast[0]
    rng = np.random.default_rng(seed)
    draw_slow = slow[rng.integers(0, len(slow), size=(n_resamples, len(slow)))]
    draw_fast = fast[rng.integers(0, len(fast), size=(n_resamples, len(fast)))]
    samples = np.median(draw_slow, axis=1) / np.median(draw_fast, axis=1)
    of = f" of {per} images" if per > 1 else ""
    return Estimate.from_samples(
        float(np.median(slow) / np.median(fast)),
        samples,
        n=f"{len(slow)} + {len(fast)} {item}{of}",
        level=level,
        unit="x",
    )
