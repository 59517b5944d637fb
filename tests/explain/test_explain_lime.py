"""LIME: the heat map finds the region a model looks at, and matches the `lime` package."""

import keras
import numpy as np
import pytest

from painzoo.explain import lime_explanation
from painzoo.explain.lime import segment_image


def _quadrant_model(x):
    """P(pain) rises with the mean of the top-left quadrant; the rest is ignored."""
    x = np.asarray(x, dtype=np.float64)
    s = (x[:, :16, :16].mean(axis=(1, 2, 3)) - 64.0) / 20.0
    p = 1 / (1 + np.exp(-s))
    return np.stack([1 - p, p], axis=1)


@pytest.fixture
def image(rng):
    return rng.integers(60, 200, (32, 32, 3)).astype(np.uint8)


def _assert_peak_in_top_left(exp):
    y, x = np.unravel_index(np.argmax(exp.heatmap), exp.heatmap.shape)
    assert y < 16 and x < 16
    assert exp.heatmap[:16, :16].mean() > 10 * abs(exp.heatmap[16:, :].mean())


def test_heatmap_peaks_on_the_region_a_callable_uses(image):
    exp = lime_explanation(_quadrant_model, image, segmenter="grid", num_samples=300, hide_color=0)
    assert exp.label == 1
    assert exp.heatmap.shape == image.shape[:2]
    assert exp.segments.shape == image.shape[:2] and exp.weights.shape == (64,)
    _assert_peak_in_top_left(exp)
    top = exp.top_segments(16)
    assert np.all(np.isin(top, np.unique(exp.segments[:16, :16])))


@pytest.mark.backend
def test_heatmap_peaks_on_the_region_a_keras_model_uses(image):
    inputs = keras.Input((32, 32, 3))
    quadrant = keras.ops.mean(inputs[:, :16, :16, :], axis=(1, 2, 3))
    score = (quadrant - 64.0) / 20.0
    logits = keras.ops.stack([-score, score], axis=1)
    model = keras.Model(inputs, keras.ops.softmax(logits))
    exp = lime_explanation(model, image, segmenter="grid", num_samples=300, hide_color=0)
    assert exp.label == 1
    _assert_peak_in_top_left(exp)
    # A larger image is explained in its own pixel frame (resized for the model).
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    exp_big = lime_explanation(model, big, segmenter="grid", num_samples=300, hide_color=0)
    assert exp_big.heatmap.shape == (64, 64)
    y, x = np.unravel_index(np.argmax(exp_big.heatmap), exp_big.heatmap.shape)
    assert y < 32 and x < 32


def test_weights_equal_the_lime_package_on_the_same_samples(image):
    # Same seed, segmentation and hide colour: lime's per-sample loop and painzoo's
    # vectorised perturbations see identical images, so the ridge weights agree.
    from lime.lime_image import LimeImageExplainer

    def grid(im):
        return segment_image(im, "grid")

    ours = lime_explanation(
        _quadrant_model, image, segmenter=grid, num_samples=200, hide_color=0, seed=3
    )
    ref = LimeImageExplainer(random_state=3).explain_instance(
        image,
        _quadrant_model,
        labels=(1,),
        top_labels=None,
        hide_color=0,
        num_features=64,
        num_samples=200,
        segmentation_fn=grid,
        random_seed=3,
    )
    ref_weights = np.zeros(64)
    for idx, w in ref.local_exp[1]:
        ref_weights[idx] = w
    np.testing.assert_allclose(ours.weights, ref_weights, rtol=1e-6, atol=1e-9)


def test_batch_size_does_not_change_the_result(image):
    a = lime_explanation(_quadrant_model, image, segmenter="grid", num_samples=100, batch_size=7)
    b = lime_explanation(_quadrant_model, image, segmenter="grid", num_samples=100, batch_size=256)
    np.testing.assert_allclose(a.weights, b.weights)


def test_label_argument_and_lime_interop(image):
    exp0 = lime_explanation(
        _quadrant_model, image, label=0, segmenter="grid", num_samples=200, hide_color=0
    )
    # Explaining "no pain" flips the sign of the top-left evidence.
    assert exp0.heatmap[:16, :16].mean() < 0
    lime_exp = exp0.as_lime()
    _, mask = lime_exp.get_image_and_mask(0, positive_only=False, num_features=5)
    assert mask.shape == image.shape[:2]
    assert exp0.mask(3, positive_only=False).sum() > 0


@pytest.mark.parametrize("segmenter", ["quickshift", "slic", "felzenszwalb"])
def test_skimage_segmenters(segmenter):
    im = np.zeros((32, 32, 3), np.uint8)
    im[:16, :16] = (200, 40, 40)
    im[:16, 16:] = (40, 200, 40)
    im[16:, :16] = (40, 40, 200)
    im[16:, 16:] = (200, 200, 40)
    seg = segment_image(im, segmenter)
    assert seg.shape == (32, 32) and seg.min() == 0
    assert len(np.unique(seg)) == seg.max() + 1  # relabelled 0 … n − 1
    assert len(np.unique(seg)) >= 4


def test_errors(image):
    with pytest.raises(ValueError, match="segmenter"):
        lime_explanation(_quadrant_model, image, segmenter="watershed")
    with pytest.raises(ValueError, match="num_samples"):
        lime_explanation(_quadrant_model, image, num_samples=1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        lime_explanation(_quadrant_model, image / 255.0, segmenter="grid")
    with pytest.raises(ValueError, match="label"):
        lime_explanation(_quadrant_model, image, label=5, segmenter="grid", num_samples=10)
    with pytest.raises(TypeError, match="callable"):
        lime_explanation("model", image)
