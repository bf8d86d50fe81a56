import io

import numpy as np
import pytest
from PIL import Image

from lecture_lib.io import load_image


def _png_bytes(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_modes_become_rgb(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    cases = {
        "L": Image.fromarray(rgb[..., 0]),
        "RGBA": Image.fromarray(np.dstack([rgb, np.full((20, 30), 128, np.uint8)])),
        "P": Image.fromarray(rgb).convert("P"),
        "I;16": Image.fromarray(rgb[..., 0].astype(np.uint16) * 257),
        "1": Image.fromarray(rgb[..., 0] > 128),
    }
    for mode, img in cases.items():
        path = tmp_path / f"{mode.replace(';', '')}.png"
        img.save(path)
        out = load_image(path)
        assert out.shape == (20, 30, 3) and out.dtype == np.uint8, mode
    # 16-bit grey keeps its values (x 257 maps back to the 8-bit value)
    out16 = load_image(tmp_path / "I16.png")
    assert np.abs(out16[..., 0].astype(int) - rgb[..., 0]).max() <= 1
    # transparent pixels are composited on white
    transparent = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert (load_image(_png_bytes(transparent)) == 255).all()


def test_exif_rotation_is_applied():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 10, 20))  # white stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = load_image(_png_bytes(img, "JPEG", exif=exif.tobytes()))
    assert out.shape == (40, 20, 3)  # portrait after rotation
    assert out[:5].mean() > 200 and out[-5:].mean() < 50  # the stripe is now on top


def test_downscale_and_inputs():
    arr = np.zeros((300, 600, 3), np.uint8)
    assert load_image(arr, max_side=100).shape == (50, 100, 3)
    assert load_image(Image.fromarray(arr), max_side=None).shape == (300, 600, 3)
    assert load_image(np.zeros((3, 8, 9), np.float32)).shape == (8, 9, 3)
    assert load_image(np.ones((5, 5), bool)).max() == 255


def test_decompression_bomb_refused():
    data = _png_bytes(Image.new("1", (4000, 4000)))
    with pytest.raises(ValueError, match="16,000,000 pixels.*decompression bomb"):
        load_image(data, max_pixels=1_000_000)


def test_truncated_and_non_images_named(tmp_path):
    full = _png_bytes(Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    cut = tmp_path / "cut.png"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(ValueError, match=r"cut\.png.*truncated or corrupt"):
        load_image(cut)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt.*not an image"):
        load_image(text)
    with pytest.raises(ValueError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=r"uploaded data \(5 bytes\) is not an image"):
        load_image(b"hello")


def test_bad_arrays_and_types():
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        load_image(np.full((4, 4), 2.0))
    with pytest.raises(ValueError, match="shape"):
        load_image(np.zeros((6, 6, 5), np.uint8))
    with pytest.raises(TypeError, match="got int"):
        load_image(3)
    with pytest.raises(TypeError, match="dtype int64"):
        load_image(np.zeros((4, 4), np.int64))
    with pytest.raises(ValueError, match="max_side must be a positive int"):
        load_image(np.zeros((4, 4), np.uint8), max_side=0)
