"""datasets.faces: determinism, disjoint identities, attributes, pairs in LFW's layout."""

import pytest
import torch

from lecture_lib.datasets import faces


def test_render_is_deterministic_and_in_range():
    ids = faces.sample_identities(4, seed=3)
    a = faces.make_faces(ids, 3, seed=5, size=32)
    b = faces.make_faces(faces.sample_identities(4, seed=3), 3, seed=5, size=32)
    assert a.images.shape == (12, 3, 32, 32) and a.images.dtype == torch.float32
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert 0 <= a.images.min() and a.images.max() <= 1
    c = faces.make_faces(ids, 3, seed=6, size=32)
    assert not torch.equal(a.images, c.images)  # other nuisances, other pixels


def test_identity_changes_the_face_at_fixed_nuisance():
    nu = faces.sample_nuisances(2, seed=0, strength=0.0)
    nu = {k: v[:1].repeat(2, *([1] * (v.ndim - 1))) for k, v in nu.items()}
    ids = faces.sample_identities(2, seed=1)
    img = faces.render_faces(ids, nu, size=32)
    assert (img[0] - img[1]).abs().mean() > 0.02
    same = faces.render_faces(
        {k: v[:1].repeat(2, *([1] * (v.ndim - 1))) for k, v in ids.items()}, nu, size=32
    )
    assert torch.allclose(same[0], same[1], atol=1e-6)


def test_parts_have_disjoint_identities():
    d = faces.face_parts({"train": (20, 3), "test": (8, 2)}, seed=0, size=16)
    train, test = d["train"], d["test"]
    assert set(train.labels.tolist()) == set(range(20)) and set(test.labels.tolist()) == set(range(20, 28))
    # no test person has the identity parameters of a train person
    assert not any(torch.isclose(test.identity["eye_dx"][:, None], train.identity["eye_dx"][None]).any(1))
    assert len(train) == 60 and len(test) == 16


def test_parts_labels_follow_the_spec_and_each_part_is_its_own():
    spec = {"train": (6, 2), "val": (3, 2), "test": (4, 1)}
    d = faces.face_parts(spec, seed=5, size=16, parts=("test", "train"))
    assert list(d) == ["test", "train"]  # the order asked for; labels by the spec's order
    assert set(d["test"].labels.tolist()) == set(range(9, 13))
    alone = faces.face_split("test", 4, 1, seed=5, first_label=9, size=16)
    assert torch.equal(d["test"].images, alone.images)  # a part does not depend on the others
    with pytest.raises(
        ValueError, match=r"parts must be among the spec's \['train', 'val', 'test'\], got \['dev'\]"
    ):
        faces.face_parts(spec, seed=5, parts=("dev",))


def test_attributes_are_labels():
    fs = faces.make_faces(faces.sample_identities(30, seed=0), 4, seed=1, size=16)
    for name in ("glasses", "smiling", "hair_colour", "occluded", "yaw"):
        assert fs.attributes[name].shape == (120,)
    assert 0 < fs.attributes["glasses"].float().mean() < 1
    assert fs.attributes["hair_colour"].max() < len(faces.HAIR_COLOURS)
    # hair colour is identity: the same for all images of a person
    assert (fs.attributes["hair_colour"].view(30, 4) == fs.attributes["hair_colour"].view(30, 4)[:, :1]).all()


def test_verification_pairs_layout():
    labels = torch.arange(40).repeat_interleave(3)
    pairs = faces.verification_pairs(labels, pairs_per_fold=5, folds=10, seed=0)
    assert pairs["i"].shape == (100,) and pairs["same"].sum() == 50
    assert torch.equal(pairs["same"], labels[pairs["i"]] == labels[pairs["j"]])
    assert (pairs["i"] != pairs["j"]).all()
    people = [
        set(labels[pairs["i"][pairs["fold"] == f]].tolist())
        | set(labels[pairs["j"][pairs["fold"] == f]].tolist())
        for f in range(10)
    ]
    assert all(
        not (people[a] & people[b]) for a in range(10) for b in range(a + 1, 10)
    )  # identity-disjoint folds


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: faces.sample_identities(0, seed=0), r">= 1, got 0"),
        (lambda: faces.sample_nuisances(3, seed=0, strength=5.0), r"strength must be in \[0, 2\], got 5.0"),
        (lambda: faces.render_faces({}, {}, size=8), r"needs the parameters"),
        (
            lambda: faces.verification_pairs(torch.arange(10), pairs_per_fold=2, folds=10, seed=0),
            r"at least 20",
        ),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
