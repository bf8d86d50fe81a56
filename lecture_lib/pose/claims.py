"""Registered claims of notebook 05 (pose estimation with keypoint heatmaps), judged by
``lecture_lib.claims``'s one rule.

Registered before any measurement under the rule (issue 22); notebook 05 judges every claim in its
closing ledger. PCK@a: error <= a * torso size; curves over a = 0.05 ... 0.5. Paper figures from
``shared/paper-numbers.md`` (status V).
"""

from lecture_lib.claims import Claim, ClaimRegistry

REGISTRY = ClaimRegistry(
    "05_pose",
    [
        Claim(
            "pose.heatmaps.beat_regression",
            "heatmaps beat direct (x, y) regression (PCK@0.2)",
            "Tompson et al. 2015; DeepPose (Toshev & Szegedy 2014)",
            "effect",
            ">",
            paper="heatmaps replaced regression",
            training=True,
        ),
        Claim(
            "pose.heatmaps.beat_mean_pose",
            "a heatmap FCN beats predicting the mean pose (PCK@0.2)",
            "slides: FCNs for Human Pose Estimation",
            "effect",
            ">",
            paper="one heatmap per joint",
            training=True,
        ),
        Claim(
            "pose.radius.strict_prefers_small",
            "a stricter PCK threshold prefers a smaller disk radius",
            "slides: target disk of radius r",
            "effect",
            ">",
            paper="r is a trade-off",
            training=True,
        ),
        Claim(
            "pose.gaussian.at_scale",
            "Gaussian heatmaps localise elbows and wrists at FLIC PCK@0.2 99.0 / 97.0",
            "Stacked Hourglass (Newell et al. 2016), Table 1",
            "scale",
            ">",
            paper="FLIC PCK@0.2 elbow 99.0, wrist 97.0 (observer-centric)",
        ),
    ],
)
