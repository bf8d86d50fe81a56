"""GloVe through gensim's downloader, offline: a clear OfflineError, and the cached-file path."""

import gzip
import json
import urllib.error

import pytest
import torch

from lecture_lib.data import OfflineError
from lecture_lib.embeddings import pretrained

api = pytest.importorskip("gensim.downloader")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable (test)")

    monkeypatch.setattr(api, "urlopen", no_network)
    monkeypatch.setattr(api, "BASE_DIR", str(tmp_path / "gensim-data"))
    return tmp_path / "gensim-data"


def test_offline_without_cache_is_one_clear_error(offline):
    with pytest.raises(
        OfflineError, match="Could not get the GloVe vectors 'glove-wiki-gigaword-100'.*quick profile"
    ):
        pretrained.glove()


def test_cached_vectors_load_offline(offline):
    name = "glove-wiki-gigaword-50"
    (offline / name).mkdir(parents=True)
    info = {"corpora": {}, "models": {name: {"file_name": f"{name}.gz", "parts": 1, "checksum": "x"}}}
    (offline / "information.json").write_text(json.dumps(info))
    with gzip.open(offline / name / f"{name}.gz", "wt") as f:
        f.write("3 2\nthe 1.0 0.0\nof 0.0 2.0\nking 0.5 0.5\n")
    vectors, words = pretrained.glove(name)
    assert words == ["the", "of", "king"]
    torch.testing.assert_close(vectors, torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.5, 0.5]]))
    assert pretrained.glove(name, max_words=2)[1] == ["the", "of"]


def test_bad_weights():
    with pytest.raises(ValueError, match="weights must be 'DEFAULT' or one of .*got 'glove-42'"):
        pretrained.glove("glove-42")
    with pytest.raises(TypeError, match="weights must be"):
        pretrained.glove(True)
    with pytest.raises(ValueError, match="max_words must be a positive int"):
        pretrained.glove(max_words=0)
