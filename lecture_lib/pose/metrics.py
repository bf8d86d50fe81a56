"""PCK (percentage of correct keypoints), the LSP/FLIC pose measure, and the torso size it uses.

PCK@a counts a joint as correct if its error is at most ``a`` times a per-image length: the torso
size for PCK@0.2 (LSP's protocol, torso = distance from the left shoulder to the right hip), or the
head size for PCKh (MPII).
"""

from __future__ import annotations

import torch
from torch import Tensor

from lecture_lib.checks import check_tensor
from lecture_lib.datasets.people import FLIP, JOINTS

LEFT_SHOULDER, RIGHT_HIP = JOINTS.index("left shoulder"), JOINTS.index("right hip")


def _check(pred: Tensor, target: Tensor, visible: Tensor, normalize: Tensor) -> None:
    if not isinstance(pred, Tensor) or pred.ndim != 3 or pred.shape[-1] != 2:
        got = tuple(pred.shape) if isinstance(pred, Tensor) else type(pred).__name__
        raise ValueError(f"pred must be a Tensor of shape (N, K, 2), got {got}")
    if not isinstance(target, Tensor) or target.shape != pred.shape:
        got = tuple(target.shape) if isinstance(target, Tensor) else type(target).__name__
        raise ValueError(f"target must have the shape of pred {tuple(pred.shape)}, got {got}")
    n, k = pred.shape[:2]
    if not isinstance(visible, Tensor) or visible.shape != (n, k):
        got = tuple(visible.shape) if isinstance(visible, Tensor) else type(visible).__name__
        raise ValueError(f"visible must be a Tensor of shape ({n}, {k}), got {got}")
    if not isinstance(normalize, Tensor) or normalize.shape != (n,):
        got = tuple(normalize.shape) if isinstance(normalize, Tensor) else type(normalize).__name__
        raise ValueError(f"normalize must be a Tensor of shape ({n},) (one length per image), got {got}")
    if (normalize <= 0).any():
        raise ValueError(f"normalize must be > 0 (pixels), got min {normalize.min().item()}")


def torso_size(keypoints: Tensor) -> Tensor:
    """LSP's PCK normaliser: distance from the left shoulder to the right hip.

    Args:
        keypoints (Tensor[N, 14, 2]): ground-truth joints in LSP order.

    Returns:
        Tensor[N]: torso size in pixels.
    """
    if not isinstance(keypoints, Tensor) or keypoints.ndim != 3 or keypoints.shape[1:] != (len(JOINTS), 2):
        got = tuple(keypoints.shape) if isinstance(keypoints, Tensor) else type(keypoints).__name__
        raise ValueError(f"keypoints must be a Tensor of shape (N, {len(JOINTS)}, 2) in LSP order, got {got}")
    return (keypoints[:, LEFT_SHOULDER] - keypoints[:, RIGHT_HIP]).norm(dim=-1)


def correct_keypoints(pred: Tensor, target: Tensor, threshold: float, normalize: Tensor) -> Tensor:
    """Tensor[N, K] bool: ``||pred - target|| <= threshold * normalize[n]`` (visibility not applied)."""
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or threshold < 0:
        raise ValueError(f"threshold must be a number >= 0, got {threshold!r}")
    dims = check_tensor(pred, "pred", "(N, K, 2)", dtype="number")
    check_tensor(target, "target", "(N, K, 2)", dtype="number", sizes=dims)
    check_tensor(normalize, "normalize", "(N,)", dtype="number", sizes={"N": dims["N"]})
    err = (pred.float() - target.float()).norm(dim=-1)  # (N, K) pixels
    return err <= threshold * normalize.float()[:, None]


def pck(pred: Tensor, target: Tensor, visible: Tensor, threshold: float, normalize: Tensor) -> float:
    """Fraction of visible joints whose error is at most ``threshold * normalize[n]``.

    Args:
        pred (Tensor[N, K, 2]), target (Tensor[N, K, 2]): (x, y) pixels.
        visible (Tensor[N, K] bool): which joints count.
        threshold: the alpha of PCK@alpha (0.2 for LSP's PCK@0.2).
        normalize (Tensor[N]): per-image length in pixels (``torso_size`` for PCK, head size for PCKh).

    Returns:
        float in [0, 1].
    """
    _check(pred, target, visible, normalize)
    visible = visible.bool()
    if not visible.any():
        raise ValueError("pck needs at least one visible joint, got none")
    ok = correct_keypoints(pred, target, threshold, normalize)
    return (ok & visible).sum().item() / visible.sum().item()


def pck_per_joint(
    pred: Tensor, target: Tensor, visible: Tensor, threshold: float, normalize: Tensor
) -> Tensor:
    """Tensor[K]: PCK of each joint over the images where it is visible (nan if never visible)."""
    _check(pred, target, visible, normalize)
    visible = visible.bool()
    ok = correct_keypoints(pred, target, threshold, normalize) & visible
    return ok.sum(0).double() / visible.sum(0).double()


def pck_figure_scores(
    pred: Tensor, target: Tensor, visible: Tensor, threshold: float, normalize: Tensor
) -> Tensor:
    """Per-figure PCK scores for a bootstrap over test figures: their mean is ``pck(...)``.

    Figure ``n`` scores its correct visible joints divided by the mean number of visible joints
    per figure, so each figure weighs by its visible joints and ``scores.mean()`` is the pooled
    PCK; two models' scores on the same figures give their PCK difference as a mean of paired
    per-figure differences (``metrics.paired_bootstrap``). A figure without visible joints scores 0.

    Args:
        pred (Tensor[N, K, 2]), target (Tensor[N, K, 2]), visible (Tensor[N, K] bool),
        threshold, normalize (Tensor[N]): as in ``pck``.

    Returns:
        Tensor[N] float64.
    """
    _check(pred, target, visible, normalize)
    visible = visible.bool()
    if not visible.any():
        raise ValueError("pck_figure_scores needs at least one visible joint, got none")
    ok = correct_keypoints(pred, target, threshold, normalize) & visible
    return ok.sum(1).double() / visible.sum(1).double().mean()


def pck_curve(pred: Tensor, target: Tensor, visible: Tensor, thresholds, normalize: Tensor) -> list[float]:
    """PCK at each threshold in ``thresholds`` (a PCK-vs-threshold curve)."""
    return [pck(pred, target, visible, float(t), normalize) for t in thresholds]


def left_right_swap_rate(
    pred: Tensor, target: Tensor, visible: Tensor, threshold: float, normalize: Tensor
) -> float:
    """Share of visible left/right joints found on the mirrored side (pose's classic confusion).

    A joint ``j`` with a mirror joint ``FLIP[j]`` (all but neck and head top) counts as swapped
    when its prediction is correct for the mirror joint's target at PCK@``threshold`` but not
    for its own.

    Args:
        pred (Tensor[N, K, 2]), target (Tensor[N, K, 2]): (x, y) pixels in LSP order.
        visible (Tensor[N, K] bool): which joints count.
        threshold, normalize (Tensor[N]): as in ``pck``.

    Returns:
        float in [0, 1].
    """
    _check(pred, target, visible, normalize)
    lateral = torch.tensor([FLIP[j] != j for j in range(len(JOINTS))])
    counted = visible.bool() & lateral
    if not counted.any():
        raise ValueError("left_right_swap_rate needs at least one visible left/right joint, got none")
    own = correct_keypoints(pred, target, threshold, normalize)
    mirror = correct_keypoints(pred, target[:, list(FLIP)], threshold, normalize)
    return (mirror & ~own & counted).sum().item() / counted.sum().item()
