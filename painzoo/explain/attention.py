"""PainSeeker attention maps: the β of P1 Eq. 2 on the face grid, and heat-map overlays (P1 Figure 4)."""

from __future__ import annotations

import numpy as np

from painzoo.datasets.io import resize_image, to_uint8

__all__ = ["attention_maps", "overlay"]


def _attention_layer(model, layer_name):
    import keras

    from painzoo.layers.painseeker import PainSeekerAttention

    if not isinstance(model, keras.Model):
        raise TypeError(f"attention_maps expects a keras.Model; received {type(model).__name__}.")
    if layer_name is not None:
        layer = model.get_layer(layer_name)
        if not isinstance(layer, PainSeekerAttention):
            raise ValueError(
                f"Layer {layer_name!r} of model {model.name!r} is a {type(layer).__name__}, "
                "not a PainSeekerAttention layer."
            )
        return layer
    found = [layer for layer in model.layers if isinstance(layer, PainSeekerAttention)]
    if not found:
        raise ValueError(
            f"attention_maps needs a PainSeeker model (one with a PainSeekerAttention layer); "
            f"model {model.name!r} has none. Build one with painzoo.get_model('painseeker'), "
            "or explain other models with LIME or Grad-CAM (painzoo.explain)."
        )
    if len(found) > 1:
        names = ", ".join(repr(layer.name) for layer in found)
        raise ValueError(
            f"Model {model.name!r} has several PainSeekerAttention layers ({names}); "
            "choose one with layer_name=."
        )
    return found[0]


def _grid(layer):
    shape = tuple(layer.input.shape)
    if len(shape) == 4 and shape[1] is not None and shape[2] is not None:
        return int(shape[1]), int(shape[2])
    regions = shape[1]
    side = int(round(np.sqrt(regions))) if regions else 0
    if regions is None or side * side != regions:
        raise ValueError(
            f"Cannot arrange {regions} regions of layer {layer.name!r} (input {shape}) on a "
            "square grid; attention_maps needs [batch, M, M, D] inputs or a square K."
        )
    return side, side


def _as_batch(images, size, interpolation: str = "auto"):
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            f"images must be RGB [batch, H, W, 3] or one [H, W, 3] image; received shape "
            f"{images.shape}."
        )
    images = images.astype(np.float32)
    h, w = size
    if h is not None and w is not None and images.shape[1:3] != (h, w):
        images = np.stack([resize_image(im, (h, w), interpolation) for im in images])
    return images


def attention_maps(
    model, images, *, batch_size: int = 32, layer_name: str | None = None, input_spec=None
):
    """The PainSeeker region scores β (P1 Eq. 2) of each image, ``float32 [B, M, M]``, each summing to 1.

    Args:
        model: A model with a :class:`~painzoo.layers.PainSeekerAttention` layer.
        images: RGB in [0, 255], ``[B, H, W, 3]`` or one ``[H, W, 3]``.
        batch_size: Images per forward pass.
        layer_name: Which attention layer to read when the model has several.
        input_spec: The model's :class:`~painzoo.preprocess.InputSpec`.

    Raises:
        ValueError: If the model has no PainSeekerAttention layer (or several and no
            ``layer_name``), or the images are not RGB.
        TypeError: If ``model`` is not a ``keras.Model``.

    Reference:
        Liu et al. (2025), PainSeeker, Front. Vet. Sci., Eq. 2 and Figure 4.
    """
    import keras

    layer = _attention_layer(model, layer_name)
    grid = _grid(layer)
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    scores_model = keras.Model(inputs, layer.output[1], name=f"{model.name}_scores")
    input_shape = scores_model.inputs[0].shape
    size, interpolation = (input_shape[1], input_shape[2]), "auto"
    if input_spec is not None:
        size, interpolation = input_spec.size, input_spec.interpolation
    batch = _as_batch(images, size, interpolation)
    outs = [
        keras.ops.convert_to_numpy(scores_model(batch[i : i + batch_size], training=False))
        for i in range(0, len(batch), batch_size)
    ]
    scores = np.concatenate(outs) if outs else np.zeros((0, grid[0] * grid[1]), np.float32)
    return scores.astype(np.float32).reshape(len(batch), *grid)


def overlay(
    images,
    maps,
    *,
    alpha: float = 0.5,
    colormap: str = "jet",
    normalize: bool = True,
    interpolation: str = "bilinear",
):
    """Render maps (``[B, M, M]`` or ``[M, M]``) as coloured heat maps over RGB images: ``(1 - alpha) · image + alpha · colour``.

    ``colormap``: a matplotlib name; ``normalize``: min-max per map (``False`` clips to [0, 1]);
    ``interpolation``: ``"bilinear"`` or ``"nearest"``. Returns uint8 images of the input's shape.

    Raises:
        ValueError: For mismatched batch sizes, a wrong shape, ``alpha`` out of [0, 1] or an
            unknown interpolation or colour map.
    """
    import matplotlib

    single = np.ndim(images) == 3
    images = np.asarray(images)[None] if single else np.asarray(images)
    maps = np.asarray(maps, dtype=np.float32)
    maps = maps[None] if maps.ndim == 2 else maps
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be RGB [B, H, W, 3]; received shape {images.shape}.")
    if maps.ndim != 3 or len(maps) != len(images):
        raise ValueError(
            f"maps must be [B, M, M] with one map per image ({len(images)}); received shape "
            f"{maps.shape}."
        )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1]; received {alpha}.")
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(
            f"interpolation must be one of ['bilinear', 'nearest']; received {interpolation!r}."
        )
    try:
        cmap = matplotlib.colormaps[colormap]
    except KeyError as err:
        raise ValueError(
            f"Unknown colour map {colormap!r}; use a matplotlib name such as 'jet' or 'viridis'."
        ) from err

    height, width = images.shape[1:3]
    out = np.empty(images.shape, dtype=np.uint8)
    for i, (image, heat) in enumerate(zip(images.astype(np.float32), maps)):
        if normalize:
            low, high = float(heat.min()), float(heat.max())
            heat = (heat - low) / (high - low) if high > low else np.zeros_like(heat)
        heat = resize_image(
            np.clip(heat, 0.0, 1.0).astype(np.float32), (height, width), interpolation
        )
        colour = cmap(np.clip(heat, 0.0, 1.0))[..., :3] * 255.0
        out[i] = to_uint8((1.0 - alpha) * image + alpha * colour)
    return out[0] if single else out
