"""How ``data/faces_*.pt`` are trained (``python tools/make_checkpoints.py faces_methods`` ...).

The same backbone (``FaceEmbedder``), the same training faces and the same budget (``steps``
batches of ``P × K`` images, Adam with a cosine learning-rate decay) for every run:

- ``faces_methods.pt``: DeepFace-style softmax over the training identities vs FaceNet's triplet
  loss with online semi-hard mining (margin 0.2);
- ``faces_mining.pt``: the triplet loss with random and with hard negatives (vs semi-hard above);
- ``faces_margins.pt``: semi-hard mining with a smaller and a larger margin.

Each run stores its model entry and its history (per-batch loss; after every ``steps / evals``
batches: validation AUC and the embeddings' spread, the mean squared distance between validation
faces, which falls to 0 when the embedding collapses). Validation faces are identities of their
own, disjoint from train and test (``face_data``). All randomness comes from ``seed``; 1 thread.

The claims about training need >= 3 training seeds (``lecture_lib.claims.MIN_SEEDS``): each run is
trained again with the training seeds ``EXTRA_SEEDS`` (chosen before any was built), same data,
split, budget and learning rate; after all seed-``TRAIN["seed"]`` runs, so those stay as before.
Of these only what the intervals need is stored, in ``seed_runs[name][seed]``: the squared
distances of the test pairs (``test_pairs``, the same pairs for every seed) and the history.
"""

from __future__ import annotations

from lecture_lib.checkpoints import model_entry
from lecture_lib.datasets.faces import FaceSet, face_parts, verification_pairs
from lecture_lib.faces.models import FaceClassifier, FaceEmbedder, embed, pair_distances
from lecture_lib.faces.training import model_kwargs, train_softmax, train_triplet
from lecture_lib.runtime import single_thread

DATA = dict(
    n_train=500,
    n_test=300,
    train_images=24,
    test_images=10,
    n_val=60,
    val_images=6,
    size=32,
    strength=0.6,
    seed=0,
)
TRAIN = dict(steps=800, P=16, K=8, lr=2e-3, evals=8, width=16, hidden=128, embedding_dim=64, seed=0)
MARGIN, MARGINS = 0.2, (0.05, 0.5)
EXTRA_SEEDS = (1, 2)  # training seeds beside TRAIN["seed"]: the claims' rule needs >= 3


def face_data(
    *,
    n_train: int,
    n_test: int,
    train_images: int,
    test_images: int,
    n_val: int,
    val_images: int,
    size: int,
    strength: float,
    seed: int,
    parts=("train", "test", "val"),
) -> dict[str, FaceSet]:
    """``{part: FaceSet}`` for the requested parts, people disjoint across parts (``face_parts``);
    labels: train ``0..n_train-1``, then test, then val."""
    spec = {"train": (n_train, train_images), "test": (n_test, test_images), "val": (n_val, val_images)}
    return face_parts(spec, seed=seed, parts=parts, size=size, strength=strength)


def test_pairs(test: FaceSet, seed: int) -> dict:
    """LFW's layout on the test identities: 10 identity-disjoint folds of 300 same + 300 different."""
    return verification_pairs(test.labels, pairs_per_fold=300, folds=10, seed=seed + 3)


def _train(train_set: FaceSet, val: FaceSet, t: dict, strategy: str, margin: float, size: int):
    """``(model, history)`` of one run: softmax, or the triplet loss with ``strategy`` mining."""
    if strategy == "softmax":
        return train_softmax(train_set, val, t, image_size=size)
    return train_triplet(train_set, val, t, strategy=strategy, margin=margin, image_size=size)


@single_thread()
def _runs(
    specs: dict[str, tuple[str, float]],
    data: dict | None = None,
    train: dict | None = None,
    extra_seeds: tuple[int, ...] = EXTRA_SEEDS,
) -> dict:
    d, t = {**DATA, **(data or {})}, {**TRAIN, **(train or {})}
    if t["seed"] in extra_seeds or len(set(extra_seeds)) != len(extra_seeds):
        raise ValueError(f"extra_seeds must be distinct and differ from seed {t['seed']}, got {extra_seeds}")
    sets = face_data(**d, parts=("train", "val"))
    train_set, val = sets["train"], sets["val"]
    out: dict = {"data": d, "train": t, "histories": {}, "margins": {}, "strategies": {}}
    for name, (strategy, margin) in specs.items():
        model, hist = _train(train_set, val, t, strategy, margin, d["size"])
        if strategy == "softmax":
            out[name] = model_entry(
                FaceClassifier,
                model,
                num_classes=model.classifier.out_features,
                **model_kwargs(t, d["size"]),
            )
        else:
            out[name] = model_entry(FaceEmbedder, model, **model_kwargs(t, d["size"]))
        out["histories"][name] = hist.as_dict()
        out["margins"][name], out["strategies"][name] = float(margin), strategy
    out["seeds"] = [t["seed"], *extra_seeds]
    out["seed_runs"] = _seed_runs(specs, d, t, extra_seeds, train_set, val)
    return out


def _seed_runs(specs, d: dict, t: dict, seeds, train_set: FaceSet, val: FaceSet) -> dict:
    """``{name: {seed: {"distances": Tensor[P] float32, "history": dict}}}``: each run retrained
    with each training seed of ``seeds``; distances of the test pairs ``test_pairs`` (P = 6,000)."""
    test = face_data(**d, parts=("test",))["test"]
    pairs = test_pairs(test, d["seed"])
    runs: dict = {name: {} for name in specs}
    for seed in seeds:
        for name, (strategy, margin) in specs.items():
            model, hist = _train(train_set, val, {**t, "seed": seed}, strategy, margin, d["size"])
            dist = pair_distances(embed(model, test.images), pairs["i"], pairs["j"])
            runs[name][seed] = {"distances": dist.float().clone(), "history": hist.as_dict()}
    return runs


def build_methods(data: dict | None = None, train: dict | None = None) -> dict:
    """Softmax (DeepFace-style) vs triplet + semi-hard mining, same backbone, data and budget."""
    return _runs({"softmax": ("softmax", 0.0), "semi_hard": ("semi-hard", MARGIN)}, data, train)


def build_mining(data: dict | None = None, train: dict | None = None) -> dict:
    """Random and hard negatives (margin 0.2), to compare with semi-hard in ``faces_methods.pt``."""
    return _runs({"random": ("random", MARGIN), "hard": ("hard", MARGIN)}, data, train)


def build_margins(data: dict | None = None, train: dict | None = None) -> dict:
    """Semi-hard mining with margins ``MARGINS`` (0.2 is in ``faces_methods.pt``)."""
    return _runs({f"margin_{m:g}": ("semi-hard", m) for m in MARGINS}, data, train)


CHECKPOINTS = {
    "faces_methods.pt": build_methods,
    "faces_mining.pt": build_mining,
    "faces_margins.pt": build_margins,
}
