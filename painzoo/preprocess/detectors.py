"""Face detectors behind one interface: callables ``rgb_uint8 [H, W, 3] -> list[Detection]``."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["KEYPOINT_NAMES", "Detection", "get_detector", "normalize_detections"]

#: MTCNN's five facial points; "left" is the image's left side.
KEYPOINT_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass
class Detection:
    """One face found by a detector: ``box`` ``(x, y, w, h)`` in pixels, ``confidence`` (Haar: 1.0) and ``keypoints`` (or ``None``)."""

    box: tuple[float, float, float, float]
    confidence: float = 1.0
    keypoints: dict[str, tuple[float, float]] | None = None

    def scaled(self, factor: float) -> Detection:
        """The detection with every coordinate multiplied by ``factor``."""
        kps = None
        if self.keypoints is not None:
            kps = {k: (x * factor, y * factor) for k, (x, y) in self.keypoints.items()}
        return Detection(tuple(v * factor for v in self.box), self.confidence, kps)


def get_detector(detector, *, min_face_size: int = 40) -> tuple[str, Callable]:
    """Resolve a detector (``"mtcnn"``, ``"haar"``, ``"none"`` or a callable) into ``(name, callable)``.

    The name keys the crop cache; ``min_face_size`` (pixels) goes to the detector.

    Raises:
        ValueError: For an unknown name.
        ImportError: For ``"mtcnn"`` without TensorFlow/mtcnn or on another Keras backend.
    """
    if callable(detector):
        name = getattr(detector, "cache_key", None) or (
            f"callable:{getattr(detector, '__module__', '')}."
            f"{getattr(detector, '__qualname__', type(detector).__qualname__)}"
        )
        return name, lambda image: normalize_detections(detector(image))
    if detector == "mtcnn":
        return "mtcnn", _MTCNNDetector(min_face_size)
    if detector == "haar":
        return "haar", _HaarDetector(min_face_size)
    if detector in (None, "none"):
        return "none", lambda image: []
    raise ValueError(
        f"Unknown face detector {detector!r}; use 'mtcnn', 'haar', 'none' or a callable "
        "returning (x, y, w, h) boxes."
    )


def normalize_detections(result) -> list[Detection]:
    """Turn ``None``, a box ``(x, y, w, h)``, a :class:`Detection`, an MTCNN dict or a list of these into detections."""
    if result is None:
        return []
    if isinstance(result, Detection | dict) or (
        len(result) == 4 and all(np.isscalar(v) for v in result)
    ):
        result = [result]
    out = []
    for r in result:
        if isinstance(r, Detection):
            out.append(r)
        elif isinstance(r, dict):
            kps = r.get("keypoints")
            out.append(
                Detection(
                    tuple(float(v) for v in r["box"]),
                    float(r.get("confidence", 1.0)),
                    _order_keypoints(kps) if kps else None,
                )
            )
        else:
            out.append(Detection(tuple(float(v) for v in r)))
    return out


def _order_keypoints(kps: dict) -> dict[str, tuple[float, float]]:
    kps = {k: (float(v[0]), float(v[1])) for k, v in kps.items()}
    # Our convention: "left" = the image's left side, whichever way the detector names them.
    for a, b in (("left_eye", "right_eye"), ("mouth_left", "mouth_right")):
        if a in kps and b in kps and kps[a][0] > kps[b][0]:
            kps[a], kps[b] = kps[b], kps[a]
    return kps


class _MTCNNDetector:
    """MTCNN (Zhang et al. 2016) from the ``mtcnn`` package; weights ship with it."""

    def __init__(self, min_face_size: int):
        import keras

        if keras.backend.backend() != "tensorflow":
            raise ImportError(
                "The 'mtcnn' face detector runs on TensorFlow's Keras only; the Keras backend "
                f"is {keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow for cropping, or "
                "use detector='haar' (OpenCV) on this backend."
            )
        try:
            from mtcnn import MTCNN
        except ImportError as err:
            raise ImportError(
                f"detector='mtcnn' needs the mtcnn and tensorflow packages ({err}); "
                "install them with `pip install mtcnn tensorflow` or use detector='haar'."
            ) from None
        self.min_face_size = int(min_face_size)
        self._mtcnn = MTCNN()

    def __call__(self, image: np.ndarray) -> list[Detection]:
        # mtcnn 1.0's image pyramid breaks for some sizes when min_face_size != 20 (PNet
        # raises and every face is lost), so it keeps its default and FaceCropper filters.
        found = self._mtcnn.detect_faces(np.ascontiguousarray(image))
        return normalize_detections(list(found or []))


class _HaarDetector:
    """A frontal-face cascade (OpenCV's Haar, or scikit-image's LBP cascade where OpenCV ships none); no keypoints."""

    def __init__(self, min_face_size: int):
        self.min_face_size = max(1, int(min_face_size))
        self._cascade = None
        self._skimage = None
        path = getattr(getattr(cv2, "data", None), "haarcascades", "") + (
            "haarcascade_frontalface_default.xml"
        )
        if hasattr(cv2, "CascadeClassifier") and os.path.isfile(path):
            self._cascade = cv2.CascadeClassifier(path)
        else:
            from skimage.data import lbp_frontal_face_cascade_filename
            from skimage.feature import Cascade

            self._skimage = Cascade(lbp_frontal_face_cascade_filename())

    def __call__(self, image: np.ndarray) -> list[Detection]:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        m = self.min_face_size
        if self._cascade is not None:
            boxes = self._cascade.detectMultiScale(
                cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5, minSize=(m, m)
            )
        else:
            side = min(gray.shape)
            if side < m:
                return []
            found = self._skimage.detect_multi_scale(
                img=gray.astype(np.float32) / 255.0,
                scale_factor=1.2,
                step_ratio=1,
                min_size=(m, m),
                max_size=(side, side),
                # scikit-image's default (4) lets textured backgrounds through; 8 keeps faces
                min_neighbor_number=8,
            )
            boxes = [(d["c"], d["r"], d["width"], d["height"]) for d in found]
        # Cascades give no score: larger faces rank first.
        return [Detection(tuple(float(v) for v in b), float(b[2] * b[3])) for b in boxes]
