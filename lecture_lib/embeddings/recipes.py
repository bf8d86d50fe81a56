"""How ``data/embeddings_words.pt`` is made (``python tools/make_checkpoints.py embeddings_words``).

On growing prefixes of the Wikipedia text in gensim's wheel (``CURVE_WORDS`` tokens, the last one
all of it), with word2vec's settings ``SETTINGS`` (skip-gram, 100-d, window 5, 5 negatives,
15 epochs, min_count 5, sample 1e-3, learning rate 0.025 → 0.0001), two trainers:

- our SGNS (``sgns.train_sgns``, through ``train.fit``, seeded generators, one thread);
- gensim's ``Word2Vec`` (the C-speed reference; one worker thread, ``seed=0``; its random
  initialisation uses Python's ``hash``, so the run is reproducible with ``PYTHONHASHSEED=0``,
  which ``make checkpoints`` sets).

Stored: per size and trainer, which of the 19,544 Google questions were covered and answered right
(bool masks, so that any section or question subset can be scored later), the vocabulary size and
the training seconds; for the full text, our SGNS vectors (float16, the whole vocabulary) and its
loss history. About 2 MB.
"""

from __future__ import annotations

import time

import torch

from lecture_lib.datasets.text import wiki_sentences
from lecture_lib.embeddings.analogies import evaluate_analogies
from lecture_lib.embeddings.sgns import train_sgns

SETTINGS = dict(
    dim=100, window=5, negative=5, epochs=15, min_count=5, sample=1e-3, alpha=0.025, min_alpha=1e-4
)
BATCH_SIZE = 1024
CURVE_WORDS = (50_000, 100_000, 200_000, None)  # None: the whole text (452,944 tokens)


def gensim_word2vec(sentences: list[list[str]], settings: dict | None = None, seed: int = 0):
    """gensim's ``Word2Vec`` with ``settings`` (default ``SETTINGS``; skip-gram, negative sampling, one
    worker thread): its KeyedVectors."""
    from gensim.models import Word2Vec

    s = SETTINGS if settings is None else settings
    model = Word2Vec(
        sentences, sg=1, hs=0, vector_size=s["dim"], window=s["window"], negative=s["negative"],
        epochs=s["epochs"], min_count=s["min_count"], sample=s["sample"], alpha=s["alpha"],
        min_alpha=s["min_alpha"], workers=1, seed=seed,
    )  # fmt: skip
    return model.wv


def _outcome(vectors: torch.Tensor, words: list[str], seconds: float) -> dict:
    report = evaluate_analogies(vectors, words)
    return {
        "correct": report.correct.clone(),
        "covered": report.covered.clone(),
        "vocab_size": len(words),
        "seconds": seconds,
        "accuracy": report.total.accuracy,
    }


def build_words(
    sizes: tuple[int | None, ...] = CURVE_WORDS, settings: dict | None = None, progress: bool = True
) -> dict:
    """Train both trainers on every corpus size (largest first); the checkpoint dict (module docstring).

    The largest size's vectors and history are kept; ``settings`` default to ``SETTINGS``.
    """
    torch.set_num_threads(1)
    settings = dict(SETTINGS if settings is None else settings)
    curve: list[dict] = []
    full: dict = {}
    largest = max(sizes, key=lambda n: float("inf") if n is None else n)
    for size in sorted(sizes, key=lambda n: -(float("inf") if n is None else n)):
        sentences = wiki_sentences(size)
        tokens = sum(len(s) for s in sentences)
        start = time.perf_counter()
        vocab, model, history = train_sgns(
            sentences, **settings, batch_size=BATCH_SIZE, seed=0, progress=progress
        )
        own = _outcome(model.vectors, list(vocab.words), time.perf_counter() - start)
        start = time.perf_counter()
        kv = gensim_word2vec(sentences, settings, seed=0)
        ref = _outcome(
            torch.from_numpy(kv.vectors.copy()), list(kv.index_to_key), time.perf_counter() - start
        )
        curve.append({"tokens": tokens, "own": own, "gensim": ref})
        print(f"{tokens:,} tokens: own {100 * own['accuracy']:.2f}% ({own['seconds']:.0f} s), "
              f"gensim {100 * ref['accuracy']:.2f}% ({ref['seconds']:.0f} s)", flush=True)  # fmt: skip
        if size == largest:
            step = max(1, len(history.batch_loss) // 500)
            full = {
                "words": list(vocab.words),
                "counts": vocab.counts.clone(),
                "vectors": model.vectors.half(),
                "train_loss": list(history.train_loss),
                "batch_loss": history.batch_loss[::step],
                "batch_loss_every": step,
            }
    curve.sort(key=lambda c: int(c["tokens"]))
    return {"settings": dict(settings, batch_size=BATCH_SIZE), "curve": curve, "full": full}


CHECKPOINTS = {"embeddings_words.pt": build_words}
