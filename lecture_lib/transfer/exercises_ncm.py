"""Exercise of 02_transfer_learning.ipynb: the nearest class mean on frozen features.

The slide "The Learned Features are Generic": chop off the last layer of a pretrained network and a
new classifier on its features reaches the state of the art with 6 training images per class. The
simplest such classifier needs no training at all: each class is represented by the mean of its
training features (its *prototype*), and a test image gets the class whose prototype is the most
similar by cosine similarity (Mensink et al. 2013, "nearest class mean"; Snell et al. 2017,
"prototypical networks"). The student writes it with its edge cases: a class without training
images, a prototype or a feature vector of length 0, ties, no test images.

The reference below is plain Python arithmetic in float64, independent of scikit-learn's
``NearestCentroid`` which the exercise refuses (and which ``tests/test_exercises_references.py``
compares it with).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lecture_lib.exercises import Case

NCM_TWINS = (
    "sklearn.neighbors.NearestCentroid",
    "sklearn.neighbors._nearest_centroid.NearestCentroid",
    "sklearn.metrics.pairwise.cosine_similarity",
    "sklearn.metrics.pairwise.cosine_distances",
    "torch.nn.functional.cosine_similarity",
    "torch.cosine_similarity",
    "torch.nn.CosineSimilarity",
)


def _unit(row: list[float]) -> list[float]:
    """``row`` scaled to length 1; a row of length 0 stays 0."""
    length = math.sqrt(sum(v * v for v in row))
    return [v / length for v in row] if length > 0 else [0.0] * len(row)


def nearest_class_mean(
    train_features: Tensor, train_labels: Tensor, test_features: Tensor, num_classes: int
) -> tuple[Tensor, Tensor]:
    """Nearest-class-mean classifier with cosine similarity.

    Every feature vector is scaled to length 1 (one of length 0 stays 0). The prototype of class
    ``c`` is the mean of its unit training vectors, scaled to length 1 again (a mean of length 0
    stays 0). ``scores[q, c]`` is the dot product of the unit test vector ``q`` with prototype
    ``c`` (their cosine similarity), ``-inf`` for a class without training examples; the
    prediction is the class with the highest score, the smallest class index on a tie.

    Args:
        train_features: ``[N, D]``; train_labels: ``[N]`` in ``[0, num_classes)``;
            test_features: ``[Q, D]`` (``Q`` may be 0); num_classes: ``C``.

    Returns:
        ``(predictions [Q] int64, scores [Q, C])``, scores in ``test_features``' dtype.
    """
    train = [_unit(row) for row in train_features.double().tolist()]
    labels = train_labels.tolist()
    prototypes: list[list[float] | None] = []
    for c in range(num_classes):
        members = [row for row, y in zip(train, labels) if y == c]
        if not members:
            prototypes.append(None)  # never predicted
            continue
        mean = [sum(column) / len(members) for column in zip(*members)]
        prototypes.append(_unit(mean))
    predictions, scores = [], []
    for row in test_features.double().tolist():
        q = _unit(row)
        similarity = [-math.inf if p is None else sum(a * b for a, b in zip(q, p)) for p in prototypes]
        predictions.append(similarity.index(max(similarity)))  # the first maximum: ties to the smaller class
        scores.append(similarity)
    return (
        torch.tensor(predictions, dtype=torch.int64),
        torch.tensor(scores, dtype=test_features.dtype).reshape(len(scores), num_classes),
    )


def _clusters(g: torch.Generator, n: int, d: int, c: int, q: int, name: str, spread: float = 0.8) -> Case:
    """``c`` classes around random centres in ``d`` dimensions, ``n`` training and ``q`` test vectors."""
    centres = torch.randn(c, d, generator=g)
    train_y = torch.arange(n) % c
    test_y = torch.randint(0, c, (q,), generator=g)
    train_x = centres[train_y] + spread * torch.randn(n, d, generator=g)
    test_x = centres[test_y] + spread * torch.randn(q, d, generator=g)
    return Case((train_x, train_y, test_x, c), name=name)


def ncm_cases() -> list[Case]:
    """The visible cases: clusters, 6 examples per class (the slide's number), a tie, an unseen class."""
    g = torch.Generator().manual_seed(23)
    tie = Case(
        (
            torch.tensor([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 0.0]]),
            torch.tensor([0, 0, 1]),
            torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 1.0]]),
            2,
        ),
        name="ties between two classes: the smaller class index",
    )
    absent = _clusters(g, 12, 5, 4, 6, "")
    return [
        _clusters(g, 30, 8, 3, 10, "3 classes, 10 training vectors each, 8 features"),
        _clusters(g, 60, 64, 10, 25, "10 classes, 6 training vectors each, 64 features"),
        tie,
        Case(
            (absent.args[0], absent.args[1].clamp(max=2), absent.args[2], 4),
            name="class 3 has no training vectors: never predicted, score -inf",
        ),
    ]


def ncm_hidden() -> list[Case]:
    """The hidden cases: scaled vectors, zero vectors, cancelling examples, no test vectors, ..."""
    g = torch.Generator().manual_seed(24)
    scaled = _clusters(g, 20, 6, 4, 12, "")
    scale = torch.logspace(-3, 3, 20)[:, None]  # cosine ignores the length: raw means would not
    cancel = Case(
        (
            torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]),
            torch.tensor([0, 0, 1, 2]),
            torch.tensor([[0.0, -1.0], [-1.0, 0.0], [3.0, 3.0]]),
            3,
        ),
        name="class 0's examples cancel out: a prototype of length 0",
    )
    zeros = _clusters(g, 9, 4, 3, 5, "")
    test_zeros = zeros.args[2].clone()
    test_zeros[1] = 0.0
    train_zeros = zeros.args[0].clone()
    train_zeros[0] = 0.0
    duplicate = _clusters(g, 8, 5, 2, 6, "")
    features, labels = duplicate.args[0], duplicate.args[1]
    one_shot = features[:2]  # one vector of class 0, one of class 1
    return [
        Case((scaled.args[0] * scale, *scaled.args[1:]), name="training vectors of very different lengths"),
        cancel,
        Case(
            (train_zeros, zeros.args[1], test_zeros, 3), name="a zero test vector and a zero training vector"
        ),
        Case(
            (torch.cat([one_shot, one_shot]), torch.tensor([0, 1, 2, 3]), features[2:], 4),
            name="one vector per class, classes 2 and 3 copy classes 0 and 1: ties",
        ),
        Case((features, labels, torch.zeros(0, 5), 2), name="no test vectors"),
        Case((features, torch.full_like(labels, 2), duplicate.args[2], 5), name="one class seen of 5"),
        _clusters(g, 40, 512, 8, 30, "512 features (ResNet-18's), 8 classes", spread=2.0),
    ]
