"""The articulated-people generator: determinism, disjoint splits, joint limits, sides, visibility."""

import numpy as np
import pytest
import torch

from lecture_lib.datasets.people import FLIP, JOINTS, LIMITS, SKELETON, make_people


@pytest.fixture(scope="module")
def people():
    return make_people(60, seed=5, noise=0.0)


def test_shapes_and_determinism(people):
    assert people.images.shape == (60, 3, 64, 64) and people.images.dtype == torch.float32
    assert people.keypoints.shape == (60, 14, 2) and people.visible.dtype == torch.bool
    again = make_people(60, seed=5, noise=0.0)
    assert torch.equal(people.images, again.images) and torch.equal(people.keypoints, again.keypoints)
    assert torch.equal(people.visible, again.visible)
    assert 0.0 <= people.images.min() and people.images.max() <= 1.0
    assert make_people(0, seed=1).images.shape == (0, 3, 64, 64)
    assert make_people(2, seed=1, size=96).images.shape == (2, 3, 96, 96)


def test_train_and_test_splits_differ():
    train, test = make_people(30, seed=1000), make_people(30, seed=3000)
    # no test image equals any training image, and no test pose equals a training pose
    d_img = (test.images.flatten(1)[:, None] - train.images.flatten(1)[None]).abs().amax(-1)
    d_pose = (test.keypoints.flatten(1)[:, None] - train.keypoints.flatten(1)[None]).abs().amax(-1)
    assert d_img.min() > 0.1 and d_pose.min() > 0.5


def test_angles_within_joint_limits():
    p = make_people(200, seed=2)
    a = p.angles.reshape(200, 2, 4)  # (shoulder, elbow, hip, knee) for right, left
    for i, name in enumerate(("shoulder", "elbow", "hip", "knee")):
        lo, hi = LIMITS[name]
        mag = (
            a[..., i].abs() if name in ("elbow", "knee") else a[..., i]
        )  # bends either way, limited magnitude
        assert (mag >= lo - 1e-4).all() and (mag <= hi + 1e-4).all(), name
    # the measured angle at each elbow equals the sampled flexion (geometry follows the limits)
    kp = p.keypoints.double()
    for side, (sh, el, wr) in enumerate(((8, 7, 6), (9, 10, 11))):
        u, v = kp[:, el] - kp[:, sh], kp[:, wr] - kp[:, el]
        cos = (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1))
        bend = torch.rad2deg(torch.arccos(cos.clamp(-1, 1)))
        torch.testing.assert_close(bend.float(), a[:, side, 1].abs(), atol=1e-2, rtol=0)


def test_sides_follow_the_person_and_colours(people):
    # facing the camera: the person's right shoulder is on the image's left
    rs, ls = JOINTS.index("right shoulder"), JOINTS.index("left shoulder")
    right_is_left = people.keypoints[:, rs, 0] < people.keypoints[:, ls, 0]
    assert torch.equal(right_is_left, people.facing_camera)
    assert 0.2 < people.facing_camera.float().mean() < 0.9
    # right limbs are warm (red channel largest), left limbs cool (red channel not largest)
    checked = 0
    for j_right, j_left in (
        (JOINTS.index("right elbow"), JOINTS.index("left elbow")),
        (JOINTS.index("right knee"), JOINTS.index("left knee")),
    ):
        for n in range(len(people)):
            for j, warm in ((j_right, True), (j_left, False)):
                if people.visible[n, j]:
                    x, y = people.keypoints[n, j].round().long().tolist()
                    rgb = people.images[n, :, y, x]
                    assert (rgb.argmax().item() == 0) == warm, (n, JOINTS[j], rgb)
                    checked += 1
    assert checked > 100
    assert all(FLIP[FLIP[j]] == j for j in range(14)) and all(a < 14 and b < 14 for a, b in SKELETON)


def test_visibility_and_truncation():
    p = make_people(300, seed=3)
    kp, s = p.keypoints, p.size
    inside = (kp >= -0.5).all(-1) & (kp < s - 0.5).all(-1)
    assert torch.equal(inside, p.inside)
    assert not (p.visible & ~p.inside).any()  # outside the image -> never visible
    assert p.truncated.float().mean() > 0.03  # some figures are cut off
    assert p.occluded.any(dim=1).float().mean() > 0.05  # self-occlusion happens
    assert p.visible.float().mean() > 0.85


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"n must be an int >= 0, got -1"):
        make_people(-1, seed=0)
    with pytest.raises(ValueError, match=r"size must be an int >= 32.*got 16"):
        make_people(2, seed=0, size=16)
    with pytest.raises(ValueError, match=r"truncation must be a probability"):
        make_people(2, seed=0, truncation=1.5)


def test_global_rng_untouched():
    state = np.random.get_state()[1].copy()
    t = torch.get_rng_state()
    make_people(3, seed=9)
    assert np.array_equal(state, np.random.get_state()[1]) and torch.equal(t, torch.get_rng_state())
