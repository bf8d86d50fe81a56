"""Registered claims of notebook 04 (FCN semantic segmentation), judged by ``lecture_lib.claims``'s
one rule.

Written before any measurement under the rule (issue 22); notebook 04's closing table judges every
entry, and from now on an entry never changes to move a verdict. Paper figures from
``shared/paper-numbers.md`` (status V).
"""

from lecture_lib.claims import Claim, ClaimRegistry

REGISTRY = ClaimRegistry(
    "04_segmentation",
    [
        Claim(
            "segmentation.fcn.sliding_window",
            "an FCN gives the same scores as the sliding-window classifier",
            "slides: CNNs vs. FCNs",
            "fact",
            paper="same scores",
            expected=True,
        ),
        Claim(
            "segmentation.fcn.any_size",
            "an FCN processes images of any size (output size by the formula)",
            "slides: Semantic Image Segmentation",
            "fact",
            paper="arbitrary sizes",
            expected=True,
        ),
        Claim(
            "segmentation.fcn.bilinear_init",
            "the learnable upsampling starts as bilinear interpolation",
            "FCN (Long et al. 2015), Sec. 3.3",
            "fact",
            paper="bilinear initialisation",
            expected=True,
        ),
        Claim(
            "segmentation.fcn.16s_beats_32s",
            "FCN-16s scores a higher mean IU than FCN-32s",
            "FCN (Long et al. 2015), Table 2",
            "effect",
            ">",
            paper="62.4 vs 59.4 mean IU (VOC2011 val)",
            training=True,
        ),
        Claim(
            "segmentation.fcn.8s_beats_16s",
            "FCN-8s scores a higher mean IU than FCN-16s",
            "FCN (Long et al. 2015), Table 2",
            "effect",
            ">",
            paper="62.7 vs 62.4 mean IU (VOC2011 val)",
            training=True,
        ),
        Claim(
            "segmentation.fcn.finer_is_better",
            "finer decoders score higher: FCN-32s < 16s < 8s",
            "FCN (Long et al. 2015), Table 2",
            "compound",
            parts=("segmentation.fcn.16s_beats_32s", "segmentation.fcn.8s_beats_16s"),
        ),
        Claim(
            "segmentation.fcn.skips_detail",
            "skips bring back detail: FCN-8s beats FCN-32s at the boundaries",
            "slides: Encoder-Decoder",
            "effect",
            ">",
            paper="+3.3 mean IU 32s -> 8s",
            training=True,
        ),
        Claim(
            "segmentation.fcn.map_at_scale",
            "FCN-8s reaches 62.2 mean IU on VOC 2012 test",
            "FCN (Long et al. 2015), Table 3",
            "scale",
            ">",
            paper="62.2 mean IU",
        ),
        Claim(
            "segmentation.upsampling.learned",
            "learned upsampling kernels beat the bilinear ones",
            "FCN (Long et al. 2015), Sec. 3.3",
            "effect",
            ">",
            paper="deconvolution, initialised bilinear",
            training=True,
        ),
        Claim(
            "segmentation.coarse.loses_detail",
            "a coarser output loses detail: stride 8 beats stride 32",
            "slides: Encoder-Decoder",
            "effect",
            ">",
            paper="low resolution loses detail",
        ),
    ],
)
