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
  ``train_sgns(sentences, ...)``: word2vec's skip-gram with negative sampling (``sgns.py``).
- ``ppmi_svd_vectors(sentences, ...)``: the count-based baseline, PPMI + truncated SVD (``counts.py``).
- ``plots.plot_relations(vectors, vocab, pairs)``: relation arrows (male → female, country → capital)
  in a 2-D PCA.
- ``recipes.CHECKPOINTS``: ``data/embeddings_words.pt`` (own SGNS and gensim on the full corpus,
  the learning curve); ``pretrained.glove(...)``: GloVe through gensim's downloader (full profile).
- The text and the questions: ``lecture_lib.datasets.text`` (files shipped in gensim's wheel).
"""

from lecture_lib.embeddings.analogies import AnalogyReport, Score, evaluate_analogies
from lecture_lib.embeddings.counts import ppmi_svd_vectors
from lecture_lib.embeddings.sgns import SkipGram, SkipGramBatches, Vocab, sgns_loss, train_sgns
from lecture_lib.embeddings.words import analogy, nearest

# --- image part: the lead adds the image helper's names here (imports and __all__) ---

__all__ = [
    "AnalogyReport",
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
]
