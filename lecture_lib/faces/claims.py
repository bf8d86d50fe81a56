"""Registered claims of notebook 06 (face verification: DeepFace, FaceNet), judged by
``lecture_lib.claims``'s one rule.

Registered before any measurement under the rule (issue 22); notebook 06 judges every claim in its
closing ledger. AUC and 10-fold accuracy on held-out identities; training claims need >= 3
seeds. Paper figures from ``shared/paper-numbers.md`` (status V).
"""

from lecture_lib.claims import Claim, ClaimRegistry

REGISTRY = ClaimRegistry(
    "06_faces",
    [
        Claim(
            "faces.deepface.at_scale",
            "DeepFace's classification features verify LFW at 97.35%",
            "DeepFace (Taigman et al. 2014), Table 3",
            "scale",
            ">",
            paper="97.35% ± 0.25 LFW (ensemble, unrestricted); single net 97.00%",
        ),
        Claim(
            "faces.facenet.at_scale",
            "FaceNet's triplet embedding verifies LFW at 99.63%",
            "FaceNet (Schroff et al. 2015), Sec. 5.6",
            "scale",
            ">",
            paper="99.63% ± 0.09 LFW (with alignment); 98.87% centre crop",
        ),
        Claim(
            "faces.triplet.beats_softmax",
            "a triplet-loss embedding verifies better than classification features",
            "slides: Discriminative Face Embeddings",
            "effect",
            ">",
            paper="FaceNet 99.63% > DeepFace 97.35% (different data and nets)",
            training=True,
        ),
        Claim(
            "faces.embedding.beats_pixels",
            "a learned embedding verifies better than raw pixels",
            "slides: Face Verification",
            "effect",
            ">",
            paper="qualitative",
            training=True,
        ),
        Claim(
            "faces.semi_hard.beats_random",
            "semi-hard mining beats random negatives",
            "FaceNet (Schroff et al. 2015), Sec. 3.2",
            "effect",
            ">",
            paper="semi-hard triplets converge; most random triplets are easy",
            training=True,
        ),
        Claim(
            "faces.hard.collapses",
            "the hardest negatives give a worse model than semi-hard ones",
            "FaceNet (Schroff et al. 2015), Sec. 3.2",
            "effect",
            "<",
            paper="'can result in a collapsed model (f(x) = 0)'",
            training=True,
        ),
        Claim(
            "faces.margin.0_2_vs_0_05",
            "margin 0.2 is at least as good as 0.05",
            "FaceNet (Schroff et al. 2015), Sec. 3",
            "effect",
            ">",
            paper="alpha = 0.2",
            training=True,
        ),
        Claim(
            "faces.margin.0_2_vs_0_5",
            "margin 0.2 is at least as good as 0.5",
            "FaceNet (Schroff et al. 2015), Sec. 3",
            "effect",
            ">",
            paper="alpha = 0.2",
            training=True,
        ),
        Claim(
            "faces.margin.good",
            "alpha = 0.2 is a good margin",
            "FaceNet (Schroff et al. 2015), Sec. 3",
            "compound",
            parts=("faces.margin.0_2_vs_0_05", "faces.margin.0_2_vs_0_5"),
        ),
    ],
)
