"""Reading and writing image files: every image in painzoo travels as RGB ``uint8 [H, W, 3]``."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "check_file_name",
    "display_path",
    "cache_root",
    "is_image_file",
    "INTERPOLATIONS",
    "read_image",
    "resize_image",
    "to_uint8",
    "write_image",
]

#: File extensions the loaders treat as images (lower case, with the dot).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

#: Largest image read_image decodes (pixels); larger headers are refused as
#: decompression bombs. Raise it here for a real, larger image.
MAX_IMAGE_PIXELS = 400_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


def display_path(path: str | os.PathLike | bytes) -> str:
    r"""A path as printable text (bytes that are not UTF-8 shown as ``\xNN``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_file_name(path: str | os.PathLike) -> None:
    r"""Raise a ``ValueError`` naming the file (bytes as ``\xNN``) and the fix if its name is not valid UTF-8."""
    try:
        os.fsdecode(path).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"The file name '{display_path(path)}' is not valid UTF-8, so painzoo cannot "
            "store it in a manifest; rename the file (e.g. `convmv -f latin1 -t utf8 -r "
            "--notest FOLDER`)."
        ) from None


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether the file name has one of :data:`IMAGE_EXTENSIONS`."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read the image file at ``path`` as RGB uint8 ``[H, W, 3]``.

    Gray is replicated, alpha composited over white, the EXIF orientation applied; 16-bit, 32-bit
    and float images are scaled to 0–255 (16-bit divides by 257).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file cannot be decoded (corrupt, truncated or not an image), naming it.
    """
    path = Path(path)
    shown = display_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file {shown} does not exist.")
    try:
        with warnings.catch_warnings():
            # PIL only warns between MAX_IMAGE_PIXELS and twice that; refuse both alike.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
            with Image.open(path) as im:
                im.load()
                im = ImageOps.exif_transpose(im)
                return _to_rgb_uint8(im, path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ValueError(
            f"Refusing to decode {shown}: {err} Such a header is usually broken or hostile "
            "(a decompression bomb); if the image is real, shrink it, or raise "
            "painzoo.datasets.io.MAX_IMAGE_PIXELS."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        # OpenCV reads a few formats PIL cannot.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = np.fromfile(path, dtype=np.uint8)
            image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
        if image is None:
            raise ValueError(
                f"Cannot decode {shown} as an image ({type(err).__name__}: "
                f"{display_path(str(err))}); the file is "
                "corrupt, truncated or not an image. Replace it or drop its row "
                "(on_bad_image: skip in a config's data entry, or crop_dataset(..., "
                "on_error='skip'), skips such files and counts them)."
            ) from None
        return _cv2_to_rgb_uint8(image)


def _to_rgb_uint8(im: Image.Image, path: Path) -> np.ndarray:
    mode = im.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        return _over_white(np.asarray(im.convert("RGBA")))
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im)
        return _gray_to_rgb(_scale_to_uint8(arr, 16 if mode.startswith("I;16") else None))
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8).copy()
    if mode == "L":
        return _gray_to_rgb(np.asarray(im, dtype=np.uint8))
    try:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except ValueError as err:
        raise ValueError(
            f"Cannot convert {display_path(path)} (mode {mode}) to RGB: {err}"
        ) from None


def _scale_to_uint8(arr: np.ndarray, bits: int | None) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        hi = float(np.nanmax(arr)) if arr.size else 1.0
        scale = 255.0 if hi <= 1.0 else (255.0 / hi if hi > 255 else 1.0)
        return np.clip(np.nan_to_num(arr) * scale, 0, 255).round().astype(np.uint8)
    if bits is None:
        # PIL opens 16-bit PNGs as mode "I" (int32); values above 255 mean 16-bit data.
        bits = 16 if arr.size and arr.max() > 255 else 8
    if bits == 8:
        return np.clip(arr, 0, 255).astype(np.uint8)
    return np.clip(np.round(arr.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """The colour channels of a uint8 4-channel image composited over white."""
    rgba = rgba.astype(np.float32)
    alpha = rgba[..., 3:] / 255.0
    return np.round(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=-1)


def _cv2_to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        image = np.round(image.astype(np.float64) / 257.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = _scale_to_uint8(image, None)
    if image.ndim == 2:
        return _gray_to_rgb(image)
    if image.shape[-1] == 4:
        return cv2.cvtColor(_over_white(image), cv2.COLOR_BGR2RGB)
    if image.shape[-1] == 1:
        return _gray_to_rgb(image[..., 0])
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an RGB uint8 image (format from the extension; parent folders created); ``ValueError`` if it cannot be encoded."""
    path = Path(path)
    ok, buf = cv2.imencode(
        path.suffix or ".png", cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)
    )
    if not ok:
        raise ValueError(f"Cannot encode an image for {path}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    buf.tofile(path)


#: Interpolations :func:`resize_image` takes, by name.
INTERPOLATIONS = ("auto", "area", "bilinear", "nearest")
_CV2_INTERPOLATION = {
    "area": cv2.INTER_AREA,
    "bilinear": cv2.INTER_LINEAR,
    # _EXACT samples pixel centres; plain INTER_NEAREST shifts by half a pixel.
    "nearest": cv2.INTER_NEAREST_EXACT,
}


def resize_image(
    image: np.ndarray, size: tuple[int, int], interpolation: str = "auto"
) -> np.ndarray:
    """Resize an image or a map to ``size = (height, width)``: painzoo's one resize (same dtype).

    Interpolations: ``"auto"`` (images: area when shrinking, bilinear when enlarging),
    ``"bilinear"`` (heat maps, warped crops), ``"nearest"`` (label maps; samples
    ``floor((i + 0.5) · in / out)``) and ``"area"``. Pixel centres lie at half-integers (OpenCV's
    and PIL's convention).

    Raises:
        ValueError: For an unknown interpolation or a non-positive size.

    Example:
        >>> resize_image(np.zeros((480, 640, 3), np.uint8), (48, 64)).shape
        (48, 64, 3)
    """
    h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise ValueError(f"resize_image needs a positive (height, width); received {size}.")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"interpolation must be one of {INTERPOLATIONS}; received {interpolation!r}."
        )
    image = np.asarray(image)
    if image.shape[:2] == (h, w):
        return image
    if interpolation == "auto":
        shrink = h < image.shape[0] or w < image.shape[1]
        interpolation = "area" if shrink else "bilinear"
    source = image
    if image.dtype == np.bool_ or image.dtype == np.int64:
        source = image.astype(np.uint8 if image.dtype == np.bool_ else np.int32)
    out = cv2.resize(source, (w, h), interpolation=_CV2_INTERPOLATION[interpolation])
    if out.ndim == image.ndim - 1:  # OpenCV drops a trailing channel axis of size 1
        out = out[..., None]
    return out.astype(image.dtype, copy=False)


def to_uint8(image) -> np.ndarray:
    """Pixel values in [0, 255] as uint8: rounded, then clipped; NaN becomes 0.

    Example:
        >>> to_uint8(np.array([-3.0, 0.4, 0.5, 1.5, 254.6, 300.0])).tolist()
        [0, 0, 0, 2, 255, 255]
    """
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return np.clip(np.rint(np.nan_to_num(image.astype(np.float64))), 0, 255).astype(np.uint8)


def cache_root() -> Path:
    """The cache folder for derived files: ``$PAINZOO_CACHE``, else ``~/.cache/painzoo``."""
    env = os.environ.get("PAINZOO_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "painzoo"
