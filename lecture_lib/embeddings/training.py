"""Embeddings training: every loop of notebook 07's models, through ``lecture_lib.train.fit``.

- ``train_sgns(sentences, ...)``: word2vec's skip-gram with negative sampling (``sgns.py``'s pieces).
- ``gensim_word2vec(sentences, settings)``: gensim's ``Word2Vec``, the C-speed reference.
- ``train_autoencoder(images, steps=...)``: a ``FaceAutoencoder`` (``autoencoder.py``).
- ``train_attribute_classifier(images, attributes, steps=...)``: the judge (``attributes.py``).
- ``train_copy_detector(images, steps=...)``: the copy-detection embedding (``duplicates.py``).

Settings and checkpoint builders: ``recipes.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lecture_lib.embeddings.attributes import AttributeClassifier, attribute_loss, attribute_targets
from lecture_lib.embeddings.autoencoder import (
    FaceAutoencoder,
    check_images,
    positive_int,
    reconstruction_loss,
)
from lecture_lib.embeddings.duplicates import (
    PERTURBATIONS,
    CopyDetector,
    check_image_batch,
    info_nce,
    random_perturbation,
)
from lecture_lib.embeddings.sgns import SkipGram, SkipGramBatches, Vocab, sgns_batch_loss
from lecture_lib.train import History, RandomBatches, fit, predict


def train_sgns(
    sentences: Sequence[Sequence[str]],
    *,
    dim: int = 100,
    window: int = 5,
    negative: int = 5,
    epochs: int = 15,
    min_count: int = 5,
    sample: float = 1e-3,
    alpha: float = 0.025,
    min_alpha: float = 1e-4,
    batch_size: int = 1024,
    seed: int = 0,
    progress: bool = True,
) -> tuple[Vocab, SkipGram, History]:
    """Train skip-gram with negative sampling on tokenised ``sentences`` (gensim's argument names).

    SGD on the mean loss of a batch with learning rate ``alpha · batch_size``, i.e. ``alpha`` per
    pair as in word2vec, decaying linearly to ``min_alpha`` over the run.

    Returns:
        (vocab, model, history): ``model.vectors`` is Tensor[V, D], row i for ``vocab.words[i]``.
    """
    vocab = Vocab.build(sentences, min_count)
    ids, sentence = vocab.encode(sentences)
    loader = SkipGramBatches(ids, sentence, vocab.counts, window=window, negative=negative, sample=sample,
                             batch_size=batch_size, seed=seed + 1)  # fmt: skip
    model = SkipGram(len(vocab), dim, seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=alpha * batch_size)
    total = epochs * len(loader)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: max(min_alpha / alpha, 1 - step / total)
    )
    history = fit(model, loader, epochs=epochs, optimizer=optimizer, loss_fn=sgns_batch_loss,
                  scheduler=schedule, scheduler_step="batch", progress=progress, desc="SGNS")  # fmt: skip
    return vocab, model, history


def gensim_word2vec(sentences: list[list[str]], settings: dict, seed: int = 0):
    """gensim's ``Word2Vec`` with ``settings`` (``recipes.SETTINGS``'s keys; skip-gram, negative
    sampling, one worker thread): its KeyedVectors."""
    from gensim.models import Word2Vec

    s = settings
    model = Word2Vec(
        sentences, sg=1, hs=0, vector_size=s["dim"], window=s["window"], negative=s["negative"],
        epochs=s["epochs"], min_count=s["min_count"], sample=s["sample"], alpha=s["alpha"],
        min_alpha=s["min_alpha"], workers=1, seed=seed,
    )  # fmt: skip
    return model.wv


def _fit_adam_cosine(
    model: nn.Module,
    loader: RandomBatches,
    *,
    lr: float,
    epochs: int,
    loss_fn: Callable,
    desc: str,
    eval_fn: Callable | None = None,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> History:
    """``fit`` with Adam and a cosine decay of ``lr`` over all ``epochs * len(loader)`` batches
    (stepped every batch): the recipe of the autoencoder, the attribute judge and the copy detector."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=len(loader) * epochs)
    return fit(
        model,
        loader,
        epochs=epochs,
        optimizer=opt,
        scheduler=sched,
        scheduler_step="batch",
        loss_fn=loss_fn,
        eval_fn=eval_fn,
        device=device,
        progress=progress,
        desc=desc,
    )


def train_autoencoder(
    images: Tensor,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 2e-3,
    epochs: int = 1,
    model: FaceAutoencoder | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> tuple[FaceAutoencoder, History]:
    """Train (or go on training) an autoencoder on ``images`` Tensor[N, 3, S, S].

    ``epochs`` passes of ``steps`` random batches (``RandomBatches`` seeded with ``seed``), Adam with
    a cosine decay of ``lr`` over all ``epochs · steps`` batches, mean squared error.

    Returns:
        ``(model, history)``; the history's ``metrics["mse"]`` is the error on the first 512 images
        after each epoch.
    """
    positive_int(steps, "steps")
    positive_int(batch_size, "batch_size")
    positive_int(epochs, "epochs")
    if model is None:
        model = FaceAutoencoder(image_size=check_images(images, images.shape[-1]).shape[-1], seed=seed)
    check_images(images, model.image_size)
    labels = torch.zeros(images.shape[0], dtype=torch.long)
    loader = RandomBatches(images, labels, batch_size=batch_size, steps=steps, seed=seed + 1)
    probe = images[:512]

    def eval_fn(m: nn.Module) -> dict[str, float]:
        return {"mse": F.mse_loss(predict(m, probe.to(device)), probe.cpu()).item()}

    hist = _fit_adam_cosine(
        model,
        loader,
        lr=lr,
        epochs=epochs,
        loss_fn=reconstruction_loss,
        eval_fn=eval_fn,
        device=device,
        progress=progress,
        desc="autoencoder",
    )
    return model, hist


def train_attribute_classifier(
    images: Tensor,
    attributes: dict[str, Tensor],
    *,
    steps: int,
    epochs: int = 1,
    batch_size: int = 64,
    lr: float = 3e-3,
    width: int = 16,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> tuple[AttributeClassifier, History]:
    """Train an ``AttributeClassifier`` on faces Tensor[N, 3, S, S] and their ``FaceSet.attributes``
    (``steps`` seeded random batches per epoch, Adam with a cosine decay)."""
    y = attribute_targets(attributes)
    if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[0] != y.shape[0]:
        got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(
            f"images must be a Tensor[N, 3, S, S] with N = {y.shape[0]} (one per label row), got {got}"
        )
    model = AttributeClassifier(width=width, image_size=images.shape[-1], seed=seed)
    loader = RandomBatches(images, y, batch_size=batch_size, steps=steps, seed=seed + 1)
    hist = _fit_adam_cosine(
        model,
        loader,
        lr=lr,
        epochs=epochs,
        loss_fn=attribute_loss,
        device=device,
        progress=progress,
        desc="attribute classifier",
    )
    return model, hist


def train_copy_detector(
    images: Tensor,
    *,
    steps: int,
    epochs: int = 1,
    batch_size: int = 128,
    lr: float = 2e-3,
    temperature: float = 0.1,
    embedding_dim: int = 64,
    width: int = 16,
    input_size: int = 16,
    seed: int = 0,
    progress: bool = False,
):
    """A copy-detection embedding (in the spirit of SSCD, Pizzi et al., CVPR 2022): a ``CopyDetector``
    (notebook 06's ``FaceEmbedder`` on shrunk images) trained so that a training image and an edited
    copy of it (one or two random edits among crop, resize, jpeg, colour; mirrors are handled by
    ``embed_for_search``) are nearer than any two different images of the batch (``info_nce``).

    Returns:
        ``(model, history)``: the ``CopyDetector`` (unit embeddings) and its History.
    """
    check_image_batch(images)
    kinds = tuple(k for k in PERTURBATIONS if k != "flip")
    g = torch.Generator().manual_seed(seed + 2)
    model = CopyDetector(embedding_dim=embedding_dim, width=width, input_size=input_size, seed=seed)
    loader = RandomBatches(
        images, torch.zeros(images.shape[0]), batch_size=batch_size, steps=steps, seed=seed + 1
    )

    def loss_fn(m, batch):
        x = batch[0]
        edited = random_perturbation(x, generator=g, kinds=kinds)
        twice = torch.rand(x.shape[0], generator=g) < 0.5
        edited[twice] = random_perturbation(edited[twice], generator=g, kinds=kinds)
        return info_nce(m(x), m(edited), temperature)

    hist = _fit_adam_cosine(
        model, loader, lr=lr, epochs=epochs, loss_fn=loss_fn, progress=progress, desc="copy detector"
    )
    return model, hist
