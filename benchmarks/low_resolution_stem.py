"""InceptionV3 with its low-resolution stem (first convolution at stride 1), under a subject-level K-fold.

Szegedy et al., "Rethinking the Inception Architecture for Computer Vision"
(2016), section 9, kept InceptionV3's accuracy on small inputs by giving its
first convolution stride 1 instead of 2 ("151 × 151 receptive field with
stride 1 and maximum pooling after the first layer"). At 112 px the network
as built ends on 2 × 2 maps (mixed8-mixed10); with the first convolution at
stride 1 it ends on 5 × 5, as at 224 px, for about four times the compute.
The weights and parameter count are those of the network as built (a stride
has no weights). This experiment builds the network as Keras does
(``low_resolution_stem=False``), copies it with that one stride changed and
the same starting weights (``with_stride_one_stem``), and trains it with the
``painzoo`` preset, folds and seeds as ``benchmarks/recipes.py`` does. Since
2026-12-06 ``painzoo.get_model("inceptionv3")`` builds this stem itself for
inputs of at most 151 px, so ``benchmarks/recipes.py --models inceptionv3``
trains the same network; this script keeps the experiment's steps.

Example::

    python benchmarks/low_resolution_stem.py --data /tmp/london-crops/manifest.csv --size 112 \\
        --folds 5 --epochs 30 --only-folds 3 4
"""

from __future__ import annotations

import argparse
import time

from _fields import field_values
from _folds import score_fold, summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a manifest.csv")
    parser.add_argument("--size", type=int, default=112, help="input side")
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
    args = parser.parse_args(argv)
    overrides = field_values(parser, args.set, "--set")

    import keras

    import painzoo
    from painzoo.datasets import Dataset
    from painzoo.evaluation.protocols import get_protocol
    from painzoo.models.applications import with_stride_one_stem
    from painzoo.training import Recipe

    ds = Dataset.from_csv(args.data)
    folds = get_protocol({"subject_kfold": {"n_splits": args.folds}}).folds(ds, seed=args.seed)
    folds = [f for f in folds if args.only_folds is None or f.fold in args.only_folds]
    print(
        f"inceptionv3, first convolution at stride 1: {len(ds)} images, {len(folds)} folds, "
        f"{args.size} px, {args.epochs} epochs, overrides {overrides}"
    )
    accs = []
    for f in folds:
        train, test = ds.subset(f.train), ds.subset(f.test)
        recipe = Recipe.preset(
            "painzoo", **{"epochs": args.epochs, "seed": args.seed + f.fold, **overrides}
        )
        keras.utils.set_random_seed(args.seed + f.fold)
        t0 = time.perf_counter()
        with recipe.scope():
            built = painzoo.get_model(
                "inceptionv3", input_shape=(args.size, args.size, 3), low_resolution_stem=False
            )
            model = with_stride_one_stem(built)
        if model.count_params() != built.count_params():
            raise SystemExit("the stride change altered the network's parameters")
        shape = model.get_layer("mixed10").output.shape
        history = recipe.fit(model, train)
        score = score_fold(recipe, model, train, test)
        accs.append(score["acc"])
        losses = history.history["loss"]
        print(
            f"  fold {f.fold}: acc {accs[-1]:.3f} train acc {score['train_acc']:.3f} "
            f"loss {losses[0]:.3f}->{losses[-1]:.3f} mixed10 {tuple(shape[1:3])} "
            f"one class: {score['one_class']} {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        keras.backend.clear_session()
    print(summary(accs))


if __name__ == "__main__":
    main()
