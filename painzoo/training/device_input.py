"""A device-resident input pipeline: the images stay on the accelerator, augmentation runs there."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
from keras import ops

from painzoo.training.augment import AugmentSpec

__all__ = ["BatchAugmenter", "DevicePipeline", "max_bytes", "DEFAULT_MAX_GIB"]

#: Default budget of the device-resident uint8 array, in GiB.
DEFAULT_MAX_GIB = 2.0
_MAX_ENV = "PAINZOO_DEVICE_INPUT_MAX_GIB"


def max_bytes() -> int:
    """The most bytes of uint8 images kept on the device (``PAINZOO_DEVICE_INPUT_MAX_GIB`` overrides).

    Raises:
        ValueError: When the environment variable is not a non-negative number.
    """
    raw = os.environ.get(_MAX_ENV)
    if raw is None or raw == "":
        return int(DEFAULT_MAX_GIB * 2**30)
    try:
        gib = float(raw)
    except ValueError:
        gib = -1.0
    if not gib >= 0:
        raise ValueError(f"{_MAX_ENV} must be a non-negative number of GiB; received {raw!r}.")
    return int(gib * 2**30)


class BatchAugmenter:
    """Apply an :class:`~painzoo.training.augment.AugmentSpec` ``spec`` to a batch on the device.

    ``spec=None`` only centre-crops. Every image draws its own crop offset, flip, angle and
    contrast factor from one ``keras.random.SeedGenerator`` seeded with ``seed``. Crop + flip is an
    exact gather; rotation is one bilinear sampling with reflect fill. ``image_size`` and
    ``load_size`` are the output's and input's ``(height, width)``.

    Example:
        >>> from painzoo.training.augment import PRESETS
        >>> aug = BatchAugmenter(PRESETS["p1"], (28, 28), (32, 32), seed=0)
        >>> tuple(aug(keras.ops.zeros((4, 32, 32, 3), "uint8")).shape)
        (4, 28, 28, 3)
    """

    def __init__(
        self,
        spec: AugmentSpec | None,
        image_size: tuple[int, int],
        load_size: tuple[int, int],
        seed: int = 0,
    ):
        self.spec = spec
        self.image_size = tuple(int(v) for v in image_size)
        self.load_size = tuple(int(v) for v in load_size)
        if self.load_size[0] < self.image_size[0] or self.load_size[1] < self.image_size[1]:
            raise ValueError(
                f"load_size {self.load_size} is smaller than image_size {self.image_size}; "
                "a crop needs the loaded image to be at least the training size."
            )
        self.seed_generator = keras.random.SeedGenerator(seed)

    def draw(self, batch: int) -> dict:
        """Per-image random parameters (``dy``, ``dx``, ``flip``, ``angle``, ``contrast``; each ``[batch]``) the spec uses."""
        spec = self.spec
        (h, w), (lh, lw) = self.image_size, self.load_size
        if spec is None:
            return {}
        crop = (lh, lw) != (h, w)
        names = (["dy", "dx"] if crop else []) + (["flip"] if spec.flip else [])
        names += (["angle"] if spec.rotation_degrees else []) + (
            ["contrast"] if spec.contrast else []
        )
        if not names:
            return {}
        # One draw per batch: on PyTorch each draw reads the seed state back to
        # the host, which waits for the device, so fewer draws mean fewer stalls.
        u = keras.random.uniform((batch, len(names)), seed=self.seed_generator)
        col = {name: u[:, i] for i, name in enumerate(names)}
        params = {}
        if crop:
            # Uniform over the inclusive range [0, L − S], as keras.layers.RandomCrop.
            for key, span in (("dy", lh - h + 1), ("dx", lw - w + 1)):
                params[key] = ops.minimum(ops.cast(col[key] * span, "int32"), span - 1)
        if spec.flip:
            params["flip"] = col["flip"] < 0.5
        if spec.rotation_degrees:
            d = float(spec.rotation_degrees)
            params["angle"] = col["angle"] * (2 * d) - d
        if spec.contrast:
            c = float(spec.contrast)
            params["contrast"] = col["contrast"] * (2 * c) + (1.0 - c)
        return params

    def __call__(self, images, params: dict | None = None):
        """Augment ``images`` (``[B, LH, LW, 3]``) to float32 ``[B, H, W, 3]``; ``params`` from :meth:`draw` (drawn when ``None``)."""
        batch = ops.shape(images)[0]
        if params is None:
            params = self.draw(batch)
        (h, w), (lh, lw) = self.image_size, self.load_size
        if "angle" in params:
            x = self._sample_bilinear(images, params)
        elif params or (lh, lw) != (h, w):
            x = ops.cast(self._gather_exact(images, params), "float32")
        else:
            x = ops.cast(images, "float32")
        if "contrast" in params:
            mean = ops.mean(x, axis=(1, 2), keepdims=True)
            f = ops.reshape(ops.cast(params["contrast"], "float32"), (-1, 1, 1, 1))
            x = ops.clip((x - mean) * f + mean, 0.0, 255.0)
        return x

    # -- geometry -------------------------------------------------------------------
    def _columns_rows(self, params):
        """Source columns ``[B, W]`` and rows ``[B, H]`` (int32) after crop and flip."""
        (h, w), (lh, lw) = self.image_size, self.load_size
        cols = ops.arange(w, dtype="int32")[None, :]
        rows = ops.arange(h, dtype="int32")[None, :]
        if "flip" in params:
            cols = ops.where(params["flip"][:, None], (w - 1) - cols, cols)
        if "dx" in params:
            cols = cols + ops.cast(params["dx"], "int32")[:, None]
            rows = rows + ops.cast(params["dy"], "int32")[:, None]
        elif (lh, lw) != (h, w):  # no augmentation: centre crop
            cols = cols + (lw - w) // 2
            rows = rows + (lh - h) // 2
        return cols, rows

    def _gather_exact(self, images, params):
        """Crop + flip as one integer gather (exact: no interpolation)."""
        batch = ops.shape(images)[0]
        (h, w), lw = self.image_size, self.load_size[1]
        cols, rows = self._columns_rows(params)
        cols = ops.broadcast_to(cols, (batch, w))
        rows = ops.broadcast_to(rows, (batch, h))
        flat = rows[:, :, None] * lw + cols[:, None, :]  # [B, H, W]
        return _take_pixels(images, flat)

    def _sample_bilinear(self, images, params):
        """Rotation (+ crop + flip) as one bilinear sampling with reflect fill (``RandomRotation``'s matrix)."""
        lh, lw = self.load_size
        cols, rows = self._columns_rows(params)
        xs = ops.cast(cols, "float32")[:, None, :]  # [B|1, 1, W]
        ys = ops.cast(rows, "float32")[:, :, None]  # [B|1, H, 1]
        theta = ops.cast(params["angle"], "float32") * (math.pi / 180.0)
        cos = ops.cos(theta)[:, None, None]
        sin = ops.sin(theta)[:, None, None]
        cx, cy = (lw - 1) / 2.0, (lh - 1) / 2.0
        src_x = cos * (xs - cx) - sin * (ys - cy) + cx  # [B, H, W]
        src_y = sin * (xs - cx) + cos * (ys - cy) + cy
        x0 = ops.floor(src_x)
        y0 = ops.floor(src_y)
        fx = (src_x - x0)[..., None]
        fy = (src_y - y0)[..., None]
        x0 = ops.cast(x0, "int32")
        y0 = ops.cast(y0, "int32")
        fill = self.spec.rotation_fill if self.spec is not None else "reflect"
        xa, xb = _fill_index(x0, lw, fill), _fill_index(x0 + 1, lw, fill)
        ya, yb = _fill_index(y0, lh, fill), _fill_index(y0 + 1, lh, fill)

        def at(yy, xx):
            return ops.cast(_take_pixels(images, yy * lw + xx), "float32")

        top = at(ya, xa) * (1.0 - fx) + at(ya, xb) * fx
        bottom = at(yb, xa) * (1.0 - fx) + at(yb, xb) * fx
        return top * (1.0 - fy) + bottom * fy


def _fill_index(i, n: int, mode: str):
    """Map integer indices outside ``[0, n)`` back inside, like ``scipy.ndimage`` ``mode``."""
    if mode == "reflect":  # d c b a | a b c d | d c b a
        i = ops.mod(i, 2 * n)
        return ops.where(i >= n, (2 * n - 1) - i, i)
    if mode == "wrap":
        return ops.mod(i, n)
    if mode == "nearest":
        return ops.clip(i, 0, n - 1)
    raise ValueError(
        f"The device-resident pipeline supports rotation fill 'reflect', 'wrap' or "
        f"'nearest'; received {mode!r}. Pass device_resident=False to use the Keras layers."
    )


def _take_pixels(images, flat):
    """``images[b].reshape(-1, C)[flat[b]]`` for every ``b``: ``[B, H, W, C]``."""
    shape = ops.shape(images)
    batch, channels = shape[0], shape[-1]
    out_hw = ops.shape(flat)[1:]
    pixels = ops.reshape(images, (batch, -1, channels))
    index = ops.reshape(flat, (batch, -1, 1))
    index = ops.broadcast_to(index, (batch, ops.shape(index)[1], channels))
    taken = ops.take_along_axis(pixels, index, axis=1)
    return ops.reshape(taken, (batch, *out_hw, channels))


class DevicePipeline(keras.utils.PyDataset):
    """Batches ``(images, labels)`` gathered and augmented on the device.

    Args:
        pixels: uint8 ``[N, LH, LW, 3]`` images at the load size (NumPy).
        labels: Encoded labels ``[N]`` or ``[N, K]`` (NumPy).
        batch_size, drop_remainder: As :func:`~painzoo.training.make_input`.
        augmenter: A :class:`BatchAugmenter` (its ``image_size`` is the output).
        shuffle, seed: A new seeded order every epoch, drawn on the device.
        order: A :class:`~painzoo.training.batch_order.StratifiedOrder` instead of a plain shuffle.
    """

    def __init__(
        self, pixels, labels, batch_size, augmenter, shuffle, seed, drop_remainder, order=None
    ):
        # One worker, no threads: every op is issued from the training loop and runs asynchronously
        # on the device (JAX, CUDA); a thread pool would only add copies and locking.
        super().__init__(workers=1, use_multiprocessing=False)
        self.images = ops.convert_to_tensor(np.ascontiguousarray(pixels), dtype="uint8")
        self.labels = ops.convert_to_tensor(labels)
        self.n = int(pixels.shape[0])
        self.batch_size = int(batch_size)
        self.augmenter = augmenter
        self.image_size = augmenter.image_size
        self._shuffle, self._drop = shuffle, drop_remainder
        self._order_seed = keras.random.SeedGenerator(seed)
        self._stratified = order
        self._order = self._new_order()

    def _new_order(self):
        if self._shuffle and self._stratified is not None:
            return ops.convert_to_tensor(self._stratified().astype(np.int32))
        order = ops.arange(self.n, dtype="int32")
        if self._shuffle:
            order = keras.random.shuffle(order, seed=self._order_seed)
        return order

    @property
    def nbytes(self) -> int:
        """Bytes of the uint8 image tensor kept on the device."""
        return int(np.prod(ops.shape(self.images)))

    def __len__(self) -> int:
        return self.n // self.batch_size if self._drop else math.ceil(self.n / self.batch_size)

    def __getitem__(self, index: int):
        if index >= len(self):
            raise IndexError(f"Batch {index} out of range; the pipeline has {len(self)} batches.")
        idx = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        images = ops.take(self.images, idx, axis=0)
        return self.augmenter(images), ops.take(self.labels, idx, axis=0)

    def on_epoch_end(self) -> None:
        if self._shuffle:
            self._order = self._new_order()


def decode_all(dataset, load_size, load, workers: int = 4) -> np.ndarray:
    """Every image of ``dataset`` decoded by ``load`` at ``load_size`` on ``workers`` threads: uint8 ``[N, H, W, 3]``."""
    if dataset.images is not None:
        items = list(dataset.images)
    else:
        items = [str(p) for p in dataset.image_paths]
    out = np.empty((len(items), *load_size, 3), np.uint8)

    def one(i):
        out[i] = load(items[i], load_size)

    with ThreadPoolExecutor(max(1, int(workers))) as pool:
        list(pool.map(one, range(len(items))))
    return out
