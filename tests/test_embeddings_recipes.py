"""A miniature build of data/embeddings_words.pt (the real one trains for about half an hour)."""

import torch

from lecture_lib.embeddings import recipes


def test_build_words_miniature():
    settings = dict(recipes.SETTINGS, dim=8, epochs=1)
    ck = recipes.build_words(sizes=(6_000, 3_000), settings=settings, progress=False)
    assert [c["tokens"] for c in ck["curve"]] == [3_000, 6_000]  # sorted by size
    assert ck["settings"]["dim"] == 8 and ck["settings"]["batch_size"] == recipes.BATCH_SIZE
    for c in ck["curve"]:
        for who in ("own", "gensim"):
            o = c[who]
            assert o["correct"].dtype == torch.bool and o["correct"].shape == (19_544,)
            assert not (o["correct"] & ~o["covered"]).any()
        # the same vocabulary rule (min_count) as gensim, hence the same askable questions
        assert c["own"]["vocab_size"] == c["gensim"]["vocab_size"]
        assert torch.equal(c["own"]["covered"], c["gensim"]["covered"])
    full = ck["full"]  # the largest size's vectors
    assert full["vectors"].dtype == torch.float16 and full["vectors"].shape == (len(full["words"]), 8)
    assert len(full["words"]) == ck["curve"][-1]["own"]["vocab_size"]
    assert len(full["train_loss"]) == 1
