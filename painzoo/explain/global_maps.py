"""P2's global explanations: local heat maps warped into one face frame and averaged.

Each local heat map (LIME, Grad-CAM or PainSeeker's β) is mapped into a normalised face frame by a
similarity transform from the five keypoints to a template (resized whole without keypoints), then
averaged per group. By default (P2 does not say) a map explains the predicted class.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from painzoo.datasets.io import read_image, resize_image, to_uint8, write_image
from painzoo.explain._common import model_input_spec, normalise_map, overlay_heatmap
from painzoo.explain.attention import attention_maps
from painzoo.explain.gradcam import gradcam
from painzoo.explain.lime import lime_explanation

__all__ = ["GlobalHeatmaps", "global_heatmap", "local_heatmaps", "face_frame_transform"]
__all__ += ["warp_to_face_frame", "KEYPOINT_COLUMNS", "CANONICAL_TEMPLATE"]

KEYPOINT_COLUMNS = (
    ("kp_left_eye_x", "kp_left_eye_y"),
    ("kp_right_eye_x", "kp_right_eye_y"),
    ("kp_nose_x", "kp_nose_y"),
    ("kp_mouth_left_x", "kp_mouth_left_y"),
    ("kp_mouth_right_x", "kp_mouth_right_y"),
)
# The usual 112 × 112 template of MTCNN's five keypoints, in the order of KEYPOINT_COLUMNS.
CANONICAL_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ]
)
METHODS = ("lime", "gradcam", "attention")


def check_method(method: str) -> None:
    """Raise ``ValueError`` unless ``method`` is one of :data:`METHODS`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; received {method!r}.")


@dataclass
class GlobalHeatmaps:
    """Averaged heat maps per group, in the normalised face frame.

    Attributes:
        maps: Group → float32 ``[size, size]`` mean of the maps, each divided by its max abs value.
        mean_faces: Group → uint8 ``[size, size, 3]``: the mean warped face.
        counts, aligned: Group → images averaged, and of those aligned by keypoints.
        paths: Group → PNG overlay written (empty without ``out``).
        method, by, size: The arguments used.
    """

    maps: dict
    mean_faces: dict
    counts: dict
    aligned: dict
    method: str
    by: str | None
    size: int
    paths: dict = field(default_factory=dict)

    def overlay(self, group) -> np.ndarray:
        """The group's map blended over its mean face (uint8 RGB)."""
        return overlay_heatmap(self.mean_faces[group], self.maps[group])


def _template(size: int, template=None) -> np.ndarray:
    if template is not None:
        t = np.asarray(template, dtype=np.float64)
        if t.shape != (5, 2):
            raise ValueError(f"template must be 5 × 2 (x, y) points; received {t.shape}.")
        return t
    return CANONICAL_TEMPLATE * (size / 112)


def face_frame_transform(keypoints, size: int = 112, template=None) -> np.ndarray:
    """Similarity transform (2 × 3, for ``cv2.warpAffine``) from five keypoints to the face template.

    ``keypoints`` are ``[5, 2]`` (x, y): left eye, right eye, nose, mouth left, mouth right
    ("left" = image left); ``template`` defaults to the standard 112-pixel template scaled to
    ``size``.

    Raises:
        ValueError: If the keypoints are not 5 finite points or no similarity fits them.
    """
    import cv2

    src = np.asarray(keypoints, dtype=np.float64)
    if src.shape != (5, 2) or not np.isfinite(src).all():
        raise ValueError(f"keypoints must be 5 finite (x, y) points; received {src!r}.")
    dst = _template(size, template)
    # A generous RANSAC threshold keeps all five points for ordinary faces (the
    # final refinement is a least-squares fit) and drops one grossly wrong point.
    matrix, _ = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=0.15 * size
    )
    if matrix is None:
        raise ValueError(
            f"No similarity transform maps the keypoints {src.tolist()} to the template."
        )
    return matrix


def warp_to_face_frame(image_or_map, keypoints=None, size: int = 112, template=None):
    """Warp an image or heat map into the face frame (``keypoints=None``: resize the whole crop).

    Returns:
        ``(warped, coverage)``: float32, zeros outside the source, and a
        ``[size, size]`` map that is 1 where the source covers the frame.
    """
    import cv2

    src = np.asarray(image_or_map, dtype=np.float32)
    h, w = src.shape[:2]
    if keypoints is None:
        # The crop is the face frame: resize it whole; it covers every pixel.
        warped = resize_image(src, (size, size), "bilinear")
        return warped, np.ones((size, size), np.float32)
    matrix = face_frame_transform(keypoints, size, template)
    warped = cv2.warpAffine(
        src, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    coverage = cv2.warpAffine(
        np.ones((h, w), np.float32), matrix, (size, size), flags=cv2.INTER_LINEAR
    )
    return warped, coverage


def _row_keypoints(frame, i):
    if not all(c in frame.columns for pair in KEYPOINT_COLUMNS for c in pair):
        return None
    pts = np.array([[frame.at[i, x], frame.at[i, y]] for x, y in KEYPOINT_COLUMNS], dtype=float)
    return pts if np.isfinite(pts).all() else None


def local_heatmaps(
    model,
    images,
    method: str = "lime",
    *,
    labels=None,
    num_samples: int = 1000,
    segmenter="quickshift",
    batch_size: int = 64,
    layer: str | None = None,
    seed: int = 0,
    input_spec=None,
) -> np.ndarray:
    """Local heat maps ``[N, H, W]`` of equally sized images, in the images' pixel frame.

    Args:
        model: A Keras model (any callable for ``"lime"``).
        images: uint8 ``[N, H, W, 3]``.
        method: ``"lime"``, ``"gradcam"`` or ``"attention"``.
        labels: Class to explain per image; ``None``: the model's top class.
        num_samples, segmenter, seed: LIME settings.
        batch_size: Images per model call.
        layer: Grad-CAM layer.
        input_spec: The :class:`~painzoo.preprocess.InputSpec` images are resized with.

    Raises:
        ValueError: For an unknown method.
    """
    check_method(method)
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    labels_arr = None if labels is None else np.asarray(labels, dtype=int)
    if method == "lime":
        return np.stack(
            [
                lime_explanation(
                    model,
                    images[i],
                    label=None if labels_arr is None else int(labels_arr[i]),
                    num_samples=num_samples,
                    segmenter=segmenter,
                    batch_size=max(batch_size, 64),
                    seed=seed + i,
                    input_spec=input_spec,
                ).heatmap
                for i in range(n)
            ]
        ).astype(np.float32)
    spec = model_input_spec(model, (h, w), input_spec)
    mh, mw = spec.size
    resized = images.astype(np.float32)
    if (mh, mw) != (h, w):
        resized = np.stack([resize_image(im, (mh, mw), spec.interpolation) for im in resized])
    out = []
    for start in range(0, n, batch_size):
        batch = resized[start : start + batch_size]
        if method == "gradcam":
            lab = None if labels_arr is None else labels_arr[start : start + batch_size]
            maps = gradcam(model, batch, layer=layer, label=lab)
        else:
            maps = np.asarray(attention_maps(model, batch), dtype=np.float32)
        out += [resize_image(np.asarray(m, np.float32), (h, w), "bilinear") for m in maps]
    return np.stack(out).astype(np.float32)


def global_heatmap(
    model,
    dataset,
    *,
    method: str = "lime",
    by: str | None = "label",
    out: str | os.PathLike | None = None,
    size: int = 112,
    explain: str | int = "predicted",
    num_samples: int = 1000,
    segmenter="quickshift",
    batch_size: int = 64,
    layer: str | None = None,
    template=None,
    seed: int = 0,
) -> GlobalHeatmaps:
    """P2's global heat maps: local explanations averaged per group in a face frame.

    Keypoints come from the columns ``kp_left_eye_x`` … ``kp_mouth_right_y``; maps are averaged
    over the frame pixels each image covers.

    Args:
        model: A Keras model on RGB in ``[0, 255]`` (any callable for LIME).
        dataset: A :class:`~painzoo.datasets.Dataset`.
        method: ``"lime"``, ``"gradcam"`` or ``"attention"`` (PainSeeker's β).
        by: Frame column to group by, or ``None`` for one group ``"all"``.
        out: Folder for the PNG overlays (``global_<method>_<by>-<group>.png``).
        size: Side of the face frame.
        explain: ``"predicted"``, ``"label"`` (the true label) or a class.
        num_samples, segmenter, seed, layer: LIME and Grad-CAM settings.
        batch_size: Images per model call.
        template: Optional ``[5, 2]`` keypoint template in the face frame.

    Raises:
        ValueError: For an unknown method, a missing ``by`` column or an empty dataset.

    Reference:
        P2 (Sabater-Gárriz et al., 2024), after Manresa-Yee et al. (2023):
        local LIME masks mapped to a normalised face space and averaged.
    """
    check_method(method)
    if len(dataset) == 0:
        raise ValueError("The dataset is empty; nothing to explain.")
    frame = dataset.frame
    if by is not None and by not in frame.columns:
        raise ValueError(
            f"by={by!r} is not a column of the dataset; available: {list(frame.columns)}."
        )
    groups = np.full(len(frame), "all", dtype=object) if by is None else frame[by].to_numpy()
    targets = _targets(explain, dataset)
    settings = {"num_samples": num_samples, "segmenter": segmenter, "layer": layer}
    sums = _GroupSums(size, template)
    for idx, images in _batches(_dataset_images(dataset), batch_size):
        labels = None if targets is None else targets[idx]
        maps = local_heatmaps(
            model, images, method, labels=labels, batch_size=batch_size, seed=seed, **settings
        )
        for i, image, heatmap in zip(idx, images, maps):
            sums.add(groups[i], heatmap, image, _row_keypoints(frame, i))
    result = sums.result(method, by)
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        for g in result.maps:
            path = folder / f"global_{method}_{_safe(by or 'all')}-{_safe(g)}.png"
            write_image(path, result.overlay(g))
            result.paths[g] = path
    return result


def _targets(explain, dataset):
    """The class each image's map explains (``None``: the model's prediction)."""
    if explain == "label":
        return dataset.labels
    if explain == "predicted":
        return None
    if isinstance(explain, (int, np.integer)):
        return np.full(len(dataset.frame), int(explain))
    raise ValueError(
        f"explain must be 'label', 'predicted' or a class index; received {explain!r}."
    )


def _dataset_images(dataset):
    if dataset.images is not None:
        yield from dataset.images
    else:
        yield from (read_image(path) for path in dataset.image_paths)


def _batches(images, batch_size: int):
    """``(indices, images [n, H, W, 3])``: ``batch_size`` images at a time, split by shape."""
    pending: list = []
    for i, image in enumerate(images):
        pending.append((i, np.asarray(image)))
        if len(pending) >= batch_size:
            yield from _by_shape(pending)
            pending = []
    yield from _by_shape(pending)


def _by_shape(pending):
    shapes: dict = {}
    for i, image in pending:
        shapes.setdefault(image.shape, []).append((i, image))
    for chunk in shapes.values():
        yield [i for i, _ in chunk], np.stack([image for _, image in chunk])


class _GroupSums:
    """Per group: the sums of the warped maps and faces and of the pixels they cover."""

    def __init__(self, size: int, template=None):
        self.size, self.template = size, template
        self.sums: dict = {}  # group -> [size, size, 6]: map, cover, face RGB, face cover
        self.counts: Counter = Counter()
        self.aligned: Counter = Counter()

    def add(self, group, heatmap, image, keypoints) -> None:
        warped, cover = warp_to_face_frame(
            normalise_map(heatmap), keypoints, self.size, self.template
        )
        face, face_cover = warp_to_face_frame(image, keypoints, self.size, self.template)
        layers = np.dstack([warped, cover, face, face_cover]).astype(np.float64)
        self.sums[group] = self.sums.get(group, 0.0) + layers
        self.counts[group] += 1
        self.aligned[group] += keypoints is not None

    def result(self, method: str, by) -> GlobalHeatmaps:
        """The means (only over the pixels covered), groups in sorted order."""
        keys = sorted(self.sums, key=lambda v: (str(type(v)), v))
        maps, faces = {}, {}
        for g in keys:
            s = self.sums[g]
            maps[g] = (s[..., 0] / np.maximum(s[..., 1], 1e-6)).astype(np.float32)
            faces[g] = to_uint8(s[..., 2:5] / np.maximum(s[..., 5:], 1e-6))
        counts = {g: self.counts[g] for g in keys}
        aligned = {g: self.aligned[g] for g in keys}
        return GlobalHeatmaps(maps, faces, counts, aligned, method, by, self.size)


def _safe(text) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "group"
