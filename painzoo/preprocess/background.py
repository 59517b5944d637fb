"""Background removal: paint everything but the person white, as P2 does (GrabCut or a U2-Net-style ONNX model)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from painzoo.datasets.io import resize_image

__all__ = ["BackgroundRemover", "grabcut_mask", "OnnxSegmenter"]

_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def grabcut_mask(
    image: np.ndarray, box: tuple[int, int, int, int], iterations: int = 5
) -> np.ndarray:
    """Foreground mask bool ``[H, W]`` by GrabCut seeded with ``box`` (x, y, w, h) as probable foreground."""
    h, w = image.shape[:2]
    x, y, bw, bh = (int(round(v)) for v in box)
    x, y = max(0, x), max(0, y)
    bw, bh = max(1, min(bw, w - x - 1)), max(1, min(bh, h - y - 1))
    mask = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    try:
        cv2.grabCut(bgr, mask, (x, y, bw, bh), bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error:  # a flat image has no colour model; keep everything
        return np.ones((h, w), bool)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


class OnnxSegmenter:
    """A U2-Net-style segmentation model in ONNX, its saliency map thresholded at ``threshold``.

    Input ``[1, 3, S, S]`` float32 RGB in [0, 1] normalised with ImageNet mean/std; the first
    output's map is min-max normalised.

    Args:
        path: The ``.onnx`` file.
        threshold: Foreground threshold on the normalised map.

    Raises:
        FileNotFoundError: If the model file is missing.
        ImportError: If onnxruntime is not installed.
    """

    def __init__(self, path: str | os.PathLike, threshold: float = 0.5):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"Background model {path} does not exist; pass 'grabcut' or the path of a "
                "U2-Net-style ONNX segmentation model."
            )
        try:
            import onnxruntime as ort
        except ImportError:
            raise ImportError(
                "An ONNX background model needs onnxruntime: pip install 'painzoo[onnx]'."
            ) from None
        self.path = path
        self.threshold = float(threshold)
        self._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        inp = self._session.get_inputs()[0]
        self._input_name = inp.name
        dims = list(inp.shape)
        side = dims[2] if len(dims) == 4 and isinstance(dims[2], int) else 320
        self.side = int(side)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Foreground mask bool ``[H, W]`` of an RGB uint8 image."""
        h, w = image.shape[:2]
        x = resize_image(image, (self.side, self.side), "area")
        x = (x.astype(np.float32) / 255.0 - _IMAGENET_MEAN) / _IMAGENET_STD
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        out = np.asarray(self._session.run(None, {self._input_name: x})[0], np.float32)
        sal = out.reshape(out.shape[-2:])
        lo, hi = float(sal.min()), float(sal.max())
        sal = (sal - lo) / (hi - lo) if hi > lo else np.ones_like(sal)
        sal = resize_image(sal, (h, w), "bilinear")
        return sal >= self.threshold


class BackgroundRemover:
    """Paint the background of a face crop white (``method``: ``"grabcut"`` or an ONNX model path).

    Raises:
        ValueError: For another string that is not an existing file.
    """

    def __init__(self, method: str | os.PathLike):
        self.method = str(method)
        if self.method == "grabcut":
            self._segmenter = None
        elif self.method.lower().endswith(".onnx") or Path(self.method).is_file():
            self._segmenter = OnnxSegmenter(self.method)
        else:
            raise ValueError(
                f"Unknown background method {method!r}; use None, 'grabcut' or the path of "
                "an ONNX segmentation model (.onnx)."
            )

    @property
    def cache_key(self) -> str:
        """A string that changes when the method or the model file changes."""
        if self._segmenter is None:
            return "grabcut"
        st = self._segmenter.path.stat()
        return f"onnx:{self._segmenter.path.resolve()}:{st.st_size}:{st.st_mtime_ns}"

    def __call__(self, image: np.ndarray, face_box=None) -> np.ndarray:
        """The image with background pixels set to 255; ``face_box`` seeds GrabCut (default: the central 80 %)."""
        if self._segmenter is None:
            h, w = image.shape[:2]
            if face_box is None:
                face_box = (0.1 * w, 0.1 * h, 0.8 * w, 0.8 * h)
            mask = grabcut_mask(image, face_box)
        else:
            mask = self._segmenter(image)
        out = image.copy()
        out[~mask] = 255
        return out
