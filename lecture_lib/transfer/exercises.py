"""The exercises of 02_transfer_learning.ipynb: references, visible and hidden cases, refused shortcuts.

- ``new_head(model, num_classes)``: freeze a pretrained network and give it a fresh head.
- ``train_linear_head(features, labels, num_classes, steps, lr)``: the "fixed feature extractor"
  head as softmax regression trained by hand, gradient and all (about 12 lines).
- ``prepare_finetune(model, num_classes, k)``: "finetune top k": a fresh head, the top ``k``
  stages trainable again, and the number of parameters that will train (about 10 lines).
- ``nearest_class_mean(train_features, train_labels, test_features, num_classes)``: a classifier
  on frozen features without training: cosine similarity to each class's mean feature, with
  unseen classes and ties (about 15 lines; reference and cases in ``exercises_ncm``).

The answers are models; the comparison (``compare_models``) says which property failed: the head's
type and size, which parameters train, or which pretrained weight changed. The cases build
deterministic networks of the notebook's shape (stem, ``layer1..layer3``, ``fc``)
and torchvision's ResNet-18 (four stages), never the notebook's own.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
import torchvision
from torch import Tensor, nn

from lecture_lib.exercises import AUTOGRAD, LOOSE, Case, Exercise, Exercises
from lecture_lib.plain import to_plain
from lecture_lib.transfer.exercises_ncm import NCM_TWINS, ncm_cases, ncm_hidden, nearest_class_mean


def new_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Every parameter frozen; ``model.fc`` replaced by a trainable
    ``Linear(fc.in_features, num_classes)``."""
    for p in model.parameters():
        p.requires_grad = False
    head = model.fc
    if not isinstance(head, nn.Linear):
        raise TypeError(f"model.fc must be an nn.Linear (the head), got {type(head).__name__}")
    model.fc = nn.Linear(head.in_features, num_classes)
    return model


def prepare_finetune(model: nn.Module, num_classes: int, k: int) -> tuple[nn.Module, int]:
    """``new_head``, then the last ``k`` children named ``layer*`` trainable again; returns
    ``(model, number of trainable parameters)``."""
    new_head(model, num_classes)
    stages = [name for name, _ in model.named_children() if name.startswith("layer")]
    for name in stages[len(stages) - k :] if k > 0 else []:
        for p in getattr(model, name).parameters():
            p.requires_grad = True
    return model, sum(p.numel() for p in model.parameters() if p.requires_grad)


def _small(seed: int, widths: tuple[int, int, int] = (8, 16, 32)) -> nn.Module:
    """A pretrained-like network of the notebook's shape: stem ``conv1, bn1``, stages ``layer1..3``,
    head ``fc`` (12 classes: no case asks for 12). Built from torch classes only, so that the cases
    pickle for the grader without ``lecture_lib``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        a, b, c = widths
        layers = OrderedDict(
            conv1=nn.Conv2d(1, a, 3, padding=1, bias=False),
            bn1=nn.BatchNorm2d(a),
            relu=nn.ReLU(),
            layer1=nn.Sequential(nn.Conv2d(a, a, 3, padding=1), nn.BatchNorm2d(a), nn.ReLU()),
            layer2=nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1), nn.BatchNorm2d(b), nn.ReLU()),
            layer3=nn.Sequential(nn.Conv2d(b, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.ReLU()),
            avgpool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            fc=nn.Linear(c, 12),
        )
        return nn.Sequential(layers).eval()


def _resnet18(seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torchvision.models.resnet18(weights=None, num_classes=1000).eval()


def _plain(value: Any) -> Any:
    return to_plain(value) if isinstance(value, nn.Module) else value


def compare_models(got: Any, expected: Any) -> str | None:
    """``None`` if the model ``got`` has the properties of ``expected`` (the reference's answer on
    the same pretrained network), else which one failed. Models may arrive as ``nn.Module`` or as
    the plain dict of ``lecture_lib.plain.to_plain``."""
    got, expected = _plain(got), _plain(expected)
    if not isinstance(got, dict) or "parameters" not in got:
        return f"expected the model (an nn.Module), got {type(got).__name__}"
    params, want = got["parameters"], expected["parameters"]
    if set(params) != set(want):
        missing, extra = sorted(set(want) - set(params)), sorted(set(params) - set(want))
        return (
            f"the parameters differ: missing {missing[:4]}, unexpected {extra[:4]} (is the head called fc?)"
        )
    fc_w, want_fc = params["fc.weight"][0], want["fc.weight"][0]
    if tuple(fc_w.shape) != tuple(want_fc.shape):
        return (
            f"the head fc must map {want_fc.shape[1]} features to {want_fc.shape[0]} classes: "
            f"its weight has shape {tuple(fc_w.shape)}, expected {tuple(want_fc.shape)}"
        )
    trainable = {n for n, (_, grad) in params.items() if grad}
    should = {n for n, (_, grad) in want.items() if grad}
    if trainable != should:
        frozen, loose = sorted(should - trainable), sorted(trainable - should)
        return (
            f"which parameters train is wrong: frozen but should train {frozen[:4]}, "
            f"train but should be frozen {loose[:4]}"
        )
    for name, (value, _) in want.items():
        if not name.startswith("fc.") and not torch.equal(params[name][0], value):
            return f"the pretrained weight {name} changed: it must keep its pretrained value"
    for name, value in expected["buffers"].items():
        if not torch.equal(got["buffers"].get(name, torch.empty(0)), value):
            return f"the buffer {name} (BatchNorm statistics) changed"
    return None


def compare_finetune(got: Any, expected: Any) -> str | None:
    """``(model, n_trainable)`` pairs: the count first, then the model (``compare_models``)."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a pair (model, n_trainable), got {type(got).__name__}"
    if type(got[1]) is not int:
        return f"n_trainable must be an int, got {type(got[1]).__name__}"
    model_reason = compare_models(got[0], expected[0])
    if model_reason:
        return model_reason
    if got[1] != expected[1]:
        return f"n_trainable: expected {expected[1]:,} trainable parameters, got {got[1]:,}"
    return None


def _head_cases() -> list[Case]:
    return [Case((_small(0), n), name=f"{n} new classes") for n in (3, 7)]


def _head_hidden() -> list[Case]:
    return [
        Case((_small(1, (4, 4, 4)), 1), name="one output"),
        Case((_small(2, (16, 32, 64)), 100), name="100 classes, wider net"),
        Case((_small(8, (8, 8, 8)), 12), name="as many classes as the old head"),
        Case((_resnet18(3), 5), name="torchvision ResNet-18"),
    ]


def _finetune_cases() -> list[Case]:
    return [
        Case((_small(0), n, k), name=f"k={k} of 3 stages, {n} classes")
        for n, k in [(10, 0), (10, 1), (10, 3), (3, 2)]
    ]


def _finetune_hidden() -> list[Case]:
    return [
        Case((_small(4, (4, 8, 8)), 2, 0), name="k=0: fixed feature extractor"),
        Case((_small(5, (4, 8, 8)), 1, 3), name="k = all stages: the stem stays frozen"),
        Case((_resnet18(6), 7, 2), name="torchvision ResNet-18, k=2 of 4"),
        Case((_resnet18(7), 20, 4), name="torchvision ResNet-18, k=4 of 4"),
    ]


def train_linear_head(
    features: Tensor, labels: Tensor, num_classes: int, steps: int = 50, lr: float = 0.5
) -> tuple[Tensor, Tensor]:
    """Softmax regression on frozen features by full-batch gradient descent from zeros.

    Args:
        features: ``[N, D]``; labels: ``[N]`` in ``[0, num_classes)``; ``steps`` updates of size ``lr``
            on the mean cross-entropy.

    Returns:
        ``(weight [D, C], bias [C])`` in the dtype of ``features``; logits are ``features @ weight + bias``.
    """
    x = features.double()
    n, d = x.shape
    weight, bias = (
        torch.zeros(d, num_classes, dtype=torch.float64),
        torch.zeros(num_classes, dtype=torch.float64),
    )
    onehot = torch.zeros(n, num_classes, dtype=torch.float64)
    onehot[torch.arange(n), labels] = 1.0
    for _ in range(steps):
        logits = x @ weight + bias
        p = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
        err = (p / p.sum(dim=1, keepdim=True) - onehot) / n  # d mean-CE / d logits
        weight, bias = weight - lr * x.T @ err, bias - lr * err.sum(dim=0)
    return weight.to(features.dtype), bias.to(features.dtype)


def _probe_case(g: torch.Generator, n: int, d: int, c: int, name: str, **kwargs: float) -> Case:
    teacher = torch.randn(d, c, generator=g)
    x = torch.randn(n, d, generator=g)
    return Case((x, (x @ teacher).argmax(dim=1), c), dict(kwargs), name=name)


def _probe_cases() -> list[Case]:
    g = torch.Generator().manual_seed(21)
    return [
        _probe_case(g, 20, 5, 3, "20 examples, 5 features, 3 classes"),
        _probe_case(g, 64, 16, 10, "64 examples, 16 features, 10 classes, 30 steps", steps=30),
    ]


def _probe_hidden() -> list[Case]:
    g = torch.Generator().manual_seed(22)
    absent = _probe_case(g, 12, 4, 3, "")
    labels = absent.args[1].clamp(max=1)  # class 2 never appears: its logit only goes down
    return [
        _probe_case(g, 1, 3, 2, "one example"),
        _probe_case(g, 10, 3, 2, "zero steps: zeros", steps=0),
        Case((absent.args[0], labels, 3), name="a class without examples"),
        _probe_case(g, 40, 6, 4, "a small learning rate, more steps", steps=100, lr=0.1),
        _probe_case(g, 30, 512, 5, "512 features (ResNet-18's), 5 classes", steps=20, lr=0.1),
    ]


PLAIN_PYTORCH = (
    "lecture_lib.transfer.freeze",
    "lecture_lib.transfer.features.freeze",
    "lecture_lib.transfer.unfreeze_top",
    "lecture_lib.transfer.features.unfreeze_top",
    "lecture_lib.transfer.replace_head",
    "lecture_lib.transfer.features.replace_head",
    "lecture_lib.transfer.trainable_names",
    "lecture_lib.transfer.features.trainable_names",
    "lecture_lib.layers.count_parameters",
    "lecture_lib.transfer.split_top",
    "lecture_lib.transfer.features.split_top",
)

EXERCISES = Exercises(
    "02_transfer_learning",
    [
        Exercise(
            name="new_head",
            title="replace the head and freeze the rest",
            reference=new_head,
            cases=_head_cases,
            hidden=_head_hidden,
            forbidden=PLAIN_PYTORCH,
            compare=compare_models,
        ),
        Exercise(
            name="prepare_finetune",
            title="finetune the top k stages",
            reference=prepare_finetune,
            cases=_finetune_cases,
            hidden=_finetune_hidden,
            forbidden=PLAIN_PYTORCH,
            compare=compare_finetune,
            points=2,
        ),
        Exercise(
            name="train_linear_head",
            title="a linear head trained by hand",
            reference=train_linear_head,
            cases=_probe_cases,
            hidden=_probe_hidden,
            forbidden=(
                *AUTOGRAD,
                "torch.optim.SGD",
                "torch.optim.Adam",
                "torch.optim.LBFGS",
                "torch.linalg.lstsq",
                "torch.nn.functional.cross_entropy",
                "sklearn.linear_model.LogisticRegression",
                "lecture_lib.train.fit",
            ),
            compare=LOOSE,
            points=3,
        ),
        Exercise(
            name="nearest_class_mean",
            title="nearest class mean on frozen features",
            reference=nearest_class_mean,
            cases=ncm_cases,
            hidden=ncm_hidden,
            forbidden=NCM_TWINS,
            compare=LOOSE,
            points=2,
        ),
    ],
)
