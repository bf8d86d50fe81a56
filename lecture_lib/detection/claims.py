"""Registered claims of notebooks 03a-03c (R-CNN, Fast R-CNN, Faster R-CNN), judged by
``lecture_lib.claims``'s one rule.

Registered before any measurement under the rule (issue 22); each notebook judges every claim of its
registry in its closing ledger. mAP is VOC-style mAP@0.5 over test scenes; training claims need >= 3 seeds.
Paper figures from ``shared/paper-numbers.md`` (status V).
"""

from lecture_lib.claims import Claim, ClaimRegistry

REGISTRY_03A = ClaimRegistry(
    "03a_rcnn",
    [
        Claim(
            "detection.rcnn.map_at_scale",
            "R-CNN (AlexNet, box regression) reaches 58.5 mAP on VOC 2007",
            "Fast R-CNN (Girshick 2015), Table 4",
            "scale",
            ">",
            paper="58.5 mAP (VOC07 test)",
        ),
        Claim(
            "detection.rcnn.box_regression",
            "box regression raises R-CNN's mAP",
            "R-CNN (Girshick et al. 2014), Table 2",
            "effect",
            ">",
            paper="with > without box regression (VOC07)",
            training=True,
        ),
        Claim(
            "detection.rcnn.test_time_at_scale",
            "R-CNN tests at 47 s per image (VGG16, GPU)",
            "Fast R-CNN (Girshick 2015), Table 4",
            "scale",
            ">",
            paper="47.0 s/image",
        ),
        Claim(
            "detection.rcnn.train_time_at_scale",
            "R-CNN trains in 84 h (VGG16, K40)",
            "Fast R-CNN (Girshick 2015), Table 4",
            "scale",
            ">",
            paper="84 h",
        ),
        Claim(
            "detection.rcnn.disk_space",
            "R-CNN's cached features take hundreds of gigabytes on VOC07",
            "Fast R-CNN (Girshick 2015), Sec. 1.1",
            "effect",
            ">",
            margin=100.0,
            margin_source="Fast R-CNN Sec. 1.1: 'hundreds of gigabytes of storage' (VGG16, VOC07 trainval)",
            paper="hundreds of GB (slides: easily 200 GB)",
        ),
    ],
)

REGISTRY_03B = ClaimRegistry(
    "03b_fast_rcnn",
    [
        Claim(
            "detection.fast_rcnn.test_faster",
            "Fast R-CNN tests faster than R-CNN (time ratio above 1)",
            "Fast R-CNN (Girshick 2015), Table 4",
            "effect",
            ">",
            margin=1.0,
            margin_source="Fast R-CNN Table 4: the claim is a speed-up, i.e. a time ratio above 1",
            paper="146x: 0.32 s vs 47 s per image (VGG16, GPU)",
        ),
        Claim(
            "detection.fast_rcnn.test_speedup_at_scale",
            "Fast R-CNN tests 146x faster than R-CNN",
            "Fast R-CNN (Girshick 2015), Table 4",
            "scale",
            ">",
            paper="146x (VGG16, GPU)",
        ),
        Claim(
            "detection.fast_rcnn.train_faster",
            "Fast R-CNN trains faster than R-CNN (time ratio above 1)",
            "Fast R-CNN (Girshick 2015), Table 4",
            "effect",
            ">",
            margin=1.0,
            margin_source="Fast R-CNN Table 4: the claim is a speed-up, i.e. a time ratio above 1",
            paper="9x: 9.5 h vs 84 h",
        ),
        Claim(
            "detection.fast_rcnn.accuracy",
            "Fast R-CNN is more accurate than R-CNN",
            "Fast R-CNN (Girshick 2015), Table 4",
            "effect",
            ">",
            paper="66.9 vs 66.0 mAP (VGG16, VOC07)",
            training=True,
        ),
    ],
)

REGISTRY_03C = ClaimRegistry(
    "03c_faster_rcnn",
    [
        Claim(
            "detection.rpn.cheaper",
            "RPN proposals cost less than Selective Search's",
            "slides: Region Proposal Networks",
            "effect",
            ">",
            paper="nearly cost-free proposals",
        ),
        Claim(
            "detection.rpn.recall",
            "300 RPN proposals recall as many objects as Selective Search's",
            "Faster R-CNN (Ren et al. 2015), Sec. 4.1",
            "effect",
            ">",
            paper="recall at 300 proposals",
            training=True,
        ),
        Claim(
            "detection.faster_rcnn.vs_fast",
            "Faster R-CNN with 300 RPN proposals beats Fast R-CNN with Selective Search's",
            "Faster R-CNN (Ren et al. 2015), Table 2",
            "effect",
            ">",
            paper="as accurate or better (VOC07)",
            training=True,
        ),
        Claim(
            "detection.faster_rcnn.map_at_scale",
            "Faster R-CNN (VGG16, 300 proposals) reaches 73.2 mAP",
            "Faster R-CNN (Ren et al. 2015), abstract",
            "scale",
            ">",
            paper="73.2 mAP VOC07 (07+12 training)",
        ),
        Claim(
            "detection.faster_rcnn.deeper",
            "a deeper backbone gives a higher mAP",
            "slides: Summary (ResNet-101 > VGG16)",
            "effect",
            ">",
            paper="ResNet-101 > VGG16",
            training=True,
        ),
        Claim(
            "detection.faster_rcnn.more_data",
            "more training data gives a higher mAP",
            "Faster R-CNN (Ren et al. 2015), abstract (07+12 training)",
            "effect",
            ">",
            paper="07+12 training: 73.2 VOC07 mAP",
            training=True,
        ),
    ],
)
