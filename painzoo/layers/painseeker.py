"""PainSeeker's region attention with the PRSC regulariser (P1, Eq. 1, 2, 3 and 5)."""

from __future__ import annotations

import keras
from keras import ops

from painzoo.losses import check_top_k, prsc_loss

__all__ = ["PainSeekerAttention"]


@keras.saving.register_keras_serializable(package="painzoo")
class PainSeekerAttention(keras.layers.Layer):
    """Score every face region, fuse the regions by their scores, calibrate the scores.

    On the feature map ``[B, M, M, D]`` (or regions ``[B, K, D]``) the layer takes K = M·M
    row-major regions (Eq. 1), scores each with one fully connected layer g (D → 1) and a sigmoid
    normalised to sum to one (β, Eq. 2), returns ``(fused [B, D], β [B, K])`` with
    fused = Σ_j β_j x_j (the input of h, Eq. 3), and with ``prsc_weight > 0`` adds
    ``prsc_weight · mean(L_PRSC)`` (Eq. 5; the λ-term of Eq. 6) via ``add_loss``.

    Args:
        prsc_weight: λ of Eq. 6; 0 adds no loss ("PainSeeker w/o PRSC").
        margin: δ of Eq. 5.
        top_k: K_h of Eq. 5; must be smaller than K.
        **kwargs: Standard layer keyword arguments.

    Raises:
        ValueError: If the input is not 3-D or 4-D, or ``top_k >= K``.

    Example:
        >>> layer = PainSeekerAttention(prsc_weight=0.1, margin=0.2, top_k=5)
        >>> fused, scores = layer(keras.random.normal((2, 7, 7, 512)))
        >>> tuple(fused.shape), tuple(scores.shape), len(layer.losses)
        ((2, 512), (2, 49), 1)

    Reference:
        Liu et al. (2025), PainSeeker, Front. Vet. Sci. 12:1619794, Eq. 1–6.
    """

    def __init__(self, prsc_weight: float = 0.1, margin: float = 0.2, top_k: int = 5, **kwargs):
        super().__init__(**kwargs)
        if prsc_weight < 0:
            raise ValueError(f"prsc_weight must be >= 0; received {prsc_weight}.")
        check_top_k(top_k, None)
        self.prsc_weight = float(prsc_weight)
        self.margin = float(margin)
        self.top_k = int(top_k)

    @staticmethod
    def _regions_and_dim(input_shape):
        shape = tuple(input_shape)
        if len(shape) == 4:
            h, w = shape[1], shape[2]
            regions = None if h is None or w is None else h * w
        elif len(shape) == 3:
            regions = shape[1]
        else:
            raise ValueError(
                "PainSeekerAttention expects region features [batch, M, M, D] or "
                f"[batch, K, D]; received shape {shape}."
            )
        return regions, shape[-1]

    def build(self, input_shape):
        regions, dim = self._regions_and_dim(input_shape)
        if dim is None:
            raise ValueError(
                "PainSeekerAttention needs a known feature dimension D (last axis); "
                f"received shape {tuple(input_shape)}."
            )
        check_top_k(self.top_k, regions)
        # g of Eq. 2: one fully connected layer D -> 1, stored as kernel then bias.
        self.kernel = self.add_weight(
            shape=(dim, 1), initializer="glorot_uniform", name="kernel", trainable=True
        )
        self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias", trainable=True)

    def call(self, inputs):
        regions, dim = self._regions_and_dim(inputs.shape)
        if regions is None:
            regions = ops.shape(inputs)[1] * ops.shape(inputs)[2]
        x = ops.cast(inputs, self.compute_dtype)
        # Eq. 1: [B, M, M, D] -> K = M·M region vectors x_j of length D.
        x = ops.reshape(x, (-1, regions, dim))
        # Eq. 2: β_j = σ(g(x_j)) / Σ_k σ(g(x_k)).
        logits = ops.squeeze(ops.matmul(x, self.kernel), axis=-1) + self.bias
        gates = ops.sigmoid(logits)
        scores = gates / ops.sum(gates, axis=-1, keepdims=True)
        # Eq. 3 (inside h): the fused feature Σ_j β_j x_j.
        fused = ops.sum(ops.expand_dims(scores, -1) * x, axis=1)
        if self.prsc_weight > 0:
            # Eq. 6: λ times the batch mean of Eq. 5; Keras adds it to the compiled loss.
            self.add_loss(
                self.prsc_weight
                * ops.mean(prsc_loss(scores, top_k=self.top_k, margin=self.margin))
            )
        return fused, scores

    def compute_output_shape(self, input_shape):
        regions, dim = self._regions_and_dim(input_shape)
        batch = input_shape[0]
        return (batch, dim), (batch, regions)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"prsc_weight": self.prsc_weight, "margin": self.margin, "top_k": self.top_k}
        )
        return config
