"""Registered claims of notebook 02 (transfer learning), judged by ``lecture_lib.claims``'s one rule.

Written before any measurement under the rule (issue 22); notebook 02's closing table judges every
entry, and from now on an entry never changes to move a verdict. Every claim here is about
training, so its estimate runs over >= 3 seeds.
"""

from lecture_lib.claims import Claim, ClaimRegistry

REGISTRY = ClaimRegistry(
    "02_transfer_learning",
    [
        Claim(
            "transfer.generic.few_shot",
            "pretrained features beat training from scratch with 6 images per class",
            "Zeiler & Fergus 2014, Sec. 5.2 (Caltech-256)",
            "effect",
            ">",
            paper="state-of-the-art (pre-CNN) accuracy with 6 training images per class",
            training=True,
        ),
        Claim(
            "transfer.small.fixed_beats_finetune_1",
            "with 1 image per class, fixed features beat finetuning",
            "slides: Transfer Learning with CNNs (1)",
            "effect",
            ">",
            paper="small dataset: retrain the classifier",
            training=True,
        ),
        Claim(
            "transfer.small.fixed_beats_finetune_2",
            "with 2 images per class, fixed features beat finetuning",
            "slides: Transfer Learning with CNNs (1)",
            "effect",
            ">",
            paper="small dataset: retrain the classifier",
            training=True,
        ),
        Claim(
            "transfer.small.fixed_best",
            "small dataset: use the CNN as a fixed feature extractor",
            "slides: Transfer Learning with CNNs (1)",
            "compound",
            parts=("transfer.small.fixed_beats_finetune_1", "transfer.small.fixed_beats_finetune_2"),
        ),
        Claim(
            "transfer.medium.finetune_beats_fixed_20",
            "with 20 images per class, finetuning beats fixed features",
            "slides: Transfer Learning with CNNs (2)",
            "effect",
            ">",
            paper="medium dataset: finetune",
            training=True,
        ),
        Claim(
            "transfer.medium.finetune_beats_fixed_all",
            "with all images, finetuning beats fixed features",
            "slides: Transfer Learning with CNNs (2)",
            "effect",
            ">",
            paper="medium dataset: finetune",
            training=True,
        ),
        Claim(
            "transfer.medium.finetune_best",
            "medium dataset: finetune the top layers (or all)",
            "slides: Transfer Learning with CNNs (2)",
            "compound",
            parts=("transfer.medium.finetune_beats_fixed_20", "transfer.medium.finetune_beats_fixed_all"),
        ),
        Claim(
            "transfer.generic.probe",
            "pretrained top-stage features separate new classes better than random ones",
            "slides: The Learned Features are Generic",
            "effect",
            ">",
            paper="qualitative",
            training=True,
        ),
    ],
)
