"""How ``data/embeddings_faces.pt`` (and ``embeddings_copies.pt``) are trained: the image half of 07.

- ``embeddings_faces.pt``: a ``FaceAutoencoder`` on notebook 06's procedural faces (``DATA``:
  600 people x 16 photos, 32 px, nuisance strength 0.6 as in 06) and the ``AttributeClassifier``
  that judges glasses / smile / hair colour, on the same training faces.
- ``embeddings_copies.pt``: the copy-detection embedding (``duplicates.train_copy_detector``), a
  ``CopyDetector`` (06's ``FaceEmbedder`` on 16 px copies) trained on faces of other people than
  the index it searches.

Everything through ``lecture_lib.train.fit``, seeded by explicit generators, on one CPU thread.
The lead merges ``CHECKPOINTS`` into ``recipes.py``; until then build with
``python -c "from lecture_lib.embeddings.image_recipes import main; main('embeddings_faces')"``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lecture_lib.checkpoints import model_entry
from lecture_lib.datasets.faces import FaceSet, face_split
from lecture_lib.embeddings.attributes import AttributeClassifier, train_attribute_classifier
from lecture_lib.embeddings.autoencoder import FaceAutoencoder, train_autoencoder
from lecture_lib.embeddings.duplicates import CopyDetector, train_copy_detector

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
    "embeddings_faces.pt": build_faces,
    "embeddings_copies.pt": build_copies,
}


def main(stem: str) -> None:
    """Build one checkpoint into ``data/`` and record it in the manifest, as ``tools/make_checkpoints.py``."""
    import time

    from lecture_lib.checkpoints import save_checkpoint
    from lecture_lib.config import repo_root

    start = time.perf_counter()
    obj = CHECKPOINTS[f"{stem}.pt"]()
    entry = save_checkpoint(
        obj, f"{stem}.pt", command=f"python tools/make_checkpoints.py {stem}", folder=repo_root() / "data"
    )
    print(f"{entry['file']}: {entry['size']} bytes, {time.perf_counter() - start:.0f} s", flush=True)
