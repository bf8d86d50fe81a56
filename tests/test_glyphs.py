"""lecture_lib.datasets.glyphs: the offline source (glyphs) and target (digits) of notebook 02."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from lecture_lib.datasets import glyphs


def test_glyphs_look_like_nist_digits():
    t = glyphs.glyph_templates(12, seed=0)
    assert t.ctrl.shape == (12, 3, 4, 2) and t.mask.shape == (12, 3) and t.mask[:, 0].all()
    img8 = glyphs.render_glyphs(t, torch.arange(12).repeat(3), seed=1)
    assert img8.shape == (36, 1, 8, 8)
    # same value range and ink as scikit-learn's digits: integer counts 0..16 from 4x4 blocks
    assert img8.min() >= 0 and img8.max() == 16 and torch.equal(img8, img8.round())
    digits = torch.tensor(load_digits().images, dtype=torch.float32)
    ink, ink_digits = img8.mean().item(), digits.mean().item()
    assert 0.4 * ink_digits < ink < 2.0 * ink_digits


def test_glyph_dataset_deterministic_and_seeded():
    x, y = glyphs.glyph_dataset(5, 4, seed=0)
    x2, y2 = glyphs.glyph_dataset(5, 4, seed=0)
    x3, _ = glyphs.glyph_dataset(5, 4, seed=1)
    assert x.shape == (20, 1, 16, 16) and torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(x, x3)  # new drawings ...
    assert y.tolist() == [c for c in range(5) for _ in range(4)]  # ... of the same classes
    assert 0 <= x.min() and x.max() <= 1


def test_glyph_classes_differ_more_than_drawings():
    x, y = glyphs.glyph_dataset(10, 10, seed=0, size=16)
    flat = x.flatten(1)
    d = torch.cdist(flat, flat)
    same = d[y[:, None] == y[None, :]].mean()
    other = d[y[:, None] != y[None, :]].mean()
    assert same < other


def test_digits_dataset_and_views():
    x, y = glyphs.digits_dataset()
    assert x.shape == (1797, 1, 16, 16) and y.shape == (1797,) and set(y.tolist()) == set(range(10))
    assert 0 <= x.min() and x.max() <= 1
    # without jitter the view is the plain bilinear upsampling of count / 16
    img8 = torch.tensor(load_digits().images[:5], dtype=torch.float32)[:, None]
    plain = glyphs.random_view(img8, max_rotation=0, max_shift=0, scale=(1.0, 1.0))
    want = torch.nn.functional.interpolate(img8 / 16, size=(16, 16), mode="bilinear", align_corners=False)
    torch.testing.assert_close(plain, want.clamp(0, 1), atol=1e-5, rtol=0)
    assert glyphs.random_view(img8[:0]).shape == (0, 1, 16, 16)


def test_bad_inputs():
    t = glyphs.glyph_templates(3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got \[0, 5\]"):
        glyphs.render_glyphs(t, torch.tensor([0, 5]))
    with pytest.raises(ValueError, match=r"Tensor\[N, 1, H, W\], got shape \(8, 8\)"):
        glyphs.random_view(torch.zeros(8, 8))
    with pytest.raises(TypeError, match="num_classes must be an int, got float"):
        glyphs.glyph_templates(2.5)
    with pytest.raises(ValueError, match="per_class must be >= 1, got 0"):
        glyphs.glyph_dataset(3, 0)
    with pytest.raises(ValueError, match="templates hold 3 classes, num_classes is 4"):
        glyphs.glyph_dataset(4, 2, templates=t)
    assert glyphs.render_glyphs(t, torch.zeros(0, dtype=torch.long)).shape == (0, 1, 8, 8)


def test_photo_round_trip_recovers_the_digit():
    x, y = glyphs.digits_dataset(size=16)
    for i in range(5):
        photo = glyphs.digit_to_photo(x[i, 0])
        assert (
            photo.shape == (96, 96, 3) and photo.dtype.name == "uint8" and photo.mean() > 128
        )  # dark on white
        back = glyphs.photo_to_digit(photo)
        assert back.shape == (1, 1, 16, 16) and 0 <= back.min() and back.max() <= 1
        ink = back[0, 0] > 0.3
        assert ink.any() and not ink.all()
    with pytest.raises(ValueError, match="no ink found"):
        glyphs.photo_to_digit(np.full((20, 20, 3), 255, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"RGB array \[H, W, 3\], got shape \(20, 20\)"):
        glyphs.photo_to_digit(np.zeros((20, 20), dtype=np.uint8))
