"""Grad-CAM for the convolutional models of the zoo (TensorFlow and PyTorch backends)."""

from __future__ import annotations

import numpy as np

from painzoo.datasets.io import resize_image
from painzoo.explain._common import normalise_map

__all__ = ["gradcam", "find_last_conv_layer"]


def find_last_conv_layer(model) -> str:
    """Name of the last layer whose output is a 4-D feature map smaller than the input.

    Raises:
        ValueError: If the model has no such layer (e.g. a dense-only model).
    """
    import keras

    in_shape = model.input_shape
    if isinstance(in_shape, list):
        in_shape = in_shape[0]
    for layer in reversed(model.layers):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and tuple(shape[1:3]) != tuple(in_shape[1:3]):
            return layer.name
    raise ValueError(
        f"Model {model.name!r} has no 4-D feature map below the input resolution; "
        "Grad-CAM needs a convolutional layer — pass layer=<name> explicitly."
    )


def gradcam(model, images, *, layer: str | None = None, label=None) -> np.ndarray:
    """Grad-CAM heat maps ``float32 [N, H, W]`` in ``[0, 1]`` (TensorFlow and PyTorch backends).

    ``α_k = mean_{ij} ∂y_c/∂A_ij^k`` and ``L = ReLU(Σ_k α_k A^k)`` (Eq. 1–2), resized bilinearly to
    the input and divided by its maximum. ``images`` are RGB ``[N, H, W, 3]`` (or one) at the
    model's input size; ``layer`` defaults to :func:`find_last_conv_layer`; ``label`` (an int or
    ``[N]``) defaults to the top class.

    Raises:
        ValueError: For an unknown layer or a model without feature maps.
        NotImplementedError: On the JAX backend.

    Reference:
        Selvaraju et al., Grad-CAM: Visual Explanations from Deep Networks
        via Gradient-based Localization. ICCV 2017, Eq. 1–2.
    """
    import keras

    x = np.asarray(images, dtype=np.float32)
    single = x.ndim == 3
    if single:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"images must be [N, H, W, 3] or [H, W, 3]; received {x.shape}.")
    name = layer or find_last_conv_layer(model)
    try:
        feature_tensor = model.get_layer(name).output
    except ValueError as err:
        raise ValueError(
            f"Model {model.name!r} has no layer {name!r}; pick one of its 4-D layers, e.g. "
            f"{find_last_conv_layer(model)!r}."
        ) from err
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, [feature_tensor, model.outputs[0]])
    backend = keras.backend.backend()
    if backend == "tensorflow":
        feats, grads, probs = _grads_tensorflow(probe, x, label)
    elif backend == "torch":
        feats, grads, probs = _grads_torch(probe, x, label)
    else:
        raise NotImplementedError(
            f"gradcam supports the TensorFlow and PyTorch backends; KERAS_BACKEND is "
            f"{backend!r}. Use method='lime' there, or switch backend."
        )
    alpha = grads.mean(axis=(1, 2), keepdims=True)  # Eq. 1
    cams = np.maximum((alpha * feats).sum(axis=-1), 0)  # Eq. 2
    h, w = x.shape[1:3]
    out = np.zeros((len(x), h, w), np.float32)
    for i, cam in enumerate(cams):  # non-negative, so the largest |value| is the maximum
        out[i] = normalise_map(resize_image(cam.astype(np.float32), (h, w), "bilinear"))
    return out[0] if single else out


def _labels(label, probs) -> np.ndarray:
    if label is None:
        return np.argmax(probs, axis=-1)
    return np.array(np.broadcast_to(np.asarray(label, dtype=int), (len(probs),)))


def _grads_tensorflow(probe, x, label):
    import tensorflow as tf

    inputs = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        feats, probs = probe(inputs, training=False)
        idx = _labels(label, probs.numpy())
        score = tf.reduce_sum(tf.gather(probs, idx, axis=1, batch_dims=1))
    grads = tape.gradient(score, feats)
    return feats.numpy(), grads.numpy(), probs.numpy()


def _grads_torch(probe, x, label):
    import keras
    import torch

    inputs = keras.ops.convert_to_tensor(x)
    with torch.enable_grad():
        feats, probs = probe(inputs, training=False)
        idx = _labels(label, keras.ops.convert_to_numpy(probs))
        index = torch.as_tensor(idx, device=probs.device)[:, None]
        score = probs.gather(1, index).sum()
        (grads,) = torch.autograd.grad(score, feats)
    return tuple(t.detach().cpu().numpy() for t in (feats, grads, probs))
