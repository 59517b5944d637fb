"""Face detection → square crop with margin → optional background removal → resize (P2's preprocessing)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from painzoo.datasets.io import cache_root, display_path, read_image, resize_image, write_image
from painzoo.datasets.loaders import load_csv, load_folder, load_mintpain
from painzoo.datasets.manifest import PREPROCESSING_FILE, Dataset
from painzoo.preprocess.background import BackgroundRemover
from painzoo.preprocess.detectors import KEYPOINT_NAMES, Detection, get_detector
from painzoo.utils.files import atomic_write_text, check_outputs

__all__ = [
    "FaceCrop",
    "FaceCropper",
    "NoFaceError",
    "crop_dataset",
    "cropper_for",
    "preprocess_folder",
]

logger = logging.getLogger(__name__)

_PAD_MODES = {
    "reflect": cv2.BORDER_REFLECT_101,
    "constant": cv2.BORDER_CONSTANT,
    "edge": cv2.BORDER_REPLICATE,
}
_ON_NO_FACE = ("center", "skip", "error")
_ON_ERROR = ("error", "raise", "skip")
BOX_COLUMNS = ("box_x", "box_y", "box_w", "box_h")
KEYPOINT_COLUMNS = tuple(f"kp_{k}_{a}" for k in KEYPOINT_NAMES for a in ("x", "y"))


class NoFaceError(ValueError):
    """Raised by a cropper with ``on_no_face="error"`` when no face is found."""


@dataclass
class FaceCrop:
    """The result of :class:`FaceCropper` on one image.

    Attributes:
        image: The crop, RGB uint8 ``[size, size, 3]``.
        box: The square cropped, ``(x, y, w, h)`` in the input (padded where past its borders).
        keypoints: MTCNN's five points in crop pixels, or ``None``.
        found: Whether a face was detected.
        face_box: The detector's face box in the input image, or ``None``.
    """

    image: np.ndarray
    box: tuple[int, int, int, int]
    keypoints: dict[str, tuple[float, float]] | None
    found: bool
    face_box: tuple[float, float, float, float] | None = None


class FaceCropper:
    """Detect the face, crop a square with margin, optionally whiten the background.

    Args:
        detector: ``"mtcnn"`` (TensorFlow backend; five keypoints), ``"haar"`` (OpenCV; any
            backend), ``"none"`` (centre crop), or a callable
            (:func:`~painzoo.preprocess.detectors.normalize_detections`). With several faces the
            most confident wins (Haar: the largest).
        size: Side of the output crop in pixels.
        margin: Fraction of the face box's longer side added on every side.
        pad_mode: ``"reflect"``, ``"constant"`` (black) or ``"edge"``.
        background: ``None``, ``"grabcut"`` or a U2-Net-style ONNX model path that whitens it (P2).
        on_no_face: ``"center"`` (``found=False``), ``"skip"`` (returns ``None``) or ``"error"``
            (raises :class:`NoFaceError`).
        min_face_size: Smaller faces (pixels, full resolution) are ignored.
        detect_max_side: Longer images are downscaled to it for detection only.
        on_error: Default ``on_error`` of :func:`crop_dataset` (not in the cache key).

    Raises:
        ValueError: For an unknown detector, pad mode or ``on_no_face``.
        ImportError: For ``"mtcnn"`` off the TensorFlow backend.

    Example:
        >>> from skimage.data import astronaut
        >>> crop = FaceCropper("haar", size=112)(astronaut())
        >>> crop.image.shape, crop.found
        ((112, 112, 3), True)

    Reference:
        P2 (Sabater-Gárriz et al. 2024), "Preprocessing"; MTCNN: Zhang et al., IEEE SPL 2016.
    """

    def __init__(
        self,
        detector="mtcnn",
        *,
        size: int = 224,
        margin: float = 0.2,
        pad_mode: str = "reflect",
        background=None,
        on_no_face: str = "center",
        min_face_size: int = 40,
        detect_max_side: int = 1024,
        on_error: str = "error",
    ):
        if on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be 'error' or 'skip'; received {on_error!r}.")
        if pad_mode not in _PAD_MODES:
            raise ValueError(f"pad_mode must be one of {list(_PAD_MODES)}; received {pad_mode!r}.")
        if on_no_face not in _ON_NO_FACE:
            raise ValueError(
                f"on_no_face must be one of {list(_ON_NO_FACE)}; received {on_no_face!r}."
            )
        if size < 1 or margin < 0:
            raise ValueError(f"size must be >= 1 and margin >= 0; received {size}, {margin}.")
        self.detector = detector
        self.size = int(size)
        self.margin = float(margin)
        self.pad_mode = pad_mode
        self.background = None if background is None else str(background)
        self.on_no_face = on_no_face
        self.min_face_size = int(min_face_size)
        self.detect_max_side = int(detect_max_side)
        self.on_error = "skip" if on_error == "skip" else "error"
        self.detector_name, self._detect = get_detector(detector, min_face_size=min_face_size)
        self._background = BackgroundRemover(background) if background is not None else None
        self.detector_calls = 0

    def settings(self) -> dict:
        """The arguments that rebuild this cropper's crops, as JSON-ready values (a callable detector: ``"custom"``)."""
        return {
            "detector": self.detector if isinstance(self.detector, str) else "custom",
            "size": self.size,
            "margin": self.margin,
            "pad_mode": self.pad_mode,
            "background": self.background,
            "min_face_size": self.min_face_size,
            "detect_max_side": self.detect_max_side,
        }

    @property
    def cache_key(self) -> str:
        """Hash of every setting that changes the crops."""
        settings = {
            "v": 1,
            "detector": self.detector_name,
            "size": self.size,
            "margin": self.margin,
            "pad_mode": self.pad_mode,
            "background": None if self._background is None else self._background.cache_key,
            "on_no_face": self.on_no_face,
            "min_face_size": self.min_face_size,
            "detect_max_side": self.detect_max_side,
        }
        return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in ``image`` (full-resolution coordinates), most confident first."""
        h, w = image.shape[:2]
        scale = 1.0
        small = image
        if max(h, w) > self.detect_max_side:
            scale = self.detect_max_side / max(h, w)
            small = resize_image(image, (round(h * scale), round(w * scale)))
        self.detector_calls += 1
        found = (
            [d.scaled(1.0 / scale) for d in self._detect(small)]
            if scale != 1
            else list(self._detect(small))
        )
        found = [d for d in found if max(d.box[2], d.box[3]) >= self.min_face_size]
        return sorted(found, key=lambda d: (d.confidence, d.box[2] * d.box[3]), reverse=True)

    def __call__(self, image: np.ndarray, *, name: str | None = None) -> FaceCrop | None:
        """Crop the face of one RGB (or grayscale) uint8 image; ``name`` is used in messages.

        Returns ``None`` when no face is found and ``on_no_face="skip"``.

        Raises:
            NoFaceError: No face and ``on_no_face="error"``.
            ValueError: If ``image`` is not an image array.
        """
        image = _as_rgb_uint8(image)
        faces = self.detect(image)
        h, w = image.shape[:2]
        if faces:
            face = faces[0]
            fx, fy, fw, fh = face.box
            side = max(fw, fh) * (1.0 + 2.0 * self.margin)
            cx, cy = fx + fw / 2.0, fy + fh / 2.0
        else:
            if self.on_no_face == "error":
                raise NoFaceError(
                    f"No face found in {name or 'the image'} ({w}×{h}) by detector "
                    f"{self.detector_name!r}; use on_no_face='center' or 'skip' to continue."
                )
            if self.on_no_face == "skip":
                return None
            face = None
            side = float(min(h, w))
            cx, cy = w / 2.0, h / 2.0
        side_i = max(1, int(round(side)))
        x0, y0 = int(round(cx - side_i / 2.0)), int(round(cy - side_i / 2.0))
        crop = _crop_padded(image, x0, y0, side_i, _PAD_MODES[self.pad_mode])
        crop = resize_image(crop, (self.size, self.size))
        k = self.size / side_i
        keypoints = None
        if face is not None and face.keypoints:
            keypoints = {n: ((x - x0) * k, (y - y0) * k) for n, (x, y) in face.keypoints.items()}
        if self._background is not None:
            seed = None
            if face is not None:
                fx, fy, fw, fh = face.box
                # Grow the face box a little: hair and chin belong to the person.
                seed = (
                    (fx - x0 - 0.15 * fw) * k,
                    (fy - y0 - 0.25 * fh) * k,
                    1.3 * fw * k,
                    1.5 * fh * k,
                )
            crop = self._background(crop, seed)
        return FaceCrop(
            image=np.ascontiguousarray(crop, dtype=np.uint8),
            box=(x0, y0, side_i, side_i),
            keypoints=keypoints,
            found=face is not None,
            face_box=None if face is None else tuple(float(v) for v in face.box),
        )


def cropper_for(face_crop, recorded: dict | None, size: int) -> FaceCropper | None:
    """The cropper that treats new images as a model's training images were (``None``: no crop).

    ``face_crop`` is ``"card"`` (the ``recorded`` settings), ``None`` / ``"none"``, a detector name
    or callable (with the recorded settings otherwise), a dict of :class:`FaceCropper` arguments,
    or a :class:`FaceCropper`; ``size`` is used where the settings name none. The cropper skips
    images without a face.

    Raises:
        ValueError: For recorded settings of a custom detector, which a card cannot rebuild.
    """
    if isinstance(face_crop, FaceCropper):
        return face_crop
    if isinstance(face_crop, str) and face_crop == "card":
        face_crop = recorded
    if face_crop is None or (isinstance(face_crop, str) and face_crop.lower() == "none"):
        return None
    if isinstance(face_crop, str) or callable(face_crop):
        face_crop = {**dict(recorded or {}), "detector": face_crop}
    settings = dict(face_crop)
    if settings.get("detector") == "custom":
        raise ValueError(
            "The model card records a face crop made with a custom detector (a Python "
            "callable), which cannot be rebuilt from the card; pass face_crop=FaceCropper("
            "your_detector, ...) or a detector name (--face-crop mtcnn|haar)."
        )
    settings.setdefault("size", int(size))
    detector = settings.get("detector", "mtcnn")
    settings["on_no_face"] = "center" if detector in (None, "none") else "skip"
    return FaceCropper(**settings)


def _as_rgb_uint8(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (3, 4):
        raise ValueError(f"Expected an RGB image [H, W, 3]; received shape {image.shape}.")
    if image.shape[-1] == 4:
        image = image[..., :3]
    if image.dtype != np.uint8:
        raise ValueError(
            f"Expected uint8 pixels in [0, 255]; received {image.dtype}. Read files with "
            "painzoo.datasets.io.read_image, which converts every format."
        )
    return np.ascontiguousarray(image)


def _crop_padded(image: np.ndarray, x0: int, y0: int, side: int, border: int) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1 = x0 + side, y0 + side
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 <= cx0 or cy1 <= cy0:  # the square misses the image; pad the whole image
        cx0, cy0, cx1, cy1 = 0, 0, w, h
    part = image[cy0:cy1, cx0:cx1]
    top, left = cy0 - y0, cx0 - x0
    bottom, right = y1 - cy1, x1 - cx1
    if top or left or bottom or right:
        if border == cv2.BORDER_REFLECT_101 and min(part.shape[:2]) < 2:
            border = cv2.BORDER_REPLICATE
        part = cv2.copyMakeBorder(part, top, bottom, left, right, border, value=(0, 0, 0))
    return part


# -- whole datasets ---------------------------------------------------------------------
def crop_dataset(
    dataset: Dataset,
    cropper: FaceCropper,
    *,
    cache_dir: str | os.PathLike | None = None,
    on_error: str | None = None,
    return_report: bool = False,
    progress: bool = False,
):
    """Crop every image of a dataset through an on-disk cache (keyed by content and :attr:`FaceCropper.cache_key`).

    Returns an on-disk :class:`Dataset` of PNG crops: every column plus ``source_image``,
    ``face_found``, ``box_*`` and ``kp_*``; ``(dataset, report of counts)`` with ``return_report``.

    Args:
        dataset: The source :class:`Dataset`.
        cropper: A :class:`FaceCropper`.
        cache_dir: Defaults to ``<cache_root>/crops``.
        on_error: ``"error"`` / ``"raise"`` (an unreadable image raises, naming it) or ``"skip"``;
            ``None`` takes ``cropper.on_error``.
        progress: Show a progress bar (on stderr).

    Raises:
        ValueError: For an unreadable image with ``on_error="raise"``, an unknown ``on_error``, an
            empty dataset, or when every image is skipped.
        NoFaceError: No face and ``cropper.on_no_face == "error"``.
    """
    on_error = getattr(cropper, "on_error", "error") if on_error is None else on_error
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be 'error' or 'skip'; received {on_error!r}.")
    if len(dataset) == 0:
        raise ValueError("crop_dataset received an empty dataset; there is nothing to crop.")
    cache = Path(cache_dir) if cache_dir is not None else cache_root() / "crops"
    folder = cache / cropper.cache_key
    folder.mkdir(parents=True, exist_ok=True)
    in_memory = dataset.images is not None
    paths = dataset.image_paths
    report = dict(
        images=len(dataset), cached=0, cropped=0, no_face=0, skipped_no_face=0, unreadable=0
    )
    rows, keep, missed, unreadable = [], [], [], []
    indices = range(len(dataset))
    if progress:  # the bar closes when the loop ends, also on an error
        from tqdm.auto import tqdm

        indices = tqdm(indices, unit="image", desc="cropping")  # on stderr
    for i in indices:
        name = f"row {i}" if in_memory else display_path(paths[i])
        item = dataset.images[i] if in_memory else paths[i]
        png, meta = _crop_one(item, name, cropper, folder, on_error != "skip", report)
        if meta is None:
            unreadable.append(name)
            continue
        if not meta.get("found"):
            report["no_face"] += 1
            missed.append(name)
        if meta.get("skipped"):
            report["skipped_no_face"] += 1
            continue
        keep.append(i)
        rows.append(_meta_columns(meta, png))
    _warn_skipped(missed, unreadable, cropper, len(dataset))
    logger.info("crop_dataset: %s", report)
    if not keep:
        raise ValueError(
            f"Every one of the {len(dataset)} image(s) was skipped ({report}); nothing is left."
        )
    out = _with_crops(dataset, keep, rows, cropper)
    return (out, report) if return_report else out


def _crop_one(item, name: str, cropper, folder: Path, strict: bool, report: dict):
    """``(png, meta)`` of one image (pixels or a path) via the cache; ``None``s if unreadable."""
    try:
        if isinstance(item, Path):
            digest = _hash_file(item)
        else:
            item = np.ascontiguousarray(item)
            digest = hashlib.sha1(item.tobytes() + str(item.shape).encode()).hexdigest()
    except OSError as err:
        if strict:
            raise FileNotFoundError(
                f"Cannot read image {name}: {err.strerror or type(err).__name__}"
            ) from None
        report["unreadable"] += 1
        return None, None
    png = folder / digest[:2] / f"{digest}.png"
    meta_path = png.with_suffix(".json")
    meta = _read_meta(meta_path) if meta_path.is_file() else None
    if meta is not None and (png.is_file() or meta.get("skipped")):
        report["cached"] += 1
        return png, meta
    try:
        image = read_image(item) if isinstance(item, Path) else item
    except (ValueError, FileNotFoundError) as err:
        if strict:
            raise
        report["unreadable"] += 1
        logger.warning("crop_dataset skipped %s: %s", name, err)
        return None, None
    crop = cropper(image, name=name)
    png.parent.mkdir(parents=True, exist_ok=True)
    if crop is None:
        meta = {"skipped": True, "found": False}
    else:
        write_image(png, crop.image)
        box = [int(v) for v in crop.box]
        meta = {"found": bool(crop.found), "box": box, "keypoints": crop.keypoints}
    atomic_write_text(meta_path, json.dumps(meta))
    report["cropped"] += 1
    return png, meta


def _warn_skipped(missed: list[str], unreadable: list[str], cropper, n: int) -> None:
    if missed and cropper.detector_name != "none":  # "none" asks for centre crops
        action = "skipped" if cropper.on_no_face == "skip" else "centre-cropped"
        warnings.warn(
            f"No face found in {len(missed)} of {n} image(s) ({action}): {_first(missed)}",
            stacklevel=3,
        )
    if unreadable:
        warnings.warn(
            f"Skipped {len(unreadable)} unreadable image(s): {_first(unreadable)}", stacklevel=3
        )


def _first(names: list[str]) -> str:
    return ", ".join(names[:5]) + (", …" if len(names) > 5 else "")


def _with_crops(dataset: Dataset, keep: list[int], rows: list[dict], cropper) -> Dataset:
    """The kept rows of ``dataset`` pointing at their crops, with the crop's columns."""
    frame = dataset.frame.iloc[keep].reset_index(drop=True).copy()
    frame["source_image"] = frame["image"]
    extra = pd.DataFrame(rows)
    for col in extra.columns:
        frame[col] = extra[col].to_numpy()
    earlier = (dataset.preprocessing or {}).get("face_crop")
    if earlier:
        warnings.warn(
            f"The {len(dataset)} image(s) of {dataset.name!r} are face crops already "
            f"(detector {earlier.get('detector')!r}, {earlier.get('size')} px) and are cropped "
            "again; a model trained on them applies only the second crop to new images. Set "
            "face_crop: null for data written by painzoo preprocess.",
            stacklevel=3,
        )
    record = {**(dataset.preprocessing or {}), "face_crop": cropper.settings()}
    return Dataset(frame, root=None, name=dataset.name, preprocessing=record)


def _meta_columns(meta: dict, png: Path) -> dict:
    row = {"image": str(png), "face_found": bool(meta.get("found"))}
    row.update(dict(zip(BOX_COLUMNS, meta["box"])))
    kps = meta.get("keypoints") or {}
    for name in KEYPOINT_NAMES:
        x, y = kps.get(name, (np.nan, np.nan))
        row[f"kp_{name}_x"], row[f"kp_{name}_y"] = float(x), float(y)
    return row


def _hash_file(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_meta(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # a half-written entry: redo it


def preprocess_folder(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    detector="mtcnn",
    size: int = 224,
    margin: float = 0.2,
    background=None,
    on_no_face: str = "center",
    layout: str = "subject/label",
    cache_dir: str | os.PathLike | None = None,
    on_error: str = "error",
    progress: bool = False,
) -> Dataset:
    """Crop the faces of a folder (or CSV manifest) into ``dst``: ``painzoo preprocess SRC DST``.

    Writes ``dst/images/…``, ``dst/manifest.csv`` and ``dst/preprocess.json`` (the record loaders
    attach as ``.preprocessing``) and returns the :class:`Dataset` read back.

    Args:
        src: A folder read with :func:`~painzoo.datasets.load_folder` and ``layout`` (or
            ``"mintpain"``), or a CSV read with :func:`~painzoo.datasets.load_csv`.
        dst: Output folder (created).
        detector, size, margin, background, on_no_face: See :class:`FaceCropper`.
        cache_dir, progress: See :func:`crop_dataset`.
        on_error: ``"error"`` (an undecodable image stops the run) or ``"skip"`` (counted).

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        ValueError: If ``dst`` is or lies inside the source folder, if ``dst/manifest.csv`` or a
            crop would overwrite an input file, or for a bad image with ``on_error="error"``.
    """
    from painzoo.utils.numbers import check_number

    size = check_number(size, "size", low=1, integer=True)
    margin = check_number(margin, "margin", low=0)
    src, dst = Path(src), Path(dst)
    ds = _read_source(src, dst, layout)
    inputs = [src] if src.is_file() else []
    inputs += [p for p in ds.image_paths if str(p) not in ("", ".")]
    manifest = dst / "manifest.csv"
    _refuse_overwrite([("the manifest", manifest)], inputs, src, dst)
    cropper = FaceCropper(
        detector,
        size=size,
        margin=margin,
        background=background,
        on_no_face=on_no_face,
        on_error=on_error,
    )
    cropped, report = crop_dataset(
        ds, cropper, cache_dir=cache_dir, return_report=True, progress=progress
    )
    frame = cropped.frame.copy()
    targets = _crop_targets(frame["source_image"], dst / "images")
    _refuse_overwrite([("a crop", t) for t in targets], inputs, src, dst)
    for cached, target in zip(frame["image"], targets):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target)
    frame["image"] = [str(t.relative_to(dst)) for t in targets]
    dst.mkdir(parents=True, exist_ok=True)
    record = {
        "format": "painzoo-preprocess",
        "painzoo": _painzoo_version(),
        "manifest": manifest.name,
        "face_crop": cropper.settings(),
        "on_no_face": on_no_face,
        "counts": {k: int(v) for k, v in report.items()},
    }
    # The record first: a manifest is never left without the record of what made it.
    atomic_write_text(dst / PREPROCESSING_FILE, json.dumps(record, indent=2) + "\n")
    atomic_write_text(manifest, frame.to_csv(index=False))
    logger.info("preprocess_folder: %s", report)
    return Dataset.from_csv(manifest, name=ds.name)


def _read_source(src: Path, dst: Path, layout: str) -> Dataset:
    """The dataset ``painzoo preprocess`` crops: a CSV manifest or a folder in ``layout``."""
    if src.is_dir():  # DST equal to SRC, or inside it, would rewrite or mix with the source
        _refuse_overwrite([("DST", dst)], [("source folder", src)], src, dst)
        if layout == "mintpain":
            return load_mintpain(src, frames_per_subject_class=None)
        return load_folder(src, layout=layout)
    if src.is_file():
        return load_csv(src)
    raise FileNotFoundError(f"{display_path(src)} is neither an image folder nor a CSV manifest.")


def _crop_targets(sources, images_dir: Path) -> list[Path]:
    """Where each crop goes: its source's relative path as PNG, else its row number."""
    used, targets = set(), []
    for i, rel in enumerate(sources):
        rel_path = Path(rel)
        out_rel = rel_path.with_suffix(".png") if rel and not rel_path.is_absolute() else None
        if out_rel is None or str(out_rel) in used:
            out_rel = Path(f"{i:06d}.png")
        used.add(str(out_rel))
        targets.append(images_dir / out_rel)
    return targets


def _painzoo_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("painzoo")
    except PackageNotFoundError:  # a source tree on the path, not installed
        return "unknown"


def _refuse_overwrite(outputs: list, inputs: list, src: Path, dst: Path) -> None:
    """Raise if writing any of ``outputs`` would replace, or land inside, one of ``inputs``."""
    example = src.parent / (src.name + "-crops") if src.is_dir() else dst / "crops"
    fix = (
        "Choose an output folder outside the source that holds none of the inputs, "
        f"e.g. {display_path(example)}."
    )
    check_outputs(outputs, inputs, command="painzoo preprocess", fix=fix)
