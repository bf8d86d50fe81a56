"""Experiments on the CNN recap's nets: plain vs residual nets trained at growing depth
(``depth_sweep``, "why skip connections") and the activation maps of any layer
(``activation_maps``, slide "Recap: Activation Maps"). Used in 01_cnn_recap.ipynb.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lecture_lib.checks import check_int, check_number, check_tensor
from lecture_lib.cnn.models import deep_net
from lecture_lib.runtime import evaluating
from lecture_lib.train import fit


def depth_sweep(
    depths: Sequence[int],
    x: Tensor,
    y: Tensor,
    *,
    residual: bool,
    norm: bool = False,
    epochs: int = 6,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[str, list]:
    """Train ``deep_net(depth, ...)`` for each depth, the same short while on the same batches.

    Args:
        depths: e.g. ``(4, 8, 16, 32)``.
        x (Tensor[N, C, H, W]), y (Tensor[N]): the training set (classification).
        residual, norm: passed to ``deep_net``.
        epochs, batch_size, lr: Adam, identical for every depth; initialisation and batches drawn
            with ``seed`` (inside ``torch.random.fork_rng``: the global RNG is not changed).
        device: where to train.

    Returns:
        dict with lists over depths: ``"depth"``, ``"final_loss"`` (mean train loss of the last
        epoch), ``"grad_norm"`` (first-layer weight-gradient norm averaged over all steps),
        ``"grad_norm_init"`` (at the first step), ``"train_loss"`` (per-epoch curves) and
        ``"item_loss"`` (Tensor[N] per depth: each training example's cross-entropy under the
        trained net in eval mode, the per-item scores a paired bootstrap resamples).
    """
    check_tensor(x, "x", dtype="float")
    check_tensor(y, "y", dtype="int")
    if x.ndim != 4 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(
            f"need x [N, C, H, W] and y [N] with N > 0, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    check_tensor(x, "x", finite=True)
    if int(y.min()) < 0:
        raise ValueError(f"y must hold class indices >= 0, got min {int(y.min())}")
    if isinstance(depths, (str, bytes)) or not isinstance(depths, Sequence) or not depths:
        raise ValueError(f"depths must be a non-empty sequence of even ints >= 4, got {depths!r}")
    check_int(epochs, "epochs", low=1)
    check_int(batch_size, "batch_size", low=1)
    check_int(seed, "seed", low=None)
    check_number(lr, "lr", low=0.0, low_open=True)
    result: dict[str, list] = {
        "depth": [],
        "final_loss": [],
        "grad_norm": [],
        "grad_norm_init": [],
        "train_loss": [],
        "item_loss": [],
    }
    for depth in depths:
        with (
            torch.random.fork_rng()
        ):  # the same initialisation for every depth; the caller's RNG is untouched
            torch.manual_seed(seed)
            net = deep_net(
                depth, residual=residual, norm=norm, in_channels=x.shape[1], num_classes=int(y.max()) + 1
            )
            norms: list[float] = []
            first = net.get_parameter("0.weight")
            handle = first.register_hook(
                lambda g, norms=norms: norms.append(float(g.norm()))
            )  # inside backward()
            loader = torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(x, y),
                batch_size=batch_size,
                shuffle=True,
                generator=torch.Generator().manual_seed(seed),
            )
            history = fit(net, loader, epochs=epochs, lr=lr, device=device, progress=False)
            handle.remove()
            with evaluating(net), torch.no_grad():
                logits = torch.cat([net(xb.to(device)).cpu() for xb in x.split(batch_size)])
            item_loss = nn.functional.cross_entropy(logits, y, reduction="none")  # [N]
        result["depth"].append(depth)
        result["final_loss"].append(history.train_loss[-1])
        result["grad_norm"].append(sum(norms) / len(norms))
        result["grad_norm_init"].append(norms[0])
        result["train_loss"].append(history.train_loss)
        result["item_loss"].append(item_loss)
    return result


@torch.no_grad()
def activation_maps(model: nn.Module, layer: str, x: Tensor) -> Tensor:
    """Output of the submodule named ``layer`` (e.g. ``"features.0"``) for input ``x`` ``[B, C, H, W]``.

    Returns:
        Tensor[B, C_layer, H_layer, W_layer]: each channel is one activation map, a depth slice
        through the layer's output volume.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_tensor(x, "x", "(B, C, H, W)", dtype="float")
    names = dict(model.named_modules())
    if layer not in names or layer == "":
        raise ValueError(
            f"layer must name a submodule of the model, one of {[n for n in names if n]}, got {layer!r}"
        )
    captured: list[Tensor] = []

    def grab(module: nn.Module, inputs: tuple, output: Tensor) -> None:
        captured.append(output)
        raise _StopForward  # the layers after `layer` are not needed (and may not fit x's size)

    handle = names[layer].register_forward_hook(grab)
    try:
        with evaluating(model):
            model(x)
    except _StopForward:
        pass
    finally:
        handle.remove()
    return captured[0]


class _StopForward(Exception):
    pass
