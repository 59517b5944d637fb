"""Resolving a model's :class:`InputSpec` once (:func:`resolve_input_spec`), as timm's
``resolve_data_config`` does; :class:`InputSpec` lives in :mod:`painzoo.models.input_spec`."""

from __future__ import annotations

from painzoo.models.input_spec import InputSpec, as_hw, center_crop, input_size, resize_before_crop
from painzoo.registry import ModelInfo, model_info

__all__ = ["InputSpec", "center_crop", "input_size", "resize_before_crop", "resolve_input_spec"]


def resolve_input_spec(model_or_info, *, image_size=None, recipe=None, **overrides) -> InputSpec:
    """The :class:`InputSpec` of a model, resolved once from its metadata and the config.

    Precedence (lowest first): the model's default spec (its
    :attr:`ModelInfo.input_spec <painzoo.registry.ModelInfo.input_spec>` or a built model's
    ``input_shape``), ``image_size``, the recipe's ``test_resize`` where set, then ``overrides``.

    Args:
        model_or_info: A registered model name, a :class:`~painzoo.registry.ModelInfo`, a built
            Keras model, an :class:`InputSpec` (returned with the overrides applied) or ``None``
            (then ``image_size`` is required).
        image_size: The config's: a side (square) or ``(height, width)``; ``None``: the model's.
        recipe: A :class:`~painzoo.training.Recipe` or a recipe dict; its
            ``test_resize``, where not ``None``, replaces the model's crop policy.
        **overrides: Any :class:`InputSpec` field (``interpolation``, …).

    Raises:
        ValueError: For a model without a fixed input size and no ``image_size``, or a bad value.

    Example:
        >>> resolve_input_spec("songnet", image_size=(48, 64)).size
        (48, 64)
        >>> resolve_input_spec("painseeker", recipe={"test_resize": 256}).load_size
        (256, 256)
    """
    if isinstance(model_or_info, str):
        model_or_info = model_info(model_or_info)
    if isinstance(model_or_info, InputSpec | ModelInfo):
        spec = model_or_info if isinstance(model_or_info, InputSpec) else model_or_info.input_spec
        base = spec.to_dict()
    else:
        base = {}
        shape = getattr(model_or_info, "input_shape", None)
        if isinstance(shape, list):  # a multi-input Keras model: its first input
            shape = shape[0]
        if shape is not None and len(shape) == 4:  # a Keras model's (batch, H, W, C)
            shape = shape[1:]
        if shape is not None and shape[0] is not None and shape[1] is not None:
            base.update(height=int(shape[0]), width=int(shape[1]))
            if shape[2] is not None:
                base["channels"] = int(shape[2])
    if image_size is not None:
        h, w = as_hw(image_size)
        base.update(height=h, width=w)
    if recipe is not None:
        test_resize = recipe.get("test_resize") if isinstance(recipe, dict) else recipe.test_resize
        if test_resize is not None:
            base["test_resize"] = test_resize
    base.update(overrides)
    if "height" not in base or "width" not in base:
        raise ValueError(
            f"The model takes inputs of shape {getattr(model_or_info, 'input_shape', None)}; "
            "painzoo needs a fixed height and width. Pass image_size=(height, width)."
        )
    return InputSpec(**base)
