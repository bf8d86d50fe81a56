"""lecture_lib.segmentation.recipes: a miniature build of fcn_scenes.pt (the real one takes ~30 min)."""

import copy

import torch

from lecture_lib.checkpoints import build_model
from lecture_lib.segmentation import FCN
from lecture_lib.segmentation.recipes import CHECKPOINTS, SETTINGS


def tiny_settings():
    s = copy.deepcopy(SETTINGS)
    s["scenes"].update(n_train=32, n_val=4)
    s["train"].update(epochs=2)
    s["classifier_cfg"].update(n_crops=256, epochs=1)
    return s


def test_miniature_build_has_what_the_notebook_reads():
    s = tiny_settings()
    threads = torch.get_num_threads()
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    ckpt = CHECKPOINTS["fcn_scenes.pt"](s)
    assert (
        torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads
    )  # no global state changed
    assert ckpt["scenes"]["kwargs"] == SETTINGS["scenes"]["kwargs"] and ckpt["arch"] == SETTINGS["arch"]
    model = build_model(ckpt["model"])
    assert isinstance(model, FCN) and model.variant == "all"
    clf = build_model(ckpt["classifier"])
    crop = ckpt["classifier_cfg"]["crop"]
    assert clf(torch.zeros(1, 3, crop, crop)).shape == (1, 6)
    hist = ckpt["fcn_history"]
    steps = s["train"]["epochs"] * (s["scenes"]["n_train"] // s["train"]["batch_size"])
    assert len(hist["train_loss"]) == 2 and len(hist["batch_loss"]) == steps
    assert set(hist["batch_parts"]) == set(FCN.VARIANTS) and all(
        len(v) == steps for v in hist["batch_parts"].values()
    )
    assert {f"val_miou_{v}" for v in FCN.VARIANTS} <= set(hist["metrics"])
    assert len(ckpt["classifier_history"]["train_loss"]) == 1
