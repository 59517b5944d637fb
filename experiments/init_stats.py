"""Layer-by-layer activation statistics of a network at initialisation, on real images.

For each convolution, pooling, flatten and hidden dense layer: the mean
activation, the standard deviation *across images* (averaged over units) and
their ratio, and the share of units that are zero for every image. A ratio
near 0 means the layer's output is almost the same for every image: what
differs between faces is a small fraction of what they share (the overall
brightness), and a classifier on top has little to learn from. Run with and
without ``--input-norm`` (the default recipe's ``input_norm="dataset"``).

Example::

    python experiments/init_stats.py --data london-crops/manifest.csv --model songnet \\
        --size 64 --input-norm
"""

from __future__ import annotations

import argparse

import numpy as np


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a manifest.csv")
    parser.add_argument("--model", default="songnet")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--images", type=int, default=64, help="images to measure on")
    parser.add_argument("--input-norm", action="store_true", help="standardise as the default")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras

    import painzoo
    from painzoo.datasets import Dataset
    from painzoo.training import Recipe

    ds = Dataset.from_csv(args.data)
    rows = np.random.default_rng(args.seed).permutation(len(ds))[: args.images]
    ds = ds.subset(np.sort(rows))
    x = ds.load_images((args.size, args.size)).astype(np.float32)
    keras.utils.set_random_seed(args.seed)
    model = painzoo.get_model(args.model, input_shape=(args.size, args.size, 3))
    if args.input_norm:
        Recipe.preset("painzoo").normalize_inputs(model, ds)
    kinds = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.Flatten)
    names = [
        la.name
        for la in model.layers
        if isinstance(la, kinds)
        or (isinstance(la, keras.layers.Dense) and la.name != "predictions")
    ]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names + ["predictions"]])
    outs = probe(x, training=False)
    print(
        f"{args.model} at {args.size} px, {len(x)} images, input "
        f"{'standardised (dataset)' if args.input_norm else 'as built'}"
    )
    print("| layer | mean | std across images | ratio | units never > 0 |")
    print("|---|---|---|---|---|")
    for name, out in zip(names, outs[:-1]):
        a = keras.ops.convert_to_numpy(out).reshape(len(x), -1)
        mean, between = float(a.mean()), float(a.std(axis=0).mean())
        print(
            f"| {name} | {mean:.4f} | {between:.4f} | {between / max(abs(mean), 1e-12):.3f} "
            f"| {float((a.max(axis=0) <= 0).mean()):.2f} |"
        )
    p = keras.ops.convert_to_numpy(outs[-1])[:, -1]
    print(f"P(class 1) across images: mean {p.mean():.4f}, std {p.std():.4f}")


if __name__ == "__main__":
    main()
