"""``painzoo explain``: heat-map overlays for image files and a saved model."""

from __future__ import annotations

import importlib
import os
import warnings
from pathlib import Path

from painzoo.datasets.io import read_image, write_image
from painzoo.explain._common import overlay_heatmap
from painzoo.explain.global_maps import check_method, local_heatmaps
from painzoo.preprocess.face import cropper_for
from painzoo.utils.files import check_outputs, read_json_object, replace_when_complete
from painzoo.utils.numbers import check_number
from painzoo.utils.progress import progress_bar

__all__ = ["explain_files", "load_model"]


def load_model(model_path: str | os.PathLike):
    """Load a ``.keras`` file saved from a painzoo model.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not a Keras archive.
    """
    import zipfile

    import keras

    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Model file {path} does not exist; save one with model.save(...)."
        )
    # Keras says "File not found" for a damaged archive; say what is wrong instead.
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise ValueError(
            f"Model file {path} is not a Keras archive (a .keras file is a zip file): it is "
            "corrupt or truncated, or was saved in another format. Save the model again "
            "with model.save('name.keras')."
        )
    for module in ("painzoo.layers", "painzoo.models", "painzoo.losses"):
        try:  # registers painzoo's serialisable layers and losses
            importlib.import_module(module)
        except ModuleNotFoundError:
            pass
    return keras.saving.load_model(path, compile=False)


def explain_files(
    model_path,
    images,
    *,
    method: str = "lime",
    out: str | os.PathLike = "painzoo-explanations",
    num_samples: int = 1000,
    segmenter="quickshift",
    layer: str | None = None,
    face_crop="card",
    progress: bool = False,
) -> list[Path]:
    """Explain a saved model's prediction on image files; write one overlay PNG each and return their paths.

    Images are first cropped as the model's training images were (``face_crop``: see
    :func:`painzoo.preprocess.cropper_for`); images without a face are skipped with a warning.

    Args:
        model_path: A ``.keras`` file, or the folder ``painzoo train`` wrote.
        images: Image file paths.
        method: ``"lime"``, ``"gradcam"`` or ``"attention"``.
        out: Output folder; files are ``<image stem>_<method>.png``.
        num_samples, segmenter, layer: LIME and Grad-CAM settings.
        progress: Show a progress bar (on stderr).

    Raises:
        FileNotFoundError: If the model or an image does not exist.
        ValueError: For an unknown method, ``num_samples`` < 1, or an output
            that would replace an input or sit in the model's folder.
    """
    check_method(method)
    num_samples = check_number(num_samples, "num_samples", low=1, integer=True)
    paths = [Path(p) for p in images]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Image file(s) not found: {', '.join(missing)}.")
    folder = Path(out)
    targets = [folder / f"{path.stem}_{method}.png" for path in paths]
    model_file, recorded = _model_and_crop(model_path)
    _check_targets(folder, targets, model_file, paths)
    model = load_model(model_file)
    cropper = cropper_for(face_crop, recorded, model.input_shape[1])
    detects = cropper is not None and cropper.detector_name != "none"
    settings = {"num_samples": num_samples, "segmenter": segmenter, "layer": layer}
    folder.mkdir(parents=True, exist_ok=True)
    written, no_face = [], []
    with progress_bar(progress, total=len(paths), desc="explain", unit="image") as bar:
        for path, target in zip(paths, targets):
            bar.update(1)
            image = read_image(path)
            if cropper is not None:
                crop = cropper(image, name=str(path))
                if crop is None or (detects and not crop.found):
                    no_face.append(path.name)
                    continue
                image = crop.image
            heatmap = local_heatmaps(model, image[None], method, **settings)[0]
            with replace_when_complete(target) as tmp:
                write_image(tmp, overlay_heatmap(image, heatmap))
            written.append(target)
    if no_face:
        more = ", …" if len(no_face) > 5 else ""
        warnings.warn(
            f"No face found in {len(no_face)} image(s), not explained: "
            f"{', '.join(no_face[:5])}{more}",
            stacklevel=2,
        )
    return written


def _check_targets(folder: Path, targets: list[Path], model_file: Path, images) -> None:
    """Refuse overlays that would replace an input image or sit in the model's folder."""
    inputs = [("model", model_file)] + [("image", p) for p in images]
    if (model_file.parent / "model.json").is_file():  # a folder written by painzoo train
        inputs.append(("model folder", model_file.parent))
    check_outputs(
        [("--out", folder)] + [("the overlay", t) for t in targets],
        inputs,
        command="painzoo explain",
        fix="Pass --out a new folder, e.g. painzoo-explanations.",
    )


def _model_and_crop(model_path) -> tuple[Path, dict | None]:
    """The ``.keras`` file and the face-crop settings its card records (or ``None``)."""
    path = Path(model_path)
    if path.is_dir():
        path = path / "model.keras"
    card_path = path.parent / "model.json"
    if not card_path.is_file():
        return path, None
    card = read_json_object(
        card_path,
        what="the model card painzoo train writes",
        fix="Train the model again or pass face_crop explicitly.",
    )
    return path, card.get("face_crop")
