"""The model a benchmark evaluated, trained on all images of one of its data sets.

``painzoo train --config`` and :func:`painzoo.train` with a config come here:
the config gives the model and its overrides, the recipe, the input size, the
face crop and the data; :func:`painzoo.inference.train` trains and saves.
"""

from __future__ import annotations

import os
from pathlib import Path

from painzoo.benchmark.config import ModelEntry, apply_overrides, load_config

__all__ = ["train_from_config"]


def train_from_config(
    config,
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
    """Train a model of an evaluation config on every image of one of its data sets.

    The model's overrides, recipe, input size and face crop come from the config
    as ``painzoo benchmark`` uses them: the model it evaluated, trained on all data.

    Args:
        config: A bundled config name, a YAML path or a dict (see :mod:`painzoo.benchmark.config`).
        model: A model of the config (its label or name) or any zoo name.
        out: Output folder; ``model.keras`` and ``model.json`` are written there.
        data: A data name of the config (default: the data of the first
            experiment), or a :class:`~painzoo.datasets.Dataset`.
        results: A ``painzoo benchmark`` folder; the card gets its metrics of this model and data.
        recipe: Recipe overrides (a preset or a dict), after the config's and the model entry's.
        image_size: Input side or ``(height, width)`` (overrides the config).
        face_crop: :class:`~painzoo.preprocess.FaceCropper` arguments as a
            dict, ``None`` for no cropping, or ``"config"`` (the config's).
        epochs: Override the recipe's epochs.
        seed: Training seed (default: the config's ``seed``, else 0).
        progress: Show a bar over epochs.

    Returns:
        The :class:`~painzoo.inference.card.PainModel` of :func:`painzoo.inference.train`.

    Raises:
        ValueError: For an unknown model or data name, a baseline, or bad values.
        FileNotFoundError: For a missing config or results folder.

    Example:
        >>> painzoo.train("quick", model="songnet", data="cppain", out="songnet-cppain")  # doctest: +SKIP
    """
    from painzoo.datasets import Dataset
    from painzoo.datasets.entries import load_entry
    from painzoo.inference.train import train
    from painzoo.utils.numbers import check_number

    seed = check_number(seed, "seed", low=0, integer=True, none=True)
    cfg = apply_overrides(load_config(config), image_size=image_size, seed=seed)
    spec = _model_entry(cfg, model)
    if isinstance(data, Dataset):
        ds = data
    else:
        name = data or cfg.experiments[0].data
        if name not in cfg.data:
            raise ValueError(f"Unknown data {name!r}; the config defines {sorted(cfg.data)}.")
        ds = load_entry(name, cfg.data_specs, config_dir=cfg.config_dir)
    inputs = []
    if cfg.config_file and Path(cfg.config_file).is_file():
        inputs.append(("config", cfg.config_file))
    return train(
        ds,
        model=spec.name,
        model_kwargs=spec.kwargs,
        out=out,
        recipe=spec.recipe.updated(recipe),
        image_size=image_size or spec.image_size,
        face_crop=cfg.face_crop if face_crop == "config" else face_crop,
        epochs=epochs,
        seed=cfg.seed,
        results=results,
        label=spec.label,
        config_name=cfg.name,
        inputs=inputs,
        progress=progress,
    )


def _model_entry(cfg, model: str) -> ModelEntry:
    """The config's model labelled or named ``model``, else a plain zoo model."""
    from painzoo.registry import model_kind

    found = cfg.model(model)
    if found is not None:
        return found
    wanted = str(model).lower()
    if model_kind(wanted) is None:
        labels = [m.label for m in cfg.models]
        raise ValueError(
            f"Unknown model {model!r}: not a model of the config ({labels}) nor of the zoo "
            "(painzoo models lists them)."
        )
    return ModelEntry(wanted, wanted, {}, cfg.recipe, cfg.image_size)
