"""Full-profile code path of 05_pose, offline: the untrained Keypoint R-CNN, outputs, errors."""

import urllib.error

import pytest
import torch
import torchvision

from lecture_lib.data import OfflineError
from lecture_lib.pose import pretrained as P


def test_untrained_keypoint_rcnn_runs_and_returns_heatmaps():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = P.keypoint_rcnn(None, min_size=128, max_size=128, box_score_thresh=0.0)
    out = P.detect_keypoints(model, torch.rand(3, 96, 128), score_thresh=0.0)
    assert set(out) == {"boxes", "scores", "keypoints", "keypoints_scores", "heatmap_logits"}
    p = out["boxes"].shape[0]
    assert out["keypoints"].shape == (p, 17, 3) and out["heatmap_logits"].shape == (p, 17, 56, 56)
    assert out["keypoints_scores"].shape == (p, 17)


def test_names_match_torchvision_metadata():
    from torchvision.models.detection import KeypointRCNN_ResNet50_FPN_Weights

    assert tuple(KeypointRCNN_ResNet50_FPN_Weights.DEFAULT.meta["keypoint_names"]) == P.COCO_KEYPOINTS
    from lecture_lib.datasets.people import JOINTS

    for lsp, coco in P.LSP_FROM_COCO.items():
        assert JOINTS[lsp].replace(" ", "_") == P.COCO_KEYPOINTS[coco]


def test_bad_inputs():
    with pytest.raises(
        ValueError, match=r"weights must be 'DEFAULT', None or one of \[.*'COCO_V1'.*got 'IMAGENET'"
    ):
        P.keypoint_rcnn("IMAGENET")
    with pytest.raises(TypeError, match=r"weights must be 'DEFAULT', None or one of .*got bool True"):
        P.keypoint_rcnn(True)
    with pytest.raises(ValueError, match=r"shape \(3, H, W\).*got \(64, 64\)"):
        P.detect_keypoints(None, torch.zeros(64, 64))


def test_no_network_gives_offline_error(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", refuse)
    with pytest.raises(OfflineError, match="Could not download pretrained weights"):
        P.keypoint_rcnn("DEFAULT")
