"""P1's hand-crafted baselines: LBP histograms on a grid of cells + a linear SVM.

P1 (Liu et al. 2025): radius R ∈ {1, 3}, P = 8 neighbours, histograms on a 4×4, 8×8 or 16×16 grid,
concatenated; an SVM with "the linear kernel, defined as k(x, y) = xᵀy" and C = 1
(``sklearn.svm.SVC(kernel="linear", C=1)``). P1 does not name its LBP coding: painzoo uses
non-rotation-invariant uniform patterns (``method="nri_uniform"``, 59 bins for P = 8; Ahonen et al.
2006). Neither paper says how histograms are scaled; painzoo's choice is raw counts
(``norm="counts"``; ``docs/evaluation.md``).

Every registry name ``lbp_svm_r<R>p<P>_<G>x<G>`` is a model of kind ``"sklearn"`` built by
:func:`lbp_svm` (an unfitted :class:`LBPSVM`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from painzoo.models.zoo import LBP_BASELINES as BASELINES
from painzoo.models.zoo import LBP_NAME as _NAME

__all__ = [
    "lbp_histograms",
    "LBPSVM",
    "BASELINES",
    "NORMS",
    "SVMS",
    "get_baseline",
    "lbp_svm",
    "list_baselines",
]


def n_uniform_bins(points: int) -> int:
    """Number of ``nri_uniform`` LBP codes for ``points`` neighbours: P(P−1) + 3."""
    return points * (points - 1) + 3


def _to_gray(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3:
        return images.astype(np.uint8)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "LBP features need images [N, H, W, 3] (RGB) or [N, H, W] (grayscale); "
            f"received shape {images.shape}."
        )
    if images.shape[-1] == 1:
        return images[..., 0].astype(np.uint8)
    # ITU-R BT.601 luma (OpenCV's RGB2GRAY weights), rounded back to uint8 because
    # LBP compares neighbours and float noise would flip ties.
    luma = images.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.rint(luma), 0, 255).astype(np.uint8)


NORMS = ("l1", "l2", "counts")
SVMS = ("svc", "linear_svc")


def lbp_histograms(
    images, radius: int = 1, points: int = 8, grid: int = 4, norm: str = "counts"
) -> np.ndarray:
    """Concatenated per-cell uniform-LBP histograms ``float32 [N, grid² · (P(P−1) + 3)]`` of a batch of images.

    Args:
        images: uint8 ``[N, H, W, 3]`` RGB (BT.601 gray), ``[N, H, W, 1]`` or ``[N, H, W]``.
        radius, points: LBP radius R in pixels and neighbours P.
        grid: Cells per side (``np.array_split`` boundaries).
        norm: Per-cell scaling: ``"counts"``, ``"l1"`` or ``"l2"``.

    Raises:
        ValueError: For images of the wrong shape or smaller than the grid, or an unknown ``norm``.

    Example:
        >>> x = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3), dtype=np.uint8)
        >>> lbp_histograms(x, radius=1, grid=4).shape
        (2, 944)

    Reference:
        Liu et al., Front. Vet. Sci. 2025, "Comparison methods and
        implementation detail"; Ojala, Pietikäinen, Mäenpää, IEEE TPAMI 2002.
    """
    from skimage.feature import local_binary_pattern

    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}; received {norm!r}.")
    gray = _to_gray(images)
    n, h, w = gray.shape
    if grid < 1 or h < grid or w < grid:
        raise ValueError(
            f"grid must be between 1 and the image size; received grid={grid} for {h}×{w} images."
        )
    bins = n_uniform_bins(points)
    rows = np.array_split(np.arange(h), grid)
    cols = np.array_split(np.arange(w), grid)
    out = np.zeros((n, grid * grid, bins), np.float32)
    for i in range(n):
        codes = local_binary_pattern(gray[i], points, radius, method="nri_uniform").astype(int)
        for a, r in enumerate(rows):
            for b, c in enumerate(cols):
                cell = codes[r[0] : r[-1] + 1, c[0] : c[-1] + 1].ravel()
                hist = np.bincount(cell, minlength=bins)[:bins].astype(np.float64)
                if norm == "l1":
                    hist = hist / max(hist.sum(), 1.0)
                elif norm == "l2":
                    hist = hist / max(np.sqrt(np.sum(hist**2)), 1.0)
                out[i, a * grid + b] = hist
    return out.reshape(n, -1)


class LBPSVM(ClassifierMixin, BaseEstimator):
    """Uniform-LBP grid histograms followed by a linear SVM (P1's baseline).

    Args:
        radius, points, grid: Radius R, neighbours P, cells per side (P1: R 1/3, P 8, grid 4/8/16).
        C: SVM regularisation (P1: 1).
        svm: ``"svc"`` (P1's ``SVC(kernel="linear")``) or ``"linear_svc"`` (``LinearSVC``: squared
            hinge, penalised intercept; not P1's).
        norm: Histogram scaling: ``"counts"`` (painzoo's choice), ``"l1"`` or ``"l2"``.
        class_weight: Passed to the SVM (``None`` or ``"balanced"``).
        max_iter, random_state: ``LinearSVC``'s iteration limit and seed.

    Reference:
        Liu et al., Front. Vet. Sci. 2025, Table 3 (LBP-R1P8-4×4 … LBP-R3P8-16×16).
    """

    def __init__(
        self,
        radius: int = 1,
        points: int = 8,
        grid: int = 4,
        C: float = 1.0,
        svm: str = "svc",
        norm: str = "counts",
        class_weight=None,
        max_iter: int = 5000,
        random_state: int = 0,
    ):
        self.radius = radius
        self.points = points
        self.grid = grid
        self.C = C
        self.svm = svm
        self.norm = norm
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def transform(self, images) -> np.ndarray:
        """LBP features of ``images`` (see :func:`lbp_histograms`)."""
        return lbp_histograms(images, self.radius, self.points, self.grid, self.norm)

    def make_svm(self):
        """The unfitted scikit-learn SVM this baseline uses; ``ValueError`` for an unknown ``svm``."""
        from sklearn.svm import SVC, LinearSVC

        if self.svm == "svc":
            return SVC(kernel="linear", C=self.C, class_weight=self.class_weight)
        if self.svm == "linear_svc":
            return LinearSVC(
                C=self.C,
                class_weight=self.class_weight,
                max_iter=self.max_iter,
                random_state=self.random_state,
            )
        raise ValueError(f"svm must be one of {SVMS}; received {self.svm!r}.")

    def fit(self, images, y):
        """Fit the SVM on the LBP features of ``images`` with labels ``y``."""
        y = np.asarray(y)
        self.svm_ = self.make_svm()
        self.svm_.fit(self.transform(images), y)
        self.classes_ = self.svm_.classes_
        return self

    def decision_function(self, images) -> np.ndarray:
        """Signed distance to the SVM hyperplane (positive → ``classes_[1]``)."""
        return self.svm_.decision_function(self.transform(images))

    def predict(self, images) -> np.ndarray:
        """Predicted labels."""
        return self.classes_[(self.decision_function(images) > 0).astype(int)]

    def predict_proba(self, images) -> np.ndarray:
        """Class scores ``[N, 2]`` as ``σ(decision)``: ranking kept (exact ROC AUC), not calibrated."""
        score = 1.0 / (1.0 + np.exp(-self.decision_function(images)))
        return np.stack([1.0 - score, score], axis=1)


def list_baselines() -> list[str]:
    """Names of the bundled baselines, sorted."""
    return sorted(BASELINES)


def get_baseline(name: str, **overrides) -> LBPSVM:
    """Build a baseline by any ``lbp_svm_r<R>p<P>_<G>x<G>`` ``name``, not only P1's six.

    Args:
        **overrides: Extra :class:`LBPSVM` arguments (``C``, ``svm``, ``norm``, ``class_weight``…).

    Raises:
        ValueError: If the name does not follow the pattern.
    """
    match = _NAME.match(str(name).lower())
    if not match:
        raise ValueError(
            f"Unknown baseline {name!r}; expected a name like 'lbp_svm_r1p8_4x4' "
            f"(radius, points, grid). Bundled: {', '.join(list_baselines())}."
        )
    r, p, g = (int(v) for v in match.groups())
    return LBPSVM(radius=r, points=p, grid=g, **overrides)


def lbp_svm(num_classes: int = 2, input_shape=None, weights=None, **kwargs) -> LBPSVM:
    """The registry's builder of every LBP + SVM baseline: an unfitted :class:`LBPSVM`.

    Args:
        num_classes: Must be 2: the baselines are binary.
        input_shape: Ignored: LBP histograms are computed at any image size.
        weights: Must be ``None``: there are no pretrained weights.
        **kwargs: :class:`LBPSVM` arguments (``radius``, ``points``, ``grid`` from the name).

    Raises:
        ValueError: For another ``num_classes`` or any ``weights``.
    """
    if num_classes != 2:
        raise ValueError(
            f"The LBP + SVM baselines are binary (pain / no pain); received num_classes={num_classes}."
        )
    if weights is not None:
        raise ValueError("The LBP + SVM baselines have no pretrained weights; pass weights=None.")
    return LBPSVM(**kwargs)
