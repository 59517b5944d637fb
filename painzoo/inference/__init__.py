"""Use a trained model: train on all data (:func:`train`), score images and videos (:func:`predict`), pick frames to rate."""

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
