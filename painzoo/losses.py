"""Training losses of the zoo, written as pure functions of tensors (``keras.ops`` only).

Reference:
    P1 — Liu et al., Front. Vet. Sci. 12:1619794 (2025), Eq. 5 (PRSC).
"""

from __future__ import annotations

from keras import ops

__all__ = ["prsc_loss", "check_top_k"]


def check_top_k(top_k: int, num_regions: int | None) -> None:
    """Validate ``top_k`` (K_h) against ``num_regions``, K of Eq. 5 (``None``: only ``top_k >= 1``).

    Raises:
        ValueError: If ``top_k < 1`` or ``top_k >= num_regions``.
    """
    if int(top_k) != top_k or top_k < 1:
        raise ValueError(f"top_k must be a positive integer; received {top_k!r}.")
    if num_regions is not None and top_k >= num_regions:
        raise ValueError(
            f"top_k must be smaller than the number of regions ({num_regions}); received "
            f"{top_k}. Eq. 5 compares the top_k highest scores with the mean of the other "
            f"K - top_k, so use top_k <= {num_regions - 1} or a larger feature grid "
            "(a larger input image)."
        )


def prsc_loss(scores, top_k: int = 5, margin: float = 0.2):
    """Pain-related score calibration (PRSC), P1 Eq. 5, per sample: a tensor ``[B]``.

    For each row of ``scores`` ``[B, K]`` (one image's region scores β), the ``top_k`` largest
    β^h_j are compared with the mean β̄^r of the other ``K - top_k`` by a hinge with margin δ::

        L = (1 / K_h) * sum_j max(0, δ - (β^h_j - β̄^r))

    Eq. 6 averages it over samples and multiplies by λ.

    Raises:
        ValueError: If ``scores`` is not 2-D or ``top_k`` is not in ``[1, K)``.

    Example:
        >>> import numpy as np
        >>> beta = np.array([[0.4, 0.3, 0.1, 0.1, 0.1]], dtype="float32")
        >>> round(float(prsc_loss(beta, top_k=2, margin=0.3)[0]), 4)
        0.05

    Reference:
        Liu et al. (2025), PainSeeker, Front. Vet. Sci., Eq. 5.
    """
    scores = ops.convert_to_tensor(scores)
    if len(scores.shape) != 2:
        raise ValueError(
            f"prsc_loss expects scores of shape [batch, K]; received shape {tuple(scores.shape)}."
        )
    num_regions = scores.shape[-1]
    check_top_k(top_k, num_regions)
    top_k = int(top_k)
    # Eq. 5: β^h are the K_h largest scores of each sample.
    top_scores, _ = ops.top_k(scores, k=top_k, sorted=False)
    # Eq. 5: β̄^r is the mean of the K_r = K - K_h remaining (smallest) scores; taken
    # directly rather than as (sum - top sum), which cancels badly when K_r is small.
    rest_scores, _ = ops.top_k(-scores, k=num_regions - top_k, sorted=False)
    rest_mean = -ops.mean(rest_scores, axis=-1)
    # Eq. 5: hinge between each top score and the mean of the rest, averaged over K_h.
    hinge = ops.relu(margin - (top_scores - ops.expand_dims(rest_mean, -1)))
    return ops.mean(hinge, axis=-1)
