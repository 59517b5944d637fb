"""What a network's layers do while it trains: one fold, traced epoch by epoch.

Trains one network from random weights on one fold of a subject-level
K-fold, as ``experiments/recipes.py`` does (same folds, seeds and recipe), and
every ``--every`` epochs prints the training loss and accuracy of the epoch
and, on the un-augmented training images in inference mode, for each
convolution and hidden dense layer the share of its units that are active
(> 0) for at least one image and their mean output, then the range of the
predicted probability of the last class. A network that settles at the
trivial answer shows it here long before its loss says so: its deep layers'
outputs shrink towards 0, their units fall silent, and the predicted
probability becomes the same for every image. Ends with the test accuracy.

With ``--curve`` it prints instead, at the same epochs, the accuracy in
inference mode on the un-augmented training images and on the fold's test
images: whether a network learns late, never, or learns and then overfits
(a diagnostic only; the test images are never used to choose anything).

Example::

    python experiments/training_trace.py --data london-crops/manifest.csv --model alexnet \\
        --size 112 --fold 1 --every 10
    python experiments/training_trace.py --data london-crops/manifest.csv --model alexnet \\
        --size 112 --fold 1 --set augment=flip min_steps=300
    python experiments/training_trace.py --data london-crops/manifest.csv --model inceptionv3 \\
        --size 112 --fold 0 --every 8 --curve
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _fields import add_model_args, field_values


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a manifest.csv")
    parser.add_argument("--model", default="alexnet")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--folds", type=int, default=5, help="subject-level K")
    parser.add_argument("--fold", type=int, default=0, help="the fold to train")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--preset", default="painzoo")
    parser.add_argument("--set", nargs="*", default=[], help="recipe fields as key=YAML value")
    parser.add_argument("--every", type=int, default=5, help="trace every N epochs (and 0-3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--curve",
        action="store_true",
        help="print training (inference mode) and test accuracy instead of the layers",
    )
    add_model_args(parser)
    args = parser.parse_args(argv)

    import keras

    import painzoo
    from painzoo.datasets import Dataset
    from painzoo.evaluation.protocols import get_protocol
    from painzoo.training import Recipe

    overrides = field_values(parser, args.set, "--set")
    model_args = field_values(parser, args.model_args, "--model-args")
    if not 0 <= args.fold < args.folds:
        parser.error(f"--fold must be in 0..{args.folds - 1}; received {args.fold}")
    ds = Dataset.from_csv(args.data)
    folds = get_protocol({"subject_kfold": {"n_splits": args.folds}}).folds(ds, seed=args.seed)
    fold = folds[args.fold]
    train, test = ds.subset(fold.train), ds.subset(fold.test)
    recipe = Recipe.preset(
        args.preset, **{"epochs": args.epochs, "seed": args.seed + fold.fold, **overrides}
    )
    keras.utils.set_random_seed(args.seed + fold.fold)
    with recipe.scope():
        shape = (args.size, args.size, 3)
        model = painzoo.get_model(
            args.model, input_shape=shape, **recipe.model_kwargs_for(args.model, shape, model_args)
        )
    print(
        f"{args.model} fold {fold.fold}: {len(train)} training images, plan {recipe.training_plan(len(train))}"
    )
    weighted = (keras.layers.Conv2D, keras.layers.Dense)
    names = [la.name for la in model.layers if isinstance(la, weighted)]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])

    x_train = np.asarray(train.load_images(recipe.input_spec(model).size), "float32")

    class Trace(keras.callbacks.Callback):
        steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1

        def on_epoch_end(self, epoch, logs=None):
            if epoch > 3 and epoch % args.every:
                return
            head = (
                f"epoch {epoch} step {self.steps} loss {logs['loss']:.4f} "
                f"acc {logs.get('accuracy', float('nan')):.3f}"
            )
            if args.curve:
                fit = _accuracy(recipe.predict(self.model, train), train.labels)
                held = _accuracy(recipe.predict(self.model, test), test.labels)
                print(f"{head} | train (inference) {fit:.3f} | test {held:.3f}", flush=True)
                return
            outs = [keras.ops.convert_to_numpy(o) for o in probe([x_train], training=False)]
            parts = []
            for name, out in zip(names[:-1], outs[:-1]):
                flat = out.reshape(-1, out.shape[-1])
                parts.append(
                    f"{name} live {(flat > 0).any(axis=0).mean():.2f} mean {flat.mean():.3g}"
                )
            p = outs[-1][:, -1]
            print(
                f"{head} | " + " | ".join(parts) + f" | p {p.min():.2f}-{p.max():.2f}",
                flush=True,
            )

    start = time.perf_counter()
    recipe.fit(model, train, callbacks=[Trace()])
    accuracy = _accuracy(recipe.predict(model, test), test.labels)
    print(f"test accuracy {accuracy:.3f} ({time.perf_counter() - start:.0f} s)")


def _accuracy(p, labels) -> float:
    from painzoo.evaluation.metrics import binary_metrics

    return binary_metrics(labels, (np.asarray(p) >= 0.5).astype(int))["accuracy"]


if __name__ == "__main__":
    main()
