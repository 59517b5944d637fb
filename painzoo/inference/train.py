"""``painzoo train``: one model on all images of a data set, saved with its card."""

from __future__ import annotations

import os
from pathlib import Path

from painzoo.preprocess.spec import resolve_input_spec

__all__ = ["train"]


def train(
    config=None,
    *,
    model: str,
    out: str | os.PathLike,
    data=None,
    results: str | os.PathLike | None = None,
    recipe=None,
    image_size: int | tuple[int, int] | None = None,
    face_crop="config",
    epochs: int | None = None,
    seed: int | None = None,
    progress: bool = False,
):
    """Train one model on every image of a data set and save it with a model card.

    The model, its keyword overrides, the recipe, the input size and the face
    cropping come from the evaluation ``config`` (as ``painzoo benchmark``
    would use them), so the saved model is the one the benchmark evaluated,
    now trained on all labelled data. The network is built with the model
    aids the recipe asks for (:meth:`Recipe.model_kwargs_for
    <painzoo.training.recipe.Recipe.model_kwargs_for>`), and the card's
    ``model.kwargs`` records every argument it was built with.

    Args:
        config: A bundled config name, a YAML path or a dict (see
            :mod:`painzoo.benchmark.config`); ``None`` when ``data`` is a
            :class:`~painzoo.datasets.Dataset`.
        model: A model of the config (its label or name) or any zoo name.
        out: Output folder; ``model.keras`` and ``model.json`` are written there.
        data: A data name of the config (default: the data of the first
            experiment), or a :class:`~painzoo.datasets.Dataset`.
        results: A ``painzoo benchmark`` output folder; the card then holds
            the benchmark metrics of this model on this data.
        recipe: Recipe overrides (a preset name or a dict), applied after
            the config's.
        image_size: Input side, or ``(height, width)`` (overrides the config).
        face_crop: :class:`~painzoo.preprocess.FaceCropper` arguments as a
            dict, ``None`` for no cropping, or ``"config"`` (the config's
            ``face_crop``).
        epochs: Override the recipe's epochs.
        seed: Training seed (default: the config's ``seed``, else 0).
        progress: Show a bar over epochs.

    Returns:
        The :class:`~painzoo.inference.card.PainModel` (Keras model + card).
        The card's ``training`` entry holds the training curve's ends and a
        ``flag`` (:func:`painzoo.evaluation.metrics.learning_flags`): a model
        whose loss did not fall, or which classifies its training images
        hardly better than by answering one class, is ``not_learning``, with a
        warning.

    Raises:
        ValueError: For a baseline (not a network), an unknown data name, a
            data set with one class only, or bad config values.
        FileNotFoundError: For a missing config or results folder.

    Example:
        >>> painzoo.train("quick", model="songnet", data="cppain", out="songnet-cppain")  # doctest: +SKIP
    """
    import keras
    import numpy as np

    import painzoo
    from painzoo.benchmark.config import apply_overrides, expand_models, load_config
    from painzoo.benchmark.units import load_data
    from painzoo.datasets import Dataset
    from painzoo.datasets.labels import predicted_label
    from painzoo.evaluation.metrics import learning_record, training_fit
    from painzoo.inference.card import (
        MODEL_FILE,
        PainModel,
        benchmark_metrics,
        make_card,
        write_card,
    )
    from painzoo.registry import model_kind
    from painzoo.training.recipe import Recipe
    from painzoo.utils.files import replace_when_complete
    from painzoo.utils.numbers import check_number

    if config is None and not isinstance(data, Dataset):
        raise ValueError(
            "painzoo.train needs a config (name or YAML file) or data=<Dataset>; received neither."
        )
    epochs = check_number(epochs, "epochs", low=1, integer=True, none=True)
    seed = check_number(seed, "seed", low=0, integer=True, none=True)
    if isinstance(image_size, (tuple, list)):
        image_size = tuple(check_number(v, "image_size", low=1, integer=True) for v in image_size)
    else:
        image_size = check_number(image_size, "image_size", low=1, integer=True, none=True)
    if out is None or str(out) == "":
        raise ValueError("out must be a folder for model.keras and model.json; received none.")
    cfg = {}
    if config is not None:
        side = image_size if isinstance(image_size, int) else None  # (h, w) is applied below
        cfg = apply_overrides(load_config(config), image_size=side, seed=seed)
    spec = _model_spec(cfg.get("models") or [], model, expand_models)
    if model_kind(spec["name"]) == "sklearn":
        raise ValueError(
            f"{spec['name']!r} is a baseline classifier, not a network; painzoo train saves "
            "Keras networks. Pick a zoo model (painzoo models lists them)."
        )
    if face_crop == "config":
        face_crop = cfg.get("face_crop")
    if isinstance(data, Dataset):
        ds, data_name = data, data.name
        _check_out(out, data, cfg, results)
        if face_crop:
            from painzoo import preprocess

            ds = preprocess.crop_dataset(ds, preprocess.FaceCropper(**dict(face_crop)))
    else:
        data_name = data or _default_data(cfg)
        if data_name not in cfg["data"]:
            raise ValueError(
                f"Unknown data {data_name!r}; the config defines {sorted(cfg['data'])}."
            )
        if face_crop:  # the images as read (cached): the crops live in painzoo's cache
            _check_out(
                out,
                load_data(data_name, cfg["data"], config_dir=cfg.get("config_dir")),
                cfg,
                results,
            )
        ds = load_data(
            data_name, cfg["data"], config_dir=cfg.get("config_dir"), face_crop=face_crop
        )
        if not face_crop:
            _check_out(out, ds, cfg, results)
    classes = sorted(set(ds.labels.tolist()))
    if classes != [0, 1]:
        raise ValueError(
            f"Data {data_name!r} holds only label(s) {classes}; training a pain model needs "
            "images of both classes (0 = no pain, 1 = pain)."
        )
    base = Recipe.from_config(cfg.get("recipe")) if cfg else Recipe.preset("p2")
    if spec["recipe"]:
        base = base.replace(**spec["recipe"])
    if recipe is not None:
        if isinstance(recipe, str) or "preset" in dict(recipe):
            base = Recipe.from_config(recipe)  # a preset replaces the config's recipe
        else:
            base = base.replace(**dict(recipe))
    changes = {}
    if epochs is not None:
        changes["epochs"] = int(epochs)
    train_seed = seed if seed is not None else cfg.get("seed", base.seed)
    changes["seed"] = int(train_seed)
    rec = base.replace(**changes)
    size = image_size or spec.get("input_size") or cfg.get("image_size")
    shape = None if size is None else resolve_input_spec(spec["name"], image_size=size).shape

    # the recipe's model aids (the "painzoo" preset's), then the config's model arguments
    model_kwargs = rec.model_kwargs_for(spec["name"], shape, spec["kwargs"])
    keras.utils.set_random_seed(rec.seed)
    with rec.scope():
        net = painzoo.get_model(spec["name"], input_shape=shape, **model_kwargs)
    history = rec.fit(net, ds, progress=progress)
    # a model that did not learn warns now and says so in its card; with no test
    # images here, its training curve and its fit of the training images tell
    fitted = predicted_label(np.asarray(rec.predict(net, ds), float))
    training = learning_record(
        [],
        [],
        history.history.get("loss"),
        run_id=f"painzoo train {spec['label']}",
        **training_fit(ds.labels, fitted, rec.class_weights(ds.labels)),
    )

    bench = None
    if results is not None:
        bench = benchmark_metrics(results, model=spec["label"], data=data_name)
    card = make_card(
        model_name=spec["name"],
        model_kwargs=model_kwargs,
        keras_model=net,
        # whatever made the training images (painzoo preprocess or the config)
        face_crop=(ds.preprocessing or {}).get("face_crop"),
        dataset=ds,
        recipe=rec.to_dict(),
        data_name=data_name,
        config_name=cfg.get("name"),
        benchmark=bench,
        training=training,
    )
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    with replace_when_complete(folder / MODEL_FILE) as tmp:  # an old model stays until then
        net.save(tmp)
    write_card(card, folder)
    return PainModel(net, card, folder / MODEL_FILE)


def _check_out(out, ds, cfg: dict, results) -> None:
    """Refuse an ``out`` folder that is an input or lies in the data's image folder."""
    from painzoo.utils.files import check_outputs

    inputs = [("image folder", f) for f in _image_folders(ds)]
    if cfg.get("config_file") and Path(cfg["config_file"]).is_file():
        inputs.append(("config", cfg["config_file"]))
    if results is not None:
        inputs.append(("--results folder", results))
    check_outputs(
        {"--out": out},
        inputs,
        command="painzoo train",
        fix="Pass --out a new folder outside the data, e.g. a folder named after the model "
        "next to the data folder.",
    )


def _image_folders(ds) -> list[Path]:
    """Folders that hold the data's image files: each file's folder and their common folder.

    The common folder is left out when it is a file-system root, the home
    folder or the working folder, which hold much more than the data.
    """
    import os

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


def _model_spec(entries, model: str, expand_models) -> dict:
    wanted = str(model).lower()
    specs = expand_models(entries) if entries else []
    for spec in specs:
        if spec["label"].lower() == wanted:
            return spec
    for spec in specs:
        if spec["name"] == wanted and not spec.get("sweep"):
            return spec
    import painzoo

    if wanted not in painzoo.list_models():
        from painzoo.registry import model_kind

        if model_kind(wanted) != "sklearn":
            labels = [s["label"] for s in specs]
            raise ValueError(
                f"Unknown model {model!r}: not a model of the config ({labels}) nor of the zoo "
                "(painzoo models lists them)."
            )
    return {"name": wanted, "kwargs": {}, "recipe": {}, "input_size": None, "label": wanted}


def _default_data(cfg: dict) -> str:
    experiments = cfg.get("experiments") or []
    if experiments:
        return experiments[0]["data"]
    return next(iter(cfg["data"]))
