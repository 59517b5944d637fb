"""SongNet (Song et al., 2014): a small four-convolution network for faces.

P2 names it after its first author; the layer list follows the public
``Xavi3398/robot_vision`` code (``robot_vision/utils/nets.py``, ``SongNet``;
P2 cites no code). Its P2 Table 3 count
(172.7 K) is the 6-class head of that code; painzoo's default is 2 classes
(147,586 parameters).
"""

from __future__ import annotations

from keras import layers

from painzoo.models._common import from_scratch_input, from_scratch_model

__all__ = ["songnet"]


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
        A ``keras.Model`` on RGB images in [0, 255] returning class probabilities
        (:func:`~painzoo.models._common.from_scratch_input` checks the arguments).

    Example:
        >>> songnet(num_classes=6).count_params()  # P2 Table 3: 172.7 K
        172678

    Reference:
        Song et al., ICCE 2014; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    inputs, x = from_scratch_input("songnet", input_shape, weights)
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
    return from_scratch_model("songnet", inputs, x, num_classes, weights)
