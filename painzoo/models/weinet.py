"""WeiNet (Li et al., 2015), layers as in ``Xavi3398/robot_vision`` (P2 cites no code).

The stride-1 pools keep the 64×64 resolution, so the softmax layer holds almost every parameter.
P2 Table 3's 1.7 M is that code's 6-class head; painzoo's default is 2 classes (679,650).
"""

from __future__ import annotations

from painzoo.models._common import conv_features, from_scratch_input, from_scratch_model

__all__ = ["weinet"]


def weinet(num_classes=2, input_shape=(64, 64, 3), weights=None):
    """WeiNet as defined in ``robot_vision/utils/nets.py``.

    Conv 32 7×7 → max-pool 2/1 → conv 32 7×7 → max-pool 2/1 → conv 64 7×7 →
    max-pool 2/1 → flatten → softmax. ReLU and ``same`` padding; inputs scaled
    to [0, 1]. Arguments and errors as :func:`~painzoo.models.alexnet.alexnet`.

    Example:
        >>> weinet(num_classes=6).count_params()  # P2 Table 3: 1.7 M
        1728230
        >>> weinet(input_shape=(32, 32, 3)).count_params()
        286434

    Reference:
        Li et al., MVA 2015; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    inputs, x = from_scratch_input("weinet", input_shape, weights)
    x = conv_features(x, [(32, 7), (32, 7), (64, 7)], pools=dict.fromkeys((1, 2, 3), (2, 1)))
    return from_scratch_model("weinet", inputs, x, num_classes, weights)
