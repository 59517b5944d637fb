"""AlexNet (Krizhevsky et al., 2012) as P2 trained it from scratch.

The layers follow ``Xavi3398/robot_vision`` (``robot_vision/utils/nets.py``; P2 cites no code):
single-tower, no local response normalisation, ``same`` padding, three 4096-unit dense layers.
"""

from __future__ import annotations

from keras import layers

from painzoo.models._common import conv_features, from_scratch_input, from_scratch_model

__all__ = ["alexnet"]


def alexnet(num_classes=2, input_shape=(224, 224, 3), weights=None):
    """AlexNet as defined in ``robot_vision/utils/nets.py``.

    Conv 96 11×11/4 → max-pool 3/2 → conv 256 5×5 → max-pool 3/2 → conv 384 3×3 → conv 384 3×3 →
    conv 256 3×3 → max-pool 3/2 → flatten → dense 4096 → dropout 0.4 → dense 4096 → dense 4096 →
    dropout 0.4 → softmax. ReLU and ``same`` padding throughout; inputs in [0, 255] scaled to
    [0, 1]. The parameter count depends on ``input_shape``; ``weights`` is ``None`` or a
    ``.weights.h5`` file saved by painzoo.

    Raises:
        ValueError: If ``input_shape`` is empty or ``weights`` is ``"imagenet"``.
        FileNotFoundError: If the weights file does not exist.

    Example:
        >>> alexnet(num_classes=2).count_params()
        88702338

    Reference:
        Krizhevsky et al., NeurIPS 2012; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    inputs, x = from_scratch_input("alexnet", input_shape, weights)
    convs = [(96, 11, 4), (256, 5), (384, 3), (384, 3), (256, 3)]
    x = conv_features(x, convs, pools=dict.fromkeys((1, 2, 5), (3, 2)))
    x = layers.Dense(4096, activation="relu", name="fc6")(x)
    x = layers.Dropout(0.4, name="drop6")(x)
    x = layers.Dense(4096, activation="relu", name="fc7")(x)
    x = layers.Dense(4096, activation="relu", name="fc8")(x)
    x = layers.Dropout(0.4, name="drop8")(x)
    return from_scratch_model("alexnet", inputs, x, num_classes, weights)
