"""Transfer learning: reuse a network trained on a big source task for a small target task.

Notebook: ``notebooks/02_transfer_learning.ipynb``. Slides (lecture 16): "Transfer Learning with
CNNs", "The Learned Features are Generic".

Public API:

- ``models``: ``SmallResNet`` (the quick profile's source network, built from
  ``lecture_lib.layers.ResidualBlock``).
- ``features`` (works on any ResNet-shaped net, torchvision's included): ``stage_names``,
  ``get_head``, ``chop_head``, ``extract_features``, ``stage_features``, ``freeze``,
  ``unfreeze_top``, ``replace_head``, ``trainable_names``, ``split_top``.
- ``experiment``: ``TransferTask`` (also importable from ``tasks``), ``METHODS``, ``per_class_indices``,
  ``linear_probe``, ``TransferRun``,
  ``run_transfer_experiment``, ``summarize``, ``correctness`` (per-item (seeds x items) scores),
  ``load_experiment`` (the stored runs of ``recipes.build_experiment``).
- ``tasks``: ``TransferTask``, ``load_task("glyphs->digits" | "imagenet->caltech256")``.
- ``recipes``: ``CHECKPOINTS`` (how ``data/transfer_glyphs_resnet.pt`` is trained, and
  ``data/transfer_experiment.pt``: the section-3 experiment with 5 seeds).
- ``pretrained`` (full profile): ``imagenet_resnet(arch, weights="DEFAULT")``, ``target_dataset``,
  ``split_tensors``, ``imagenet_to_caltech``.

Claims (issue 22): ``REGISTRY`` (``claims``): the registered lecture claims this concept's notebook
judges in its closing ledger (``Ledger(title, claims=REGISTRY)``).

Exercises (issue 25): ``exercises``: ``EXERCISES``, the exercises of 02_transfer_learning
(references, visible and hidden cases, refused shortcuts).
"""

from lecture_lib.transfer.claims import REGISTRY
from lecture_lib.transfer.exercises import EXERCISES
from lecture_lib.transfer.experiment import (
    METHODS,
    TransferRun,
    correctness,
    linear_probe,
    load_experiment,
    per_class_indices,
    run_transfer_experiment,
    summarize,
)
from lecture_lib.transfer.features import (
    chop_head,
    extract_features,
    freeze,
    get_head,
    replace_head,
    split_top,
    stage_features,
    stage_names,
    trainable_names,
    unfreeze_top,
)
from lecture_lib.transfer.models import SmallResNet
from lecture_lib.transfer.tasks import TransferTask, load_task

__all__ = [
    "METHODS",
    "SmallResNet",
    "TransferRun",
    "TransferTask",
    "chop_head",
    "correctness",
    "extract_features",
    "freeze",
    "get_head",
    "linear_probe",
    "load_experiment",
    "load_task",
    "per_class_indices",
    "replace_head",
    "run_transfer_experiment",
    "split_top",
    "stage_features",
    "stage_names",
    "summarize",
    "trainable_names",
    "unfreeze_top",
    "EXERCISES",
    "REGISTRY",
]
