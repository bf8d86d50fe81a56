"""People, second edition: sides drawn alike (colour does not tell them), anatomy does, flips are valid."""

import dataclasses

import numpy as np
import pytest
import torch

from lecture_lib.datasets.people import _OWN_PARTS, FLIP, JOINTS, make_people
from lecture_lib.datasets.people_v2 import (
    PART_FLIP,
    PARTS,
    PeopleV2,
    flip_keypoints,
    flip_people,
    make_people_v2,
)
from lecture_lib.pose.metrics import left_right_swap_rate, torso_size

R_HIP, L_HIP, NECK = JOINTS.index("right hip"), JOINTS.index("left hip"), JOINTS.index("neck")


@pytest.fixture(scope="module")
def people() -> PeopleV2:
    return make_people_v2(200, seed=3, noise=0.0)


def test_shapes_and_determinism(people):
    assert people.images.shape == (200, 3, 64, 64) and people.parts.shape == (200, 64, 64)
    assert 0.0 <= people.images.min() and people.images.max() <= 1.0
    again = make_people_v2(20, seed=3, noise=0.0)
    assert torch.equal(again.images, people.images[:20]) and torch.equal(
        again.keypoints, people.keypoints[:20]
    )
    assert make_people_v2(0, seed=1).images.shape == (0, 3, 64, 64)
    assert 0.4 < people.facing_camera.float().mean() < 0.8  # front and back views
    assert people.occluded.any(dim=1).float().mean() > 0.1 and people.truncated.any()


def _joint_colours(p, j, idx):
    kp = p.keypoints[idx, j].round().long()
    return p.images[idx, :, kp[:, 1], kp[:, 0]]  # (n, 3)


def test_colour_does_not_tell_left_from_right(people):
    """Edition 1: the right elbow is redder than the left in every image; edition 2: a coin flip."""
    re, le = JOINTS.index("right elbow"), JOINTS.index("left elbow")
    v1 = make_people(200, seed=3, noise=0.0)
    for p, one in ((v1, True), (people, False)):
        idx = (p.visible[:, re] & p.visible[:, le]).nonzero().flatten()
        assert len(idx) > 100
        redder = ((_joint_colours(p, re, idx) - _joint_colours(p, le, idx)) > 0).float().mean(0)  # per RGB
        if one:
            assert redder[0] > 0.95
        else:
            assert ((redder > 0.35) & (redder < 0.65)).all(), redder
    # pooled over all images, the person's right and left limb pixels have one colour distribution
    limbs = ("upper_arm", "forearm", "thigh", "shin", "hand", "foot")
    right = torch.isin(people.parts, torch.tensor([PARTS.index(f"r_{n}") for n in limbs]))
    left = torch.isin(people.parts, torch.tensor([PARTS.index(f"l_{n}") for n in limbs]))
    px = people.images.permute(1, 0, 2, 3)  # (3, N, S, S)
    for c in range(3):
        h_r = torch.histc(px[c][right], bins=16, min=0, max=1) / right.sum()
        h_l = torch.histc(px[c][left], bins=16, min=0, max=1) / left.sum()
        assert 0.5 * (h_r - h_l).abs().sum() < 0.05  # total variation distance


def test_anatomy_tells_front_from_back(people):
    """Front views show a face (skin, eyes) under the hair; back views only hair."""
    head = PARTS.index("head")
    spread, seen = torch.zeros(len(people)), torch.zeros(len(people), dtype=torch.bool)
    for i in range(len(people)):
        m = people.parts[i] == head
        seen[i] = m.sum() >= 10
        if seen[i]:
            spread[i] = people.images[i][:, m].std(dim=1).sum()
    predicted_front = spread > 0.1
    accuracy = (predicted_front == people.facing_camera)[seen].float().mean()
    assert seen.float().mean() > 0.9 and accuracy > 0.9


def _side_sign(p):
    """+1 where the person's right hip lies to the left of the spine (as seen), -1 otherwise."""
    kp = p.keypoints.double()
    down = (kp[:, R_HIP] + kp[:, L_HIP]) / 2 - kp[:, NECK]
    lateral = torch.stack([down[:, 1], -down[:, 0]], dim=1)  # image-right for an upright figure
    return -torch.sign(((kp[:, R_HIP] - kp[:, L_HIP]) * lateral).sum(1))


def _own_part_at_joints(p):
    """Recomputes visibility with the generator's rule from the part map: Tensor[N, K] bool."""
    rc = p.keypoints.round().long().clamp(0, p.size - 1)
    out = torch.zeros_like(p.visible)
    for n in range(len(p)):
        for j in range(len(JOINTS)):
            top = int(p.parts[n, rc[n, j, 1], rc[n, j, 0]])
            out[n, j] = bool(p.inside[n, j]) and top >= 0 and PARTS[top] in _OWN_PARTS[j]
    return out


def test_a_flip_with_swapped_keypoints_is_a_valid_sample(people):
    mirrored = flip_people(people)
    for p in (people, mirrored):
        assert torch.equal(_side_sign(p) > 0, p.facing_camera)  # front view: right on the image's left
        assert torch.equal(_own_part_at_joints(p), p.visible)  # joints sit on their own parts
    assert torch.equal(mirrored.images, people.images.flip(-1))
    back = flip_people(mirrored)
    torch.testing.assert_close(back.keypoints, people.keypoints, rtol=0, atol=1e-5)
    assert torch.equal(back.parts, people.parts) and torch.equal(back.visible, people.visible)
    assert all(PART_FLIP[PART_FLIP[i]] == i for i in range(len(PARTS)))
    # a flip without the swap breaks the rule in every image (the v1 recipe's flip is not valid here)
    unswapped = flip_keypoints(people.keypoints, people.size)[:, list(FLIP)]
    wrong = _side_sign(dataclasses.replace(mirrored, keypoints=unswapped)) > 0
    assert not wrong.eq(people.facing_camera).any()


def test_left_right_swap_rate(people):
    kp, vis, norm = people.keypoints, people.inside, torso_size(people.keypoints)
    assert left_right_swap_rate(kp, kp, vis, 0.2, norm) == 0.0
    swapped = kp[:, list(FLIP)]  # every limb found on the mirrored side
    rate = left_right_swap_rate(swapped, kp, vis, 0.2, norm)
    assert 0.8 < rate <= 1.0  # (joints whose two sides nearly coincide are right for both)
    with pytest.raises(ValueError, match="at least one visible left/right joint"):
        left_right_swap_rate(kp, kp, torch.zeros_like(vis), 0.2, norm)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        make_people_v2(-1, seed=0)
    with pytest.raises(ValueError, match="size must be an int >= 32"):
        make_people_v2(1, seed=0, size=16)
    with pytest.raises(ValueError, match="p_occluder must be a probability"):
        make_people_v2(1, seed=0, p_occluder=1.5)
    with pytest.raises(TypeError, match="people must be People"):
        flip_people(torch.zeros(1))
    with pytest.raises(ValueError, match="keypoints must be a Tensor of shape"):
        flip_keypoints(torch.zeros(2, 3, 2), 64)


def test_global_rng_untouched():
    state, t = np.random.get_state()[1].copy(), torch.get_rng_state()
    make_people_v2(2, seed=9)
    assert np.array_equal(state, np.random.get_state()[1]) and torch.equal(t, torch.get_rng_state())
