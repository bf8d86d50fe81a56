"""Source network for 02_transfer_learning.ipynb: a SmallResNet pretrained on 100 glyph classes.

The "ImageNet" of the quick profile: 100 procedurally drawn glyph classes x 200 images
(``lecture_lib.datasets.glyphs``), 8 epochs of Adam with a cosine schedule. Stores the weights,
the training curve (loss per epoch, held-out source accuracy) and the settings.

    python tools/make_checkpoints.py transfer_glyphs
"""

from __future__ import annotations

import torch

import lecture_lib
from lecture_lib.datasets.glyphs import glyph_dataset
from lecture_lib.train import accuracy, fit
from lecture_lib.transfer import SmallResNet
from lecture_lib.transfer_runs import RandomBatches

NAME = "transfer_glyphs_resnet.pt"
SETTINGS = {"num_classes": 100, "per_class": 200, "val_per_class": 20, "widths": [16, 32, 64], "epochs": 8,
            "batch_size": 128, "lr": 3e-3, "size": 16}


def build() -> dict:
    lecture_lib.setup("quick", seed=0, verbose=False)
    torch.set_num_threads(1)
    s = SETTINGS
    x, y = glyph_dataset(s["num_classes"], s["per_class"], seed=0, size=s["size"])
    xv, yv = glyph_dataset(s["num_classes"], s["val_per_class"], seed=1, size=s["size"])
    model = SmallResNet(s["num_classes"], widths=tuple(s["widths"]))
    steps = len(y) // s["batch_size"]
    batches = RandomBatches(x, y, batch_size=s["batch_size"], steps=steps, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=s["lr"])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=s["epochs"])
    val = [(xv[i:i + 500], yv[i:i + 500]) for i in range(0, len(yv), 500)]
    history = fit(model, batches, epochs=s["epochs"], optimizer=optimizer, scheduler=scheduler,
                  eval_fn=lambda m: {"source val accuracy": accuracy(m, val)}, progress=False)
    print(f"source val accuracy {history.metrics['source val accuracy'][-1]:.3f} after {history.seconds:.0f} s")
    return {"state_dict": {k: v.clone() for k, v in model.state_dict().items()},
            "history": history.as_dict(), "settings": dict(s)}
