"""LIME for image classifiers, with vectorised perturbations and batched predictions.

The weighted ridge regression is `lime`'s own (``lime_base.LimeBase``): same samples, same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from painzoo.datasets.io import resize_image, to_uint8
from painzoo.explain._common import as_predict_fn, model_input_spec

__all__ = ["LimeExplanation", "lime_explanation", "segment_image", "SEGMENTERS"]

SEGMENTERS = ("quickshift", "slic", "felzenszwalb", "grid")


@dataclass
class LimeExplanation:
    """A LIME explanation of one image.

    Attributes:
        image: The explained image, uint8 ``[H, W, 3]``.
        segments: Int ``[H, W]`` segment id of every pixel (0 … n − 1).
        weights: Each segment's surrogate weight for ``label`` (positive =
            supports the class); ``heatmap`` is ``weights[segments]``.
        label: The explained class.
        prediction: Class probabilities on the unperturbed image.
        intercept, score: The surrogate's intercept and weighted R².
        num_samples: Number of perturbed images.
    """

    image: np.ndarray
    segments: np.ndarray
    weights: np.ndarray
    heatmap: np.ndarray
    label: int
    prediction: np.ndarray
    intercept: float
    score: float
    num_samples: int

    def top_segments(self, k: int = 5, positive_only: bool = True) -> np.ndarray:
        """Ids of the ``k`` segments with the largest (positive) weights."""
        order = np.argsort(-self.weights if positive_only else -np.abs(self.weights))
        if positive_only:
            order = order[self.weights[order] > 0]
        return order[:k]

    def mask(self, k: int = 5, positive_only: bool = True) -> np.ndarray:
        """Bool ``[H, W]``: pixels of the :meth:`top_segments`."""
        return np.isin(self.segments, self.top_segments(k, positive_only))

    def as_lime(self):
        """The same explanation as a ``lime.lime_image.ImageExplanation`` (for `lime`'s tools)."""
        from lime.lime_image import ImageExplanation

        exp = ImageExplanation(self.image, self.segments)
        order = np.argsort(-np.abs(self.weights))
        exp.local_exp[self.label] = [(int(i), float(self.weights[i])) for i in order]
        exp.intercept[self.label] = self.intercept
        exp.score = self.score
        exp.top_labels = [self.label]
        return exp


def segment_image(image: np.ndarray, segmenter="quickshift", seed: int = 0) -> np.ndarray:
    """Superpixels of an image as int ``[H, W]``, relabelled to ``0 … n − 1``.

    ``segmenter`` (given ``seed``): ``"quickshift"`` (`lime`'s defaults), ``"slic"`` (~50
    segments), ``"felzenszwalb"``, ``"grid"`` (8 × 8 cells) or a callable ``image → int [H, W]``.

    Raises:
        ValueError: For an unknown segmenter name or a segment map of the wrong shape.
    """
    if callable(segmenter):
        seg = np.asarray(segmenter(image))
    elif segmenter == "grid":
        h, w = image.shape[:2]
        rows = np.minimum(np.arange(h) * 8 // h, 7)
        cols = np.minimum(np.arange(w) * 8 // w, 7)
        seg = rows[:, None] * 8 + cols[None, :]
    elif segmenter in SEGMENTERS:
        from lime.wrappers.scikit_image import SegmentationAlgorithm

        params = {
            "quickshift": {"kernel_size": 4, "max_dist": 200, "ratio": 0.2, "random_seed": seed},
            "slic": {"n_segments": 50, "compactness": 10, "start_label": 0},
            "felzenszwalb": {"scale": 100, "sigma": 0.5, "min_size": 50},
        }[segmenter]
        seg = SegmentationAlgorithm(segmenter, **params)(image)
    else:
        raise ValueError(
            f"Unknown segmenter {segmenter!r}; use one of {list(SEGMENTERS)} or a callable "
            "returning an int segment map [H, W]."
        )
    if seg.shape != image.shape[:2]:
        raise ValueError(f"The segment map has shape {seg.shape}; the image is {image.shape[:2]}.")
    _, seg = np.unique(seg, return_inverse=True)
    return seg.reshape(image.shape[:2]).astype(np.int32)


def _to_uint8(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be RGB [H, W, 3]; received shape {image.shape}.")
    if image.dtype != np.uint8:
        if image.max() <= 1.0 and image.min() >= 0 and image.dtype.kind == "f":
            raise ValueError(
                "image looks scaled to [0, 1]; painzoo models take RGB in [0, 255]. "
                "Pass the uint8 image (or image * 255)."
            )
        image = to_uint8(image)
    return image


def lime_explanation(
    model,
    image,
    *,
    label: int | None = None,
    num_samples: int = 1000,
    segmenter="quickshift",
    batch_size: int = 256,
    seed: int = 0,
    hide_color: float | None = None,
    kernel_width: float = 0.25,
    input_spec=None,
) -> LimeExplanation:
    """Explain one prediction with LIME (Ribeiro et al., 2016): a :class:`LimeExplanation`.

    ``num_samples`` copies (the first unperturbed, as in `lime`) have a random half of the
    superpixels replaced by their mean colour (or ``hide_color``); a ridge regression on the
    model's scores, weighted by an exponential kernel (``kernel_width``) on the cosine distance,
    gives each superpixel a weight.

    Args:
        model: A ``keras.Model`` on RGB in ``[0, 255]``, or a callable
            ``float32 [B, H, W, 3] → probabilities [B, C]``.
        image: RGB ``[H, W, 3]`` (uint8, or float in ``[0, 255]``).
        label: Class to explain; default: the model's top class.
        segmenter: See :func:`segment_image`.
        batch_size: Images per model call.
        seed: Seed of the on/off table and the segmenter.
        input_spec: The :class:`~painzoo.preprocess.InputSpec` for the model.

    Raises:
        ValueError: For a bad image, ``num_samples < 2``, an unknown class or segmenter.
        TypeError: If ``model`` is neither a Keras model nor callable.

    Reference:
        Ribeiro, Singh, Guestrin, KDD 2016; P2 (Sabater-Gárriz et al., 2024).
    """
    image = _to_uint8(image)
    if num_samples < 2:
        raise ValueError(f"num_samples must be at least 2; received {num_samples}.")
    predict = as_predict_fn(model, batch_size)
    segments = segment_image(image, segmenter, seed)
    n_seg = int(segments.max()) + 1
    spec = model_input_spec(model, image.shape[:2], input_spec)
    model_image, model_segments = image, segments
    if spec.size != image.shape[:2]:
        model_image = resize_image(image, spec.size, spec.interpolation)
        model_segments = resize_image(segments, spec.size, "nearest")
    hidden = _hidden_image(model_image, model_segments, n_seg, hide_color)
    rng = np.random.RandomState(seed)
    data = rng.randint(0, 2, size=(num_samples, n_seg)).astype(np.uint8)
    data[0, :] = 1
    probs = _perturbed_scores(predict, data, model_image, hidden, model_segments, batch_size)
    if label is None:
        label = int(np.argmax(probs[0]))
    if not 0 <= label < probs.shape[1]:
        raise ValueError(
            f"label must index the model's {probs.shape[1]} classes; received {label}."
        )
    intercept, weights, score = _surrogate(data, probs, label, kernel_width, seed)
    return LimeExplanation(
        image=image,
        segments=segments,
        weights=weights,
        heatmap=weights[segments].astype(np.float32),
        label=int(label),
        prediction=probs[0],
        intercept=float(intercept),
        score=float(score),
        num_samples=int(num_samples),
    )


def _hidden_image(image, segments, n_seg: int, hide_color) -> np.ndarray:
    """Float32 image of what each pixel becomes when its segment is off."""
    base = image.astype(np.float32)
    if hide_color is not None:
        return np.full_like(base, float(hide_color))
    sums = np.zeros((n_seg, 3))
    np.add.at(sums, segments.ravel(), base.reshape(-1, 3))
    area = np.bincount(segments.ravel(), minlength=n_seg)[:, None]
    return (sums / np.maximum(area, 1)).astype(np.float32)[segments]


def _perturbed_scores(predict, data, image, hidden, segments, batch_size: int) -> np.ndarray:
    """The model's probabilities for each row of the on/off table, ``batch_size`` at a time."""
    h, w = segments.shape
    delta = image.astype(np.float32) - hidden
    flat = segments.ravel()
    outputs = []
    for start in range(0, len(data), batch_size):
        on = data[start : start + batch_size][:, flat].reshape(-1, h, w, 1)
        # One fused blend per batch: hidden where the segment is off, the image where on.
        outputs.append(predict(hidden[None] + on.astype(np.float32) * delta[None]))
    return np.concatenate(outputs)


def _surrogate(data, probs, label: int, kernel_width: float, seed: int):
    """`lime`'s weighted ridge regression: ``(intercept, weight per segment, R²)``."""
    from lime import lime_base
    from sklearn.metrics import pairwise_distances

    distances = pairwise_distances(data, data[:1], metric="cosine").ravel()

    def kernel(d):
        return np.sqrt(np.exp(-(d**2) / kernel_width**2))

    n_seg = data.shape[1]
    explainer = lime_base.LimeBase(kernel, random_state=seed)
    intercept, local_exp, score, _ = explainer.explain_instance_with_data(
        data, probs, distances, label, n_seg, feature_selection="none"
    )
    weights = np.zeros(n_seg)
    for idx, weight in local_exp:
        weights[idx] = weight
    return intercept, weights, score
