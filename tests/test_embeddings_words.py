"""analogy / nearest / evaluate_analogies against a direct computation and against gensim."""

import pytest
import torch

from lecture_lib.datasets.text import AnalogyQuestion
from lecture_lib.embeddings import AnalogyReport, analogy, evaluate_analogies, nearest

gensim_models = pytest.importorskip("gensim.models")


def keyed_vectors(vectors, vocab):
    kv = gensim_models.KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(list(vocab), vectors.numpy())
    return kv


def random_vocab(n, dim, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g), [f"w{i}" for i in range(n)]


@pytest.mark.parametrize("seed", range(4))
def test_nearest_matches_direct_cosines(seed):
    vectors, _ = random_vocab(50, 8, seed)
    query = torch.randn(8, generator=torch.Generator().manual_seed(100 + seed))
    idx, cos = nearest(vectors * torch.rand(50, 1) * 3, query * 2.5, k=7)  # lengths must not matter
    direct = torch.stack([torch.dot(v, query) / (v.norm() * query.norm()) for v in vectors])
    expected = torch.sort(direct, descending=True)
    torch.testing.assert_close(idx, expected.indices[:7])
    torch.testing.assert_close(cos, expected.values[:7])


@pytest.mark.parametrize("seed", range(4))
def test_analogy_matches_gensim_most_similar(seed):
    vectors, vocab = random_vocab(60, 16, seed)
    g = torch.Generator().manual_seed(seed)
    a, b, c = (vocab[i] for i in torch.randperm(60, generator=g)[:3].tolist())
    ours = analogy(vectors, vocab, a, b, c, topn=5)
    theirs = keyed_vectors(vectors, vocab).most_similar(positive=[b, c], negative=[a], topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    torch.testing.assert_close(torch.tensor([s for _, s in ours]), torch.tensor([s for _, s in theirs]))


def test_analogy_hand_geometry_and_exclusion():
    # equal lengths: king - man + woman is exactly queen; king and woman (cosine 0.5) rank above
    # apple (negative cosine), so the answers queen, apple show that they are excluded
    vocab = ["man", "woman", "king", "queen", "apple"]
    vectors = torch.tensor([[1.0, 0, 0, 1], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 1, 0], [-1, -1, 0, 0]])
    answers = analogy(vectors, vocab, "man", "king", "woman", topn=2)
    assert [w for w, _ in answers] == ["queen", "apple"]
    assert answers[0][1] == pytest.approx(1.0) and answers[1][1] < 0


def test_analogy_direct_three_cos_add():
    vectors, vocab = random_vocab(30, 5, 9)
    unit = vectors / vectors.norm(dim=1, keepdim=True)
    target = unit[2] - unit[0] + unit[1]
    scores = {w: float(unit[i] @ target / target.norm()) for i, w in enumerate(vocab) if i not in (0, 1, 2)}
    best = max(scores, key=scores.get)
    assert analogy(vectors, vocab, "w0", "w2", "w1") == [(best, pytest.approx(scores[best], abs=1e-5))]


@pytest.mark.parametrize(
    "args, error, message",
    [
        (("man", "king", "quenn"), ValueError, "c = 'quenn' is not in the vocabulary"),
        (("mann", "king", "woman"), ValueError, "a = 'mann'"),
        (("man", 3, "woman"), TypeError, "b must be a word"),
    ],
)
def test_analogy_unknown_word_is_named(args, error, message):
    vectors, vocab = torch.eye(4), ["man", "king", "woman", "queen"]
    with pytest.raises(error, match=message):
        analogy(vectors, vocab, *args)


def test_bad_inputs():
    vectors, vocab = torch.eye(4), ["man", "king", "woman", "queen"]
    with pytest.raises(ValueError, match=r"vectors must have shape \(V, D\).*got \(4,\)"):
        analogy(torch.ones(4), vocab, "man", "king", "woman")
    with pytest.raises(ValueError, match="vocab must be a list of V = 4 words.*got 3"):
        analogy(vectors, vocab[:3], "man", "king", "woman")
    with pytest.raises(ValueError, match="topn must be between 1 and 1"):
        analogy(vectors, vocab, "man", "king", "woman", topn=2)
    with pytest.raises(TypeError, match="must be floating point"):
        nearest(torch.eye(4, dtype=torch.long), torch.ones(4), 1)
    with pytest.raises(ValueError, match=r"query must have shape \(4,\).*got \(3,\)"):
        nearest(vectors, torch.ones(3), 1)
    with pytest.raises(ValueError, match="k must be between 1 and 4"):
        nearest(vectors, torch.ones(4), 5)
    with pytest.raises(ValueError, match="non-zero"):
        nearest(vectors, torch.zeros(4), 1)
    with pytest.raises(TypeError, match="k must be an int"):
        nearest(vectors, torch.ones(4), 1.0)


def structured_vectors(seed):
    """Countries, capitals = country + a shared offset + noise, and filler words: some analogies hold."""
    g = torch.Generator().manual_seed(seed)
    countries = ["france", "italy", "spain", "japan", "china", "egypt", "chile", "peru"]
    capitals = ["paris", "rome", "madrid", "tokyo", "beijing", "cairo", "santiago", "lima"]
    base = torch.randn(len(countries), 12, generator=g)
    offset = torch.randn(12, generator=g)
    cap = base + offset + 0.9 * torch.randn(len(countries), 12, generator=g)
    fill = torch.randn(20, 12, generator=g)
    vocab = countries + capitals + [f"filler{i}" for i in range(20)]
    return torch.cat([base, cap, fill]), vocab, countries, capitals


def write_questions(path, countries, capitals):
    lines = [": capital-common-countries"]
    for i in range(len(countries)):
        for j in range(len(countries)):
            if i != j:
                lines.append(f"{capitals[i].title()} {countries[i].title()} {capitals[j]} {countries[j]}")
    lines += [": gram8-plural", "paris france atlantis utopia", "rome italy madrid spain"]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("seed", range(3))
def test_evaluation_matches_gensim(tmp_path, seed):
    from lecture_lib.datasets.text import analogy_questions

    vectors, vocab, countries, capitals = structured_vectors(seed)
    path = tmp_path / "questions.txt"
    write_questions(path, countries, capitals)
    report = evaluate_analogies(vectors, vocab, analogy_questions(path))
    score, sections = keyed_vectors(vectors, vocab).evaluate_word_analogies(str(path))
    theirs = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections}
    for name, s in report.sections.items():
        assert (s.correct, s.covered) == theirs[name]
    assert (report.total.correct, report.total.covered) == theirs["Total accuracy"]
    assert report.total.accuracy == pytest.approx(score)
    assert 0 < report.total.correct < report.total.covered  # the case tests both outcomes
    assert report.total.oov == 1 and report.sections["gram8-plural"].oov == 1  # counted, not dropped
    assert report.total.questions == len(countries) * (len(countries) - 1) + 2


def test_evaluation_predictions_are_the_analogy_answers():
    vectors, vocab, countries, capitals = structured_vectors(5)
    qs = [
        AnalogyQuestion("capital-world", capitals[0], countries[0], capitals[k], countries[k])
        for k in (1, 2, 3)
    ]
    qs.append(AnalogyQuestion("gram1-adjective-to-adverb", "quick", "quickly", "calm", "calmly"))
    report = evaluate_analogies(vectors, vocab, qs)
    for q, predicted in zip(qs[:3], report.predicted):
        assert predicted == analogy(vectors, vocab, q.a, q.b, q.c)[0][0]
    assert report.predicted[3] is None and not report.covered[3]
    assert report.semantic.questions == 3 and report.syntactic.questions == 1
    assert report.syntactic.covered == 0 and report.total.accuracy_all == report.total.correct / 4


def test_evaluation_restrict_vocab_and_case():
    vectors, vocab, countries, capitals = structured_vectors(1)
    q = [AnalogyQuestion("capital-world", "paris", "france", "rome", "italy")]
    assert evaluate_analogies(vectors, [w.upper() for w in vocab], q).covered.all()  # case-insensitive
    assert not evaluate_analogies(vectors, vocab, q, restrict_vocab=8).covered.any()  # capitals cut off
    with pytest.raises(ValueError, match="vocab must hold V = 36 words.*got 35"):
        evaluate_analogies(vectors, vocab[:-1], q)
    with pytest.raises(ValueError, match="restrict_vocab must be a positive int"):
        evaluate_analogies(vectors, vocab, q, restrict_vocab=0)


def test_report_from_masks_round_trip():
    vectors, vocab, countries, capitals = structured_vectors(2)
    qs = [
        AnalogyQuestion("capital-world", capitals[0], countries[0], capitals[k], countries[k])
        for k in range(1, 8)
    ]
    report = evaluate_analogies(vectors, vocab, qs)
    again = AnalogyReport.from_masks(qs, report.correct, report.covered)
    assert again.total == report.total and again.sections == report.sections
    with pytest.raises(ValueError, match="correct without being covered"):
        AnalogyReport.from_masks(qs, torch.ones(7, dtype=torch.bool), torch.zeros(7, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"Tensor\[Q\] with Q = 7, got \(6,\)"):
        AnalogyReport.from_masks(qs, report.correct[:6], report.covered[:6])
