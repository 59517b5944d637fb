"""Learners: one model of the registry behind ``fit`` / ``predict_proba``, whatever its kind.

A :class:`Learner` wraps one registered model behind two calls, as
scikit-learn estimators do: :meth:`~Learner.fit` on a training
:class:`~painzoo.datasets.Dataset` and :meth:`~Learner.predict_proba` on a
test one, which returns the probability of pain per row (float ``[N]``).

- :class:`KerasLearner` (kind ``"keras"``, the zoo): builds the network with
  :func:`painzoo.get_model` and the model aids the unit's
  :class:`~painzoo.training.recipe.Recipe` asks for, and trains it with the recipe.
- :class:`SklearnLearner` (kind ``"sklearn"``, the LBP + SVM baselines of
  :mod:`painzoo.models.lbp_svm`): fits the estimator on uint8 images.

:func:`learner_class` picks the learner from ``ModelInfo.kind``; what differs
between kinds is the learner's business (e.g. :attr:`Learner.trains_network`).

Example:
    >>> from painzoo.training.recipe import Recipe
    >>> learner = get_learner("songnet", recipe=Recipe(epochs=2), input_spec=InputSpec(64, 64))
    >>> p_pain = learner.fit(train).predict_proba(test)
"""

from __future__ import annotations

import numpy as np

from painzoo.preprocess.spec import InputSpec, resolve_input_spec

__all__ = ["Learner", "KerasLearner", "SklearnLearner", "LEARNERS", "get_learner", "learner_class"]


class Learner:
    """One model behind ``fit`` / ``predict_proba``; subclasses implement both.

    Attributes:
        name: Registered model name.
        kwargs: Keyword arguments of the model builder.
        recipe: The unit's :class:`~painzoo.training.recipe.Recipe`.
        input_spec: The :class:`~painzoo.preprocess.InputSpec` images become model
            inputs by (size and test transform): the one given, else the model's
            default with the recipe's ``test_resize``
            (:func:`~painzoo.preprocess.resolve_input_spec`).
        losses: Training loss per epoch after :meth:`fit` (``None`` for a model
            that is not trained by epochs); the benchmark's learning flags read it.
        model_kwargs: The keyword arguments the model is built with: ``kwargs``
            plus, for a network, the aids the recipe asks for
            (:meth:`~painzoo.training.recipe.Recipe.model_kwargs_for`).
        model_aids: The part of ``model_kwargs`` the recipe added (``{}``
            when it added none).
        trains_network: Whether :meth:`fit` trains a network (the benchmark
            starts these units first and calls the others baselines).
    """

    trains_network = False

    def __init__(
        self,
        name: str,
        kwargs: dict | None = None,
        *,
        recipe=None,
        input_spec: InputSpec | None = None,
    ):
        from painzoo.training.recipe import Recipe

        self.name = name
        self.kwargs = dict(kwargs or {})
        self.recipe = recipe if recipe is not None else Recipe()
        self.input_spec = input_spec or resolve_input_spec(name, recipe=self.recipe)
        self.losses: list[float] | None = None
        self.model_kwargs = dict(self.kwargs)
        self.model_aids: dict = {}

    def fit(self, dataset, *, progress: bool = False, callbacks=None) -> Learner:
        """Train on ``dataset`` (a :class:`~painzoo.datasets.Dataset`); return ``self``.

        Args:
            dataset: Training data.
            progress: Show a bar over epochs (where training has epochs).
            callbacks: Extra Keras callbacks (ignored by learners without epochs).
        """
        raise NotImplementedError

    def predict_proba(self, dataset) -> np.ndarray:
        """Probability of pain (label 1) for every row of ``dataset``, float ``[N]``."""
        raise NotImplementedError

    def save(self, path) -> None:
        """Save the fitted model to ``path``."""
        raise NotImplementedError

    def close(self) -> None:
        """Free what the fitted model holds (a Keras session); the learner is done."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.kwargs!r})"


class KerasLearner(Learner):
    """A network of the zoo, built by :func:`painzoo.get_model` and trained by the recipe.

    The network is built inside :meth:`Recipe.scope` (dtype policy and
    devices) at :attr:`input_spec`'s shape, with the recipe's model aids under ``kwargs``
    (:meth:`Recipe.model_kwargs_for`), and trained by :meth:`Recipe.fit`
    (the benchmark adds a callback that ends training within a batch on
    Ctrl-C / SIGTERM).

    Attributes:
        model: The trained :class:`keras.Model` after :meth:`fit`.
    """

    trains_network = True

    def __init__(self, name: str, kwargs: dict | None = None, *, recipe=None, input_spec=None):
        super().__init__(name, kwargs, recipe=recipe, input_spec=input_spec)
        self.input_shape = self.input_spec.shape
        self.model_kwargs = self.recipe.model_kwargs_for(self.name, self.input_shape, self.kwargs)
        self.model_aids = {k: v for k, v in self.model_kwargs.items() if k not in self.kwargs}

    def fit(self, dataset, *, progress: bool = False, callbacks=None) -> KerasLearner:
        import keras

        from painzoo.registry import get_model
        from painzoo.training.trainer import traced_gradients

        self._gradients = traced_gradients()  # forgotten again in close()
        keras.utils.set_random_seed(int(self.recipe.seed))  # the initial weights
        with self.recipe.scope():
            self.model = get_model(self.name, input_shape=self.input_shape, **self.model_kwargs)
        history = self.recipe.fit(
            self.model,
            dataset,
            progress=progress,
            callbacks=list(callbacks or []),
            input_spec=self.input_spec,
        )
        self.losses = history.history.get("loss", [])
        return self

    def predict_proba(self, dataset) -> np.ndarray:
        return np.asarray(self.recipe.predict(self.model, dataset, self.input_spec), float)

    def save(self, path) -> None:
        """Save the trained network (``model.save``: ``.keras`` file)."""
        self.model.save(path)

    def close(self) -> None:
        import keras

        from painzoo.training.trainer import forget_traced_gradients

        self.model = None
        keras.backend.clear_session()
        if hasattr(self, "_gradients"):  # else TensorFlow keeps every trained network alive
            forget_traced_gradients(self._gradients)


class SklearnLearner(Learner):
    """A scikit-learn classifier on uint8 images (the LBP + SVM baselines).

    Images are read at :attr:`input_spec`'s size. The
    recipe's ``class_weight="balanced"`` is passed to the estimator unless
    the config sets ``class_weight`` itself; the other recipe fields (epochs,
    optimiser …) do not apply.

    Attributes:
        estimator: The fitted estimator after :meth:`fit`.
    """

    def _build(self):
        from painzoo.registry import get_model

        kwargs = dict(self.kwargs)
        if self.recipe.class_weight == "balanced":
            kwargs.setdefault("class_weight", "balanced")
        if learner_class(self.name) is SklearnLearner:  # any lbp_svm_r<R>p<P>_<G>x<G>
            return get_model(self.name, **kwargs)
        raise ValueError(f"{self.name!r} is not a scikit-learn model of the registry.")

    def fit(self, dataset, *, progress: bool = False, callbacks=None) -> SklearnLearner:
        self.estimator = self._build().fit(
            dataset.load_images(self.input_spec.size), dataset.labels
        )
        return self

    def predict_proba(self, dataset) -> np.ndarray:
        proba = self.estimator.predict_proba(dataset.load_images(self.input_spec.size))
        classes = list(getattr(self.estimator, "classes_", [0, 1]))
        return np.asarray(proba, float)[:, classes.index(1)]  # the column of label 1 (pain)

    def save(self, path) -> None:
        """Pickle the fitted estimator to ``path`` (``joblib``)."""
        import joblib

        joblib.dump(self.estimator, path)


LEARNERS = {"keras": KerasLearner, "sklearn": SklearnLearner}


def learner_class(name: str) -> type[Learner]:
    """The :class:`Learner` subclass for model ``name``, by the registry's ``kind``.

    LBP baseline names outside the registered six (``lbp_svm_r2p8_4x4``) get
    :class:`SklearnLearner` too.

    Raises:
        ValueError: For a name that the registry does not know (with the closest names).
    """
    from painzoo.registry import model_info

    return LEARNERS[model_info(name).kind]


def get_learner(
    name: str, kwargs: dict | None = None, *, recipe=None, input_spec: InputSpec | None = None
) -> Learner:
    """The learner for the registered model ``name``, by its ``kind``.

    Args:
        name: Registered model name (or an LBP baseline name).
        kwargs: Keyword arguments of the model builder.
        recipe: A :class:`~painzoo.training.recipe.Recipe` (default: ``Recipe()``).
        input_spec: The :class:`~painzoo.preprocess.InputSpec` (default: the
            model's, with the recipe's ``test_resize``).

    Returns:
        A :class:`KerasLearner` or :class:`SklearnLearner`, not yet fitted.

    Raises:
        ValueError: For an unknown model name.
    """
    return learner_class(name)(name, kwargs, recipe=recipe, input_spec=input_spec)
