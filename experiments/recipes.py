"""Old default recipe vs painzoo's default, per network, under a subject-level K-fold.

Trains every named network from random weights on each fold and prints the
mean ± std (``ddof=1``) accuracy of the folds, the number of folds that collapsed to one
class or did not learn (:func:`painzoo.evaluation.metrics.learning_flags`) and
the seconds spent. The figures are accuracies, not speeds; run it on a quiet
machine if the time matters.

Examples::

    python experiments/recipes.py --data synthetic:ratspain --scale 0.2 --size 64 \\
        --models songnet resnet18 --recipes p2 painzoo --folds 3 --epochs 10
    python experiments/recipes.py --data london-crops/manifest.csv --size 112 \\
        --models resnet18 --recipes painzoo --folds 5 --epochs 30
    # a variant of a preset: fields given as YAML values
    python experiments/recipes.py --data london-crops/manifest.csv --size 64 \\
        --models songnet --recipes painzoo --set input_norm=null dropout=null --max-folds 1
    # synthetic PAIN-DB framed as face crops, as `quick` draws it
    python experiments/recipes.py --data synthetic:paindb --scale 0.05 --size 64 \\
        --data-args face_scale=2.0 pain_margin=1 rater_noise=0 --models resnet18
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _fields import add_model_args, field_values


def _dataset(spec: str, size: int, scale: float, data_args: dict):
    from painzoo.datasets import Dataset, make_synthetic

    if spec.startswith("synthetic:"):
        return make_synthetic(spec.split(":", 1)[1], image_size=size, scale=scale, **data_args)
    if data_args:
        raise SystemExit(f"--data-args applies to synthetic data only; {spec} is a manifest.")
    return Dataset.from_csv(spec)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="synthetic:<preset> or a manifest.csv")
    parser.add_argument("--scale", type=float, default=0.1, help="synthetic scale")
    parser.add_argument(
        "--data-args",
        nargs="*",
        default=[],
        metavar="ARG=VALUE",
        help="further make_synthetic arguments, values as YAML (face_scale=2.0 rater_noise=0)",
    )
    parser.add_argument("--size", type=int, default=64, help="input side")
    parser.add_argument("--models", nargs="+", default=["resnet18"])
    parser.add_argument("--recipes", nargs="+", default=["p2", "painzoo"])
    parser.add_argument("--folds", type=int, default=5, help="subject-level K")
    parser.add_argument("--max-folds", type=int, default=None, help="run only the first N folds")
    parser.add_argument(
        "--only-folds", type=int, nargs="+", default=None, help="fold numbers to run"
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="recipe fields applied on top of every preset, values as YAML (augment=null)",
    )
    add_model_args(parser)
    args = parser.parse_args(argv)
    overrides = field_values(parser, args.set, "--set")
    data_args = field_values(parser, args.data_args, "--data-args")
    model_args = field_values(parser, args.model_args, "--model-args")

    import keras

    import painzoo
    from painzoo.evaluation.metrics import learning_flags, training_fit
    from painzoo.evaluation.protocols import get_protocol
    from painzoo.training import Recipe

    ds = _dataset(args.data, args.size, args.scale, data_args)
    folds = get_protocol({"subject_kfold": {"n_splits": args.folds}}).folds(ds, seed=args.seed)
    folds = folds[: args.max_folds] if args.max_folds else folds
    folds = [f for f in folds if args.only_folds is None or f.fold in args.only_folds]
    print(
        f"data {args.data}: {len(ds)} images, {len(np.unique(ds.subjects))} subjects, "
        f"{len(folds)} folds, {args.size} px, {args.epochs} epochs, overrides {overrides}, data {data_args}, "
        f"model {model_args}"
    )
    print("| model | recipe | accuracy (mean ± std) | folds | flagged | s/fold |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        for rname in args.recipes:
            accs, flags, secs = [], [], []
            for f in folds:
                train, test = ds.subset(f.train), ds.subset(f.test)
                recipe = Recipe.preset(
                    rname, **{"epochs": args.epochs, "seed": args.seed + f.fold, **overrides}
                )
                keras.utils.set_random_seed(args.seed + f.fold)
                t0 = time.perf_counter()
                with recipe.scope():
                    shape = (args.size, args.size, 3)
                    model = painzoo.get_model(
                        name, input_shape=shape, **recipe.model_kwargs_for(name, shape, model_args)
                    )
                history = recipe.fit(model, train)
                p = recipe.predict(model, test)
                secs.append(time.perf_counter() - t0)
                # inference mode on the training images: did it fit them at all?
                # (class-weighted, as the loss and the flag read it)
                fitted = (recipe.predict(model, train) >= 0.5).astype(int)
                fit = training_fit(train.labels, fitted, recipe.class_weights(train.labels))
                y_pred = (p >= 0.5).astype(int)
                accs.append(float(np.mean(y_pred == test.labels)))
                flag = learning_flags(y_pred, history.history["loss"], y_true=test.labels, **fit)
                flags.append(flag)
                batches = history.history.get("accuracy") or [float("nan")]
                print(
                    f"  {name} {rname} fold {f.fold}: acc {accs[-1]:.3f} train acc {fit['train_accuracy']:.3f} "
                    f"(batches, last epochs {np.mean(batches[-3:]):.3f}) "
                    f"loss {history.history['loss'][0]:.3f}->{history.history['loss'][-1]:.3f} "
                    f"{flag}",
                    flush=True,
                )
                del model
                keras.backend.clear_session()
            n_flag = sum(bool(x) for x in flags)
            spread = np.std(accs, ddof=1) if len(accs) > 1 else 0.0  # as in docs/ tables
            print(
                f"| {name} | {rname} | {100 * np.mean(accs):.1f} ± {100 * spread:.1f} % "
                f"| {len(accs)} | {n_flag} | {np.mean(secs):.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
