"""The full profile's torchrun recipes (``tools/train_full.py`` calls them): two gloo processes on
VOC fixture data follow the single-process loss trajectory of ``finetune_fcn`` on the same global
batches; ``finetune_detector`` trains the same weights in both processes; GlobalBatches shards
each global batch; freeze_batchnorm keeps the network's function."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from ranks import run_ranks
from torch import nn

from lecture_lib import distributed
from lecture_lib.datasets import fixtures
from lecture_lib.detection.training import detector_to_finetune, finetune_detector
from lecture_lib.segmentation.training import finetune_fcn

ROOT = Path(__file__).resolve().parent.parent
# float64: one process and two differ only by the order of the sums (the batch mean, DDP's gradient
# all-reduce), which float64 rounds at ~1e-16 (measured: losses and head weights agree to ~5e-16
# after three SGD steps); a gradient not averaged, or one shard's, moves the loss by far more.
SETTINGS = dict(
    image_set="val", steps=3, batch_size=2, size=48, weights=None, dropout=0.0, lr=0.01, dtype=torch.float64
)
RTOL_F64 = 1e-9


def _worker(root):
    model, history = finetune_fcn(root, **SETTINGS)
    return history.batch_loss, history.batch_parts["pixels"], model.classifier[-1].weight


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_fcn_two_processes_follow_one_process_on_the_same_global_batches(tmp_path):
    fixtures.write_voc_segmentation(tmp_path)
    torch.set_num_threads(1)
    model, single = finetune_fcn(tmp_path, **SETTINGS)
    results = run_ranks(_worker, str(tmp_path))
    assert len(single.batch_loss) == 3 and single.batch_loss[0] != single.batch_loss[-1]
    for r in (0, 1):
        losses, pixels, head = results[r]
        torch.testing.assert_close(
            torch.tensor(losses), torch.tensor(single.batch_loss), rtol=RTOL_F64, atol=0
        )
        torch.testing.assert_close(
            torch.tensor(pixels), torch.tensor(single.batch_parts["pixels"]), rtol=RTOL_F64, atol=0
        )
        torch.testing.assert_close(
            torch.from_numpy(head), model.classifier[-1].weight.detach(), rtol=RTOL_F64, atol=1e-12
        )


def test_global_batches_are_the_same_in_one_process_and_sharded():
    data = [(torch.tensor(float(i)), i) for i in range(10)]
    one = list(distributed.GlobalBatches(data, batch_size=4, steps=5, seed=1))
    assert len(one) == 5 and all(len(xs) == 4 for xs, _ in one)
    seen = [t for _, ts in one for t in ts]
    assert sorted(seen[:10]) == list(range(10))  # a permutation first, then the next one
    again = list(distributed.GlobalBatches(data, batch_size=4, steps=5, seed=1))
    assert [ts for _, ts in again] == [ts for _, ts in one]
    with pytest.raises(ValueError, match="empty"):
        distributed.GlobalBatches([], batch_size=2)


def test_freeze_batchnorm_keeps_the_function_and_stops_statistics():
    from torchvision.ops.misc import FrozenBatchNorm2d

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm2d(4)))
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    x = torch.randn(2, 3, 8, 8)
    expected = net.eval()(x)
    distributed.freeze_batchnorm(net)
    assert isinstance(net[1], FrozenBatchNorm2d) and isinstance(net[2][0], FrozenBatchNorm2d)
    torch.testing.assert_close(net.train()(x), expected)  # train mode: still the running statistics


def test_the_script_offers_the_two_recipes_and_refuses_others():
    script = ROOT / "tools" / "train_full.py"
    proc = subprocess.run([sys.executable, str(script), "vgg16"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "invalid choice: 'vgg16'" in proc.stderr and "fcn_resnet50" in proc.stderr
    with pytest.raises(ValueError, match="dropout must be None or in"):
        distributed.finetune(nn.Identity, [1], lambda m, b: {}, dropout=1.5)


def _detector_worker(root):
    model, history = finetune_detector(
        root, image_set="test", steps=2, batch_size=2, size=64, weights=None, lr=0.01, rois_per_image=32
    )
    weights = model.module if hasattr(model, "module") else model
    return history.batch_loss, weights.roi_heads.box_predictor.cls_score.weight


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_detector_trains_under_two_processes_in_step(tmp_path):
    """The detector's RPN and RoI head sample anchors and proposals with each process's own random
    stream, so its trajectory cannot equal one process's step by step (the FCN's does, above);
    what DDP must guarantee is that both processes train the same weights."""
    fixtures.write_voc_detection(tmp_path)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        initial = detector_to_finetune(None, 64)
    w0 = initial.roi_heads.box_predictor.cls_score.weight.detach()
    results = run_ranks(_detector_worker, str(tmp_path))
    (loss0, w_rank0), (loss1, w_rank1) = results[0], results[1]
    assert len(loss0) == len(loss1) == 2 and all(torch.isfinite(torch.tensor(loss0 + loss1)))
    w_rank0, w_rank1 = torch.from_numpy(w_rank0), torch.from_numpy(w_rank1)
    torch.testing.assert_close(w_rank0, w_rank1)  # gradients were averaged: the same weights everywhere
    assert not torch.allclose(w_rank0, w0)  # and they moved
