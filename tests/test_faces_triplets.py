"""faces.triplets: the loss against its formula, gradcheck and pytorch-metric-learning; mining
against pml's TripletMarginMiner and brute-force loops; bad inputs."""

import itertools

import pytest
import torch
from pytorch_metric_learning.distances import LpDistance
from pytorch_metric_learning.losses import TripletMarginLoss
from pytorch_metric_learning.miners import TripletMarginMiner
from pytorch_metric_learning.reducers import DoNothingReducer, MeanReducer

from lecture_lib.faces import PKBatches, mine_triplets, pairwise_sq_distances, triplet_loss


def _unit(n, d, g):
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)


def _batch(seed, n=24, d=8, people=5):
    g = torch.Generator().manual_seed(seed)
    return _unit(n, d, g), torch.randint(people, (n,), generator=g)


@pytest.mark.parametrize("seed", range(3))
def test_loss_matches_formula_loop(seed):
    g = torch.Generator().manual_seed(seed)
    a, p, n = (torch.randn(7, 5, generator=g) for _ in range(3))
    expected = []
    for b in range(7):
        d_ap = sum((a[b, k] - p[b, k]) ** 2 for k in range(5))
        d_an = sum((a[b, k] - n[b, k]) ** 2 for k in range(5))
        expected.append(max(0.0, float(d_ap - d_an + 0.3)))
    expected = torch.tensor(expected)
    torch.testing.assert_close(triplet_loss(a, p, n, 0.3, reduction="none"), expected)
    torch.testing.assert_close(triplet_loss(a, p, n, 0.3), expected.mean())
    torch.testing.assert_close(triplet_loss(a, p, n, 0.3, reduction="sum"), expected.sum())


def test_loss_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    a, p, n = (torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(3))
    # keep every hinge away from its kink so finite differences are valid
    losses = triplet_loss(a, p, n, 0.2, reduction="none").detach()
    d = (a - p).pow(2).sum(1) - (a - n).pow(2).sum(1) + 0.2
    assert (d.abs() > 1e-3).all() and (losses > 0).any()
    assert torch.autograd.gradcheck(lambda a, p, n: triplet_loss(a, p, n, 0.2), (a, p, n))


@pytest.mark.parametrize("seed", range(4))
def test_loss_matches_pytorch_metric_learning(seed):
    emb, labels = _batch(seed)
    a, p, n = mine_triplets(emb, labels, 0.2, "random", generator=torch.Generator().manual_seed(seed))
    ours = triplet_loss(emb[a], emb[p], emb[n], 0.2, reduction="none")
    # FaceNet's settings in pml: squared L2 (power=2), margin 0.2, embeddings already unit length
    dist = LpDistance(power=2, normalize_embeddings=False)
    pml_none = TripletMarginLoss(margin=0.2, distance=dist, reducer=DoNothingReducer())
    got = pml_none(emb, labels, indices_tuple=(a, p, n))["loss"]["losses"]
    torch.testing.assert_close(ours, got, rtol=1e-5, atol=1e-6)
    pml_mean = TripletMarginLoss(margin=0.2, distance=dist, reducer=MeanReducer())
    torch.testing.assert_close(
        triplet_loss(emb[a], emb[p], emb[n], 0.2), pml_mean(emb, labels, (a, p, n)), rtol=1e-5, atol=1e-6
    )


def _as_set(triplets):
    return set(zip(*(t.tolist() for t in triplets)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("margin", [0.2, 0.5])
def test_semi_hard_same_set_as_pml_miner(seed, margin):
    emb, labels = _batch(seed, n=32, people=6)
    ours = mine_triplets(emb, labels, margin, "semi-hard")
    miner = TripletMarginMiner(
        margin=margin, type_of_triplets="semihard", distance=LpDistance(power=2, normalize_embeddings=False)
    )
    theirs = miner(emb, labels)
    # pml keeps 0 < d_an - d_ap <= margin, FaceNet (and we) d_an < d_ap + margin: they differ only
    # for d_an - d_ap == margin exactly, which random inputs do not hit.
    assert _as_set(ours) == _as_set(theirs)
    assert len(ours[0]) > 0


@pytest.mark.parametrize("seed", range(3))
def test_semi_hard_against_brute_force_loop(seed):
    emb, labels = _batch(seed, n=14, people=4)
    d = pairwise_sq_distances(emb)
    expected = {
        (a, p, n)
        for a, p, n in itertools.product(range(14), repeat=3)
        if a != p and labels[a] == labels[p] and labels[n] != labels[a] and d[a, p] < d[a, n] < d[a, p] + 0.3
    }
    assert _as_set(mine_triplets(emb, labels, 0.3, "semi-hard")) == expected


@pytest.mark.parametrize("strategy", ["hard", "random"])
def test_hard_and_random_one_negative_per_positive_pair(strategy):
    emb, labels = _batch(1, n=30, people=5)
    a, p, n = mine_triplets(emb, labels, 0.2, strategy, generator=torch.Generator().manual_seed(0))
    pairs = {(i, j) for i in range(30) for j in range(30) if i != j and labels[i] == labels[j]}
    assert set(zip(a.tolist(), p.tolist())) == pairs and len(a) == len(pairs)
    assert (labels[a] == labels[p]).all() and (labels[a] != labels[n]).all() and (a != p).all()
    if strategy == "hard":
        d = pairwise_sq_distances(emb)
        for i, k in zip(a.tolist(), n.tolist()):
            assert d[i, k] == min(d[i, j] for j in range(30) if labels[j] != labels[i])


def test_random_is_seeded_and_covers_negatives():
    emb, labels = _batch(2, n=20, people=4)
    draw = [
        mine_triplets(emb, labels, 0.2, "random", generator=torch.Generator().manual_seed(s))[2]
        for s in (0, 0, 1)
    ]
    assert torch.equal(draw[0], draw[1]) and not torch.equal(draw[0], draw[2])


def test_no_triplets_when_one_identity():
    emb = _unit(5, 3, torch.Generator().manual_seed(0))
    for strategy in ("semi-hard", "hard", "random"):
        a, p, n = mine_triplets(emb, torch.zeros(5, dtype=torch.long), 0.2, strategy)
        assert a.numel() == p.numel() == n.numel() == 0


def test_pk_batches_have_p_identities_k_images():
    labels = torch.arange(10).repeat_interleave(6)
    x = torch.randn(60, 3, 4, 4)
    batches = list(PKBatches(x, labels, P=4, K=3, steps=5, seed=0))
    assert len(batches) == 5
    for xb, yb in batches:
        assert xb.shape == (12, 3, 4, 4)
        assert yb.unique().numel() == 4 and all((yb == q).sum() == 3 for q in yb.unique())
    again = list(PKBatches(x, labels, P=4, K=3, steps=5, seed=0))
    assert all(torch.equal(b[1], c[1]) for b, c in zip(batches, again))


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: triplet_loss(torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(2, 4)),
            r"same shape.*\(3, 4\).*\(2, 4\)",
        ),
        (lambda: triplet_loss(torch.zeros(3), torch.zeros(3), torch.zeros(3)), r"Tensor\[B, D\], got \(3,\)"),
        (
            lambda: triplet_loss(torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 4), margin=-0.1),
            r">= 0, got -0.1",
        ),
        (
            lambda: triplet_loss(torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 4), reduction="avg"),
            r"reduction.*'avg'",
        ),
        (lambda: mine_triplets(torch.zeros(5, 2), torch.zeros(5), 0.2, "easy"), r"strategy.*'easy'"),
        (lambda: mine_triplets(torch.zeros(5, 2), torch.zeros(4), 0.2), r"N = 5.*got \(4,\)"),
        (lambda: mine_triplets(torch.zeros(5, 2), torch.zeros(5), -1.0), r">= 0, got -1.0"),
        (lambda: mine_triplets(torch.zeros(5), torch.zeros(5), 0.2), r"Tensor\[N, D\], got \(5,\)"),
    ],
)
def test_bad_inputs_name_expected_and_received(call, message):
    with pytest.raises(ValueError, match=message):
        call()
