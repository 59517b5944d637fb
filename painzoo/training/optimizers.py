"""Adam with coupled L2 weight decay (as ``torch.optim.Adam``), and optimizers with a rate per variable.

P1 trains with "the Adam optimizer, the learning rate and weight decay are set to 1e-4 and 0.01"
without naming a framework. painzoo reads the decay as ``torch.optim.Adam`` applies it (added to
the gradient, an L2 penalty), not as Keras's decoupled ``AdamW``. The ``Scaled*`` optimizers take a
learning rate factor per variable and centre chosen kernels' gradients (Yong et al., ECCV 2020).
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = [
    "AdamL2",
    "ScaledAdam",
    "ScaledAdamW",
    "ScaledAdamL2",
    "ScaledRMSprop",
    "ScaledSGD",
    "centralize_gradient",
    "make_optimizer",
]


@keras.saving.register_keras_serializable(package="painzoo")
class AdamL2(keras.optimizers.Adam):
    """Adam with coupled L2 weight decay, the update of ``torch.optim.Adam``.

    For every variable θ with gradient g at step t (1-based)::

        g ← g + weight_decay · θ
        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        θ ← θ − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

    Args:
        learning_rate: Step size lr (a float or a Keras schedule).
        weight_decay: L2 coefficient added to the gradient; 0 gives PyTorch's plain Adam.
        beta_1, beta_2: Decays β₁, β₂ of the first and second moments.
        epsilon: ε, added as PyTorch does (default 1e-8; Keras's Adam adds 1e-7 to ``√v``).
        name: Optimizer name.
        **kwargs: Other :class:`keras.optimizers.Optimizer` arguments (no decoupled weight decay).

    Reference:
        PyTorch ``torch.optim.Adam`` documentation (algorithm box);
        Kingma & Ba, ICLR 2015; Loshchilov & Hutter, ICLR 2019.
    """

    def __init__(
        self,
        learning_rate=1e-3,
        weight_decay: float = 0.0,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        name: str = "adam_l2",
        **kwargs,
    ):
        kwargs.pop("amsgrad", None)
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=False,
            weight_decay=None,  # the base class's decay is the decoupled kind
            name=name,
            **kwargs,
        )
        if weight_decay is None or float(weight_decay) < 0:
            raise ValueError(f"weight_decay must be a number >= 0; received {weight_decay!r}.")
        self.l2 = float(weight_decay)

    def update_step(self, gradient, variable, learning_rate):
        """One ``torch.optim.Adam`` step on ``variable``."""
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        if self.l2:
            gradient = ops.add(gradient, ops.multiply(ops.cast(self.l2, dtype), variable))
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        bias_1 = 1 - ops.power(beta_1, step)
        bias_2 = 1 - ops.power(beta_2, step)

        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - beta_2))
        denom = ops.add(ops.divide(ops.sqrt(v), ops.sqrt(bias_2)), ops.cast(self.epsilon, dtype))
        self.assign_sub(variable, ops.divide(ops.multiply(m, ops.divide(lr, bias_1)), denom))

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("amsgrad", None)
        config["weight_decay"] = self.l2
        return config


def centralize_gradient(gradient):
    """``gradient`` minus its mean over every axis but the last (each output unit's inputs).

    Reference:
        Yong et al., "Gradient Centralization", ECCV 2020.
    """
    axes = tuple(range(len(gradient.shape) - 1))
    if not axes:
        return gradient
    return ops.subtract(gradient, ops.mean(gradient, axis=axes, keepdims=True))


class _PerVariableRate:
    """Mixin: per-variable rates ``learning_rate × lr_multipliers[path]`` and centred gradients for ``centralize``."""

    def __init__(self, *args, lr_multipliers=None, centralize=None, **kwargs):
        super().__init__(*args, **kwargs)
        multipliers = {str(k): float(v) for k, v in dict(lr_multipliers or {}).items()}
        bad = {k: v for k, v in multipliers.items() if not v > 0}
        if bad:
            raise ValueError(f"lr_multipliers must be > 0; received {bad}.")
        self.lr_multipliers = multipliers
        self.centralize = sorted(str(path) for path in (centralize or ()))

    def build(self, var_list):
        super().build(var_list)
        self._multiplier_by_index = [self.lr_multipliers.get(v.path, 1.0) for v in var_list]
        centred = set(self.centralize)
        self._centre_by_index = [v.path in centred and len(v.shape) >= 2 for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        if self._centre_by_index[index]:
            gradient = centralize_gradient(gradient)
        factor = self._multiplier_by_index[index]
        if factor != 1.0:
            learning_rate = ops.multiply(learning_rate, factor)
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict:
        config = super().get_config()
        config["lr_multipliers"] = dict(self.lr_multipliers)
        config["centralize"] = list(self.centralize)
        return config


@keras.saving.register_keras_serializable(package="painzoo")
class ScaledAdam(_PerVariableRate, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with a learning-rate multiplier per variable (``lr_multipliers``)."""


@keras.saving.register_keras_serializable(package="painzoo")
class ScaledAdamW(_PerVariableRate, keras.optimizers.AdamW):
    """``keras.optimizers.AdamW`` with a learning-rate multiplier per variable (decay at the base rate)."""


@keras.saving.register_keras_serializable(package="painzoo")
class ScaledAdamL2(_PerVariableRate, AdamL2):
    """:class:`AdamL2` with a learning-rate multiplier per variable."""


@keras.saving.register_keras_serializable(package="painzoo")
class ScaledRMSprop(_PerVariableRate, keras.optimizers.RMSprop):
    """``keras.optimizers.RMSprop`` with a learning-rate multiplier per variable."""


@keras.saving.register_keras_serializable(package="painzoo")
class ScaledSGD(_PerVariableRate, keras.optimizers.SGD):
    """``keras.optimizers.SGD`` with a learning-rate multiplier per variable."""


# kind -> (the optimizer, its per-variable-rate variant)
_KINDS = {
    "adam": (keras.optimizers.Adam, ScaledAdam),
    "adamw": (keras.optimizers.AdamW, ScaledAdamW),
    "adam_l2": (AdamL2, ScaledAdamL2),
    "rmsprop": (keras.optimizers.RMSprop, ScaledRMSprop),
    "sgd": (keras.optimizers.SGD, ScaledSGD),
}


def make_optimizer(kind: str, lr_multipliers: dict | None = None, centralize=None, **kwargs):
    """The optimizer ``kind`` (``"adam"``, ``"adamw"``, ``"adam_l2"``, ``"rmsprop"``, ``"sgd"``), with per-variable rates and centred kernels.

    Args:
        kind: The optimizer.
        lr_multipliers: ``{variable.path: factor}``; empty or ``None``: the plain optimizer.
        centralize: Paths of the kernels whose gradients are centred (:func:`centralize_gradient`).
        **kwargs: The optimizer's own arguments.

    Raises:
        ValueError: For another ``kind``.
    """
    if kind not in _KINDS:
        raise ValueError(f"optimizer kind must be one of {sorted(_KINDS)}; received {kind!r}.")
    plain, scaled = _KINDS[kind]
    if lr_multipliers or centralize:
        return scaled(lr_multipliers=lr_multipliers, centralize=centralize, **kwargs)
    return plain(**kwargs)
