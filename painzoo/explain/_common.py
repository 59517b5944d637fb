"""Helpers shared by the explanation methods: predict functions, sizes, overlays."""

from __future__ import annotations

import numpy as np

from painzoo.explain.attention import overlay
from painzoo.preprocess.spec import InputSpec, resolve_input_spec

__all__ = ["as_predict_fn", "model_input_spec", "normalise_map", "overlay_heatmap"]


def _is_keras_model(model) -> bool:
    try:
        import keras
    except ImportError:  # pragma: no cover - keras is a dependency
        return False
    return isinstance(model, keras.Model)


def model_input_spec(model, default: tuple[int, int], input_spec=None):
    """The :class:`~painzoo.preprocess.InputSpec` for ``model``: ``input_spec``, else the model's own, else ``default``."""
    if input_spec is not None:
        return input_spec
    if _is_keras_model(model):
        try:
            return resolve_input_spec(model)
        except ValueError:  # no fixed height and width
            pass
    return InputSpec(*default)


def as_predict_fn(model, batch_size: int = 256):
    """A function ``float32 [B, H, W, 3] → probabilities [B, C]`` (a sigmoid output becomes ``[1 − p, p]``).

    A Keras model runs ``predict_on_batch`` on ``batch_size`` chunks; other callables run as is.
    """
    if _is_keras_model(model):
        raw = model.predict_on_batch
    elif callable(model):
        raw = model
    else:
        raise TypeError(
            f"model must be a keras.Model or a callable mapping images [B, H, W, 3] to "
            f"class probabilities [B, C]; received {type(model).__name__}."
        )

    def predict(x):
        outs = [np.asarray(raw(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        out = np.concatenate(outs).astype(np.float64)
        if out.ndim == 1:
            out = out[:, None]
        if out.shape[1] == 1:
            out = np.concatenate([1 - out, out], axis=1)
        return out

    return predict


def normalise_map(heatmap: np.ndarray) -> np.ndarray:
    """Divide a heat map by its largest absolute value (all-zero maps stay zero)."""
    h = np.asarray(heatmap, dtype=np.float32)
    peak = float(np.abs(h).max()) if h.size else 0.0
    return h / peak if peak > 0 else h


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend the positive part of a signed ``heatmap`` over an RGB ``image``; returns uint8 RGB.

    The map is scaled by its largest absolute value and resized; ``alpha`` weights the colour map.
    """
    positive = np.clip(normalise_map(heatmap), 0.0, 1.0)
    return overlay(image, positive, alpha=alpha, normalize=False)
