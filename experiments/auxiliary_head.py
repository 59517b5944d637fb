"""A network trained with an auxiliary classifier on an inner layer, under a subject-level K-fold.

InceptionV3 was trained with an auxiliary classifier on ``mixed7`` (Szegedy
et al., "Rethinking the Inception Architecture for Computer Vision", 2016);
the Keras application leaves it out. This experiment adds one for training
only (a 1×1 convolution of 128 units, BatchNorm, ReLU, global average pooling
and a softmax over the classes) and adds its cross-entropy, times
``--aux-weight``, to the network's own. Prediction uses the network as built:
its layers and parameter count are unchanged. The recipe is the ``painzoo``
preset, as ``experiments/recipes.py`` runs it.

The training loss in the printout is the sum of the two losses (chance is
``(1 + aux_weight) · ln 2``), so the ``not_learning`` flag, which reads it
against ln 2, is not printed; the accuracy on the training photos (inference
mode, class-weighted) is.

Example::

    python experiments/auxiliary_head.py --data london-crops/manifest.csv --size 112 \\
        --model inceptionv3 --layer mixed7 --folds 5 --epochs 30
"""

from __future__ import annotations

import argparse
import time

from _fields import add_model_args, field_values
from _folds import score_fold, summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a manifest.csv")
    parser.add_argument("--size", type=int, default=112, help="input side")
    parser.add_argument("--model", default="inceptionv3")
    parser.add_argument("--layer", default="mixed7", help="the layer the auxiliary head reads")
    parser.add_argument("--aux-weight", type=float, default=0.4)
    parser.add_argument("--folds", type=int, default=5, help="subject-level K")
    parser.add_argument("--only-folds", type=int, nargs="+", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="recipe fields on top of the painzoo preset, values as YAML (min_steps=10)",
    )
    add_model_args(parser)
    args = parser.parse_args(argv)
    overrides = field_values(parser, args.set, "--set")
    model_args = field_values(parser, args.model_args, "--model-args")

    import keras

    import painzoo
    from painzoo.datasets import Dataset
    from painzoo.evaluation.protocols import get_protocol
    from painzoo.training import Recipe

    class WithAuxiliary(keras.losses.Loss):
        """The network's loss on the first half of the outputs plus ``weight`` × on the second."""

        def __init__(self, loss, weight: float):
            super().__init__(name="with_auxiliary")
            # per-image values: a Loss object's call, or the function a name stands for
            # ("sparse_categorical_crossentropy" when label_smoothing is 0)
            self.per_image = (
                loss.call if isinstance(loss, keras.losses.Loss) else keras.losses.get(loss)
            )
            self.weight = weight

        def call(self, y_true, y_pred):
            half = keras.ops.shape(y_pred)[-1] // 2
            main, aux = y_pred[:, :half], y_pred[:, half:]
            return self.per_image(y_true, main) + self.weight * self.per_image(y_true, aux)

    ds = Dataset.from_csv(args.data)
    folds = get_protocol({"subject_kfold": {"n_splits": args.folds}}).folds(ds, seed=args.seed)
    folds = [f for f in folds if args.only_folds is None or f.fold in args.only_folds]
    print(
        f"{args.model} + auxiliary head on {args.layer} (weight {args.aux_weight}): "
        f"{len(ds)} images, {len(folds)} folds, {args.size} px, {args.epochs} epochs, "
        f"overrides {overrides}"
    )
    accs = []
    for f in folds:
        train, test = ds.subset(f.train), ds.subset(f.test)
        recipe = Recipe.preset(
            "painzoo", **{"epochs": args.epochs, "seed": args.seed + f.fold, **overrides}
        )
        keras.utils.set_random_seed(args.seed + f.fold)
        t0 = time.perf_counter()
        shape = (args.size, args.size, 3)
        model = painzoo.get_model(
            args.model, input_shape=shape, **recipe.model_kwargs_for(args.model, shape, model_args)
        )
        n_params = model.count_params()
        x = keras.layers.Conv2D(128, 1, use_bias=False, name="aux_conv")(
            model.get_layer(args.layer).output
        )
        x = keras.layers.BatchNormalization(name="aux_bn")(x)
        x = keras.layers.Activation("relu", name="aux_relu")(x)
        x = keras.layers.GlobalAveragePooling2D(name="aux_pool")(x)
        aux = keras.layers.Dense(model.output.shape[-1], activation="softmax", name="aux_out")(x)
        trainer = keras.Model(model.input, keras.layers.Concatenate()([model.output, aux]))
        steps = recipe.training_plan(len(train))["total_steps"]
        trainer.compile(
            optimizer=recipe.make_optimizer(
                steps, recipe.lr_multipliers(model), recipe.centralized_kernels(model)
            ),
            loss=WithAuxiliary(recipe.make_loss(), args.aux_weight),
        )
        history = recipe.fit(trainer, train, compile=False)
        if model.count_params() != n_params:
            raise SystemExit("the auxiliary head changed the network's parameters")
        score = score_fold(recipe, model, train, test)
        accs.append(score["acc"])
        losses = history.history["loss"]
        print(
            f"  fold {f.fold}: acc {accs[-1]:.3f} train acc {score['train_acc']:.3f} "
            f"loss (both heads) {losses[0]:.3f}->{losses[-1]:.3f} "
            f"one class: {score['one_class']} {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        keras.backend.clear_session()
    print(summary(accs))


if __name__ == "__main__":
    main()
