"""The model registry: one name, one builder, one set of metadata.

Builders are plain functions returning a functional :class:`keras.Model`, in the manner of
``keras.applications``. :func:`get_model` builds by name, :func:`list_models` filters names with
shell wildcards and :func:`model_info` returns a model's :class:`ModelInfo`.

The zoo is the table of :mod:`painzoo.models.zoo`: metadata and, for each model, where its builder
lives (``"painzoo.models.alexnet:alexnet"``), imported only when :func:`get_model` builds it, so
that listing and describing models imports no backend. ``@register_model`` adds a builder function
(a user's plug-in) with its :class:`ModelInfo`.

``ModelInfo.kind`` says what a builder returns: ``"keras"`` (the zoo) or
``"sklearn"`` (an estimator on uint8 images: any ``lbp_svm_r<R>p<P>_<G>x<G>``);
it picks the model's learner (:func:`painzoo.training.learner.learner_class`).
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from painzoo.models import zoo

if TYPE_CHECKING:
    from painzoo.models.input_spec import InputSpec

__all__ = [
    "KINDS",
    "ModelInfo",
    "register_model",
    "get_model",
    "list_models",
    "model_info",
    "model_kind",
]

#: What a registered builder returns: a Keras model or a scikit-learn estimator.
KINDS = ("keras", "sklearn")


@dataclass(frozen=True)
class ModelInfo:
    """Metadata of a registered model.

    Attributes:
        name: Registered name (lower case).
        input_shape: Default input shape ``(H, W, 3)``.
        citation: Short reference to the paper that describes the network.
        weights: Pretrained weight names besides ``None`` and a file path, e.g. ``("imagenet",)``.
        tags: Free-form tags: ``"p1"``, ``"p2"``, ``"from_scratch"``, ``"imagenet"``.
        params: ``model.count_params()`` with 2 classes at the default input, or ``None``.
        params_6: The same with a 6-class head, where the paper reports one (SPEC §3, P2 Table 3).
        paper_params: The figure printed in the source paper, as text.
        description: One line saying what the model is.
        kind: What the builder returns: ``"keras"`` (a :class:`keras.Model`)
            or ``"sklearn"`` (a scikit-learn classifier on uint8 images).
        test_resize: The default test-time crop policy of :attr:`input_spec`:
            ``None`` (every model of the zoo) resizes the whole image to the input.
    """

    name: str = ""
    input_shape: tuple[int, int, int] = (224, 224, 3)
    citation: str = ""
    weights: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    params: int | None = None
    params_6: int | None = None
    paper_params: str | None = None
    description: str = ""
    extra: dict = field(default_factory=dict)
    kind: str = "keras"
    test_resize: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"ModelInfo.kind must be one of {KINDS}; received {self.kind!r}.")

    @property
    def input_spec(self) -> InputSpec:
        """The model's default :class:`~painzoo.preprocess.InputSpec`: :attr:`input_shape` and
        :attr:`test_resize` (``painzoo.preprocess.resolve_input_spec`` applies a config to it)."""
        from painzoo.models.input_spec import InputSpec

        h, w, c = self.input_shape
        return InputSpec(h, w, c, test_resize=self.test_resize)


def _from_table(name: str, entry: dict) -> tuple[str, ModelInfo, dict]:
    fields = {k: v for k, v in entry.items() if k not in ("builder", "kwargs")}
    return entry["builder"], ModelInfo(name=name, **fields), entry.get("kwargs", {})


# name -> (builder, or "module:function" to import when building; info; builder kwargs)
_REGISTRY: dict[str, tuple[Callable | str, ModelInfo, dict]] = {
    name: _from_table(name, entry) for name, entry in zoo.ZOO.items()
}


def register_model(name: str | None = None, *, info: ModelInfo | None = None) -> Callable:
    """Register a model builder under ``name``.

    The builder must accept ``num_classes``, ``input_shape`` and ``weights`` keyword arguments
    (plus any model-specific keywords) and return a :class:`keras.Model` that takes RGB float
    images in ``[0, 255]`` — or, with ``info.kind == "sklearn"``, a scikit-learn classifier whose
    ``fit`` and ``predict_proba`` take uint8 images ``[N, H, W, 3]``.

    Args:
        name: Registered name; defaults to ``info.name`` or the function name.
        info: The model's :class:`ModelInfo`.

    Raises:
        ValueError: If the name is taken, or ``info`` has no valid :attr:`ModelInfo.input_spec`.

    Example:
        >>> @register_model(info=ModelInfo(name="tiny", input_shape=(32, 32, 3)))
        ... def tiny(num_classes=2, input_shape=None, weights=None): ...
    """

    def decorator(builder: Callable) -> Callable:
        key = (name or (info.name if info and info.name else builder.__name__)).lower()
        if key in _REGISTRY:
            raise ValueError(
                f"A model named {key!r} is already registered; pick another name or "
                "unregister the existing one first."
            )
        meta = info or ModelInfo()
        meta.input_spec  # noqa: B018  (validates the input shape and test_resize now)
        if meta.name != key:
            meta = ModelInfo(**{**meta.__dict__, "name": key})
        _REGISTRY[key] = (builder, meta, {})
        return builder

    return decorator


def _unregister(name: str) -> None:
    """Remove ``name`` from the registry (for tests and plug-ins)."""
    _REGISTRY.pop(name.lower(), None)


def _entry(name: str) -> tuple[Callable | str, ModelInfo, dict]:
    key = str(name).lower()
    if key in _REGISTRY:
        return _REGISTRY[key]
    for pattern, make_entry in zoo.FAMILIES:
        match = pattern.match(key)
        if match:
            return _from_table(key, make_entry(match))
    close = difflib.get_close_matches(key, list(_REGISTRY), n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"Unknown model {name!r}.{hint} Call painzoo.list_models() for every name.")


def _lookup(name: str) -> tuple[Callable, ModelInfo]:
    """The builder of ``name`` (imported now if the table names its location) and its info."""
    builder, info, kwargs = _entry(name)
    if isinstance(builder, str):
        module, function = builder.split(":")
        builder = getattr(importlib.import_module(module), function)
    return (functools.partial(builder, **kwargs) if kwargs else builder), info


def get_model(
    name: str,
    *,
    num_classes: int = 2,
    input_shape: tuple[int, int, int] | None = None,
    weights: str | None = None,
    **kwargs,
):
    """Build a registered model.

    By default every zoo network is the published one: Keras applications as ``keras.applications``
    builds them, the papers' small networks as defined there, ResNet-18 as torchvision builds it.
    painzoo's aids for training from random weights (``he_init``, ``zero_init_residual``,
    ``low_resolution_stem``, ``keras_init``) are keywords, off unless given; the ``"painzoo"``
    recipe passes them (:meth:`painzoo.training.recipe.Recipe.model_kwargs_for`).

    Args:
        name: Registered name, e.g. ``"painseeker"`` (case-insensitive).
        num_classes: Number of output classes of the softmax head.
        input_shape: ``(H, W, 3)``; defaults to the model's own input shape.
        weights: ``None`` (random initialisation), one of the names in ``model_info(name).weights``
            (e.g. ``"imagenet"``) or a path to a weights file.
        **kwargs: Model-specific keyword arguments (e.g. ``prsc_weight``).

    Returns:
        A :class:`keras.Model` taking RGB float images in ``[0, 255]`` and
        returning class probabilities ``[batch, num_classes]``; for a model
        of kind ``"sklearn"``, an unfitted scikit-learn classifier.

    Raises:
        ValueError: For an unknown name (with the closest names), or invalid arguments.
    """
    builder, info = _lookup(name)
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1; received {num_classes}.")
    shape = tuple(input_shape) if input_shape is not None else info.input_shape
    if len(shape) != 3 or shape[-1] != 3:
        raise ValueError(
            f"input_shape must be (height, width, 3) for RGB images; received {shape}."
        )
    return builder(num_classes=num_classes, input_shape=shape, weights=weights, **kwargs)


def list_models(
    pattern: str | None = None, *, tag: str | None = None, kind: str | None = "keras"
) -> list[str]:
    """Names of registered models, sorted.

    Args:
        pattern: Shell wildcard, e.g. ``"resnet*"``; ``None`` lists all.
        tag: Keep only models carrying this tag (e.g. ``"p2"``).
        kind: Keep only models of this :attr:`ModelInfo.kind`; the default ``"keras"`` lists the
            networks (Keras models), ``None`` lists every kind (the LBP baselines too).
    """
    names = sorted(_REGISTRY)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]
    if tag is not None:
        names = [n for n in names if tag in _REGISTRY[n][1].tags]
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS} or None; received {kind!r}.")
        names = [n for n in names if _REGISTRY[n][1].kind == kind]
    return names


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model, without importing its builder.

    A name of a family such as ``"lbp_svm_r2p16_7x7"`` resolves too.

    Raises:
        ValueError: For an unknown name, suggesting the closest names.
    """
    return _entry(name)[1]


def model_kind(name: str) -> str | None:
    """``model_info(name).kind``, or ``None`` for a name the registry does not know."""
    try:
        return model_info(name).kind
    except ValueError:
        return None
