"""The nets of semantic segmentation (04_segmentation.ipynb, slides "CNNs vs. FCNs",
"Encoder-Decoder Architecture"):

- ``window_classifier``: the "CNN" that classifies one ``crop x crop`` window by its centre pixel
  (``lecture_lib.segmentation.windows.convolutionalize`` turns it into an FCN);
- ``FCN``: a small VGG-style encoder with the FCN-32s / 16s / 8s decoders (skips from pool4 and
  pool3, Long et al. 2015, Sec. 4.2).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from lecture_lib.checks import check_int
from lecture_lib.layers import conv_stage
from lecture_lib.segmentation.upsampling import BilinearUpsample

__all__ = ["FCN", "window_classifier"]


def window_classifier(
    num_classes: int, *, crop: int = 28, width: int = 16, hidden: int = 64
) -> nn.Sequential:
    """The "CNN" of "CNN vs. FCN": a LeNet-style classifier of ``crop x crop`` RGB windows (the class
    of the centre pixel), unpadded convs then fully connected layers.

    Unpadded ("valid") convolutions make every output depend only on pixels inside its window,
    so the convolutionalised network (``convolutionalize``) is *exactly* a sliding-window classifier.

    Shapes: ``Tensor[B, 3, crop, crop] -> Tensor[B, num_classes]``.
    """
    check_int(num_classes, "num_classes", low=1)
    check_int(crop, "crop", low=None)
    check_int(width, "width", low=1)
    check_int(hidden, "hidden", low=1)
    if crop < 16 or (crop - 12) % 4:
        raise ValueError(f"crop must be >= 16 with (crop - 12) divisible by 4, got {crop}")
    side = (crop - 12) // 4  # 5x5 conv (-4), pool /2, 5x5 conv (-4), pool /2
    return nn.Sequential(
        nn.Conv2d(3, width, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * side * side, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def _zero_conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    """A 1x1 conv with weight and bias set to zero (a skip branch that starts as a no-op)."""
    conv = nn.Conv2d(in_channels, out_channels, 1)
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:  # built with bias=True
        nn.init.zeros_(conv.bias)
    return conv


class FCN(nn.Module):
    """A small VGG-style FCN with the paper's three decoders.

    Encoder: five ``lecture_lib.layers.conv_stage`` (3x3 conv + BN + ReLU, then 2x2 max-pool), so
    pool3 / pool4 / pool5 have strides 8 / 16 / 32; "fc6"/"fc7" are convolutions on pool5, and
    ``score`` a 1x1 conv to the class scores. Decoders (Long et al. 2015, Fig. 3):

    - ``"32s"``: upsample the stride-32 scores 32x in one step;
    - ``"16s"``: upsample 2x, add 1x1-conv scores of pool4, upsample 16x;
    - ``"8s"``:  as 16s, then upsample 2x, add scores of pool3, upsample 8x;
    - ``"all"``: the three decoders on one shared encoder; ``forward`` returns
      ``{"32s": ..., "16s": ..., "8s": ...}`` and ``head(v)`` wraps one of them as a module.

    Skip score layers start at zero (the paper's initialisation), so at initialisation FCN-16s/8s
    output FCN-32s's coarse scores, bilinearly upsampled in two or three steps instead of one;
    every upsampling is a ``BilinearUpsample``.
    Inputs of any size work: they are padded to a multiple of 32 and the output is cropped back.
    """

    VARIANTS = ("32s", "16s", "8s")

    def __init__(
        self,
        num_classes: int,
        *,
        variant: str = "8s",
        widths: tuple[int, ...] = (16, 32, 64, 96, 128),
        convs_per_stage: tuple[int, ...] = (1, 1, 2, 2, 2),
        fc_width: int = 128,
    ):
        super().__init__()
        if variant not in (*self.VARIANTS, "all"):
            raise ValueError(f"variant must be one of {(*self.VARIANTS, 'all')}, got {variant!r}")
        check_int(num_classes, "num_classes", low=1)
        for name, sizes in (("widths", widths), ("convs_per_stage", convs_per_stage)):
            if not isinstance(sizes, (tuple, list)):
                raise TypeError(f"{name} must be a tuple of 5 ints, got {type(sizes).__name__} {sizes!r}")
        if len(widths) != 5 or len(convs_per_stage) != 5:
            raise ValueError(f"need 5 stage widths and conv counts, got {widths} and {convs_per_stage}")
        for i in range(5):
            check_int(widths[i], f"widths[{i}]", low=1)
            check_int(convs_per_stage[i], f"convs_per_stage[{i}]", low=1)
        check_int(fc_width, "fc_width", low=1)
        self.variant, self.num_classes = variant, num_classes
        self.outputs = self.VARIANTS if variant == "all" else (variant,)
        chans = (3, *widths)
        self.stages = nn.ModuleList(conv_stage(chans[i], chans[i + 1], convs_per_stage[i]) for i in range(5))
        self.fc = nn.Sequential(  # fc6 / fc7 of the paper, as convolutions
            nn.Conv2d(widths[4], fc_width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(fc_width, fc_width, 1),
            nn.ReLU(inplace=True),
        )
        self.score = nn.Conv2d(fc_width, num_classes, 1)
        self.up = nn.ModuleDict({v: BilinearUpsample(num_classes, int(v[:-1])) for v in self.outputs})
        if "16s" in self.outputs or "8s" in self.outputs:
            self.score_pool4 = _zero_conv1x1(widths[3], num_classes)
            self.up2_pool4 = BilinearUpsample(num_classes, 2)
        if "8s" in self.outputs:
            self.score_pool3 = _zero_conv1x1(widths[2], num_classes)
            self.up2_pool3 = BilinearUpsample(num_classes, 2)

    def forward(self, x: Tensor) -> Tensor | dict[str, Tensor]:
        """Tensor[B, 3, H, W] -> class scores Tensor[B, num_classes, H, W] (a dict of them for "all")."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % 32, (-w) % 32
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)  # pool1 .. pool5
        coarse = {"32s": self.score(self.fc(feats[4]))}  # stride 32
        if "16s" in self.outputs or "8s" in self.outputs:
            coarse["16s"] = self.up2_pool4(coarse["32s"]) + self.score_pool4(feats[3])  # stride 16
        if "8s" in self.outputs:
            coarse["8s"] = self.up2_pool3(coarse["16s"]) + self.score_pool3(feats[2])  # stride 8
        out = {v: self.up[v](coarse[v])[..., :h, :w] for v in self.outputs}
        return out if self.variant == "all" else out[self.variant]

    def head(self, variant: str) -> nn.Module:
        """One decoder of an ``"all"`` model as a module returning Tensor[B, C, H, W]."""
        if variant not in self.outputs:
            raise ValueError(f"this FCN has the decoders {self.outputs}, not {variant!r}")
        return _Head(self, variant)


class _Head(nn.Module):
    def __init__(self, model: FCN, variant: str):
        super().__init__()
        self.model, self.variant = model, variant

    def forward(self, x: Tensor) -> Tensor:
        out = self.model(x)
        return out[self.variant] if isinstance(out, dict) else out
