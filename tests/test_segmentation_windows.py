"""lecture_lib.segmentation.windows: CNN -> FCN equals the sliding-window classifier; centre-pixel crops."""

import pytest
import torch
from torch import nn

from lecture_lib import segmentation as seg


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("size", [(28, 28), (40, 52), (61, 33)])
def test_convolutionalized_classifier_equals_sliding_windows(seed, size):
    torch.manual_seed(seed)
    clf = seg.window_classifier(4, crop=28, width=4, hidden=8).eval()
    fcn = seg.convolutionalize(clf, 28).eval()
    image = torch.rand(3, *size)
    with torch.no_grad():
        dense = fcn(image[None])[0]
        windows = seg.classify_windows(clf, image, 28, 4)
        # an explicit double loop, independent of unfold's ordering
        loop = torch.stack(
            [
                torch.stack(
                    [
                        clf(image[None, :, 4 * i : 4 * i + 28, 4 * j : 4 * j + 28])[0]
                        for j in range(dense.shape[2])
                    ]
                )
                for i in range(dense.shape[1])
            ]
        )
    assert dense.shape == (4, seg.fcn_output_size(size[0], 28, 4), seg.fcn_output_size(size[1], 28, 4))
    torch.testing.assert_close(dense, windows, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(dense, loop.permute(2, 0, 1), rtol=1e-4, atol=1e-5)


def test_convolutionalize_rejects_bad_models():
    with pytest.raises(TypeError, match="nn.Sequential"):
        seg.convolutionalize(nn.Linear(3, 3), 28)
    with pytest.raises(ValueError, match="exactly one nn.Flatten"):
        seg.convolutionalize(nn.Sequential(nn.Conv2d(3, 2, 3)), 28)
    with pytest.raises(TypeError, match="BatchNorm1d after Flatten"):
        seg.convolutionalize(nn.Sequential(nn.Flatten(), nn.BatchNorm1d(3), nn.Linear(3, 2)), 1)
    with pytest.raises(ValueError, match="first Linear expects 10 inputs"):
        seg.convolutionalize(nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(10, 2)), 8)
    with pytest.raises(ValueError, match="crop must be >= 16"):
        seg.window_classifier(3, crop=30)
    with pytest.raises(ValueError, match="at least as large as the crop"):
        seg.fcn_output_size(20, 28, 4)


@pytest.mark.parametrize("seed", range(3))
def test_sample_crops_label_is_the_centre_pixel(seed):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(3, 3, 40, 44, generator=g)
    masks = torch.randint(0, 4, (3, 40, 44), generator=g)
    masks[:, :, :20] = 0
    crops, labels = seg.sample_crops(images, masks, 50, 28, generator=g, fg_fraction=0.5)
    assert crops.shape == (50, 3, 28, 28) and labels.shape == (50,)
    assert (labels > 0).sum() >= 25
    for crop, label in zip(crops, labels):  # find the crop in the images: its centre label must match
        hits = [
            (b, r, c)
            for b in range(3)
            for r in range(13)
            for c in range(17)
            if torch.equal(images[b, :, r : r + 28, c : c + 28], crop)
        ]
        assert len(hits) == 1
        b, r, c = hits[0]
        assert masks[b, r + 14, c + 14] == label
    with pytest.raises(ValueError, match="need images"):
        seg.sample_crops(images, masks[0], 5, 28)
