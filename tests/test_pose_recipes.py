"""The pose recipes in miniature: every key 05_pose.ipynb reads, models that load, losses, batches."""

import pytest
import torch

from lecture_lib.checkpoints import build_model
from lecture_lib.datasets.people import make_people
from lecture_lib.pose import PoseFCN, PoseRegressor, recipes, training

TINY_DATA = {**recipes.DATA, "n_train": 12, "n_val": 6}
TINY_TRAIN = {**recipes.TRAIN, "epochs": 1, "steps_per_epoch": 2, "batch_size": 4}
TINY_ARCH = {"widths": [4, 4, 4, 4, 4], "convs_per_stage": [1, 1, 1, 1, 1], "fc_width": 4, "refine": 4}


@pytest.fixture(scope="module")
def heatmaps_ckpt():
    out = recipes.build_heatmaps(TINY_DATA, TINY_ARCH, TINY_TRAIN)
    reg = recipes.build_regression(TINY_DATA, TINY_ARCH, TINY_TRAIN)
    torch.testing.assert_close(reg["mean_pose"], out["mean_pose"])  # one training set for all
    out["regression"], out["histories"]["regression"] = reg["regression"], reg["histories"]["regression"]
    return out


def test_heatmaps_checkpoint_has_what_the_notebook_reads(heatmaps_ckpt):
    c = heatmaps_ckpt
    assert {"test_seed", "train_seed", "n_train", "size"} <= set(c["data"])
    assert {"radius", "sigma", "pos_weight"} <= set(c["targets"])
    assert {"epochs", "steps_per_epoch", "batch_size", "lr"} <= set(c["train"])
    assert c["mean_pose"].shape == (14, 2)
    x = torch.rand(2, 3, 64, 64)
    for kind in ("disk", "gaussian", "regression"):
        model = build_model(c[kind])
        assert isinstance(model, PoseRegressor if kind == "regression" else PoseFCN)
        out = model(x)
        assert out.shape == ((2, 14, 2) if kind == "regression" else (2, 14, 64, 64))
        h = c["histories"][kind]
        assert len(h["train_loss"]) == 1 and len(h["metrics"]["val_pck"]) == 1
        assert len(h["batch_loss"]) == 2
    live = PoseFCN(**c["arch"])  # the notebook's live run builds this
    assert live(x).shape == (2, 14, 64, 64)


def test_radius_sweep_checkpoint():
    c = recipes.build_radius_sweep(
        TINY_DATA, TINY_ARCH, TINY_TRAIN, {"radii": [1.0, 3.0], "epochs": 1, "steps_per_epoch": 1}
    )
    assert c["sweep"]["radii"] == [1.0, 3.0] and {"epochs", "steps_per_epoch"} <= set(c["sweep"])
    for r in ("r1", "r3"):
        assert build_model(c[r])(torch.rand(1, 3, 64, 64)).shape == (1, 14, 64, 64)
        assert len(c["histories"][r]["metrics"]["val_pck"]) == 1


def test_flipped_batches_mirror_keypoints_and_are_seeded():
    p = make_people(6, seed=0)
    imgs = (p.images * 255).round().to(torch.uint8)
    a = list(training.FlippedBatches(imgs, p.keypoints, p.inside, batch_size=4, steps=3, seed=1))
    b = list(training.FlippedBatches(imgs, p.keypoints, p.inside, batch_size=4, steps=3, seed=1))
    assert all(torch.equal(u, v) for x, y in zip(a, b) for u, v in zip(x, y))
    for x, kp, inside in a:
        assert x.dtype == torch.float32 and x.shape == (4, 3, 64, 64) and kp.shape == (4, 14, 2)
        for n in range(4):
            # each sample equals some original image, either as is or mirrored with x -> 63 - x
            match = [
                (j, f)
                for j in range(6)
                for f in (False, True)
                if torch.allclose(x[n], (imgs[j].flip(-1) if f else imgs[j]).float() / 255)
            ]
            assert match
            j, f = match[0]
            want = p.keypoints[j].clone()
            if f:
                want[:, 0] = 63 - want[:, 0]
            torch.testing.assert_close(kp[n], want)
            assert torch.equal(inside[n], p.inside[j])


def test_losses_are_finite_and_targets_match_the_api():
    p = make_people(3, seed=2)
    t = training.batch_targets(p.keypoints, p.inside, 64, "disk", 2.0)
    from lecture_lib.pose import disk_heatmaps

    torch.testing.assert_close(t[1], disk_heatmaps(p.keypoints[1], (64, 64), 2.0, p.inside[1]))
    model = PoseFCN(**TINY_ARCH)
    batch = (p.images, p.keypoints, p.inside)
    for loss_fn in (training.heatmap_loss("disk", 2.0, 10.0), training.heatmap_loss("gaussian", 1.5)):
        assert torch.isfinite(loss_fn(model, batch))
    reg = PoseRegressor(**{k: v for k, v in TINY_ARCH.items() if k != "refine"})
    assert torch.isfinite(training.regression_loss(reg, batch))
    with pytest.raises(ValueError, match="multiple of 32"):
        PoseRegressor(image_size=50)
