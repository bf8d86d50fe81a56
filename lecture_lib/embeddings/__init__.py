"""Vector arithmetic in embedding spaces: word analogies (this part) and images (the image part).

Serves ``notebooks/07_embeddings.ipynb`` (lecture 16, slides "Vector Arithmetics in Embedding
Space", "Commercial Recognition Services").

Public API, words:

- ``analogy(vectors, vocab, a, b, c, topn=1) -> [(word, cosine), ...]``: "a is to b as c is to ?"
  by 3CosAdd on unit vectors, question words excluded (gensim's ``most_similar``; ``words.py``).
- ``nearest(vectors, query, k) -> (indices, cosines)``: the k rows nearest by cosine.
- ``evaluate_analogies(vectors, vocab, questions=None) -> AnalogyReport``: the Google analogy
  test per section, semantic, syntactic and total, out-of-vocabulary questions counted
  (``analogies.py``; ``Score``).
- ``sgns_loss(centre, context, noise)``, ``SkipGram``, ``SkipGramBatches``, ``Vocab``,
  ``keep_probability``: word2vec's skip-gram with negative sampling (``sgns.py``); its loop
  ``train_sgns(sentences, ...)`` (``training.py``, with every other training loop of the package).
- ``ppmi_svd_vectors(sentences, ...)``: the count-based baseline, PPMI + truncated SVD (``counts.py``).
- ``plot_relations(vectors, vocab, pairs)``: relation arrows (``MALE_FEMALE``, ``COUNTRY_CAPITAL``)
  in a 2-D PCA (``plots.py``).
- ``recipes.CHECKPOINTS``: ``data/embeddings_words.pt`` (own SGNS and gensim on the full corpus,
  the learning curve); ``pretrained.glove(...)``: GloVe through gensim's downloader (full profile).
- The text and the questions: ``lecture_lib.datasets.text`` (files shipped in gensim's wheel).

Public API, images (on notebook 06's drawn faces; CelebA in the full profile):

- ``FaceAutoencoder``, ``encode``, ``decode`` (``autoencoder.py``); ``train_autoencoder``,
  ``train_attribute_classifier``, ``train_copy_detector`` (``training.py``).
- ``attribute_vector(latents, has)`` = mean latent with minus without; ``apply_attribute(latents,
  vector, strength)``; ``AttributeClassifier`` (the judge), ``flip_rate``, ``choose_strength``,
  ``identity_kept`` (06's face embedding), ``retrieve`` (``attributes.py``).
- Near-duplicate search: ``perturb`` (crop, resize, JPEG, colour shift, flip), ``CopyDetector``,
  ``embed_for_search``, ``nearest_neighbours``, ``choose_threshold``, ``duplicate_rates``
  (``duplicates.py``).
- Recognition services: ``Tagger``, ``tag``, ``course_taggers()`` (quick), ``imagenet_tagger``
  (full) (``tagging.py``); ``load_celeba`` (full profile, verified download; ``celeba.py``).
- Modules notebook 07 uses by name: ``attributes``, ``duplicates``, ``tagging``, ``pretrained``,
  ``recipes`` (settings and builders: ``face_sets``, ``DATA`` ...), ``sgns``, ``words``.
- ``recipes.CHECKPOINTS`` also builds ``data/embeddings_faces.pt`` and ``data/embeddings_copies.pt``.

Claims (issue 22): ``REGISTRY`` (``claims``): the registered lecture claims this concept's notebook
judges in its closing ledger (``Ledger(title, claims=REGISTRY)``).

Exercises (issue 25): ``exercises``: ``EXERCISES``, the exercises of 07_embeddings (references,
visible and hidden cases, refused shortcuts).
"""

from lecture_lib.embeddings.analogies import AnalogyReport, Score, evaluate_analogies
from lecture_lib.embeddings.attributes import (
    AttributeClassifier,
    apply_attribute,
    attribute_vector,
    choose_strength,
    flip_rate,
    identity_kept,
    retrieve,
)
from lecture_lib.embeddings.autoencoder import FaceAutoencoder, decode, encode
from lecture_lib.embeddings.celeba import load_celeba
from lecture_lib.embeddings.claims import REGISTRY
from lecture_lib.embeddings.counts import ppmi_svd_vectors
from lecture_lib.embeddings.duplicates import (
    CopyDetector,
    choose_threshold,
    duplicate_rates,
    embed_for_search,
    nearest_neighbours,
    perturb,
)
from lecture_lib.embeddings.exercises import EXERCISES
from lecture_lib.embeddings.plots import COUNTRY_CAPITAL, MALE_FEMALE, plot_relations
from lecture_lib.embeddings.sgns import SkipGram, SkipGramBatches, Vocab, keep_probability, sgns_loss
from lecture_lib.embeddings.tagging import Tagger, course_taggers, imagenet_tagger, tag
from lecture_lib.embeddings.training import (
    train_attribute_classifier,
    train_autoencoder,
    train_copy_detector,
    train_sgns,
)
from lecture_lib.embeddings.words import analogy, nearest

__all__ = [
    "COUNTRY_CAPITAL",
    "MALE_FEMALE",
    "keep_probability",
    "load_celeba",
    "plot_relations",
    "train_attribute_classifier",
    "train_copy_detector",
    "AnalogyReport",
    "AttributeClassifier",
    "CopyDetector",
    "FaceAutoencoder",
    "Tagger",
    "apply_attribute",
    "attribute_vector",
    "choose_strength",
    "choose_threshold",
    "course_taggers",
    "decode",
    "duplicate_rates",
    "embed_for_search",
    "encode",
    "flip_rate",
    "identity_kept",
    "imagenet_tagger",
    "nearest_neighbours",
    "perturb",
    "retrieve",
    "tag",
    "train_autoencoder",
    "Score",
    "SkipGram",
    "SkipGramBatches",
    "Vocab",
    "analogy",
    "evaluate_analogies",
    "nearest",
    "ppmi_svd_vectors",
    "sgns_loss",
    "train_sgns",
    "EXERCISES",
    "REGISTRY",
]
