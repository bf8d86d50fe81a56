"""Full profile: torchvision's COCO-pretrained Faster R-CNN on real photos and a VOC subset.

Used in 03c_faster_rcnn.ipynb (full profile only). Without network the weights/dataset
requests end in one ``lecture_lib.data.OfflineError``.
"""

from __future__ import annotations

import torch
import torchvision
from torch import Tensor

from lecture_lib.data import full_profile_dataset, pretrained
from lecture_lib.weights import resolve_weights

# VOC class name -> COCO category id (torchvision's COCO detection models use these ids)
VOC_TO_COCO = {
    "aeroplane": 5,
    "bicycle": 2,
    "bird": 16,
    "boat": 9,
    "bottle": 44,
    "bus": 6,
    "car": 3,
    "cat": 17,
    "chair": 62,
    "cow": 21,
    "diningtable": 67,
    "dog": 18,
    "horse": 19,
    "motorbike": 4,
    "person": 1,
    "pottedplant": 64,
    "sheep": 20,
    "sofa": 63,
    "train": 7,
    "tvmonitor": 72,
}


def coco_faster_rcnn(weights: str | None = "DEFAULT", **kwargs) -> torch.nn.Module:
    """``fasterrcnn_resnet50_fpn_v2`` in eval mode; ``weights=None`` builds it untrained (offline tests)."""
    from torchvision.models.detection import FasterRCNN_ResNet50_FPN_V2_Weights, fasterrcnn_resnet50_fpn_v2

    entry = resolve_weights(weights, FasterRCNN_ResNet50_FPN_V2_Weights)
    if entry is None:
        model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, **kwargs)
    else:
        model = pretrained(fasterrcnn_resnet50_fpn_v2, weights=entry, **kwargs)
    return model.eval()


def coco_category_names() -> list[str]:
    """COCO category names indexed by torchvision's label ids (from the weights' metadata, no download)."""
    from torchvision.models.detection import FasterRCNN_ResNet50_FPN_V2_Weights

    return list(FasterRCNN_ResNet50_FPN_V2_Weights.DEFAULT.meta["categories"])


def voc_target(annotation: dict) -> dict[str, Tensor]:
    """A ``VOCDetection`` annotation dict -> ``{"boxes": Tensor[M, 4] xyxy, "labels": COCO ids}``.

    Objects flagged ``difficult`` are dropped (VOC's evaluation ignores them).
    """
    objects = annotation["annotation"].get("object", [])
    if isinstance(objects, dict):
        objects = [objects]
    boxes, labels = [], []
    for obj in objects:
        if str(obj.get("difficult", "0")) == "1":
            continue
        if obj["name"] not in VOC_TO_COCO:
            raise ValueError(f"unknown VOC class {obj['name']!r}; expected one of {sorted(VOC_TO_COCO)}")
        b = obj["bndbox"]
        # VOC boxes are 1-based inclusive pixel indices -> xyxy pixel edges
        boxes.append([float(b["xmin"]) - 1, float(b["ymin"]) - 1, float(b["xmax"]), float(b["ymax"])])
        labels.append(VOC_TO_COCO[obj["name"]])
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor(labels, dtype=torch.int64),
    }


class VOCDetectionTensors(torch.utils.data.Dataset):
    """PASCAL VOC detection pairs for finetuning (``training.finetune_detector``):
    ``(image Tensor[3, H, W] in [0, 1], {"boxes": Tensor[M, 4] xyxy, "labels": COCO ids})``."""

    def __init__(self, root=None, image_set: str = "trainval", year: str = "2007"):
        self.voc = full_profile_dataset(
            torchvision.datasets.VOCDetection, root, year=year, image_set=image_set
        )

    def __len__(self) -> int:
        return len(self.voc)

    def __getitem__(self, i: int) -> tuple[Tensor, dict[str, Tensor]]:
        image, annotation = self.voc[i]
        return torchvision.transforms.functional.pil_to_tensor(image).float() / 255, voc_target(annotation)


def voc_subset(root, n: int, year: str = "2007", image_set: str = "test") -> list[tuple[Tensor, dict]]:
    """The first ``n`` images of a VOC split as ``(image Tensor[3, H, W] in [0, 1], target)`` pairs."""
    ds = full_profile_dataset(torchvision.datasets.VOCDetection, root, year=year, image_set=image_set)
    to_tensor = torchvision.transforms.functional.pil_to_tensor
    return [
        (to_tensor(img).float() / 255, voc_target(ann))
        for img, ann in (ds[i] for i in range(min(n, len(ds))))
    ]


@torch.no_grad()
def detect_voc_classes(
    model: torch.nn.Module, images: list[Tensor], device: torch.device | str = "cpu"
) -> list[dict]:
    """Run the COCO model; keep only detections of the 20 VOC classes (COCO ids)."""
    voc_ids = torch.tensor(sorted(VOC_TO_COCO.values()))
    out = []
    for img in images:
        pred = {k: v.cpu() for k, v in model([img.to(device)])[0].items()}
        keep = torch.isin(pred["labels"], voc_ids)
        out.append({k: v[keep] for k, v in pred.items()})
    return out
