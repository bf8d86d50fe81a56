"""Full profile of notebook 07, words: pretrained GloVe vectors through gensim's downloader.

``glove(weights="DEFAULT" | name)`` fetches one of the GloVe sets of gensim-data
(``GLOVE_NAMES``; default ``glove-wiki-gigaword-100``: 400,000 lower-case words, 100-d, trained
on Wikipedia 2014 + Gigaword 5, 6B tokens, about 128 MB), cached under ``~/gensim-data`` (or
``$GENSIM_DATA_DIR``). gensim's downloader checks the file's MD5 against its release list; the
file is then read as plain word2vec text with ``KeyedVectors.load_word2vec_format`` (the
downloaded ``__init__.py`` loader is not executed). Without network and cache: one
``OfflineError``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

from lecture_lib import smoke
from lecture_lib.data import OFFLINE_HINT, OfflineError
from lecture_lib.weights import resolve_weights

GLOVE_NAMES = (
    "glove-wiki-gigaword-50",
    "glove-wiki-gigaword-100",
    "glove-wiki-gigaword-200",
    "glove-wiki-gigaword-300",
    "glove-twitter-25",
    "glove-twitter-50",
    "glove-twitter-100",
    "glove-twitter-200",
)
DEFAULT = "glove-wiki-gigaword-100"


def glove_path(weights: str = "DEFAULT") -> Path:
    """Download (once, MD5-checked by gensim) and return the path of a GloVe set's ``.gz`` file."""
    name = resolve_weights(weights, GLOVE_NAMES, default=DEFAULT, allow_none=False)
    import gensim.downloader as api

    fixture = smoke.fixture("gensim_data_dir")  # smoke mode: the fixture folder, read at call time
    cached = Path(fixture if fixture is not None else api.BASE_DIR) / name / f"{name}.gz"
    if cached.is_file():  # downloaded and MD5-checked before: no network needed
        return cached
    try:
        path = Path(api.load(name, return_path=True))
    except (OSError, ValueError) as exc:  # no network and no cached release list, or a partial download
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise OfflineError(
            f"Could not get the GloVe vectors {name!r} through gensim's downloader ({first}). It needs "
            f"raw.githubusercontent.com and github.com once, then uses its cache in {api.BASE_DIR}. "
            f"{OFFLINE_HINT}"
        ) from None
    if not path.is_file():
        raise OfflineError(
            f"gensim's downloader reported {path.name}, but it is not in {path.parent}. {OFFLINE_HINT}"
        )
    return path


def glove(weights: str = "DEFAULT", *, max_words: int | None = None) -> tuple[Tensor, list[str]]:
    """Pretrained GloVe vectors as a tensor and their words, most frequent first.

    Args:
        weights: ``"DEFAULT"`` (``glove-wiki-gigaword-100``) or one of ``GLOVE_NAMES``.
        max_words: keep only the ``max_words`` most frequent words (``None``: all).

    Returns:
        (vectors Tensor[V, D] float32, words list[str] of length V).
    """
    if max_words is not None and (
        isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1
    ):
        raise ValueError(f"max_words must be a positive int or None, got {max_words!r}")
    from gensim.models import KeyedVectors

    path = glove_path(weights)
    kv = KeyedVectors.load_word2vec_format(os.fspath(path), binary=False, limit=max_words)
    return torch.from_numpy(kv.vectors.copy()).float(), list(kv.index_to_key)
