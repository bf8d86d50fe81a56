"""The architecture line (AlexNet -> VGG -> GoogLeNet -> ResNet): VGG's table, and parameter counts,
depth and compute of classic CNNs measured from the real layers. Used in 01_cnn_recap.ipynb (slides
"Recap: AlexNet", "VGGNet", "GoogLeNet", "Residual Networks").

Models are built on PyTorch's ``meta`` device: every tensor has a shape but no storage, so
counting VGG-19's 144M parameters or ResNet-152's 11.5 G multiply-adds allocates nothing and
takes milliseconds. Multiply-adds are counted by ``torch.utils.flop_counter.FlopCounterMode``
(which counts 2 FLOPs per multiply-add); torchvision's model tables call the same number
"GFLOPS", and the tests check that they agree. The counters themselves are shared:
``lecture_lib.layers.count_parameters`` and ``count_multiply_adds``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torchvision
from torch import nn

from lecture_lib.checks import check_int
from lecture_lib.layers import count_multiply_adds, count_parameters

# VGG's Table 1 (Simonyan & Zisserman 2015), as on the slide: "conv<k>-<channels>", "LRN", "maxpool".
# Every config ends with FC-4096, FC-4096, FC-1000 and soft-max.
# One row per configuration, as in the paper's Table 1.
# fmt: off
VGG_CONFIGS: dict[str, list[str]] = {
    "A": ["conv3-64", "maxpool", "conv3-128", "maxpool", "conv3-256", "conv3-256", "maxpool",
          "conv3-512", "conv3-512", "maxpool", "conv3-512", "conv3-512", "maxpool"],
    "A-LRN": ["conv3-64", "LRN", "maxpool", "conv3-128", "maxpool", "conv3-256", "conv3-256", "maxpool",
              "conv3-512", "conv3-512", "maxpool", "conv3-512", "conv3-512", "maxpool"],
    "B": ["conv3-64", "conv3-64", "maxpool", "conv3-128", "conv3-128", "maxpool", "conv3-256", "conv3-256",
          "maxpool", "conv3-512", "conv3-512", "maxpool", "conv3-512", "conv3-512", "maxpool"],
    "C": ["conv3-64", "conv3-64", "maxpool", "conv3-128", "conv3-128", "maxpool", "conv3-256", "conv3-256",
          "conv1-256", "maxpool", "conv3-512", "conv3-512", "conv1-512", "maxpool", "conv3-512", "conv3-512",
          "conv1-512", "maxpool"],
    "D": ["conv3-64", "conv3-64", "maxpool", "conv3-128", "conv3-128", "maxpool", "conv3-256", "conv3-256",
          "conv3-256", "maxpool", "conv3-512", "conv3-512", "conv3-512", "maxpool", "conv3-512", "conv3-512",
          "conv3-512", "maxpool"],
    "E": ["conv3-64", "conv3-64", "maxpool", "conv3-128", "conv3-128", "maxpool", "conv3-256", "conv3-256",
          "conv3-256", "conv3-256", "maxpool", "conv3-512", "conv3-512", "conv3-512", "conv3-512", "maxpool",
          "conv3-512", "conv3-512", "conv3-512", "conv3-512", "maxpool"],
}
# fmt: on


def vgg_features(config: str) -> nn.Sequential:
    """The convolutional part of VGG configuration ``config`` ("A", "A-LRN", "B", "C", "D", "E").

    3x3 convs use padding 1 and 1x1 convs padding 0, so only the 2x2 max-poolings shrink the
    image; LRN uses AlexNet's settings (size 5, alpha 1e-4, beta 0.75, k 2), as the paper did.
    """
    if config not in VGG_CONFIGS:
        raise ValueError(f"config must be one of {list(VGG_CONFIGS)}, got {config!r}")
    layers: list[nn.Module] = []
    channels = 3
    for token in VGG_CONFIGS[config]:
        if token == "maxpool":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        elif token == "LRN":
            layers.append(nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
        else:  # "conv3-64" -> 3x3 kernel, 64 filters
            kernel, out = (int(v) for v in token.removeprefix("conv").split("-"))
            layers += [nn.Conv2d(channels, out, kernel, padding=kernel // 2), nn.ReLU(inplace=True)]
            channels = out
    return nn.Sequential(*layers)


def make_vgg(config: str, *, num_classes: int = 1000) -> torchvision.models.VGG:
    """VGG configuration ``config`` built from the table, inside torchvision's ``VGG`` class
    (so ``make_vgg("D")`` has exactly the layers of ``torchvision.models.vgg16``)."""
    check_int(num_classes, "num_classes", low=1)
    return torchvision.models.VGG(vgg_features(config), num_classes=num_classes, init_weights=False)


def count_weight_layers(model: nn.Module, *, skip: tuple[str, ...] = ("downsample", "aux")) -> int:
    """Conv2d + Linear layers, the "depth" in "VGG-16" and "ResNet-152".

    Layers whose qualified name contains one of ``skip`` are not counted: ResNet's 1x1
    projection shortcuts (``downsample``) and GoogLeNet's auxiliary classifiers are not on the
    main path, and the papers do not count them.
    """
    return sum(
        1
        for name, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and not any(s in name for s in skip)
    )


def on_meta(builder: Callable[..., nn.Module], **kwargs) -> nn.Module:
    """``builder(**kwargs)`` constructed on the meta device: shapes only, nothing allocated."""
    with torch.device("meta"):
        return builder(**kwargs)


# torchvision builders of the architecture line, randomly initialised (weights=None: no download).
TORCHVISION_MODELS: dict[str, Callable[[], nn.Module]] = {
    "alexnet": partial(torchvision.models.alexnet, weights=None),
    "vgg11": partial(torchvision.models.vgg11, weights=None),
    "vgg16": partial(torchvision.models.vgg16, weights=None),
    "vgg19": partial(torchvision.models.vgg19, weights=None),
    "googlenet": partial(torchvision.models.googlenet, weights=None, aux_logits=False, init_weights=True),
    "resnet18": partial(torchvision.models.resnet18, weights=None),
    "resnet50": partial(torchvision.models.resnet50, weights=None),
    "resnet152": partial(torchvision.models.resnet152, weights=None),
}


@dataclass(frozen=True)
class ModelStats:
    """What ``measure`` found for one model (224x224 RGB input unless said otherwise)."""

    name: str
    params: int
    weight_layers: int
    multiply_adds: int


def measure(
    name: str, model: nn.Module | None = None, *, input_shape: tuple[int, ...] = (1, 3, 224, 224)
) -> ModelStats:
    """Parameters, depth and multiply-adds of ``model``, or of ``TORCHVISION_MODELS[name]`` built on meta."""
    if model is None:
        if name not in TORCHVISION_MODELS:
            raise ValueError(f"name must be one of {list(TORCHVISION_MODELS)} (or pass model=), got {name!r}")
        model = on_meta(TORCHVISION_MODELS[name])
    return ModelStats(
        name, count_parameters(model), count_weight_layers(model), count_multiply_adds(model, input_shape)
    )


def torchvision_reference(name: str) -> dict[str, float]:
    """torchvision's published figures for ``name`` (ImageNet-1k weights metadata; offline).

    Returns:
        dict: ``num_params``, ``gmacs`` (torchvision's "GFLOPS" column), ``top5_error`` (percent,
        single 224 crop) of the ``IMAGENET1K_V1`` weights, trained with the original recipe.
    """
    if name not in TORCHVISION_MODELS:
        raise ValueError(f"name must be one of {list(TORCHVISION_MODELS)}, got {name!r}")
    meta = torchvision.models.get_model_weights(name)["IMAGENET1K_V1"].meta
    acc5 = meta["_metrics"]["ImageNet-1K"]["acc@5"]
    return {"num_params": meta["num_params"], "gmacs": meta["_ops"], "top5_error": round(100.0 - acc5, 3)}


# LeNet-5's Table I (LeCun et al. 1998): the S2 maps (0-5) each of C3's 16 maps reads.
LENET5_C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2),
    (1, 2, 3),
    (2, 3, 4),
    (3, 4, 5),
    (0, 4, 5),
    (0, 1, 5),
    (0, 1, 2, 3),
    (1, 2, 3, 4),
    (2, 3, 4, 5),
    (0, 3, 4, 5),
    (0, 1, 4, 5),
    (0, 1, 2, 5),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def lenet5_parameter_counts(
    c3_table: tuple[tuple[int, ...], ...] = LENET5_C3_TABLE,
    *,
    trainable_pooling: bool = True,
    output: str = "rbf",
    num_classes: int = 10,
) -> dict[str, int]:
    """Trainable parameters of LeNet-5 per layer, counted from its description (LeCun et al. 1998,
    Sec. II.B): C1 6 maps of 5x5 (+bias), S2/S4 one coefficient and one bias per map (when
    ``trainable_pooling``), C3 16 maps of 5x5 over the S2 maps ``c3_table`` lists (+bias), C5 120
    units over 16x5x5, F6 84 units, and the output: ``"rbf"`` (the paper's, fixed by hand: 0
    trainable) or ``"linear"`` (``num_classes`` units with bias, as ``cnn.LeNet``).

    ``c3_table``: one tuple of S2 map indices (0-5) per C3 map; pass ``tuple([tuple(range(6))] * 16)``
    for the full connection of ``cnn.LeNet``.

    Returns:
        dict: ``{"C1": 156, "S2": 12, "C3": ..., "S4": 32, "C5": 48120, "F6": 10164, "output": ...}``.
    """
    if (
        not isinstance(c3_table, tuple)
        or len(c3_table) != 16
        or not all(
            isinstance(c, tuple) and c and set(c) <= set(range(6)) and len(set(c)) == len(c) for c in c3_table
        )
    ):
        raise ValueError(f"c3_table must be 16 tuples of distinct S2 map indices 0-5, got {c3_table!r}")
    if output not in ("rbf", "linear"):
        raise ValueError(f"output must be 'rbf' (the paper's) or 'linear', got {output!r}")
    check_int(num_classes, "num_classes", low=1)
    pool = 2 if trainable_pooling else 0
    return {
        "C1": 6 * (5 * 5 + 1),
        "S2": 6 * pool,
        "C3": sum(len(inputs) for inputs in c3_table) * 5 * 5 + 16,
        "S4": 16 * pool,
        "C5": 120 * (16 * 5 * 5 + 1),
        "F6": 84 * (120 + 1),
        "output": 0 if output == "rbf" else num_classes * (84 + 1),
    }
