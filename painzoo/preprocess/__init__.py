"""Face preprocessing: detection, square cropping, background removal, cached crops.

- :class:`FaceCropper` / :class:`FaceCrop`: one image → one face crop.
- :func:`crop_dataset`: a whole Dataset through an on-disk cache.
- :func:`preprocess_folder`: ``painzoo preprocess SRC DST``.
- :class:`BackgroundRemover`: GrabCut or a U2-Net-style ONNX model.
"""

from painzoo.preprocess.background import BackgroundRemover, OnnxSegmenter, grabcut_mask
from painzoo.preprocess.detectors import KEYPOINT_NAMES, Detection, get_detector
from painzoo.preprocess.face import (
    FaceCrop,
    FaceCropper,
    NoFaceError,
    crop_dataset,
    cropper_for,
    preprocess_folder,
)
from painzoo.preprocess.spec import InputSpec, resolve_input_spec

__all__ = [
    "BackgroundRemover",
    "Detection",
    "FaceCrop",
    "FaceCropper",
    "InputSpec",
    "KEYPOINT_NAMES",
    "NoFaceError",
    "OnnxSegmenter",
    "crop_dataset",
    "cropper_for",
    "get_detector",
    "grabcut_mask",
    "preprocess_folder",
    "resolve_input_spec",
]
