"""WeiNet (Li et al., 2015): three 7×7 convolutions on 64×64 faces.

P2 names it after the first author's given name; the layer list follows the
public ``Xavi3398/robot_vision`` code (``robot_vision/utils/nets.py``,
``WeiNet``; P2 cites no code). The stride-1
pools keep the 64×64 resolution, so the flatten layer sees 64·64·64 values
and the softmax layer holds almost every parameter. P2 Table 3's 1.7 M is the
6-class head of that code; painzoo's default is 2 classes (679,650).
"""

from __future__ import annotations

import keras
from keras import layers

from painzoo.layers.preprocessing import ImageScaling
from painzoo.models._common import (
    P2_CITATION,
    check_input_size,
    classifier_head,
    load_weights_file,
    reject_named_weights,
)
from painzoo.registry import ModelInfo, register_model

__all__ = ["weinet", "MIN_INPUT"]

WEINET_CITATION = (
    "Li, Li, Su, Zhu. A deep-learning approach to facial expression recognition with "
    "candid images. MVA 2015"
)
# ``same`` padding and stride-1 pools: every layer keeps the input size.
MIN_INPUT = 1


@register_model(
    info=ModelInfo(
        name="weinet",
        input_shape=(64, 64, 3),
        citation=f"{WEINET_CITATION}. Used by {P2_CITATION}",
        weights=(),
        tags=("p2", "from_scratch", "weinet"),
        params=679_650,
        params_6=1_728_230,
        paper_params="1.7 M",
        description="Three 7×7 convolutions at full resolution on 64×64 faces; from scratch in P2.",
        extra={"min_input": MIN_INPUT},
    )
)
def weinet(num_classes=2, input_shape=(64, 64, 3), weights=None):
    """WeiNet as defined in ``robot_vision/utils/nets.py``.

    Conv 32 7×7 → max-pool 2/1 → conv 32 7×7 → max-pool 2/1 → conv 64 7×7 →
    max-pool 2/1 → flatten → softmax. ReLU and ``same`` padding; inputs scaled
    to [0, 1].

    Args:
        num_classes: Output classes.
        input_shape: ``(H, W, 3)``; the flatten layer makes the parameter count
            grow with H·W (679,650 at 64×64 with 2 classes).
        weights: ``None`` or the path of a ``.weights.h5`` file saved by painzoo.

    Returns:
        A ``keras.Model`` on RGB images in [0, 255] returning class probabilities.

    Raises:
        ValueError: If ``input_shape`` is empty or ``weights="imagenet"``.

    Example:
        >>> weinet(num_classes=6).count_params()  # P2 Table 3: 1.7 M
        1728230

    Reference:
        Li et al., MVA 2015; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    check_input_size("weinet", input_shape, MIN_INPUT)
    reject_named_weights("weinet", weights)
    inputs = keras.Input(shape=input_shape, name="image")
    x = ImageScaling("unit", name="scaling")(inputs)
    x = layers.Conv2D(32, 7, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, strides=1, padding="same", name="pool1")(x)
    x = layers.Conv2D(32, 7, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, strides=1, padding="same", name="pool2")(x)
    x = layers.Conv2D(64, 7, padding="same", activation="relu", name="conv3")(x)
    x = layers.MaxPooling2D(2, strides=1, padding="same", name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = classifier_head(x, num_classes)
    model = keras.Model(inputs, outputs, name="weinet")
    if weights is not None:
        load_weights_file(model, weights)
    return model
