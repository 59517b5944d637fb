"""SongNet (Song et al., 2014), layers as in ``Xavi3398/robot_vision`` (P2 cites no code).

P2 Table 3's 172.7 K is that code's 6-class head; the 2-class default has 147,586 parameters.
"""

from __future__ import annotations

from painzoo.models._common import conv_features, from_scratch_input, from_scratch_model

__all__ = ["songnet"]


def songnet(num_classes=2, input_shape=(224, 224, 3), weights=None):
    """SongNet as defined in ``robot_vision/utils/nets.py``.

    Conv 64 5×5 → max-pool 3/2 → conv 64 5×5 → max-pool 3/2 → conv 32 3×3 → max-pool 3/2 → dropout
    0.5 → conv 32 3×3 → max-pool 3/2 → dropout 0.5 → flatten → softmax. ReLU and ``same`` padding;
    inputs scaled to [0, 1]. Arguments and errors as :func:`~painzoo.models.alexnet.alexnet`.

    Example:
        >>> songnet(num_classes=6).count_params()  # P2 Table 3: 172.7 K
        172678

    Reference:
        Song et al., ICCE 2014; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    inputs, x = from_scratch_input("songnet", input_shape, weights)
    convs = [(64, 5), (64, 5), (32, 3), (32, 3)]
    x = conv_features(
        x, convs, pools=dict.fromkeys(range(1, 5), (3, 2)), dropouts={3: 0.5, 4: 0.5}
    )
    return from_scratch_model("songnet", inputs, x, num_classes, weights)
