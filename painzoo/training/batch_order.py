"""The order in which a training pipeline visits its images, epoch by epoch."""

from __future__ import annotations

import numpy as np

__all__ = ["StratifiedOrder"]


class StratifiedOrder:
    """Epoch orders (one per call) in which every run of images holds the classes in their overall proportion.

    The positions of a class with ``n_c`` of the ``n`` images are fixed once, spread evenly over
    the epoch (``(k + u_c) / n_c`` with a random offset ``u_c``); every call fills them with a new
    permutation of that class's images. Any ``b`` consecutive images then hold ``b · n_c / n`` of
    class ``c`` to within one image (two classes).

    Args:
        labels: Integer class of every image, ``[N]``.
        seed: Seed of the offsets and of every epoch's permutations.

    Example:
        >>> order = StratifiedOrder([0, 0, 0, 0, 1, 1, 1, 1], seed=0)
        >>> sorted(order().tolist())
        [0, 1, 2, 3, 4, 5, 6, 7]
    """

    def __init__(self, labels, seed: int = 0):
        labels = np.asarray(labels).ravel()
        if labels.size == 0:
            raise ValueError("StratifiedOrder received no labels; there is nothing to order.")
        self._rng = np.random.default_rng(seed)
        classes = np.unique(labels)
        #: Image indices of each class, in ``np.unique`` order of the labels.
        self.members = [np.flatnonzero(labels == c) for c in classes]
        counts = [len(m) for m in self.members]
        position = np.concatenate([(np.arange(k) + self._rng.random()) / k for k in counts])
        kind = np.repeat(np.arange(len(classes)), counts)
        #: Class (index into :attr:`members`) of every position of an epoch's order.
        self.pattern = kind[np.argsort(position, kind="stable")]

    def __call__(self) -> np.ndarray:
        """The next epoch's order: a permutation of ``range(N)``, int64."""
        order = np.empty(len(self.pattern), np.int64)
        for c, members in enumerate(self.members):
            order[self.pattern == c] = self._rng.permutation(members)
        return order
