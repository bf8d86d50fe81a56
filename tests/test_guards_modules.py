"""Input guards of the cnn, segmentation, pose, anchors and count-embedding entry points (issue 24):
bad input gets a ``ValueError``/``TypeError`` naming the argument, what was expected and what was
received; valid input keeps its result (Hypothesis properties against PyTorch)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.sparse
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from lecture_lib.cnn import architectures, conv, experiments, models
from lecture_lib.detection.anchors import cell_anchors, make_anchors
from lecture_lib.detection.selective_search import proposal_recall, selective_search
from lecture_lib.embeddings import attributes, autoencoder, counts, duplicates, tagging
from lecture_lib.pose.models import PoseFCN, PoseRegressor
from lecture_lib.segmentation import models as seg_models
from lecture_lib.segmentation import upsampling, windows
from lecture_lib.train import timed
from lecture_lib.transfer.experiment import linear_probe, per_class_indices
from lecture_lib.transfer.models import SmallResNet

NAN = float("nan")
IMG = torch.rand(1, 1, 8, 8)
W3 = torch.rand(2, 1, 3, 3)
IDS = torch.tensor([0, 1, 2, 1])
SENT = torch.tensor([0, 0, 0, 0])
MASKS = torch.zeros(2, 32, 32, dtype=torch.long)
SCENES = torch.rand(2, 3, 32, 32)
TINY = nn.Sequential(nn.Conv2d(1, 1, 3))
RGB = np.zeros((8, 8, 3))
BOX = [torch.tensor([[0.0, 0.0, 4.0, 4.0]])]
FEATS, LABELS = torch.rand(4, 3), torch.tensor([0, 1, 0, 1])


def _sweep(**kw):
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1])
    args = {"depths": (4,), "x": x, "y": y, "residual": True, "epochs": 1, "batch_size": 2} | kw
    depths, x, y = args.pop("depths"), args.pop("x"), args.pop("y")
    return experiments.depth_sweep(depths, x, y, **args)


CASES = [
    # cnn.conv
    (
        conv.conv2d,
        (IMG, W3, torch.rand(2).bool()),
        {},
        TypeError,
        r"bias must be a number tensor, got dtype torch.bool",
    ),
    (conv.conv2d, (IMG, W3), {"stride": 1.5}, TypeError, r"stride must be an int or a pair of ints, got 1.5"),
    (conv.conv2d, (IMG, W3), {"padding": -1}, ValueError, r"padding must be >= 0, got -1"),
    (conv.receptive_field, ("33",), {}, TypeError, r"layers must be a sequence of \(kernel_size"),
    (
        conv.receptive_field,
        ([(3, 1.0)],),
        {},
        ValueError,
        r"layers\[0\]: stride must be an int >= 1, got 1.0",
    ),
    (conv.layer_geometry, ("net",), {}, TypeError, r"model must be an nn.Module, got str"),
    (conv.measured_receptive_field, (TINY, 8.0), {}, TypeError, r"input_size must be an int, got float 8.0"),
    (
        conv.measured_receptive_field,
        (TINY, 8),
        {"in_channels": 0},
        ValueError,
        r"in_channels must be an int in \[1, inf\], got 0",
    ),
    (conv.shift, (IMG, 1.5, 0), {}, TypeError, r"dx must be an int, got float 1.5"),
    (conv.shift, (IMG, 1, True), {}, TypeError, r"dy must be an int, got bool True"),
    (conv.shift, ([1, 2], 1, 0), {}, TypeError, r"images must be a Tensor\[B, C, H, W\], got list"),
    (conv.shift_sensitivity, (None, IMG), {}, TypeError, r"features must be a callable"),
    (
        conv.shift_sensitivity,
        (TINY, IMG[0]),
        {},
        ValueError,
        r"images must have shape \(B, C, H, W\), got \(1, 8, 8\)",
    ),
    (conv.conv_output_size, (8, 3), {"stride": 0}, ValueError, r"stride must be >= 1, got 0"),
    # cnn.models / architectures / experiments
    (models.LeNet, (), {"in_channels": 0}, ValueError, r"in_channels must be an int in \[1, inf\], got 0"),
    (models.LeNet, (), {"num_classes": 10.0}, TypeError, r"num_classes must be an int, got float 10.0"),
    (
        models.InceptionModule,
        (8, 4, 4, 4, 4, 4, -1),
        {},
        ValueError,
        r"pool_proj must be an int in \[1, inf\], got -1",
    ),
    (models.InceptionModule, (8, 4.0, 4, 4, 4, 4, 4), {}, TypeError, r"ch1x1 must be an int, got float 4.0"),
    (
        models.TwoConvBlock,
        (0,),
        {"residual": True, "norm": False},
        ValueError,
        r"width must be an int in \[1, inf\], got 0",
    ),
    (
        models.TwoConvBlock,
        (4,),
        {"residual": 1, "norm": False},
        TypeError,
        r"residual must be a bool, got int 1",
    ),
    (models.deep_net, (4,), {"residual": "yes"}, TypeError, r"residual must be a bool, got str 'yes'"),
    (
        models.deep_net,
        (4,),
        {"residual": True, "width": 0},
        ValueError,
        r"width must be an int in \[1, inf\], got 0",
    ),
    (
        models.deep_net,
        (4,),
        {"residual": True, "num_classes": 2.5},
        TypeError,
        r"num_classes must be an int, got float 2.5",
    ),
    (
        architectures.make_vgg,
        ("A",),
        {"num_classes": 0},
        ValueError,
        r"num_classes must be an int in \[1, inf\], got 0",
    ),
    (
        _sweep,
        (),
        {"x": torch.full((4, 1, 8, 8), NAN)},
        ValueError,
        r"x must be finite, got 256 NaN/inf value\(s\) of 256",
    ),
    (
        _sweep,
        (),
        {"y": torch.tensor([0.0, 1.0, 0.0, 1.0])},
        TypeError,
        r"y must be a int tensor, got dtype torch.float32",
    ),
    (
        _sweep,
        (),
        {"y": torch.tensor([0, -1, 0, 1])},
        ValueError,
        r"y must hold class indices >= 0, got min -1",
    ),
    (
        _sweep,
        (),
        {"depths": ()},
        ValueError,
        r"depths must be a non-empty sequence of even ints >= 4, got \(\)",
    ),
    (_sweep, (), {"epochs": 0}, ValueError, r"epochs must be an int in \[1, inf\], got 0"),
    (_sweep, (), {"lr": NAN}, ValueError, r"lr must be a finite number, got nan"),
    (_sweep, (), {"lr": -0.1}, ValueError, r"lr must be in \(0.0, inf\], got -0.1"),
    (experiments.activation_maps, ("net", "0", IMG), {}, TypeError, r"model must be an nn.Module, got str"),
    (
        experiments.activation_maps,
        (TINY, "0", IMG[0]),
        {},
        ValueError,
        r"x must have shape \(B, C, H, W\), got \(1, 8, 8\)",
    ),
    # segmentation.upsampling / windows / models
    (upsampling.bilinear_kernel, (2, 2, 4.0), {}, TypeError, r"kernel_size must be an int, got float 4.0"),
    (upsampling.bilinear_kernel, (True, 1, 4), {}, TypeError, r"in_channels must be an int, got bool True"),
    (
        upsampling.ideal_coarse_labels,
        (MASKS.numpy(), 2, 3),
        {},
        TypeError,
        r"target must be a Tensor\[B, H, W\] of class ids, got ndarray",
    ),
    (
        upsampling.ideal_coarse_labels,
        (MASKS, 2, 0),
        {},
        ValueError,
        r"num_classes must be an int in \[1, inf\], got 0",
    ),
    (
        upsampling.ideal_coarse_labels,
        (MASKS, 2, 3),
        {"steps": -1},
        ValueError,
        r"steps must be an int in \[0, inf\], got -1",
    ),
    (
        upsampling.ideal_coarse_labels,
        (MASKS, 2, 3),
        {"lr": math.inf},
        ValueError,
        r"lr must be a finite number, got inf",
    ),
    (upsampling.BilinearUpsample, (0, 2), {}, ValueError, r"channels must be an int in \[1, inf\], got 0"),
    (
        upsampling.BilinearUpsample,
        (3, 2),
        {"depthwise": "no"},
        TypeError,
        r"depthwise must be a bool, got str 'no'",
    ),
    (
        windows.convolutionalize,
        (seg_models.window_classifier(3), 28.0),
        {},
        TypeError,
        r"crop must be an int, got float 28.0",
    ),
    (windows.fcn_output_size, (64, 28, 0), {}, ValueError, r"stride must be an int in \[1, inf\], got 0"),
    (windows.fcn_output_size, (64.0, 28, 4), {}, TypeError, r"size must be an int, got float 64.0"),
    (
        windows.classify_windows,
        (TINY, SCENES[0], 28, 0),
        {},
        ValueError,
        r"stride must be an int in \[1, inf\], got 0",
    ),
    (
        windows.classify_windows,
        (TINY, SCENES[0], 40, 4),
        {},
        ValueError,
        r"image \(32 px\) must be at least as large as the crop \(40 px\)",
    ),
    (
        windows.classify_windows,
        ("net", SCENES[0], 28, 4),
        {},
        TypeError,
        r"classifier must be an nn.Module, got str",
    ),
    (
        windows.sample_crops,
        (SCENES, MASKS.float(), 5, 28),
        {},
        TypeError,
        r"masks must be a int tensor, got dtype torch.float32",
    ),
    (
        windows.sample_crops,
        (SCENES, MASKS, -5, 28),
        {},
        ValueError,
        r"n must be an int in \[0, inf\], got -5",
    ),
    (
        windows.sample_crops,
        (SCENES, MASKS, 5, 40),
        {},
        ValueError,
        r"must be at least as large as the crop \(40 px\)",
    ),
    (
        windows.sample_crops,
        (SCENES, MASKS, 5, 28),
        {"fg_fraction": 1.5},
        ValueError,
        r"fg_fraction must be in \[0.0, 1.0\], got 1.5",
    ),
    (
        windows.sample_crops,
        (SCENES, MASKS, 5, 28),
        {"generator": 0},
        TypeError,
        r"generator must be a torch.Generator or None, got int",
    ),
    (seg_models.window_classifier, (0,), {}, ValueError, r"num_classes must be an int in \[1, inf\], got 0"),
    (seg_models.window_classifier, (3,), {"crop": 28.0}, TypeError, r"crop must be an int, got float 28.0"),
    (seg_models.FCN, (3.0,), {}, TypeError, r"num_classes must be an int, got float 3.0"),
    (
        seg_models.FCN,
        (3,),
        {"widths": (16, 32, 0, 96, 128)},
        ValueError,
        r"widths\[2\] must be an int in \[1, inf\], got 0",
    ),
    (seg_models.FCN, (3,), {"widths": 16}, TypeError, r"widths must be a tuple of 5 ints, got int 16"),
    (seg_models.FCN, (3,), {"fc_width": -1}, ValueError, r"fc_width must be an int in \[1, inf\], got -1"),
    (
        seg_models.FCN,
        (3,),
        {"variant": "4s"},
        ValueError,
        r"variant must be one of \('32s', '16s', '8s', 'all'\), got '4s'",
    ),
    # pose.models
    (PoseFCN, (3,), {"refine": -2}, ValueError, r"refine must be an int in \[0, inf\], got -2"),
    (PoseFCN, (3,), {"refine": 8.0}, TypeError, r"refine must be an int, got float 8.0"),
    (PoseRegressor, (3,), {"image_size": 0}, ValueError, r"image_size must be an int in \[32, inf\], got 0"),
    (PoseRegressor, (0,), {}, ValueError, r"num_joints must be an int in \[1, inf\], got 0"),
    (PoseRegressor, (3,), {"hidden": 1.5}, TypeError, r"hidden must be an int, got float 1.5"),
    # detection.anchors
    (cell_anchors, ((32, True), (1.0,)), {}, TypeError, r"sizes\[1\] must be a real number, got bool True"),
    (cell_anchors, ((32,), ("1",)), {}, TypeError, r"aspect_ratios\[0\] must be a real number, got str '1'"),
    (cell_anchors, ((NAN,), (1.0,)), {}, ValueError, r"sizes\[0\] must be a number, got nan"),
    (
        make_anchors,
        ((True, 4), 8, (32,), (1.0,)),
        {},
        ValueError,
        r"feature_size must be \(H, W\) with non-negative ints, got \(True, 4\)",
    ),
    (
        make_anchors,
        ((4, 4), 8.0, (32,), (1.0,)),
        {},
        ValueError,
        r"stride must be a positive int or \(stride_y, stride_x\), got 8.0",
    ),
    (
        make_anchors,
        ((4, 4), (8, 8, 8), (32,), (1.0,)),
        {},
        ValueError,
        r"stride must be a positive int or \(stride_y, stride_x\), got \(8, 8, 8\)",
    ),
    # detection.selective_search
    (
        selective_search,
        (RGB,),
        {"scale": (50, math.nan)},
        ValueError,
        r"scale\[1\] must be a finite number, got nan",
    ),
    (selective_search, (RGB,), {"scale": True}, TypeError, r"scale must be a real number, got bool True"),
    (selective_search, (RGB,), {"sigma": -1.0}, ValueError, r"sigma must be in \[0.0, inf\], got -1.0"),
    (selective_search, (RGB,), {"min_size": 2.5}, TypeError, r"min_size must be an int, got float 2.5"),
    (
        selective_search,
        (RGB,),
        {"colour_spaces": "hsv"},
        TypeError,
        r"colour_spaces must be a sequence of strings",
    ),
    (
        selective_search,
        (RGB,),
        {"similarities": "CTSF"},
        TypeError,
        r"similarities must be a sequence of strings",
    ),
    (selective_search, (RGB,), {"colour_spaces": ()}, ValueError, r"colour_spaces must name at least one"),
    (
        selective_search,
        (RGB,),
        {"max_proposals": 10.0},
        TypeError,
        r"max_proposals must be an int, got float 10.0",
    ),
    (selective_search, (RGB,), {"seed": -1}, ValueError, r"seed must be an int in \[0, inf\], got -1"),
    (proposal_recall, (BOX[0], BOX), {}, TypeError, r"proposals_per_image must be a list of Tensor"),
    (
        proposal_recall,
        ([torch.zeros(2, 5)], BOX),
        {},
        ValueError,
        r"proposals_per_image\[0\] must have shape \(N, 4\), got \(2, 5\)",
    ),
    (proposal_recall, (BOX, BOX), {"iou": 1.5}, ValueError, r"iou must be in \[0.0, 1.0\], got 1.5"),
    (
        proposal_recall,
        (BOX, BOX),
        {"top_k": [1, 2.5]},
        TypeError,
        r"top_k\[1\] must be an int, got float 2.5",
    ),
    (
        proposal_recall,
        (BOX, BOX),
        {"top_k": "10"},
        TypeError,
        r"top_k must be an int, a sequence of ints or None, got '10'",
    ),
    # train.timed
    (
        timed,
        (lambda: None,),
        {"device": "gpu0"},
        ValueError,
        r"device must name a torch device .* got 'gpu0'",
    ),
    (timed, (lambda: None,), {"device": 3}, TypeError, r"device must be a torch.device, a string .* got 3"),
    # transfer
    (
        per_class_indices,
        (LABELS.float(), 1),
        {},
        TypeError,
        r"labels must be a int tensor, got dtype torch.float32",
    ),
    (per_class_indices, (LABELS, 1), {"seed": 1.5}, TypeError, r"seed must be an int, got float 1.5"),
    (
        per_class_indices,
        (LABELS, 1),
        {"candidates": torch.tensor([0.0, 1.0])},
        TypeError,
        r"candidates must be a int tensor",
    ),
    (
        linear_probe,
        (FEATS.double().int(), LABELS, FEATS, LABELS),
        {},
        TypeError,
        r"train_features must be a float tensor, got dtype torch.int32",
    ),
    (
        linear_probe,
        (FEATS, LABELS, torch.full((4, 3), NAN), LABELS),
        {},
        ValueError,
        r"test_features must be finite, got 12 NaN/inf",
    ),
    (
        linear_probe,
        (FEATS, LABELS[:3], FEATS, LABELS),
        {},
        ValueError,
        r"train_labels must have shape \(N\) with N=4, got \(3,\)",
    ),
    (
        linear_probe,
        (FEATS, LABELS, FEATS, LABELS),
        {"C": 0.0},
        ValueError,
        r"C must be in \(0.0, inf\], got 0.0",
    ),
    (SmallResNet, (3,), {"in_channels": 0}, ValueError, r"in_channels must be an int in \[1, inf\], got 0"),
    (
        SmallResNet,
        (3,),
        {"widths": (16, True, 64)},
        ValueError,
        r"widths must be 3 positive ints .* got \(16, True, 64\)",
    ),
    # embeddings.attributes / autoencoder / duplicates / tagging
    (
        attributes.apply_attribute,
        (FEATS, FEATS[0], NAN),
        {},
        ValueError,
        r"strength must be a finite number, got nan",
    ),
    (
        attributes.AttributeClassifier,
        (),
        {"width": 0},
        ValueError,
        r"width must be an int in \[1, inf\], got 0",
    ),
    (attributes.AttributeClassifier, (), {"seed": 0.5}, TypeError, r"seed must be an int, got float 0.5"),
    (autoencoder.FaceAutoencoder, (), {"seed": -1}, ValueError, r"seed must be an int in \[0, inf\], got -1"),
    (
        autoencoder.encode,
        (TINY, torch.rand(1, 3, 32, 32)),
        {},
        TypeError,
        r"model must be a FaceAutoencoder, got Sequential",
    ),
    (
        autoencoder.decode,
        (autoencoder.FaceAutoencoder(), torch.rand(1, 48)),
        {"batch_size": 0},
        ValueError,
        r"batch_size must be >= 1, got 0",
    ),
    (
        duplicates.crop_views,
        (torch.rand(1, 3, 8, 8), "0.9"),
        {},
        TypeError,
        r"keep must be a real number, got str '0.9'",
    ),
    (tagging.resize_to, (0,), {}, ValueError, r"size must be an int in \[1, inf\], got 0"),
    (tagging.resize_to, (32.0,), {}, TypeError, r"size must be an int, got float 32.0"),
    # embeddings.counts
    (
        counts.cooccurrence,
        (IDS.float(), SENT, 3),
        {},
        TypeError,
        r"ids must be a int tensor, got dtype torch.float32",
    ),
    (
        counts.cooccurrence,
        (IDS, SENT[:3], 3),
        {},
        ValueError,
        r"sentence must have shape \(N\) with N=4, got \(3,\)",
    ),
    (counts.cooccurrence, (IDS, SENT, 2), {}, ValueError, r"ids must lie in \[0, 2\), got 0..2"),
    (counts.cooccurrence, (IDS, SENT, 3.0), {}, TypeError, r"vocab_size must be an int, got float 3.0"),
    (counts.ppmi, (np.eye(3),), {}, TypeError, r"counts must be a scipy.sparse matrix \[V, V\], got ndarray"),
    (
        counts.ppmi,
        (scipy.sparse.csr_matrix(np.eye(3)),),
        {"alpha": 0.0},
        ValueError,
        r"alpha must be in \(0.0, inf\], got 0.0",
    ),
    (counts.ppmi, (scipy.sparse.csr_matrix(-np.eye(3)),), {}, ValueError, r"counts must be finite and >= 0"),
    (counts.ppmi_svd_vectors, ([["a", "b"]],), {"dim": 2.0}, TypeError, r"dim must be an int, got float 2.0"),
    (
        counts.ppmi_svd_vectors,
        ([["a", "b"]],),
        {"window": 0},
        ValueError,
        r"window must be an int in \[1, inf\], got 0",
    ),
    (
        counts.ppmi_svd_vectors,
        ([["a", "b"]],),
        {"eig": NAN},
        ValueError,
        r"eig must be a finite number, got nan",
    ),
]


@pytest.mark.parametrize(("fn", "args", "kwargs", "exc", "pattern"), CASES)
def test_bad_argument_gets_a_clear_error(fn, args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fn(*args, **kwargs)


def test_every_case_names_an_argument_and_what_was_received():
    for fn, args, kwargs, exc, _ in CASES:
        with pytest.raises(exc) as info:
            fn(*args, **kwargs)
        msg = str(info.value)
        assert re.search(r"got|found|at least as large|>= 0", msg), (fn, msg)


ints = st.one_of(st.integers(-3, 40), st.floats(allow_nan=True, allow_infinity=True), st.booleans())


@given(size=ints, kernel=ints, stride=ints, padding=ints)
def test_conv_output_size_clear_error_or_torch(size, kernel, stride, padding):
    try:
        n = conv.conv_output_size(size, kernel, stride, padding)
    except (TypeError, ValueError) as exc:
        assert re.search(r"(size|kernel_size|stride|padding) must|the window spans", str(exc)), exc
        assert "got" in str(exc) or "has only" in str(exc)
    else:
        out = nn.functional.conv2d(
            torch.zeros(1, 1, 1, size), torch.zeros(1, 1, 1, kernel), stride=stride, padding=(0, padding)
        )
        assert n == out.shape[-1]


@given(
    h=st.one_of(st.integers(-2, 5), st.booleans(), st.floats(allow_nan=True)),
    w=st.integers(0, 5),
    stride=st.one_of(st.integers(-2, 16), st.booleans(), st.floats(0, 16)),
    size=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-8, 64), st.booleans()),
)
def test_make_anchors_clear_error_or_the_grid(h, w, stride, size):
    try:
        anchors = make_anchors((h, w), stride, (size,), (0.5, 1.0))
    except (TypeError, ValueError) as exc:
        assert re.search(r"(feature_size|stride|sizes(\[0\])?) must", str(exc)), exc
        assert "got" in str(exc)
    else:
        assert isinstance(h, int) and not isinstance(h, bool) and h >= 0
        assert isinstance(stride, int) and not isinstance(stride, bool) and stride > 0
        assert math.isfinite(size) and size > 0 and not isinstance(size, bool)
        assert anchors.shape == (h * w * 2, 4) and torch.isfinite(anchors).all()
