"""Loading the student's own pictures (and any other image) robustly.

``load_image`` accepts a path, raw bytes (an upload), a PIL image or an array and always returns
an RGB ``uint8`` array ``[H, W, 3]``: grayscale, RGBA, palette, 16-bit and EXIF-rotated images
work, huge images are downscaled, decompression bombs / truncated files / non-images are refused
with a ``ValueError`` naming the file.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lecture_lib.checks import check_image

MAX_PIXELS = 64_000_000  # refuse anything larger before decoding (PIL warns at ~89 Mpx)


def _describe(src) -> str:
    if isinstance(src, (str, os.PathLike)):
        return f"file {os.fspath(src)!r}"
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"uploaded data ({len(src)} bytes)"
    return f"{type(src).__name__} input"


def _flatten_alpha(img: Image.Image) -> Image.Image:
    """Composite transparent images onto white (what a viewer shows)."""
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if not np.isfinite(arr).all():  # a NaN pixel would make the whole image black
            bad = int((~np.isfinite(arr)).sum())
            raise ValueError(
                f"the image holds {bad} NaN or infinite pixel(s) (mode {img.mode}); expected finite values"
            )
        lo, hi = float(arr.min()), float(arr.max())
        if img.mode.startswith("I;16"):  # full 16-bit range, as a viewer maps it
            lo, hi = 0.0, 65535.0
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo)
        img = Image.fromarray(np.round(scaled * 255).astype(np.uint8), mode="L")
    if img.mode == "P" and "transparency" in img.info or img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        return _flatten_alpha(img)
    return img.convert("RGB")


def _from_array(arr: np.ndarray, layout: str | None = None) -> Image.Image:
    if layout is not None:
        if layout not in ("HW", "HWC", "CHW"):
            raise ValueError(f"layout must be 'HW', 'HWC', 'CHW' or None, got {layout!r}")
        check_image(arr, "the image array", layout, channels=(1, 3, 4))
    elif arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] in (1, 3, 4):
        raise ValueError(
            f"an image array of shape {arr.shape} could be [H, W, C] or [C, H, W]; "
            "pass layout='HWC' or layout='CHW' to say which"
        )
    if layout == "CHW" or (
        layout is None and arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4)
    ):
        arr = np.moveaxis(arr, 0, -1)  # [C, H, W] -> [H, W, C]
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"an image array must be [H, W], [H, W, 3|4] or [3|4, H, W], got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"the image array is empty (shape {arr.shape})")
    return Image.fromarray(np.ascontiguousarray(as_uint8(arr)))


def as_uint8(arr: np.ndarray) -> np.ndarray:
    """Pixel values as ``uint8``: bool -> 0/255, float in [0, 1] -> round(255 x), uint16 -> x * 255 // 65535.

    Raises ``ValueError`` for NaN/inf or floats outside [0, 1], ``TypeError`` for other dtypes
    (never a silent wrap-around or truncation to 0).
    """
    arr = np.asarray(arr)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError("the image array contains NaN or infinite values")
        if arr.min() < 0 or arr.max() > 1:
            raise ValueError(
                f"a float image must hold values in [0, 1], got [{arr.min():.3g}, {arr.max():.3g}]"
            )
        arr = np.round(arr * 255).astype(np.uint8)
    elif arr.dtype == np.uint16:
        arr = (arr.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise TypeError(f"image arrays must be uint8, uint16, bool or float in [0, 1], got dtype {arr.dtype}")
    return arr


def load_image(
    src, max_side: int | None = 1024, *, max_pixels: int = MAX_PIXELS, layout: str | None = None
) -> np.ndarray:
    """Load an image as RGB.

    Args:
        src: a path (``str``/``Path``), bytes (e.g. from an upload widget), a ``PIL.Image`` or an
            array (``[H, W]``, ``[H, W, 3|4]`` or ``[3|4, H, W]``; uint8, uint16, bool or float in [0, 1]).
        max_side: if set, images whose longer side exceeds it are downscaled (aspect kept).
        max_pixels: images with more pixels than this are refused before decoding
            (decompression-bomb protection).
        layout: for arrays, ``"HW"``, ``"HWC"`` or ``"CHW"``; ``None`` accepts only shapes that
            are not ambiguous (a ``(3, 4, 4)`` array could be either: it is refused without it).

    Returns:
        np.ndarray[H, W, 3] uint8, upright (EXIF orientation applied).

    Raises:
        ValueError: not an image, truncated/corrupt, empty, or too many pixels.
        TypeError: an unsupported input type.
    """
    if max_side is not None and (not isinstance(max_side, int) or max_side < 1):
        raise ValueError(f"max_side must be a positive int or None, got {max_side!r}")
    what = _describe(src)
    if isinstance(src, np.ndarray) or type(src).__name__ == "Tensor":
        img = _from_array(np.asarray(src.detach().cpu() if hasattr(src, "detach") else src), layout)
    elif isinstance(src, Image.Image):
        img = src
    elif isinstance(src, (str, os.PathLike, bytes, bytearray, memoryview)):
        if isinstance(src, (str, os.PathLike)) and not Path(src).is_file():
            raise ValueError(f"{what} does not exist or is not a file")
        fh = io.BytesIO(bytes(src)) if isinstance(src, (bytes, bytearray, memoryview)) else src
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(fh)
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValueError(f"{what} is not an image PIL can read ({type(exc).__name__})") from None
        except (OSError, SyntaxError) as exc:  # e.g. a JPEG cut inside its header
            raise ValueError(f"{what} is truncated or corrupt: {exc}") from None
    else:
        raise TypeError(f"load_image() takes a path, bytes, PIL image or array, got {type(src).__name__}")

    width, height = img.size
    if width * height > max_pixels:
        raise ValueError(
            f"{what} has {width}x{height} = {width * height:,} pixels, more than the "
            f"{max_pixels:,} allowed (possible decompression bomb); resize it first"
        )
    if max_side is not None and img.format == "JPEG":
        img.draft("RGB", (max_side, max_side))  # decode JPEGs at reduced size: fast and small
    try:
        img.load()
        img = ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{what} is truncated or corrupt: {exc}") from None
    img = _to_rgb(img)
    if max_side is not None and max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8).copy()
