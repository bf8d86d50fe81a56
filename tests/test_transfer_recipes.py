"""lecture_lib.transfer.recipes: a miniature build of transfer_glyphs_resnet.pt (the real one takes ~2 min)."""

import torch

from lecture_lib.checkpoints import build_model
from lecture_lib.transfer import SmallResNet
from lecture_lib.transfer.recipes import CHECKPOINTS, SETTINGS

TINY = {
    **SETTINGS,
    "num_classes": 4,
    "per_class": 24,
    "val_per_class": 4,
    "widths": [4, 6, 8],
    "epochs": 2,
    "batch_size": 16,
}


def test_miniature_build_is_reproducible_and_what_the_notebook_reads():
    threads = torch.get_num_threads()
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    ckpt = CHECKPOINTS["transfer_glyphs_resnet.pt"](TINY)
    assert (
        torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads
    )  # no global state changed
    model = build_model(ckpt["model"])
    assert isinstance(model, SmallResNet) and model.fc.out_features == 4
    assert (
        len(ckpt["history"]["train_loss"]) == 2
        and len(ckpt["history"]["metrics"]["source val accuracy"]) == 2
    )
    assert ckpt["settings"]["size"] == 16 and ckpt["settings"]["widths"] == [4, 6, 8]
    again = CHECKPOINTS["transfer_glyphs_resnet.pt"](TINY)["model"]["state_dict"]
    assert all(torch.equal(v, again[k]) for k, v in ckpt["model"]["state_dict"].items())  # bit for bit
    with torch.random.fork_rng():
        torch.manual_seed(0)
        init = SmallResNet(4, widths=(4, 6, 8)).state_dict()
    assert not torch.equal(init["fc.weight"], ckpt["model"]["state_dict"]["fc.weight"])  # it trained
