"""tools/checkpoints/fcn_scenes.py: its fresh-scenes loader and a miniature build (the real one takes ~30 min)."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from lecture_lib.datasets.scenes import make_scenes
from lecture_lib.segmentation import FCN

BUILDER = Path(__file__).resolve().parents[1] / "tools" / "checkpoints" / "fcn_scenes.py"


@pytest.fixture
def builder():
    """A fresh copy of the builder module (tests shrink its configuration in place)."""
    sys.path.insert(0, str(BUILDER.parent))
    try:
        spec = importlib.util.spec_from_file_location("fcn_scenes_under_test", BUILDER)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BUILDER.parent))
    return module


def test_fresh_scenes_new_scenes_every_epoch(builder):
    kwargs = {"thin_width": (5.0, 8.0), "max_objects": 2}
    loader = builder.FreshScenes(8, 3, 4, torch.Generator().manual_seed(0), **kwargs)
    first, second = list(loader), list(loader)
    assert len(first) == len(second) == 2
    x, y = first[0]
    assert x.shape == (4, 3, 128, 128) and y.shape == (4, 128, 128) and y.dtype == torch.int64
    # epoch 0 is a shuffled, flipped copy of make_scenes(seed); epoch 1 uses another seed
    epoch0 = make_scenes(8, seed=3, **kwargs)
    epoch1 = make_scenes(8, seed=1003, **kwargs)

    def pixel_multiset(batches):
        return torch.sort(torch.cat([b[1].flatten() for b in batches])).values

    assert torch.equal(pixel_multiset(first), torch.sort(epoch0.masks.flatten()).values)
    assert torch.equal(pixel_multiset(second), torch.sort(epoch1.masks.flatten()).values)
    assert not torch.equal(pixel_multiset(first), pixel_multiset(second))


@pytest.fixture
def restore_torch_state():
    """build() calls lecture_lib.setup() and sets one thread: undo that for the other tests."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


def test_miniature_build_has_what_the_notebook_reads(builder, restore_torch_state):
    builder.SCENES.update(n_train=32, n_val=4)
    builder.TRAIN.update(epochs=2)
    builder.CLF.update(n_crops=256, epochs=1)
    ckpt = builder.build()
    assert ckpt["scenes"]["kwargs"] == builder.SCENE_KWARGS
    model = FCN(6, variant="all", **ckpt["arch"])  # the notebook passes the stored settings as they are
    model.load_state_dict(ckpt["fcn_state"])
    hist = ckpt["fcn_history"]
    steps = builder.TRAIN["epochs"] * (builder.SCENES["n_train"] // builder.TRAIN["batch_size"])
    assert len(hist["train_loss"]) == 2 and len(hist["batch_loss"]) == steps
    assert set(hist["batch_parts"]) == set(FCN.VARIANTS) and all(len(v) == steps for v in hist["batch_parts"].values())
    assert {f"val_miou_{v}" for v in FCN.VARIANTS} <= set(hist["metrics"])
    assert len(ckpt["classifier_history"]["train_loss"]) == 1
    assert ckpt["classifier_cfg"]["crop"] == 28
