"""PCK against a loop; the torso normaliser; bad inputs."""

import pytest
import torch

from lecture_lib.datasets.people import JOINTS
from lecture_lib.pose import pck, pck_curve, pck_per_joint, torso_size


def pck_loop(pred, target, visible, threshold, normalize):
    hits = total = 0
    for n in range(pred.shape[0]):
        for k in range(pred.shape[1]):
            if visible[n, k]:
                dx, dy = (pred[n, k] - target[n, k]).tolist()
                total += 1
                hits += (dx * dx + dy * dy) ** 0.5 <= threshold * normalize[n].item()
    return hits / total


@pytest.mark.parametrize("seed", range(5))
def test_pck_matches_loop(seed):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(6, 14, 2, generator=g) * 64
    pred = target + torch.randn(6, 14, 2, generator=g) * 4
    visible = torch.rand(6, 14, generator=g) > 0.2
    norm = 10 + torch.rand(6, generator=g) * 10
    for t in (0.05, 0.1, 0.2, 0.5):
        assert pck(pred, target, visible, t, norm) == pytest.approx(pck_loop(pred, target, visible, t, norm))
    assert pck_curve(pred, target, visible, [0.1, 0.2], norm) == [
        pck(pred, target, visible, 0.1, norm),
        pck(pred, target, visible, 0.2, norm),
    ]
    per = pck_per_joint(pred, target, visible, 0.2, norm)
    for k in range(14):
        if visible[:, k].any():
            assert per[k].item() == pytest.approx(
                pck_loop(pred[:, k : k + 1], target[:, k : k + 1], visible[:, k : k + 1], 0.2, norm)
            )


def test_pck_boundary_and_invisible():
    target = torch.zeros(1, 2, 2)
    pred = torch.tensor([[[3.0, 4.0], [100.0, 0.0]]])  # errors 5 and 100
    norm = torch.tensor([25.0])
    assert pck(pred, target, torch.tensor([[True, True]]), 0.2, norm) == 0.5  # 5 <= 0.2 * 25: counted
    assert pck(pred, target, torch.tensor([[True, False]]), 0.2, norm) == 1.0  # the far joint is not visible


def test_torso_size_is_left_shoulder_to_right_hip():
    kp = torch.zeros(2, 14, 2)
    kp[:, JOINTS.index("left shoulder")] = torch.tensor([3.0, 0.0])
    kp[:, JOINTS.index("right hip")] = torch.tensor([0.0, 4.0])
    torch.testing.assert_close(torso_size(kp), torch.tensor([5.0, 5.0]))


@pytest.mark.parametrize(
    "args, match",
    [
        (
            (torch.zeros(2, 3, 2), torch.zeros(2, 4, 2), torch.ones(2, 3), torch.ones(2)),
            r"target must have the shape of pred \(2, 3, 2\), got \(2, 4, 2\)",
        ),
        (
            (torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 3), torch.ones(2)),
            r"pred .*\(N, K, 2\), got \(2, 3\)",
        ),
        (
            (torch.zeros(2, 3, 2), torch.zeros(2, 3, 2), torch.ones(3), torch.ones(2)),
            r"visible .*shape \(2, 3\), got \(3,\)",
        ),
        (
            (torch.zeros(2, 3, 2), torch.zeros(2, 3, 2), torch.ones(2, 3), torch.ones(3)),
            r"normalize .*shape \(2,\).*got \(3,\)",
        ),
        (
            (torch.zeros(2, 3, 2), torch.zeros(2, 3, 2), torch.ones(2, 3), torch.zeros(2)),
            r"normalize must be > 0",
        ),
        (
            (torch.zeros(2, 3, 2), torch.zeros(2, 3, 2), torch.zeros(2, 3, dtype=torch.bool), torch.ones(2)),
            r"at least one visible joint",
        ),
    ],
)
def test_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        pck(*args[:3], 0.2, args[3])


def test_bad_threshold_and_torso_shape():
    with pytest.raises(ValueError, match=r"threshold must be a number >= 0, got -0.1"):
        pck(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2), torch.ones(1, 2), -0.1, torch.ones(1))
    with pytest.raises(ValueError, match=r"shape \(N, 14, 2\).*got \(3, 13, 2\)"):
        torso_size(torch.zeros(3, 13, 2))


def test_pck_figure_scores_mean_is_the_pooled_pck_and_figures_weigh_by_visible_joints():
    from lecture_lib.pose import pck_figure_scores

    target = torch.zeros(3, 14, 2)
    target[:, 9] = torch.tensor([0.0, 10.0])  # torso 10 px for every figure
    pred = target.clone()
    pred[0, :4] += 5.0  # figure 0: 4 joints wrong at PCK@0.2 (2 px), 10 right
    visible = torch.ones(3, 14, dtype=torch.bool)
    visible[2] = False
    visible[2, :2] = True  # figure 2: only 2 visible joints, both right
    torso = torso_size(target)
    scores = pck_figure_scores(pred, target, visible, 0.2, torso)
    assert scores.dtype == torch.float64 and scores.shape == (3,)
    mean_visible = (14 + 14 + 2) / 3
    assert torch.allclose(scores, torch.tensor([10, 14, 2], dtype=torch.float64) / mean_visible)
    assert scores.mean().item() == pytest.approx(pck(pred, target, visible, 0.2, torso))
    visible[:] = False
    visible[1, 0] = True  # figures without visible joints score 0
    assert pck_figure_scores(pred, target, visible, 0.2, torso).tolist() == [0.0, 3.0, 0.0]


def test_pck_figure_scores_rejects_bad_input():
    from lecture_lib.pose import pck_figure_scores

    target = torch.rand(2, 14, 2) * 10
    torso = torch.ones(2)
    with pytest.raises(ValueError, match="visible joint"):
        pck_figure_scores(target, target, torch.zeros(2, 14, dtype=torch.bool), 0.2, torso)
    with pytest.raises(ValueError, match="visible must"):
        pck_figure_scores(target, target, torch.ones(3, 14, dtype=torch.bool), 0.2, torso)
