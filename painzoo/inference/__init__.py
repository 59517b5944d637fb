"""Use a trained model: train on all data, score images and videos, pick frames to rate.

- :func:`train` (``painzoo train``): one model on every image of a data set,
  saved as ``model.keras`` with a model card ``model.json``.
- :func:`predict` (``painzoo predict``): ``p_pain`` for images, folders,
  manifests and videos, with a timeline and a summary per video.
- :func:`extract_frames` (``painzoo frames``): candidate frames for human
  rating and an empty rating sheet.
- :class:`VideoFrames`: a streaming, timestamp-sampled video reader.
"""

from painzoo.inference.card import PainModel, load_model, read_card
from painzoo.inference.frames import FrameSelection, extract_frames, rating_columns
from painzoo.inference.predict import (
    COLUMNS,
    SUMMARY_COLUMNS,
    plot_timeline,
    predict,
    summarize_video,
)
from painzoo.inference.train import train
from painzoo.inference.video import VIDEO_EXTENSIONS, VideoFrames, VideoInfo, sample_indices

__all__ = [
    "COLUMNS",
    "FrameSelection",
    "PainModel",
    "SUMMARY_COLUMNS",
    "VIDEO_EXTENSIONS",
    "VideoFrames",
    "VideoInfo",
    "extract_frames",
    "load_model",
    "plot_timeline",
    "predict",
    "rating_columns",
    "read_card",
    "sample_indices",
    "summarize_video",
    "train",
]
