"""Registered claims of notebook 07 (vector arithmetic in embedding spaces), judged by
``lecture_lib.claims``'s one rule.

Registered before any measurement under the rule (issue 22); notebook 07 judges every claim in its
closing ledger. Analogies: 3CosAdd on the Google analogy set, one fixed question set answerable
at every corpus size. Paper figures from ``shared/paper-numbers.md`` (status V).
"""

from lecture_lib.claims import Claim, ClaimRegistry

REGISTRY = ClaimRegistry(
    "07_embeddings",
    [
        Claim(
            "embeddings.analogy.at_scale",
            "skip-gram vectors answer 53.3% of the analogy questions",
            "Mikolov et al. 2013a, Table 4",
            "scale",
            ">",
            paper="53.3% (300-d, 783M words)",
        ),
        Claim(
            "embeddings.analogy.more_text",
            "more text gives better analogies (on one fixed question set)",
            "Mikolov et al. 2013a, Tables 4 and 6",
            "effect",
            ">",
            paper="783M words 53.3%, 6B words 65.6%",
            training=True,
        ),
        Claim(
            "embeddings.king_queen",
            "king - man + woman lands nearest to queen",
            "slides: Vector Arithmetics in Embedding Space",
            "fact",
            paper="queen is the nearest word",
            expected="queen",
        ),
        Claim(
            "embeddings.counts.competitive",
            "PPMI + SVD is competitive with SGNS on the same text",
            "Levy, Goldberg & Dagan 2015, Sec. 6",
            "effect",
            ">",
            paper="comparable with word2vec's tricks",
            training=True,
        ),
        Claim(
            "embeddings.glove.at_scale",
            "pretrained GloVe answers 71.7% of the analogy questions",
            "Pennington et al. 2014, Table 2",
            "scale",
            ">",
            paper="71.7% (300-d, 6B tokens)",
        ),
        Claim(
            "embeddings.images.attribute",
            "adding (mean with - mean without) adds an attribute to a face",
            "slides: Vector Arithmetics in Embedding Space",
            "effect",
            ">",
            paper="qualitative (as king - man + woman)",
        ),
        Claim(
            "embeddings.copies.leak",
            "accuracy looks better when test images were in the training set",
            "slides: Commercial Recognition Services",
            "effect",
            ">",
            paper="qualitative warning",
        ),
    ],
)
