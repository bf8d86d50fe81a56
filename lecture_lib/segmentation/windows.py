"""CNN -> FCN: a classifier's fully connected layers become convolutions (04_segmentation.ipynb,
slide "CNNs vs. FCNs").

- ``convolutionalize``: the same weights slide over a larger image and give a heatmap of class
  scores, one value per window; ``classify_windows`` is the slow reference that crops every window;
- ``fcn_output_size``: how many windows fit;
- ``sample_crops``: random windows labelled with their centre pixel's class (the training data of
  ``lecture_lib.segmentation.models.window_classifier``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lecture_lib.checks import check_int, check_probability, check_tensor

__all__ = ["classify_windows", "convolutionalize", "fcn_output_size", "sample_crops"]


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
    check_int(crop, "crop", low=1)
    layers = list(classifier)
    flat = [i for i, m in enumerate(layers) if isinstance(m, nn.Flatten)]
    if len(flat) != 1:
        raise ValueError(f"classifier must contain exactly one nn.Flatten, found {len(flat)}")
    features = layers[: flat[0]]
    with torch.no_grad():
        p = next(classifier.parameters())
        shape = nn.Sequential(*features)(torch.zeros(1, 3, crop, crop, device=p.device, dtype=p.dtype)).shape
    c, h, w = shape[1:]
    out, first = [*features], True
    for m in layers[flat[0] + 1 :]:
        if isinstance(m, nn.Linear):
            kh, kw, cin = (h, w, c) if first else (1, 1, m.in_features)
            if first and m.in_features != c * h * w:
                raise ValueError(
                    f"first Linear expects {m.in_features} inputs but the features give "
                    f"{c}x{h}x{w} = {c * h * w} for crop {crop}"
                )
            conv = nn.Conv2d(cin, m.out_features, (kh, kw), bias=m.bias is not None)
            with torch.no_grad():  # Flatten order is (C, h, w): the same layout as a conv kernel
                conv.weight.copy_(m.weight.reshape(m.out_features, cin, kh, kw))
                if m.bias is not None and conv.bias is not None:  # conv has a bias iff m has one
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
    check_int(size, "size", low=1)
    check_int(crop, "crop", low=1)
    check_int(stride, "stride", low=1)
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
    if not isinstance(classifier, nn.Module):
        raise TypeError(f"classifier must be an nn.Module, got {type(classifier).__name__}")
    if not isinstance(image, Tensor):
        raise TypeError(f"image must be a Tensor[3, H, W], got {type(image).__name__}")
    if image.ndim != 3:
        raise ValueError(f"image must be [3, H, W], got shape {tuple(image.shape)}")
    check_int(crop, "crop", low=1)
    check_int(stride, "stride", low=1)
    fcn_output_size(min(image.shape[1:]), crop, stride)  # the image holds at least one window
    windows = image.unfold(1, crop, stride).unfold(2, crop, stride)  # (3, H', W', crop, crop)
    hp, wp = windows.shape[1:3]
    batch = windows.permute(1, 2, 0, 3, 4).reshape(hp * wp, 3, crop, crop)
    return classifier(batch).T.reshape(-1, hp, wp)


def sample_crops(
    images: Tensor,
    masks: Tensor,
    n: int,
    crop: int,
    *,
    generator: torch.Generator | None = None,
    fg_fraction: float = 0.5,
) -> tuple[Tensor, Tensor]:
    """Random ``crop x crop`` windows labelled with the class of their centre pixel.

    Args:
        images (Tensor[B, 3, H, W]), masks (Tensor[B, H, W]): scenes and their label maps.
        n: number of crops; about ``fg_fraction`` of them are centred on an object pixel.

    Returns:
        (Tensor[n, 3, crop, crop], Tensor[n] int64): crops and the label of pixel ``(crop // 2, crop // 2)``.
    """
    check_tensor(images, "images")
    check_tensor(masks, "masks")
    if images.ndim != 4 or masks.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(
            f"need images [B, 3, H, W] and masks [B, H, W], got {tuple(images.shape)} and "
            f"{tuple(masks.shape)}"
        )
    check_tensor(masks, "masks", dtype="int")
    check_int(n, "n", low=0)
    check_int(crop, "crop", low=1)
    fcn_output_size(min(images.shape[2:]), crop, 1)  # the scenes hold at least one window
    check_probability(fg_fraction, "fg_fraction")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    half = crop // 2
    inner = masks[
        :, half : masks.shape[1] - crop + half + 1, half : masks.shape[2] - crop + half + 1
    ]  # valid centres
    fg = inner.nonzero()  # (P, 3) image, row, col of object pixels
    allc = torch.stack(
        torch.meshgrid(
            torch.arange(inner.shape[0]),
            torch.arange(inner.shape[1]),
            torch.arange(inner.shape[2]),
            indexing="ij",
        ),
        -1,
    ).reshape(-1, 3)
    n_fg = int(round(n * fg_fraction)) if len(fg) else 0
    pick = torch.cat(
        [
            fg[torch.randint(len(fg), (n_fg,), generator=generator)],
            allc[torch.randint(len(allc), (n - n_fg,), generator=generator)],
        ]
    )
    b, r, c = pick.unbind(1)  # top-left corners of the windows
    rows = r[:, None] + torch.arange(crop)  # (n, crop)
    cols = c[:, None] + torch.arange(crop)
    x = images[b[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # (n, crop, crop, 3)
    return x.permute(0, 3, 1, 2).contiguous(), masks[b, r + half, c + half]
