"""Fully convolutional networks for semantic segmentation. Used in 04_segmentation.ipynb.

Slides "Semantic Image Segmentation", "CNNs vs. FCNs" and "Encoder-Decoder Architecture":

- ``convolutionalize``: a classifier's fully connected layers become convolutions, so the same
  weights slide over a larger image and produce a heatmap of class scores (one value per window,
  ``classify_windows`` is the slow reference that crops every window).
- ``bilinear_kernel`` / ``BilinearUpsample``: learnable upsampling (a transposed convolution)
  initialised to bilinear interpolation, as in the FCN paper (Long et al., CVPR 2015, Sec. 3.3).
- ``ideal_coarse_labels``: the finest label map a stride-``s`` score map can draw through bilinear
  upsampling (how much an output stride alone costs).
- ``FCN``: a small VGG-style encoder with the FCN-32s / 16s / 8s decoders (skips from pool4 and
  pool3, Sec. 4.2 of the paper).

The boundary measure that shows what the skips buy is a metric: ``lecture_lib.metrics.boundary_iou``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["FCN", "BilinearUpsample", "bilinear_kernel", "classify_windows", "convolutionalize", "crop_classifier",
           "fcn_output_size", "ideal_coarse_labels", "predict", "sample_crops"]


# ------------------------------------------------------------------------ CNN -> FCN


def crop_classifier(num_classes: int, *, crop: int = 28, width: int = 16, hidden: int = 64) -> nn.Sequential:
    """A LeNet-style classifier of ``crop x crop`` RGB crops: convs without padding, then FC layers.

    Unpadded ("valid") convolutions make every output depend only on pixels inside its window,
    so the convolutionalised network is *exactly* a sliding-window classifier.
    """
    if crop < 16 or (crop - 12) % 4:
        raise ValueError(f"crop must be >= 16 with (crop - 12) divisible by 4, got {crop}")
    side = (crop - 12) // 4  # 5x5 conv (-4), pool /2, 5x5 conv (-4), pool /2
    return nn.Sequential(
        nn.Conv2d(3, width, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * side * side, hidden), nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def convolutionalize(classifier: nn.Sequential, crop: int) -> nn.Sequential:
    """Turn ``Flatten -> Linear -> ... -> Linear`` into convolutions with the same weights.

    The first ``Linear`` (input ``C*h*w`` flattened features) becomes a ``Conv2d(C, out, (h, w))``;
    every later ``Linear`` becomes a ``1x1`` convolution. Layers before ``Flatten`` are shared.

    Args:
        classifier: ``nn.Sequential`` of feature layers, one ``nn.Flatten``, then ``Linear`` layers
            and element-wise layers (ReLU, Dropout).
        crop: the side of the square crops the classifier was built for.

    Returns:
        nn.Sequential mapping Tensor[B, 3, H, W] (H, W >= crop) to scores Tensor[B, classes, H', W'].
    """
    if not isinstance(classifier, nn.Sequential):
        raise TypeError(f"classifier must be an nn.Sequential, got {type(classifier).__name__}")
    layers = list(classifier)
    flat = [i for i, m in enumerate(layers) if isinstance(m, nn.Flatten)]
    if len(flat) != 1:
        raise ValueError(f"classifier must contain exactly one nn.Flatten, found {len(flat)}")
    features = layers[:flat[0]]
    with torch.no_grad():
        p = next(classifier.parameters())
        shape = nn.Sequential(*features)(torch.zeros(1, 3, crop, crop, device=p.device, dtype=p.dtype)).shape
    c, h, w = shape[1:]
    out, first = [*features], True
    for m in layers[flat[0] + 1:]:
        if isinstance(m, nn.Linear):
            kh, kw, cin = (h, w, c) if first else (1, 1, m.in_features)
            if first and m.in_features != c * h * w:
                raise ValueError(f"first Linear expects {m.in_features} inputs but the features give "
                                 f"{c}x{h}x{w} = {c * h * w} for crop {crop}")
            conv = nn.Conv2d(cin, m.out_features, (kh, kw), bias=m.bias is not None)
            with torch.no_grad():  # Flatten order is (C, h, w): the same layout as a conv kernel
                conv.weight.copy_(m.weight.reshape(m.out_features, cin, kh, kw))
                if m.bias is not None:
                    conv.bias.copy_(m.bias)
            out.append(conv.to(m.weight.device))
            first = False
        elif isinstance(m, (nn.ReLU, nn.Dropout, nn.Identity, nn.Sigmoid, nn.Tanh, nn.GELU)):
            out.append(m)
        else:
            raise TypeError(f"cannot convolutionalize a {type(m).__name__} after Flatten")
    return nn.Sequential(*out)


def fcn_output_size(size: int, crop: int, stride: int) -> int:
    """Side of the score map of a convolutionalised classifier: ``floor((size - crop) / stride) + 1``."""
    if size < crop:
        raise ValueError(f"the image ({size} px) must be at least as large as the crop ({crop} px)")
    return (size - crop) // stride + 1


def classify_windows(classifier: nn.Module, image: Tensor, crop: int, stride: int) -> Tensor:
    """Reference: run ``classifier`` on every ``crop x crop`` window (step ``stride``) of one image.

    Args:
        image (Tensor[3, H, W]): the image.

    Returns:
        Tensor[classes, H', W']: ``scores[:, i, j] = classifier(window at (i*stride, j*stride))``.
    """
    if image.ndim != 3:
        raise ValueError(f"image must be [3, H, W], got shape {tuple(image.shape)}")
    windows = image.unfold(1, crop, stride).unfold(2, crop, stride)  # (3, H', W', crop, crop)
    hp, wp = windows.shape[1:3]
    batch = windows.permute(1, 2, 0, 3, 4).reshape(hp * wp, 3, crop, crop)
    return classifier(batch).T.reshape(-1, hp, wp)


def sample_crops(images: Tensor, masks: Tensor, n: int, crop: int, *, generator: torch.Generator | None = None,
                 fg_fraction: float = 0.5) -> tuple[Tensor, Tensor]:
    """Random ``crop x crop`` windows labelled with the class of their centre pixel.

    Args:
        images (Tensor[B, 3, H, W]), masks (Tensor[B, H, W]): scenes and their label maps.
        n: number of crops; about ``fg_fraction`` of them are centred on an object pixel.

    Returns:
        (Tensor[n, 3, crop, crop], Tensor[n] int64): crops and the label of pixel ``(crop // 2, crop // 2)``.
    """
    if images.ndim != 4 or masks.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(f"need images [B, 3, H, W] and masks [B, H, W], got {tuple(images.shape)} and "
                         f"{tuple(masks.shape)}")
    half = crop // 2
    inner = masks[:, half:masks.shape[1] - crop + half + 1, half:masks.shape[2] - crop + half + 1]  # valid centres
    fg = inner.nonzero()                                    # (P, 3) image, row, col of object pixels
    allc = torch.stack(torch.meshgrid(torch.arange(inner.shape[0]), torch.arange(inner.shape[1]),
                                      torch.arange(inner.shape[2]), indexing="ij"), -1).reshape(-1, 3)
    n_fg = int(round(n * fg_fraction)) if len(fg) else 0
    pick = torch.cat([fg[torch.randint(len(fg), (n_fg,), generator=generator)],
                      allc[torch.randint(len(allc), (n - n_fg,), generator=generator)]])
    b, r, c = pick.unbind(1)                                # top-left corners of the windows
    rows = r[:, None] + torch.arange(crop)                  # (n, crop)
    cols = c[:, None] + torch.arange(crop)
    x = images[b[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # (n, crop, crop, 3)
    return x.permute(0, 3, 1, 2).contiguous(), masks[b, r + half, c + half]


# ------------------------------------------------------------------------ upsampling


def bilinear_kernel(in_channels: int, out_channels: int, kernel_size: int) -> Tensor:
    """Weights of a ``ConvTranspose2d`` that performs bilinear interpolation.

    The 1-D profile is a triangle ``1 - |k - center| / factor`` (``factor = ceil(kernel_size / 2)``),
    the 2-D kernel its outer product; channel ``i`` is upsampled from channel ``i`` only (the
    FCN paper's ``upsample_filt``). With ``kernel_size = 2s``, ``stride = s``, ``padding = s/2``
    it equals ``F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)`` away from
    the border (see ``BilinearUpsample`` for the border).

    Returns:
        Tensor[in_channels, out_channels, kernel_size, kernel_size] (ConvTranspose2d layout).
    """
    if in_channels != out_channels or in_channels < 1:
        raise ValueError(f"bilinear upsampling maps each channel to itself: need in_channels == "
                         f"out_channels >= 1, got {in_channels} and {out_channels}")
    if kernel_size < 1:
        raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    k = torch.arange(kernel_size, dtype=torch.float64)
    profile = 1 - (k - center).abs() / factor                       # (k,)
    weight = torch.zeros(in_channels, out_channels, kernel_size, kernel_size, dtype=torch.float64)
    weight[range(in_channels), range(in_channels)] = profile[:, None] * profile[None, :]
    return weight.float()


def ideal_coarse_labels(target: Tensor, stride: int, num_classes: int, *, steps: int = 150,
                        lr: float = 0.3) -> Tensor:
    """The label map drawn by the best stride-``stride`` scores under bilinear upsampling.

    A decoder whose last step upsamples a coarse score map bilinearly by ``stride`` (FCN-32s/16s/8s
    at initialisation) can only draw what some coarse map ``Z`` gives. This searches for that map:
    ``Z`` (Tensor[B, C, H/stride, W/stride]) starts at the one-hot target averaged over
    ``stride x stride`` cells (``steps=0`` returns that simple reference) and is then fitted by
    Adam to minimise the cross-entropy of ``F.interpolate(Z, scale_factor=stride, mode="bilinear")``
    against the target. Sharp, large scores place an edge anywhere between two cell centres, so
    the fitted map draws much finer detail than the averaged one. Found by search, it slightly
    underestimates the best bilinear result; a decoder whose upsampling kernel is *learned* (as
    FCN's is after training) is not bound by it.

    Args:
        target (Tensor[B, H, W]): class ids in ``[0, num_classes)``; ``H`` and ``W`` divisible by ``stride``.

    Returns:
        Tensor[B, H, W] int64: the argmax of the upsampled fitted scores.
    """
    if target.ndim != 3 or target.dtype.is_floating_point:
        raise ValueError(f"target must be integer class ids [B, H, W], got {target.dtype} {tuple(target.shape)}")
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be an int >= 1, got {stride!r}")
    if target.shape[1] % stride or target.shape[2] % stride:
        raise ValueError(f"image side {tuple(target.shape[1:])} must be divisible by stride {stride}")
    if target.numel() and (target.min() < 0 or target.max() >= num_classes):
        raise ValueError(f"target values must lie in [0, {num_classes}), got {target.min()}..{target.max()}")
    onehot = F.one_hot(target, num_classes).permute(0, 3, 1, 2).float()   # Tensor[B, C, H, W]
    z = F.avg_pool2d(onehot, stride).mul(8.0).requires_grad_(True)      # averaged map, sharpened
    opt = torch.optim.Adam([z], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            up = F.interpolate(z, scale_factor=stride, mode="bilinear", align_corners=False)
            loss = F.cross_entropy(up, target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        return F.interpolate(z, scale_factor=stride, mode="bilinear", align_corners=False).argmax(1)


class BilinearUpsample(nn.Module):
    """Learnable ``factor``x upsampling: ``ConvTranspose2d(C, C, 2*factor, stride=factor,
    padding=factor/2)`` initialised with ``bilinear_kernel``. ``depthwise=True`` (the default) gives
    each channel its own kernel (``groups=C``; C times cheaper, the same function at initialisation).

    ``pad_edges=True`` replicates the border pixel once before and crops ``factor`` pixels after,
    so that at initialisation the output equals ``F.interpolate(..., mode="bilinear",
    align_corners=False)`` everywhere, border included (the plain transposed convolution sees
    zeros beyond the border and darkens a ``factor/2``-wide frame).
    """

    def __init__(self, channels: int, factor: int, *, pad_edges: bool = True, learnable: bool = True,
                 depthwise: bool = True):
        super().__init__()
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2 or factor % 2:
            raise ValueError(f"factor must be an even integer >= 2, got {factor!r}")
        self.factor, self.pad_edges = factor, pad_edges
        groups = channels if depthwise else 1
        self.up = nn.ConvTranspose2d(channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False,
                                     groups=groups)
        with torch.no_grad():
            w = bilinear_kernel(channels, channels, 2 * factor)  # (C, C, k, k), diagonal in channels
            if depthwise:  # groups=C: weight (C, 1, k, k) holds the diagonal w[c, c]
                w = w[range(channels), range(channels)][:, None]
            self.up.weight.copy_(w)
        self.up.weight.requires_grad_(learnable)

    def forward(self, x: Tensor) -> Tensor:
        """Tensor[B, C, H, W] -> Tensor[B, C, factor*H, factor*W]."""
        if not self.pad_edges:
            return self.up(x)
        y = self.up(F.pad(x, (1, 1, 1, 1), mode="replicate"))
        f = self.factor
        return y[..., f:-f, f:-f]


# ------------------------------------------------------------------------ FCN-32s/16s/8s


def _stage(cin: int, cout: int, convs: int) -> nn.Sequential:
    layers = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                   nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class FCN(nn.Module):
    """A small VGG-style FCN with the paper's three decoders.

    Encoder: five stages (3x3 conv + BN + ReLU, then 2x2 max-pool), so pool3 / pool4 / pool5 have
    strides 8 / 16 / 32; "fc6"/"fc7" are convolutions on pool5, and ``score`` a 1x1 conv to the
    class scores. Decoders (Long et al. 2015, Fig. 3):

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

    def __init__(self, num_classes: int, *, variant: str = "8s", widths: tuple[int, ...] = (16, 32, 64, 96, 128),
                 convs_per_stage: tuple[int, ...] = (1, 1, 2, 2, 2), fc_width: int = 128):
        super().__init__()
        if variant not in (*self.VARIANTS, "all"):
            raise ValueError(f"variant must be one of {(*self.VARIANTS, 'all')}, got {variant!r}")
        if len(widths) != 5 or len(convs_per_stage) != 5:
            raise ValueError(f"need 5 stage widths and conv counts, got {widths} and {convs_per_stage}")
        self.variant, self.num_classes = variant, num_classes
        self.outputs = self.VARIANTS if variant == "all" else (variant,)
        chans = (3, *widths)
        self.stages = nn.ModuleList(_stage(chans[i], chans[i + 1], convs_per_stage[i]) for i in range(5))
        self.fc = nn.Sequential(  # fc6 / fc7 of the paper, as convolutions
            nn.Conv2d(widths[4], fc_width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(fc_width, fc_width, 1), nn.ReLU(inplace=True))
        self.score = nn.Conv2d(fc_width, num_classes, 1)
        self.up = nn.ModuleDict({v: BilinearUpsample(num_classes, int(v[:-1])) for v in self.outputs})
        if "16s" in self.outputs or "8s" in self.outputs:
            self.score_pool4 = nn.Conv2d(widths[3], num_classes, 1)
            self.up2_pool4 = BilinearUpsample(num_classes, 2)
            nn.init.zeros_(self.score_pool4.weight)
            nn.init.zeros_(self.score_pool4.bias)
        if "8s" in self.outputs:
            self.score_pool3 = nn.Conv2d(widths[2], num_classes, 1)
            self.up2_pool3 = BilinearUpsample(num_classes, 2)
            nn.init.zeros_(self.score_pool3.weight)
            nn.init.zeros_(self.score_pool3.bias)

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
        coarse = {"32s": self.score(self.fc(feats[4]))}                                 # stride 32
        if "16s" in self.outputs or "8s" in self.outputs:
            coarse["16s"] = self.up2_pool4(coarse["32s"]) + self.score_pool4(feats[3])  # stride 16
        if "8s" in self.outputs:
            coarse["8s"] = self.up2_pool3(coarse["16s"]) + self.score_pool3(feats[2])   # stride 8
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


@torch.no_grad()
def predict(model: nn.Module, images: Tensor, *, batch_size: int = 32, scores: bool = False) -> Tensor:
    """Label maps ``Tensor[B, H, W]`` (or scores ``[B, C, H, W]``) of ``images`` Tensor[B, 3, H, W]."""
    was = model.training
    model.eval()
    dev = next(model.parameters()).device
    outs = [model(images[i:i + batch_size].to(dev)).cpu() for i in range(0, len(images), batch_size)]
    model.train(was)
    out = torch.cat(outs) if outs else torch.zeros(0)
    return out if scores else out.argmax(dim=1)
