"""One model trained on all images of a data set, saved with its model card."""

from __future__ import annotations

import os
from pathlib import Path

from painzoo.utils.numbers import check_number

__all__ = ["train"]


def train(
    data,
    *,
    model: str,
    out: str | os.PathLike,
    model_kwargs: dict | None = None,
    recipe=None,
    image_size: int | tuple[int, int] | None = None,
    input_spec=None,
    face_crop: dict | None = None,
    epochs: int | None = None,
    seed: int | None = None,
    results: str | os.PathLike | None = None,
    label: str | None = None,
    config_name: str | None = None,
    inputs=(),
    progress: bool = False,
):
    """Train one model on every image of a data set and save it with a model card.

    The network is built with the recipe's model aids
    (:meth:`Recipe.model_kwargs_for <painzoo.training.recipe.Recipe.model_kwargs_for>`) and
    ``model_kwargs``; the card's ``model.kwargs`` records every argument it was built with. With a
    config, :func:`painzoo.benchmark.final.train_from_config` calls this.

    Args:
        data: The training :class:`~painzoo.datasets.Dataset`.
        model: A zoo network name.
        out: Output folder; ``model.keras`` and ``model.json`` are written there.
        model_kwargs: Keyword arguments of the model builder (they win over the aids).
        recipe: A :class:`~painzoo.training.recipe.Recipe`, a preset name, or a dict (``preset``
            and fields; fields alone change ``"p2"``); default ``"p2"``.
        image_size: Input side, or ``(height, width)`` (default: the model's own).
        input_spec: The :class:`~painzoo.preprocess.InputSpec` (size and test transform) instead of
            ``image_size``; default: the model's :attr:`~painzoo.registry.ModelInfo.input_spec` at
            ``image_size`` with the recipe's ``test_resize``.
        face_crop: A dict of :class:`~painzoo.preprocess.FaceCropper` arguments; ``None``: no crop.
        epochs: Override the recipe's epochs.
        seed: Training seed (default: the recipe's).
        results: A ``painzoo benchmark`` folder; the card gets its metrics of this model and data.
        label: The model's name in those results and in warnings (default: ``model``).
        config_name: The evaluation config the settings came from (for the card).
        inputs: ``(what, path)`` of other files the run reads (a config); ``out`` must not be one.
        progress: Show a bar over epochs.

    Returns:
        The :class:`~painzoo.inference.card.PainModel` (Keras model + card).
        The card's ``training`` entry holds the training curve's ends and a
        ``flag`` (:func:`painzoo.evaluation.metrics.learning_flags`); a model
        that did not learn is ``not_learning``, with a warning.

    Raises:
        ValueError: For a baseline (not a network), a data set with one class
            only, bad argument values, or both ``image_size`` and ``input_spec``.
        FileNotFoundError: For a missing results folder.

    Example:
        >>> painzoo.train(model="songnet", data=ds, out="songnet-faces", face_crop=None)  # doctest: +SKIP
    """
    from painzoo.inference.card import benchmark_metrics, make_card
    from painzoo.preprocess.spec import resolve_input_spec
    from painzoo.training.recipe import Recipe

    name, label, epochs, seed, image_size = _check_arguments(
        data, model, out, label, epochs, seed, image_size
    )
    _check_out(out, data, [*inputs, *([("--results folder", results)] if results else [])])
    ds = _training_images(data, face_crop)
    given = {"seed": seed, "epochs": epochs}
    rec = Recipe.preset("p2").updated(recipe)
    rec = rec.replace(**{k: int(v) for k, v in given.items() if v is not None})
    if input_spec is not None and image_size is not None:
        raise ValueError("Give image_size or input_spec, not both (the spec holds the size).")
    spec = input_spec or resolve_input_spec(name, image_size=image_size, recipe=rec)
    learner, training = _fit(rec, name, spec, model_kwargs, ds, label, progress)
    net = learner.model
    bench = None if results is None else benchmark_metrics(results, model=label, data=data.name)
    card = make_card(
        model_name=name,
        model_kwargs=learner.model_kwargs,  # the recipe's aids, then the caller's arguments
        keras_model=net,
        input_spec=spec,
        # whatever made the training images (painzoo preprocess or the config)
        face_crop=(ds.preprocessing or {}).get("face_crop"),
        dataset=ds,
        recipe=rec.to_dict(),
        data_name=data.name,
        config_name=config_name,
        benchmark=bench,
        training=training,
    )
    return _save(learner, card, Path(out))


def _check_arguments(data, model, out, label, epochs, seed, image_size) -> tuple:
    """Check the arguments; return the model's name and label, epochs, seed and image size."""
    from painzoo.datasets import Dataset
    from painzoo.training.learner import learner_class

    if not isinstance(data, Dataset):
        raise ValueError(
            "painzoo.train needs data=<Dataset>, or a config (name or YAML file) whose "
            f"data it loads; received {type(data).__name__}."
        )
    epochs = check_number(epochs, "epochs", low=1, integer=True, none=True)
    seed = check_number(seed, "seed", low=0, integer=True, none=True)
    if isinstance(image_size, (tuple, list)):
        image_size = tuple(check_number(v, "image_size", low=1, integer=True) for v in image_size)
    else:
        image_size = check_number(image_size, "image_size", low=1, integer=True, none=True)
    if out is None or str(out) == "":
        raise ValueError("out must be a folder for model.keras and model.json; received none.")
    name = str(model).lower()
    if not learner_class(name).trains_network:  # an unknown name fails, naming the closest
        raise ValueError(
            f"{name!r} is a baseline classifier, not a network; painzoo train saves "
            "Keras networks. Pick a zoo model (painzoo models lists them)."
        )
    return name, label or name, epochs, seed, image_size


def _training_images(data, face_crop):
    """The data set, face-cropped when asked; it must hold both classes."""
    ds = data
    if face_crop:
        from painzoo.preprocess import FaceCropper, crop_dataset

        ds = crop_dataset(ds, FaceCropper(**dict(face_crop)))
    classes = sorted(set(ds.labels.tolist()))
    if classes != [0, 1]:
        raise ValueError(
            f"Data {data.name!r} holds only label(s) {classes}; training a pain model needs "
            "images of both classes (0 = no pain, 1 = pain)."
        )
    return ds


def _fit(rec, name, spec, model_kwargs, ds, label, progress):
    """Train the network through its learner; return the learner and its learning record."""
    from painzoo.datasets.labels import predicted_label
    from painzoo.evaluation.metrics import learning_record, training_fit
    from painzoo.training.learner import get_learner

    learner = get_learner(name, model_kwargs, recipe=rec, input_spec=spec)
    learner.fit(ds, progress=progress)
    # with no test images, the training curve and the fit of the training images
    # tell whether the model learned (a warning now, a flag in its card)
    fitted = predicted_label(learner.predict_proba(ds))
    training = learning_record(
        [],
        [],
        learner.losses,
        run_id=f"painzoo train {label}",
        **training_fit(ds.labels, fitted, rec.class_weights(ds.labels)),
    )
    return learner, training


def _save(learner, card, folder: Path):
    """Write ``model.keras`` and ``model.json`` into ``folder``; return the :class:`PainModel`."""
    from painzoo.inference.card import MODEL_FILE, PainModel, write_card
    from painzoo.utils.files import replace_when_complete

    folder.mkdir(parents=True, exist_ok=True)
    with replace_when_complete(folder / MODEL_FILE) as tmp:  # an old model stays until then
        learner.save(tmp)
    write_card(card, folder)
    return PainModel(learner.model, card, folder / MODEL_FILE)


def _check_out(out, ds, inputs) -> None:
    """Refuse an ``out`` folder that is an input or lies in the data's image folder."""
    from painzoo.utils.files import check_outputs

    check_outputs(
        {"--out": out},
        [*(("image folder", f) for f in _image_folders(ds)), *inputs],
        command="painzoo train",
        fix="Pass --out a new folder outside the data, e.g. a folder named after the model "
        "next to the data folder.",
    )


def _image_folders(ds) -> list[Path]:
    """Folders that hold the data's image files: each file's folder and their common folder.

    The common folder is left out when it is a file-system root, the home
    folder or the working folder, which hold much more than the data.
    """
    parents = sorted({p.parent for p in ds.image_paths if str(p) not in ("", ".")})
    if not parents:
        return []
    folders = list(parents)
    try:
        common = Path(os.path.commonpath([os.path.abspath(p) for p in parents]))
    except ValueError:  # different drives
        return folders
    broad = {Path(common.anchor), Path.home().resolve(), Path.cwd().resolve()}
    if common.resolve() not in broad and common not in folders:
        folders.append(common)
    return folders
