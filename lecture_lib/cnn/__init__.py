"""CNN recap: convolution, pooling, receptive fields and the architecture line LeNet -> ResNet.

Notebook: ``notebooks/01_cnn_recap.ipynb``. Slides (lecture 16): "Recap: Intuition of CNNs",
"Convolution Layers", "Pooling Layers", "Effect of Multiple Convolution Layers", "Recap:
Convolutional Neural Networks", "AlexNet", "VGGNet", "GoogLeNet", "Residual Networks".

Public API:

- ``conv`` (the slide's ideas, written out): ``conv_output_size``, ``conv2d``, ``receptive_field``,
  ``layer_geometry``, ``measured_receptive_field``, ``shift``, ``shift_changes`` (per image),
  ``shift_sensitivity``.
- ``models`` (the nets): ``LeNet``, ``InceptionModule``, ``TwoConvBlock``, ``deep_net``. ResNet's
  residual block is the shared ``lecture_lib.layers.ResidualBlock``.
- ``experiments``: ``depth_sweep`` (plain vs residual nets at growing depth), ``activation_maps``.
- ``architectures`` (the architecture line): ``VGG_CONFIGS``, ``vgg_features``, ``make_vgg``,
  ``count_weight_layers``, ``on_meta``, ``LENET5_C3_TABLE``, ``lenet5_parameter_counts``,
  ``TORCHVISION_MODELS``, ``ModelStats``, ``measure``,
  ``torchvision_reference``. Parameter and multiply-add counts: ``lecture_lib.layers``.
- ``pretrained`` (full profile): ``imagenet_classifier(arch, weights="DEFAULT")``, ``image_transform``.

Claims (issue 22): ``REGISTRY`` (``claims``): the registered lecture claims this concept's notebook
judges in its closing ledger (``Ledger(title, claims=REGISTRY)``).

Exercises (issue 25): ``exercises``: ``EXERCISES``, the exercises of 01_cnn_recap (references,
visible and hidden cases, refused shortcuts).
"""

from lecture_lib.cnn.architectures import (
    LENET5_C3_TABLE,
    TORCHVISION_MODELS,
    VGG_CONFIGS,
    ModelStats,
    count_weight_layers,
    lenet5_parameter_counts,
    make_vgg,
    measure,
    on_meta,
    torchvision_reference,
    vgg_features,
)
from lecture_lib.cnn.claims import REGISTRY
from lecture_lib.cnn.conv import (
    conv2d,
    conv_output_size,
    layer_geometry,
    measured_receptive_field,
    receptive_field,
    shift,
    shift_changes,
    shift_sensitivity,
)
from lecture_lib.cnn.exercises import EXERCISES
from lecture_lib.cnn.experiments import activation_maps, depth_sweep
from lecture_lib.cnn.models import InceptionModule, LeNet, TwoConvBlock, deep_net

__all__ = [
    "LENET5_C3_TABLE",
    "TORCHVISION_MODELS",
    "VGG_CONFIGS",
    "InceptionModule",
    "LeNet",
    "ModelStats",
    "TwoConvBlock",
    "activation_maps",
    "conv2d",
    "conv_output_size",
    "count_weight_layers",
    "deep_net",
    "depth_sweep",
    "layer_geometry",
    "lenet5_parameter_counts",
    "make_vgg",
    "measure",
    "measured_receptive_field",
    "on_meta",
    "receptive_field",
    "shift",
    "shift_changes",
    "shift_sensitivity",
    "torchvision_reference",
    "vgg_features",
    "EXERCISES",
    "REGISTRY",
]
