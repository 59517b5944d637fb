"""SilNet (Ramis et al., 2022), layers as in ``Xavi3398/robot_vision`` (P2 cites no code).

Stride-1 pools leave a 75·75·64 map: at 150×150 the first dense layer has 184.3 of 184.8 M weights.
"""

from __future__ import annotations

from keras import layers

from painzoo.models._common import conv_features, from_scratch_input, from_scratch_model

__all__ = ["silnet"]

_INIT = "glorot_normal"


def silnet(num_classes=2, input_shape=(150, 150, 3), weights=None):
    """SilNet as defined in ``robot_vision/utils/nets.py``.

    Conv 32 11×11 → max-pool 2/2 → conv 32 7×7 → conv 32 7×7 → max-pool 2/1 → conv 64 5×5 →
    conv 64 5×5 → max-pool 2/1 → flatten → dense 512 → dropout 0.5 → dense 512 → softmax. ReLU,
    ``same`` padding, Glorot-normal kernels (except the softmax layer, as in the reference code);
    inputs scaled to [0, 1]. Arguments and errors as :func:`~painzoo.models.alexnet.alexnet`.

    Example:
        >>> silnet(input_shape=(32, 32, 3)).count_params()
        8918594

    Reference:
        Ramis et al., Multimed. Tools Appl. 2022; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    inputs, x = from_scratch_input("silnet", input_shape, weights)
    convs = [(32, 11), (32, 7), (32, 7), (64, 5), (64, 5)]
    pools = {1: (2, 2), 3: (2, 1), 5: (2, 1)}
    x = conv_features(x, convs, pools, kernel_initializer=_INIT)
    x = layers.Dense(512, activation="relu", kernel_initializer=_INIT, name="fc6")(x)
    x = layers.Dropout(0.5, name="drop6")(x)
    x = layers.Dense(512, activation="relu", kernel_initializer=_INIT, name="fc7")(x)
    return from_scratch_model("silnet", inputs, x, num_classes, weights)
