"""lecture_lib.transfer.recipes: miniature builds of transfer_glyphs_resnet.pt and transfer_experiment.pt."""

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


def test_stored_experiment_round_trip_matches_a_live_run(tmp_path):
    """A miniature build_experiment: saved, loaded back as TransferRuns, and equal to running it again."""
    from lecture_lib.checkpoints import save_checkpoint
    from lecture_lib.transfer import load_experiment, load_task, run_transfer_experiment
    from lecture_lib.transfer.recipes import EXPERIMENT_SETTINGS

    settings = {**EXPERIMENT_SETTINGS, "per_class": [1, None], "seeds": [3],
                "budget": {"epochs": 1, "min_steps": 2, "batch_size": 64, "lr_finetune": 2e-3}}  # fmt: skip
    ckpt = CHECKPOINTS["transfer_experiment.pt"](settings)
    save_checkpoint(ckpt, "transfer_experiment.pt", command="test", folder=tmp_path)
    runs, stored_settings = load_experiment(folder=tmp_path)
    assert stored_settings == settings and len(runs) == 2 * 4
    task = load_task("glyphs->digits")
    for r in runs:  # each stored accuracy is the share of its stored predictions that are right
        assert r.accuracy == (r.predictions == task.test_y).float().mean().item()
    with_model = [r for r in runs if r.model is not None]
    assert [(r.method, r.per_class, r.seed) for r in with_model] == [("finetune all", None, 3)]
    live = run_transfer_experiment(
        task.make_model, task.source_net, task.train_x, task.train_y, task.test_x, task.test_y,
        per_class=(1,), seeds=(3,), progress=False, **settings["budget"],
    )  # fmt: skip
    stored = {(r.method, r.per_class): r.accuracy for r in runs}
    assert all(stored[r.method, 1] == r.accuracy for r in live)
    pred = with_model[0].model(task.test_x[:50].float()).argmax(1)
    assert torch.equal(pred, with_model[0].predictions[:50])
