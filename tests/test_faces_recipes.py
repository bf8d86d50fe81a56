"""faces.recipes: a miniature build has every key the notebook reads; data parts are disjoint."""

import pytest
import torch

from lecture_lib.checkpoints import build_model
from lecture_lib.claims import MIN_SEEDS
from lecture_lib.datasets.faces import face_split
from lecture_lib.faces import embed, recipes

TINY_DATA = dict(
    n_train=12,
    n_test=20,
    train_images=4,
    test_images=3,
    n_val=20,
    val_images=3,
    size=16,
    seed=1,
    strength=0.6,
)
TINY_TRAIN = dict(steps=4, P=4, K=2, evals=2, width=4, hidden=8, embedding_dim=8)


def test_miniature_builds_have_what_the_notebook_reads():
    for build, names in (
        (recipes.build_methods, ["softmax", "semi_hard"]),
        (recipes.build_mining, ["random", "hard"]),
        (recipes.build_margins, [f"margin_{m:g}" for m in recipes.MARGINS]),
    ):
        ckpt = build(TINY_DATA, TINY_TRAIN)
        assert {"data", "train", "histories", "margins", "strategies"} <= set(ckpt)
        assert ckpt["data"]["n_train"] == 12 and ckpt["train"]["steps"] == 4
        assert {"steps", "evals", "P", "K", "lr", "width", "hidden", "embedding_dim", "seed"} <= set(
            ckpt["train"]
        )
        assert set(recipes.face_data(**ckpt["data"], parts=("test",))) == {
            "test"
        }  # the notebook re-renders the test set
        for name in names:
            h = ckpt["histories"][name]
            assert (
                len(h["batch_loss"]) == 4
                and len(h["metrics"]["val_auc"]) == 2
                and len(h["metrics"]["spread"]) == 2
            )
            model = build_model(ckpt[name])
            e = embed(model, torch.rand(3, 3, 16, 16))
            torch.testing.assert_close(e.norm(dim=1), torch.ones(3))
        assert set(ckpt["margins"]) == set(names)
        assert ckpt["seeds"] == [0, *recipes.EXTRA_SEEDS] and len(ckpt["seeds"]) >= MIN_SEEDS
        for name in names:  # the other training seeds: the same test pairs' distances, no weights
            runs = ckpt["seed_runs"][name]
            assert set(runs) == set(recipes.EXTRA_SEEDS)
            for run in runs.values():
                assert run["distances"].shape == (6000,) and run["distances"].dtype == torch.float32
                assert len(run["history"]["metrics"]["val_auc"]) == 2


def test_face_data_parts_match_face_split_and_are_disjoint():
    d = recipes.face_data(**TINY_DATA)
    train = face_split("train", 12, 4, seed=1, size=16, strength=0.6)
    test = face_split("test", 20, 3, seed=1, first_label=12, size=16, strength=0.6)
    assert torch.equal(d["train"].images, train.images) and torch.equal(d["test"].images, test.images)
    only_test = recipes.face_data(**TINY_DATA, parts=("test",))
    assert torch.equal(only_test["test"].images, test.images)  # test set independent of train
    labels = [set(d[p].labels.tolist()) for p in ("train", "test", "val")]
    assert not (labels[0] & labels[1]) and not (labels[0] & labels[2]) and not (labels[1] & labels[2])
    pairs = recipes.test_pairs(d["test"], seed=0)
    assert pairs["i"].shape == (6000,) and int(pairs["same"].sum()) == 3000


def test_miniature_build_is_deterministic():
    a = recipes.build_mining(TINY_DATA, TINY_TRAIN)
    b = recipes.build_mining(TINY_DATA, TINY_TRAIN)
    assert a["histories"]["random"]["batch_loss"] == b["histories"]["random"]["batch_loss"]
    for key, value in a["hard"]["state_dict"].items():
        assert torch.equal(value, b["hard"]["state_dict"][key]), key


def test_extra_seeds_leave_the_first_seed_unchanged_and_differ_from_it():
    specs = {"random": ("random", recipes.MARGIN)}
    alone = recipes._runs(specs, TINY_DATA, TINY_TRAIN, extra_seeds=())
    more = recipes._runs(specs, TINY_DATA, TINY_TRAIN, extra_seeds=(1, 2))
    untimed = [
        {k: v for k, v in h["random"].items() if k != "seconds"}
        for h in (alone["histories"], more["histories"])
    ]
    assert untimed[0] == untimed[1] and alone["seed_runs"] == {"random": {}}  # "seconds": wall time
    for key, value in alone["random"]["state_dict"].items():
        assert torch.equal(value, more["random"]["state_dict"][key]), key
    d1, d2 = (more["seed_runs"]["random"][s]["distances"] for s in (1, 2))
    assert not torch.equal(d1, d2)  # another seed trains another net


def test_extra_seeds_must_be_new_and_distinct():
    specs = {"random": ("random", recipes.MARGIN)}
    for bad in ((0, 1), (1, 1)):
        with pytest.raises(ValueError, match="extra_seeds"):
            recipes._runs(specs, TINY_DATA, TINY_TRAIN, extra_seeds=bad)
