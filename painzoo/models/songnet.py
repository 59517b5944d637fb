"""SongNet (Song et al., 2014): a small four-convolution network for faces.

P2 names it after its first author; the layer list follows the public
``Xavi3398/robot_vision`` code (``robot_vision/utils/nets.py``, ``SongNet``;
P2 cites no code). Its P2 Table 3 count
(172.7 K) is the 6-class head of that code; painzoo's default is 2 classes
(147,586 parameters).
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

__all__ = ["songnet", "MIN_INPUT"]

SONGNET_CITATION = (
    "Song, Kim, Jeon. Deep learning for real-time robust facial expression recognition "
    "on a smartphone. ICCE 2014"
)
# ``same`` padding everywhere: ceil(input / stride) >= 1 for any non-empty input.
MIN_INPUT = 1


@register_model(
    info=ModelInfo(
        name="songnet",
        input_shape=(224, 224, 3),
        citation=f"{SONGNET_CITATION}. Used by {P2_CITATION}",
        weights=(),
        tags=("p2", "from_scratch", "songnet"),
        params=147_586,
        params_6=172_678,
        paper_params="172.7 K",
        description="Four 5×5/3×3 convolutions with dropout; trained from scratch in P2.",
        extra={"min_input": MIN_INPUT},
    )
)
def songnet(num_classes=2, input_shape=(224, 224, 3), weights=None):
    """SongNet as defined in ``robot_vision/utils/nets.py``.

    Conv 64 5×5 → max-pool 3/2 → conv 64 5×5 → max-pool 3/2 → conv 32 3×3 →
    max-pool 3/2 → dropout 0.5 → conv 32 3×3 → max-pool 3/2 → dropout 0.5 →
    flatten → softmax. ReLU and ``same`` padding; inputs scaled to [0, 1].

    Args:
        num_classes: Output classes.
        input_shape: ``(H, W, 3)``; the flatten layer makes the parameter count
            depend on it (147,586 at 224×224 with 2 classes).
        weights: ``None`` or the path of a ``.weights.h5`` file saved by painzoo.

    Returns:
        A ``keras.Model`` on RGB images in [0, 255] returning class probabilities.

    Raises:
        ValueError: If ``input_shape`` is empty or ``weights="imagenet"``.

    Example:
        >>> songnet(num_classes=6).count_params()  # P2 Table 3: 172.7 K
        172678

    Reference:
        Song et al., ICCE 2014; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    check_input_size("songnet", input_shape, MIN_INPUT)
    reject_named_weights("songnet", weights)
    inputs = keras.Input(shape=input_shape, name="image")
    x = ImageScaling("unit", name="scaling")(inputs)
    x = layers.Conv2D(64, 5, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool3")(x)
    x = layers.Dropout(0.5, name="drop3")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool4")(x)
    x = layers.Dropout(0.5, name="drop4")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = classifier_head(x, num_classes)
    model = keras.Model(inputs, outputs, name="songnet")
    if weights is not None:
        load_weights_file(model, weights)
    return model
