"""lecture_lib.transfer.tasks: the quick profile's glyphs -> digits task in one call."""

import pytest
import torch

from lecture_lib import transfer
from lecture_lib.transfer import SmallResNet


def test_glyphs_to_digits_task():
    task = transfer.load_task("glyphs->digits")
    assert isinstance(task.source_net, SmallResNet) and not task.source_net.training
    assert task.num_classes == 10 and task.class_names[3] == "3"
    assert torch.bincount(task.test_y).tolist() == [50] * 10  # the fixed test set
    assert len(task.train_y) + len(task.test_y) == 1797  # scikit-learn's digits, no image in both
    pool = {tuple(v) for v in task.train_x.flatten(1).tolist()}
    assert (
        sum(tuple(v) in pool for v in task.test_x.flatten(1).tolist()) <= 5
    )  # only exact duplicate drawings
    fresh = task.make_model()
    assert fresh.fc.out_features == 10 and fresh(task.test_x[:2]).shape == (2, 10)
    assert task.source_history.epochs == task.settings["epochs"]


def test_unknown_task():
    with pytest.raises(
        ValueError, match=r"task must be one of \['glyphs->digits', 'imagenet->caltech256'\], got 'x'"
    ):
        transfer.load_task("x")
