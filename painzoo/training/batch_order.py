"""The order in which a training pipeline visits its images, epoch by epoch.

:class:`StratifiedOrder` gives every batch the classes in the proportion of
the whole training set (stratified batches). In a stratified batch the
classes' pulls cancel for an output that is the same for every image, so the
gradient comes from what differs between the images; a plain shuffle leaves
the balance to the draw (of the batches of 8 drawn from 33 + 33 images, only
29 % hold four of each class).
"""

from __future__ import annotations

import numpy as np

__all__ = ["StratifiedOrder"]


class StratifiedOrder:
    """Epoch orders in which every run of images holds the classes in their overall proportion.

    The class of each position of the order is fixed once: the positions of
    a class with ``n_c`` of the ``n`` images are spread evenly over the
    epoch (``(k + u_c) / n_c`` for ``k = 0 … n_c − 1``, with a random offset
    ``u_c``). Every call fills each class's positions with a new random
    permutation of that class's images. Any ``b`` consecutive images (a
    batch) therefore hold ``b · n_c / n`` of class ``c`` to within less than
    one image with two classes (fewer than ``K − 1`` with ``K``), and every
    epoch visits every image once.

    Args:
        labels: Integer class of every image, ``[N]``.
        seed: Seed of the offsets and of every epoch's permutations.

    Example:
        >>> order = StratifiedOrder([0, 0, 0, 0, 1, 1, 1, 1], seed=0)
        >>> epoch = order()  # a permutation of range(8), classes alternating
        >>> sorted(epoch.tolist())
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
