"""Skip-gram with negative sampling: the loss against its formula, the pieces against word2vec's rules."""

import math

import pytest
import torch

from lecture_lib.embeddings import SkipGram, SkipGramBatches, Vocab, sgns_loss, train_sgns
from lecture_lib.embeddings.sgns import keep_probability, noise_distribution, skipgram_pairs


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


@pytest.mark.parametrize("seed", range(3))
def test_sgns_loss_matches_formula(seed):
    g = torch.Generator().manual_seed(seed)
    v, u, noise = (
        torch.randn(6, 4, generator=g),
        torch.randn(6, 4, generator=g),
        torch.randn(6, 3, 4, generator=g),
    )
    expected = 0.0
    for b in range(6):  # -log σ(v·u_o) - Σ_k log σ(-v·u_k), one pair at a time
        expected -= math.log(sigmoid(float(v[b] @ u[b])))
        expected -= sum(math.log(sigmoid(-float(v[b] @ noise[b, k]))) for k in range(3))
    assert sgns_loss(v, u, noise).item() == pytest.approx(expected / 6, rel=1e-5)


def test_sgns_loss_gradient_matches_word2vec_update():
    # word2vec's update for the centre vector: sum over (o, label) of (label - σ(v·u)) u
    g = torch.Generator().manual_seed(0)
    v = torch.randn(1, 5, generator=g, requires_grad=True)
    u, noise = torch.randn(1, 5, generator=g), torch.randn(1, 2, 5, generator=g)
    sgns_loss(v, u, noise).backward()
    x = v.detach()[0]
    step = (1 - torch.sigmoid(x @ u[0])) * u[0] - sum(torch.sigmoid(x @ n) * n for n in noise[0])
    torch.testing.assert_close(-v.grad[0], step)


def test_sgns_loss_bad_shapes():
    with pytest.raises(
        ValueError, match=r"centre and context must both have shape \(B, D\).*\(4, 3\) and \(4, 2\)"
    ):
        sgns_loss(torch.zeros(4, 3), torch.zeros(4, 2), torch.zeros(4, 5, 3))
    with pytest.raises(ValueError, match=r"noise must have shape \(B, K, D\) = \(4, K, 3\), got \(4, 3\)"):
        sgns_loss(torch.zeros(4, 3), torch.zeros(4, 3), torch.zeros(4, 3))


def test_vocab_min_count_order_and_encode():
    sentences = [["a", "b", "a", "c"], ["b", "a", "d", "d"]]
    vocab = Vocab.build(sentences, min_count=2)
    assert vocab.words == ("a", "b", "d") and vocab.counts.tolist() == [3, 2, 2]
    ids, sent = vocab.encode(sentences)
    assert ids.tolist() == [0, 1, 0, 1, 0, 2, 2] and sent.tolist() == [0, 0, 0, 1, 1, 1, 1]  # "c" dropped
    with pytest.raises(ValueError, match="no word occurs 9 times"):
        Vocab.build(sentences, min_count=9)
    with pytest.raises(ValueError, match="min_count must be a positive int"):
        Vocab.build(sentences, min_count=0)


def test_keep_probability_word2vec_formula():
    counts = torch.tensor([1000, 100, 10, 1])
    t = 1e-2 * 1111
    expected = [min(1.0, (math.sqrt(c / t) + 1) * t / c) for c in counts.tolist()]
    torch.testing.assert_close(keep_probability(counts, 1e-2), torch.tensor(expected))
    assert keep_probability(counts, 0).tolist() == [1, 1, 1, 1]


def test_noise_distribution_three_quarter_power():
    p = noise_distribution(torch.tensor([16, 1]))
    assert p.sum().item() == pytest.approx(1) and (p[0] / p[1]).item() == pytest.approx(8)


def brute_force_pairs(ids, sentence, reach):
    pairs = []
    for i in range(len(ids)):
        for j in range(len(ids)):
            if i != j and sentence[i] == sentence[j] and abs(i - j) <= reach[i]:
                pairs.append((int(ids[i]), int(ids[j])))
    return sorted(pairs)


@pytest.mark.parametrize("seed", range(3))
def test_skipgram_pairs_match_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 50, (40,), generator=g)
    sentence = torch.sort(torch.randint(0, 4, (40,), generator=g)).values
    reach = torch.randint(1, 4, (40,), generator=torch.Generator().manual_seed(7))  # what the function draws
    centre, context = skipgram_pairs(ids, sentence, 3, torch.Generator().manual_seed(7))
    assert sorted(zip(centre.tolist(), context.tolist())) == brute_force_pairs(ids, sentence, reach)


def test_batches_are_reproducible_and_shaped():
    g = torch.Generator().manual_seed(0)
    ids, sentence = torch.randint(0, 30, (500,), generator=g), torch.arange(500) // 50
    counts = torch.bincount(ids, minlength=30)

    def epoch(seed):
        return list(SkipGramBatches(ids, sentence, counts, batch_size=64, negative=4, seed=seed))

    first, again, other = epoch(1), epoch(1), epoch(2)
    assert all(torch.equal(x, y) for bx, by in zip(first, again) for x, y in zip(bx, by))
    assert not torch.equal(first[0][0], other[0][0])
    centre, context, noise = first[0]
    assert centre.shape == context.shape == (64,) and noise.shape == (64, 4)
    with pytest.raises(ValueError, match="window must be a positive int, got 0"):
        SkipGramBatches(ids, sentence, counts, window=0)


def test_skipgram_init_uses_no_global_rng():
    state = torch.random.get_rng_state()
    a, b = SkipGram(20, 8, seed=3), SkipGram(20, 8, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    torch.testing.assert_close(a.vectors, b.vectors)
    assert a.vectors.abs().max() <= 0.5 / 8 and a.output.weight.abs().sum() == 0


def test_training_learns_cooccurrence():
    # two topics that never share a sentence: words of one topic end up nearer each other
    g = torch.Generator().manual_seed(0)
    topics = [[f"x{i}" for i in range(6)], [f"y{i}" for i in range(6)]]
    sentences = [[topics[k % 2][int(j)] for j in torch.randint(0, 6, (20,), generator=g)] for k in range(200)]
    vocab, model, history = train_sgns(sentences, dim=8, epochs=3, batch_size=64, sample=0, progress=False)
    assert history.train_loss[-1] < history.train_loss[0]
    unit = torch.nn.functional.normalize(model.vectors, dim=1)
    topic = torch.tensor([w.startswith("x") for w in vocab.words])
    sims = unit @ unit.T
    same = sims[topic][:, topic].mean() + sims[~topic][:, ~topic].mean()
    cross = 2 * sims[topic][:, ~topic].mean()
    assert same > cross + 0.5
