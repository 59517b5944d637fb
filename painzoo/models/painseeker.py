"""PainSeeker (P1): ResNet-18 regions, scored and fused by attention, calibrated by PRSC.

``resnet18_features`` (Eq. 1) → :class:`PainSeekerAttention` (Eq. 2, the fusion of Eq. 3, the PRSC
term of Eq. 5/6 via ``add_loss``) → ``Dense(num_classes, softmax)`` (h of Eq. 3, named ``"fc"``
like torchvision's classifier). Compiled with cross-entropy (Eq. 4), this gives the objective of
Eq. 6. P1 does not say how the network is initialised; painzoo's choice is torchvision's ResNet-18
initialisation for the backbone and h, and Glorot-uniform weights with zero bias for g.
"""

from __future__ import annotations

import keras

from painzoo.layers.painseeker import PainSeekerAttention
from painzoo.models._common import check_input_size
from painzoo.models.resnet import load_resnet_weights
from painzoo.models.resnet_backbone import MIN_INPUT, check_flag, classifier, resnet18_features
from painzoo.models.zoo import PAINSEEKER_DEFAULTS

__all__ = ["painseeker", "painseeker_no_prsc"]

DEFAULT_PRSC_WEIGHT = PAINSEEKER_DEFAULTS["prsc_weight"]  # λ
DEFAULT_MARGIN = PAINSEEKER_DEFAULTS["margin"]  # δ
DEFAULT_TOP_K = PAINSEEKER_DEFAULTS["top_k"]  # K_h


def _build(name, num_classes, input_shape, weights, prsc_weight, margin, top_k, keras_init):
    check_input_size(name, input_shape, MIN_INPUT)
    keras_init = check_flag(name, "keras_init", keras_init)
    inputs = keras.Input(shape=input_shape, name="image")
    # Eq. 1: f(X), the convolutional part of ResNet-18 ([B, M, M, 512]).
    features = resnet18_features(inputs, keras_init=keras_init)
    grid_h, grid_w = features.shape[1], features.shape[2]
    if grid_h is not None and grid_w is not None and top_k >= grid_h * grid_w:
        raise ValueError(
            f"{name} with input_shape={tuple(input_shape)} has a {grid_h}×{grid_w} feature "
            f"grid, i.e. K={grid_h * grid_w} regions; top_k must be smaller than K, received "
            f"top_k={top_k}. Use a larger input_shape (the grid is about input/32 per side) "
            f"or top_k <= {grid_h * grid_w - 1}."
        )
    fused, _ = PainSeekerAttention(
        prsc_weight=prsc_weight, margin=margin, top_k=top_k, name="attention"
    )(features)
    # Eq. 3: ŷ = softmax(h(Σ_j β_j x_j)).
    outputs = classifier(fused, num_classes, keras_init=keras_init)
    model = keras.Model(inputs, outputs, name=name)
    return load_resnet_weights(model, weights, num_classes)


def painseeker(
    num_classes: int = 2,
    input_shape=(224, 224, 3),
    weights=None,
    prsc_weight: float = DEFAULT_PRSC_WEIGHT,
    margin: float = DEFAULT_MARGIN,
    top_k: int = DEFAULT_TOP_K,
    keras_init: bool = False,
) -> keras.Model:
    """PainSeeker: ResNet-18 features → region attention with PRSC → softmax; β in its layer ``"attention"``.

    Args:
        num_classes: Output classes c (P1 uses 2).
        input_shape: ``(H, W, 3)``; 224×224 gives a 7×7 grid (K = 49 regions, about ``H / 32`` per
            side); K must exceed ``top_k``.
        weights: ``None``, a ``.weights.h5`` saved by painzoo, or a torchvision/timm ResNet-18
            checkpoint for the backbone (its ``fc`` initialises h when ``num_classes`` matches).
        prsc_weight: λ of Eq. 6 (0 switches PRSC off).
        margin: δ of Eq. 5.
        top_k: K_h of Eq. 5.
        keras_init: Keras' default initialisers for the backbone and h.

    Raises:
        ValueError: If the input is smaller than 32×32 or ``top_k`` is not smaller than K.

    Example:
        >>> import painzoo
        >>> painzoo.get_model("painseeker").count_params()
        11187651

    Reference:
        Liu et al. (2025), PainSeeker, Front. Vet. Sci., Eq. 1–6.
    """
    return _build(
        "painseeker", num_classes, input_shape, weights, prsc_weight, margin, top_k, keras_init
    )


def painseeker_no_prsc(
    num_classes=2,
    input_shape=(224, 224, 3),
    weights=None,
    margin=DEFAULT_MARGIN,
    top_k=DEFAULT_TOP_K,
    keras_init=False,
):
    """PainSeeker with λ = 0: the same network, trained on cross-entropy alone.

    Takes :func:`painseeker`'s ``num_classes``, ``input_shape``, ``weights`` and ``keras_init``;
    ``margin`` and ``top_k`` are kept in the layer config only (``top_k`` must still be below K).

    Reference:
        Liu et al. (2025), Table 3, "PainSeeker w/o PRSC".
    """
    return _build(
        "painseeker_no_prsc", num_classes, input_shape, weights, 0.0, margin, top_k, keras_init
    )
