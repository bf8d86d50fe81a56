"""Face verification: DeepFace-style classification features vs FaceNet's triplet loss.

Serves ``notebooks/06_faces.ipynb`` (lecture 16, slides "Other Tasks: Face Verification",
"Discriminative Face Embeddings").

Public API:

- ``triplet_loss(anchor, positive, negative, margin=0.2, reduction="mean")``: FaceNet's loss,
  relu(‖a − p‖² − ‖a − n‖² + margin), Tensor[B, D] ×3 -> Tensor[] (or Tensor[B] with "none").
- ``mine_triplets(embeddings, labels, margin, strategy="semi-hard")`` -> ``(a_idx, p_idx, n_idx)``:
  "semi-hard" (d(a,p) < d(a,n) < d(a,p) + margin), "hard", "random" (``triplets.py``).
- ``pairwise_sq_distances``, ``PKBatches`` (P identities × K images per batch).
- ``FaceEmbedder`` (normalised embeddings), ``FaceClassifier`` (DeepFace-style, ``models.py``).
- ``embed(model, images)``: test embeddings of either model; ``pair_distances``.
- ``training`` (module): ``train_softmax``, ``train_triplet``, ``triplet_loss_fn`` (through ``train.fit``).
- ``recipes`` (module): the settings (``DATA``, ``TRAIN``, ``MARGIN``), the data (``face_data``,
  ``test_pairs``) and ``CHECKPOINTS`` (how ``data/faces_*.pt`` are trained; its builders call
  ``training``); ``pretrained`` (module): LFW + ResNet (full profile).
- Verification metrics live in ``lecture_lib.metrics.verification`` (shared with notebook 07);
  the face renderer in ``lecture_lib.datasets.faces``.

Claims (issue 22): ``REGISTRY`` (``claims``): the registered lecture claims this concept's notebook
judges in its closing ledger (``Ledger(title, claims=REGISTRY)``).

Exercises (issue 25): ``exercises``: ``EXERCISES``, the exercises of 06_faces (references, visible
and hidden cases, refused shortcuts).
"""

from lecture_lib.faces.claims import REGISTRY
from lecture_lib.faces.exercises import EXERCISES
from lecture_lib.faces.models import FaceClassifier, FaceEmbedder, embed, pair_distances
from lecture_lib.faces.triplets import (
    STRATEGIES,
    PKBatches,
    mine_triplets,
    pairwise_sq_distances,
    triplet_loss,
)

__all__ = [
    "STRATEGIES",
    "FaceClassifier",
    "FaceEmbedder",
    "PKBatches",
    "embed",
    "mine_triplets",
    "pair_distances",
    "pairwise_sq_distances",
    "triplet_loss",
    "EXERCISES",
    "REGISTRY",
]
