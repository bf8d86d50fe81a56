"""How the embeddings checkpoints are made: the word vectors, and the image half below.

``data/embeddings_words.pt`` (``python tools/make_checkpoints.py embeddings_words``): on growing
prefixes of the Wikipedia text in gensim's wheel (``CURVE_WORDS`` tokens, the last one all of it),
with word2vec's settings ``SETTINGS`` (skip-gram, 100-d, window 5, 5 negatives, 15 epochs,
min_count 5, sample 1e-3, learning rate 0.025 → 0.0001), two trainers:

- our SGNS (``training.train_sgns``, through ``train.fit``, seeded generators, one thread);
- gensim's ``Word2Vec`` (the C-speed reference; one worker thread, ``seed=0``; its random
  initialisation uses Python's ``hash``, so the run is reproducible with ``PYTHONHASHSEED=0``,
  which ``make checkpoints`` sets).

Stored: per size and trainer, which of the 19,544 Google questions were covered and answered right
(bool masks, so that any section or question subset can be scored later), the vocabulary size and
the training seconds; for the full text, our SGNS vectors (float16, the whole vocabulary) and its
loss history. About 2 MB.

The image half, on notebook 06's faces (``python tools/make_checkpoints.py embeddings_faces``,
``... embeddings_copies``):

- ``embeddings_faces.pt``: a ``FaceAutoencoder`` on notebook 06's procedural faces (``DATA``:
  600 people x 16 photos, 32 px, nuisance strength 0.6 as in 06) and the ``AttributeClassifier``
  that judges glasses / smile / hair colour, on the same training faces.
- ``embeddings_copies.pt``: the copy-detection embedding (``training.train_copy_detector``), a
  ``CopyDetector`` (06's ``FaceEmbedder`` on 16 px copies) trained on faces of other people than
  the index it searches.

Everything through ``lecture_lib.train.fit`` (the loops: ``training.py``), seeded by explicit
generators, on one CPU thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from lecture_lib.checkpoints import model_entry
from lecture_lib.datasets.faces import FaceSet, face_split
from lecture_lib.datasets.text import wiki_sentences
from lecture_lib.embeddings.analogies import evaluate_analogies
from lecture_lib.embeddings.attributes import AttributeClassifier
from lecture_lib.embeddings.autoencoder import FaceAutoencoder
from lecture_lib.embeddings.duplicates import CopyDetector
from lecture_lib.embeddings.training import (
    gensim_word2vec,
    train_attribute_classifier,
    train_autoencoder,
    train_copy_detector,
    train_sgns,
)

SETTINGS = dict(
    dim=100, window=5, negative=5, epochs=15, min_count=5, sample=1e-3, alpha=0.025, min_alpha=1e-4
)
BATCH_SIZE = 1024
CURVE_WORDS = (50_000, 100_000, 200_000, None)  # None: the whole text (452,944 tokens)


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


# --- the image half --------------------------------------------------------------------------------

DATA = dict(
    n_train=600,
    train_images=16,
    n_test=150,
    test_images=8,
    n_val=150,
    val_images=8,
    size=32,
    strength=0.6,
    seed=100,
)
AE = dict(latent_dim=48, width=32, steps=500, epochs=6, batch_size=64, lr=2e-3, seed=0)
CLASSIFIER = dict(width=16, steps=1500, batch_size=64, lr=3e-3, seed=0)


def face_sets(
    parts: tuple[str, ...] = ("train", "val", "test"), data: dict | None = None
) -> dict[str, FaceSet]:
    """``{part: FaceSet}`` of 07's faces (people disjoint across parts; none of them is one of 06's
    people: other seeds). Labels: train 0.., then val, then test."""
    d = {**DATA, **(data or {})}
    spec = {
        "train": (d["n_train"], d["train_images"], 0),
        "val": (d["n_val"], d["val_images"], d["n_train"]),
        "test": (d["n_test"], d["test_images"], d["n_train"] + d["n_val"]),
    }
    return {
        p: face_split(
            p,
            spec[p][0],
            spec[p][1],
            seed=d["seed"],
            first_label=spec[p][2],
            size=d["size"],
            strength=d["strength"],
        )
        for p in parts
    }


def build_faces(data: dict | None = None, ae: dict | None = None, classifier: dict | None = None) -> dict:
    """Train the autoencoder and the attribute classifier (tests pass smaller settings)."""
    d, a, c = {**DATA, **(data or {})}, {**AE, **(ae or {})}, {**CLASSIFIER, **(classifier or {})}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train = face_sets(("train",), d)["train"]
        kw = dict(latent_dim=a["latent_dim"], width=a["width"], image_size=d["size"], seed=a["seed"])
        model, hist = train_autoencoder(
            train.images,
            steps=a["steps"],
            epochs=a["epochs"],
            batch_size=a["batch_size"],
            lr=a["lr"],
            model=FaceAutoencoder(**kw),
            seed=a["seed"],
        )
        clf, clf_hist = train_attribute_classifier(
            train.images,
            train.attributes,
            steps=c["steps"],
            batch_size=c["batch_size"],
            lr=c["lr"],
            seed=c["seed"],
            width=c["width"],
        )
    finally:
        torch.set_num_threads(threads)
    return {
        "autoencoder": model_entry(FaceAutoencoder, model, **kw),
        "classifier": model_entry(
            AttributeClassifier, clf, width=c["width"], image_size=d["size"], seed=c["seed"]
        ),
        "history": hist.as_dict(),
        "classifier_history": clf_hist.as_dict(),
        "data": d,
        "ae": a,
        "classifier_settings": c,
    }


COPIES = dict(
    n_ids=500,
    images=8,
    seed=900,
    steps=600,
    batch_size=128,
    lr=2e-3,
    temperature=0.1,
    embedding_dim=64,
    width=16,
    input_size=16,
)


def build_copies(settings: dict | None = None, data: dict | None = None) -> dict:
    """Train the copy-detection embedding on faces of its own people (seed ``COPIES["seed"]``): none
    of them is in the index that 07 searches (07's training faces), so nothing is memorised."""
    s, d = {**COPIES, **(settings or {})}, {**DATA, **(data or {})}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        faces = face_split(
            "train", s["n_ids"], s["images"], seed=s["seed"], size=d["size"], strength=d["strength"]
        )
        model, hist = train_copy_detector(
            faces.images,
            steps=s["steps"],
            batch_size=s["batch_size"],
            lr=s["lr"],
            temperature=s["temperature"],
            embedding_dim=s["embedding_dim"],
            width=s["width"],
            input_size=s["input_size"],
            seed=0,
        )
    finally:
        torch.set_num_threads(threads)
    kw = dict(embedding_dim=s["embedding_dim"], width=s["width"], input_size=s["input_size"], seed=0)
    return {"model": model_entry(CopyDetector, model, **kw), "history": hist.as_dict(), "settings": s}


CHECKPOINTS: dict[str, Callable[[], dict]] = {
    "embeddings_words.pt": build_words,
    "embeddings_faces.pt": build_faces,
    "embeddings_copies.pt": build_copies,
}
