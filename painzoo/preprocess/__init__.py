"""Face preprocessing: detection, square cropping, background removal, cached crops."""

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
