"""Batch renormalization for training networks with BatchNorm on small batches.

Ioffe, "Batch Renormalization: Towards Reducing Minibatch Dependence in
Batch-Normalized Models", NeurIPS 2017. In training, BatchNorm normalises each
unit by the statistics of the batch; at inference by the moving averages. With
small batches (8 images) and small feature maps (InceptionV3 at 112 px ends on
2 × 2), the two differ, and the network learns to answer with features
normalised in a way it never sees at test time. Batch renormalization keeps
the batch's normalisation (and its gradients) but corrects its output by
``r = σ_B / σ`` and ``d = (μ_B − μ) / σ`` (moving ``μ``, ``σ``; no gradient
through ``r`` and ``d``), clipped to ``[1/r_max, r_max]`` and ``[−d_max, d_max]``:
unclipped, a training batch gives exactly the output of inference.

The layer's weights and config stay those of ``keras.layers.BatchNormalization``
(no extra variables, unlike Keras' ``renorm=True``): :func:`renormalizing`
switches the layers of a model for the duration of a training and back.
"""

from __future__ import annotations

import contextlib

import keras
from keras import ops

R_MAX = 3.0  # the paper's final clipping (r_max = 3, d_max = 5)
D_MAX = 5.0


class _Renormalizing(keras.layers.BatchNormalization):
    """``BatchNormalization`` whose training output is corrected towards the moving statistics."""

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or mask is not None:
            return super().call(inputs, training=training, mask=mask)
        compute_dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = ops.cast(inputs, compute_dtype)
        moving_mean = ops.cast(self.moving_mean, compute_dtype)
        moving_variance = ops.cast(self.moving_variance, compute_dtype)
        mean, variance = self._moments(x, None)
        std = ops.sqrt(variance + self.epsilon)
        moving_std = ops.sqrt(moving_variance + self.epsilon)
        r = ops.stop_gradient(ops.clip(std / moving_std, 1.0 / R_MAX, R_MAX))
        d = ops.stop_gradient(ops.clip((mean - moving_mean) / moving_std, -D_MAX, D_MAX))
        gamma = ops.cast(self.gamma, compute_dtype) if self.scale else 1.0
        beta = ops.cast(self.beta, compute_dtype) if self.center else 0.0
        self.moving_mean.assign(moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            moving_variance * self.momentum + variance * (1.0 - self.momentum)
        )
        outputs = ops.batch_normalization(
            x,
            mean=mean,
            variance=variance,
            axis=self.axis,
            offset=beta + gamma * d,
            scale=gamma * r,
            epsilon=self.epsilon,
        )
        return ops.cast(outputs, self.compute_dtype)


@contextlib.contextmanager
def renormalizing(layers):
    """Within the block, every plain ``BatchNormalization`` layer of ``layers`` renormalizes.

    Used by :meth:`painzoo.training.Recipe.fit` with ``batch_renorm: true``
    around ``model.fit``; afterwards the layers are ``BatchNormalization``
    again (a model saved after training is a plain Keras model). Subclasses
    of ``BatchNormalization`` are left as they are.

    Args:
        layers: Layers of a model (others than plain BatchNorm are ignored).

    Yields:
        How many layers renormalize.
    """
    switched = [la for la in layers if type(la) is keras.layers.BatchNormalization]
    try:
        for layer in switched:
            layer.__class__ = _Renormalizing
        yield len(switched)
    finally:
        for layer in switched:
            layer.__class__ = keras.layers.BatchNormalization
