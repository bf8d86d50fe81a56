"""Full-profile paths of the detection notebooks, offline: model construction, VOC targets, errors."""

import urllib.error

import pytest
import torch
import torchvision

from lecture_lib.data import OfflineError
from lecture_lib.detection import pretrained as P
from lecture_lib.metrics import detection_ap


def test_untrained_fasterrcnn_v2_runs_on_a_dummy_image():
    torch.manual_seed(0)
    model = P.coco_faster_rcnn(None, min_size=128, max_size=128)
    out = P.detect_voc_classes(model, [torch.rand(3, 96, 128)])
    assert len(out) == 1 and set(out[0]) == {"boxes", "scores", "labels"}
    assert out[0]["boxes"].shape[1] == 4
    voc_ids = set(P.VOC_TO_COCO.values())
    assert all(int(v) in voc_ids for v in out[0]["labels"])


def test_voc_ids_match_coco_category_names():
    names = P.coco_category_names()
    renamed = {
        "aeroplane": "airplane",
        "diningtable": "dining table",
        "motorbike": "motorcycle",
        "pottedplant": "potted plant",
        "sofa": "couch",
        "tvmonitor": "tv",
    }
    for voc, coco_id in P.VOC_TO_COCO.items():
        assert names[coco_id] == renamed.get(voc, voc)


def test_voc_target_parsing_and_evaluation():
    ann = {
        "annotation": {
            "object": [
                {
                    "name": "dog",
                    "difficult": "0",
                    "bndbox": {"xmin": "11", "ymin": "21", "xmax": "50", "ymax": "60"},
                },
                {
                    "name": "person",
                    "difficult": "1",
                    "bndbox": {"xmin": "1", "ymin": "1", "xmax": "5", "ymax": "5"},
                },
            ]
        }
    }
    t = P.voc_target(ann)
    assert t["boxes"].tolist() == [[10.0, 20.0, 50.0, 60.0]] and t["labels"].tolist() == [18]
    single = P.voc_target({"annotation": {"object": ann["annotation"]["object"][0]}})
    assert torch.equal(single["boxes"], t["boxes"])
    pred = {"boxes": t["boxes"], "scores": torch.ones(1), "labels": t["labels"]}
    assert detection_ap([pred], [t])["map"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown VOC class 'unicorn'"):
        P.voc_target(
            {
                "annotation": {
                    "object": [{"name": "unicorn", "bndbox": ann["annotation"]["object"][0]["bndbox"]}]
                }
            }
        )


def test_no_network_gives_offline_error(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", refuse)
    with pytest.raises(OfflineError, match="Could not download pretrained weights"):
        P.coco_faster_rcnn("DEFAULT")

    class VOCDetection:  # same name as torchvision's, so the message names it
        def __init__(self, *args, **kwargs):
            raise urllib.error.URLError("host unreachable")

    monkeypatch.setattr(torchvision.datasets, "VOCDetection", VOCDetection)
    with pytest.raises(OfflineError, match="VOCDetection"):
        P.voc_subset(tmp_path, n=2)
