"""Feed a :class:`~painzoo.datasets.Dataset` to ``model.fit`` on any Keras backend.

Batches are ``(images, labels)`` with images float32 ``[B, H, W, 3]`` in
[0, 255]; painzoo models scale their inputs themselves.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from dataclasses import dataclass

import keras
import numpy as np

import painzoo.training.device_input as device_input
from painzoo.datasets.io import read_image, resize_image
from painzoo.datasets.manifest import Dataset
from painzoo.preprocess.spec import InputSpec, center_crop, resize_before_crop
from painzoo.training.augment import Augmentation, get_augmentation
from painzoo.training.batch_order import StratifiedOrder

#: Environment variable bounding the input pipeline's threads (set by benchmark workers).
THREADS_ENV = "PAINZOO_THREADS"

__all__ = ["make_input"]


@dataclass(eq=False)
class _Feed:
    """What every pipeline is built from: the data, its sizes, augmentation, order and labels."""

    dataset: Dataset
    image_size: tuple[int, int]
    load_size: tuple[int, int]
    crop_size: tuple[int, int] | None  # the test-time centre crop, done at load time
    batch_size: int
    aug: Augmentation | None
    shuffle: bool
    order: StratifiedOrder | None
    seed: int
    y: np.ndarray  # encoded labels
    drop_remainder: bool
    workers: int

    @property
    def items(self) -> list:
        """The in-memory images, or the image paths as strings."""
        ds = self.dataset
        return list(ds.images) if ds.images is not None else [str(p) for p in ds.image_paths]

    def prepare(self, item) -> np.ndarray:
        """An image (array or path) resized with the one painzoo resize, then centre-cropped."""
        image = resize_image(read_image(item) if isinstance(item, str) else item, self.load_size)
        if self.crop_size is None:
            return image
        return np.ascontiguousarray(center_crop(image, self.crop_size))

    def n_batches(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_remainder else math.ceil(n / self.batch_size)


def make_input(
    dataset: Dataset,
    *,
    image_size: int | tuple[int, int] | None = None,
    batch_size: int,
    augment=None,
    shuffle: bool = False,
    stratify: bool = False,
    seed: int = 0,
    labels: str = "sparse",
    num_classes: int = 2,
    drop_remainder: bool = False,
    workers: int = 4,
    test_resize: int | None = None,
    device_resident: bool | str = "auto",
    input_spec: InputSpec | None = None,
):
    """An input pipeline for ``model.fit`` / ``model.predict``: ``tf.data`` on TensorFlow, else a ``PyDataset``.

    Images are decoded, area-resized, kept in memory after the first epoch, augmented one by one.

    Args:
        dataset: The data (files on disk or in memory).
        image_size: Side of the model's images, or ``(height, width)``.
        batch_size, drop_remainder: Images per batch; drop the last incomplete one.
        augment: See :func:`painzoo.training.augment.get_augmentation`.
        shuffle, seed: Reshuffle every epoch; ``seed`` also seeds augmentation.
        stratify: With ``shuffle``, batches hold the classes in their
            proportion (:class:`~painzoo.training.batch_order.StratifiedOrder`).
        labels: ``"sparse"`` (int32 ``[B]``) or ``"onehot"`` (``num_classes`` wide).
        workers: Threads decoding images on non-TensorFlow backends.
        test_resize: Without ``augment``, resize to this side and centre-crop
            (:func:`painzoo.preprocess.spec.resize_before_crop`).
        device_resident: ``"auto"``: on JAX and PyTorch, keep the images on the device
            (:mod:`painzoo.training.device_input`) when the augmentation is a named preset and they
            fit; ``True``: always (an error for a custom augmentation); ``False``: never.
        input_spec: The model's :class:`~painzoo.preprocess.InputSpec`
            (instead of ``image_size``; interpolation must be ``"auto"``).

    Raises:
        ValueError: For an empty dataset, a bad ``labels`` value, labels outside
            ``[0, num_classes)``, a non-positive size, ``stratify`` without ``shuffle``, or
            ``device_resident=True`` with a custom augmentation.
    """
    if len(dataset) == 0:
        raise ValueError("make_input received an empty dataset; there is nothing to feed.")
    hw, test_resize = _input_size(image_size, input_spec, test_resize, batch_size)
    if stratify and not shuffle:
        raise ValueError("stratify orders the images of a shuffled pipeline; pass shuffle=True.")
    y = dataset.labels
    encoded = _encoded_labels(y, labels, num_classes)
    budget = _thread_budget()
    aug = get_augmentation(augment, hw, seed=seed)
    load_size, crop_size = (aug.load_size if aug is not None else None) or hw, None
    if aug is None and test_resize is not None:
        # The crop happens at load time, so the cached images already have the input size.
        load_size, crop_size = resize_before_crop(hw, test_resize), hw
    feed = _Feed(
        dataset, hw, load_size, crop_size, batch_size, aug, shuffle,
        StratifiedOrder(y, seed=seed) if stratify else None, seed, encoded, drop_remainder,
        min(int(workers), budget) if budget else int(workers),
    )  # fmt: skip
    if crop_size is None:  # the test-time crop is done by the host pipelines
        device = _device_pipeline(feed, device_resident)
        if device is not None:
            return device
    if keras.backend.backend() == "tensorflow":
        return _tf_pipeline(feed)
    return _ArrayPipeline(feed)


def _encoded_labels(y: np.ndarray, labels: str, num_classes: int) -> np.ndarray:
    """The labels as int32 class ids (``"sparse"``) or float32 one-hot rows, checked."""
    if labels not in ("onehot", "sparse"):
        raise ValueError(f"labels must be 'onehot' or 'sparse'; received {labels!r}.")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(
            f"Labels must lie in [0, {num_classes}); received values {sorted(set(y.tolist()))}. "
            "Pass num_classes= for more classes."
        )
    return y.astype(np.int32) if labels == "sparse" else np.eye(num_classes, dtype=np.float32)[y]


def _input_size(image_size, input_spec, test_resize, batch_size):
    """``(height, width)`` and ``test_resize`` from ``image_size`` or ``input_spec``, checked."""
    if input_spec is not None:
        if image_size is not None:
            raise ValueError("Pass image_size or input_spec to make_input, not both.")
        if input_spec.interpolation != "auto":
            raise ValueError(
                "The training pipeline resizes with the 'auto' interpolation; received an "
                f"InputSpec with interpolation={input_spec.interpolation!r}."
            )
        image_size = input_spec.size
        test_resize = input_spec.test_resize if test_resize is None else test_resize
    if image_size is None:
        raise ValueError("make_input needs image_size=(height, width) or input_spec=.")
    hw = (int(image_size), int(image_size)) if np.isscalar(image_size) else tuple(image_size)
    if min(hw) < 1 or batch_size < 1:
        raise ValueError(
            f"image_size and batch_size must be positive; received {image_size}, {batch_size}."
        )
    return hw, test_resize


def _device_pipeline(feed: _Feed, mode):
    """The device-resident pipeline where ``mode`` and the data allow it, else ``None``."""
    if mode not in (True, False, "auto"):
        raise ValueError(f"device_resident must be True, False or 'auto'; received {mode!r}.")
    if mode is False or (mode == "auto" and keras.backend.backend() == "tensorflow"):
        return None
    aug, ds, (lh, lw) = feed.aug, feed.dataset, feed.load_size
    spec = getattr(aug, "spec", None) if aug is not None else None
    if aug is not None and spec is None:
        if mode is True:
            raise ValueError(
                f"device_resident=True needs augment=None or a named preset; {aug.name!r} is "
                "custom Keras layers or a callable. Use device_resident='auto' or False."
            )
        return None
    nbytes, budget = len(ds) * lh * lw * 3, device_input.max_bytes()
    if nbytes > budget:
        warnings.warn(
            f"{len(ds)} images at {lh}x{lw} need {nbytes / 2**30:.2f} GiB as "
            f"uint8, over the device-resident budget of {budget / 2**30:.2f} GiB; streaming them "
            "from host memory instead. Raise PAINZOO_DEVICE_INPUT_MAX_GIB if the device has room.",
            stacklevel=3,
        )
        return None
    pixels = device_input.decode_all(
        ds, feed.load_size, lambda item, _: feed.prepare(item), feed.workers
    )
    augmenter = device_input.BatchAugmenter(spec, feed.image_size, feed.load_size, seed=feed.seed)
    return device_input.DevicePipeline(
        pixels, feed.y, feed.batch_size, augmenter, feed.shuffle, feed.seed,
        feed.drop_remainder, order=feed.order,
    )  # fmt: skip


def _tf_pipeline(feed: _Feed):
    import tensorflow as tf

    autotune, y, order, seed = tf.data.AUTOTUNE, feed.y, feed.order, feed.seed
    if feed.dataset.images is not None:
        pixels = np.stack([feed.prepare(im) for im in feed.dataset.images])

        def source(idx):
            return tf.data.Dataset.from_tensor_slices((pixels[idx], y[idx]))

    else:
        paths = np.array(feed.items)

        def load(path):
            return feed.prepare(path.decode() if isinstance(path, bytes) else str(path))

        def tf_load(path, label):
            image = tf.numpy_function(load, [path], tf.uint8, stateful=False)
            image.set_shape((*(feed.crop_size or feed.load_size), 3))
            return image, label

        def source(idx):
            data = tf.data.Dataset.from_tensor_slices((paths[idx], y[idx]))
            return data.map(tf_load, num_parallel_calls=autotune, deterministic=True).cache()

    if order is not None:
        # StratifiedOrder's pattern of classes, each class's images in a new order every
        # epoch (its own cached, reshuffled stream), drawn by tf.data.
        parts = [
            source(members).shuffle(len(members), seed=seed + k, reshuffle_each_iteration=True)
            for k, members in enumerate(order.members)
        ]
        pattern = tf.data.Dataset.from_tensor_slices(order.pattern.astype(np.int64))
        data = tf.data.Dataset.choose_from_datasets(parts, pattern)
        # choose_from_datasets cannot count its elements; without the count Keras
        # takes the end of the first epoch for running out of data
        data = data.apply(tf.data.experimental.assert_cardinality(len(y)))
    else:
        data = source(np.arange(len(y)))
        if feed.shuffle:
            data = data.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    data = data.map(lambda image, label: (tf.cast(image, tf.float32), label), autotune)
    if feed.aug is not None:

        def augment(image, label):
            image = tf.clip_by_value(tf.cast(feed.aug(image), tf.float32), 0.0, 255.0)
            image.set_shape((*feed.image_size, 3))
            return image, label

        # One thread, in data order: the random layers draw from one seed state,
        # and parallel calls would take the draws in whatever order their threads ran.
        data = data.map(augment)
    data = data.batch(feed.batch_size, drop_remainder=feed.drop_remainder).prefetch(autotune)
    threads = _thread_budget()
    if threads is not None:
        # tf.data runs its own thread pool outside TensorFlow's intra-/inter-op
        # limits: bound it too in a worker that shares the cores.
        options = tf.data.Options()
        options.threading.private_threadpool_size = threads
        options.threading.max_intra_op_parallelism = 1
        data = data.with_options(options)
    return data


def _thread_budget() -> int | None:
    """Threads this process may use for input (``PAINZOO_THREADS``, set in benchmark workers)."""
    raw = os.environ.get(THREADS_ENV)
    try:
        return max(1, int(raw)) if raw else None
    except ValueError:
        return None


class _ArrayPipeline(keras.utils.PyDataset):
    """Batches for PyTorch/JAX: threaded decode, in-memory cache, per-image augmentation."""

    def __init__(self, feed: _Feed):
        super().__init__(workers=max(1, feed.workers), use_multiprocessing=False)
        self.feed = feed
        self._items = feed.items
        self._cache: list[np.ndarray | None] = [None] * len(self._items)
        self._rng = np.random.default_rng(feed.seed)
        self._order = self._new_order() if feed.shuffle else np.arange(len(self._items))
        self._epoch = 0
        self._aug_lock = threading.Lock()  # random layers keep their seed state

    def __len__(self) -> int:
        return self.feed.n_batches()

    def _image(self, i: int) -> np.ndarray:
        if self._cache[i] is None:
            self._cache[i] = self.feed.prepare(self._items[i])
        return self._cache[i]

    def __getitem__(self, index: int):
        if index >= len(self):
            raise IndexError(f"Batch {index} out of range; the pipeline has {len(self)} batches.")
        size, aug = self.feed.batch_size, self.feed.aug
        idx = self._order[index * size : (index + 1) * size]
        images = [self._image(int(i)).astype(np.float32) for i in idx]
        if aug is not None:
            # Batches are made on several threads: the random layers restart from a state of (seed,
            # epoch, batch), so one seed gives the same batches whichever thread comes first.
            with self._aug_lock:
                aug.reseed((self.feed.seed, self._epoch, index))
                images = [keras.ops.convert_to_numpy(aug(im)) for im in images]
            images = [np.clip(im, 0.0, 255.0).astype(np.float32, copy=False) for im in images]
        return np.stack(images), self.feed.y[idx]

    def on_epoch_end(self) -> None:
        self._epoch += 1
        if self.feed.shuffle:
            self._order = self._new_order()

    def _new_order(self) -> np.ndarray:
        if self.feed.order is not None:
            return self.feed.order()
        return self._rng.permutation(len(self._items))
