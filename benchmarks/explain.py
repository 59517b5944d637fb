"""LIME cost: painzoo's explanation vs. the model's own inference, and `lime`'s defaults.

For each image: the time of ``painzoo.explain.lime_explanation`` (segmentation,
perturbations, batched predictions, ridge fit), the time the model alone
needs to predict the same number of images at the same batch size, their
ratio (target ≤ 1.3), and the time of ``lime.lime_image.LimeImageExplainer
().explain_instance`` with its defaults (batch of 10, quickshift) on the same
model. Prints a table and writes ``benchmarks/results/explain.csv``.

    python benchmarks/explain.py --model resnet18 --size 112 --num-samples 1000
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet18")
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--images", type=int, default=3)
    p.add_argument("--segmenter", default="quickshift")
    p.add_argument("--skip-lime-package", action="store_true")
    p.add_argument("--out", default="benchmarks/results")
    args = p.parse_args(argv)

    import keras
    from lime.lime_image import LimeImageExplainer

    import painzoo
    from painzoo.datasets import make_synthetic
    from painzoo.explain import lime_explanation

    model = painzoo.get_model(args.model, input_shape=(args.size, args.size, 3))
    ds = make_synthetic("ratspain", image_size=args.size, scale=0.01, seed=0)
    images = ds.images[: args.images]

    def predict(x):
        return np.asarray(model.predict_on_batch(x))

    # Warm-up: build the graph and allocate once, outside the timings.
    lime_explanation(model, images[0], num_samples=args.batch_size, batch_size=args.batch_size)
    predict(np.zeros((args.batch_size, args.size, args.size, 3), np.float32))

    rows = []
    for i, image in enumerate(images):
        t0 = time.perf_counter()
        exp = lime_explanation(
            model,
            image,
            num_samples=args.num_samples,
            segmenter=args.segmenter,
            batch_size=args.batch_size,
            seed=i,
        )
        t_painzoo = time.perf_counter() - t0

        rng = np.random.default_rng(i)
        perturbed = np.where(
            rng.integers(0, 2, (args.num_samples, 1, 1, 1)).astype(bool), image, 0
        ).astype(np.float32)
        t0 = time.perf_counter()
        for s in range(0, args.num_samples, args.batch_size):
            predict(perturbed[s : s + args.batch_size])
        t_model = time.perf_counter() - t0

        t_lime = float("nan")
        if not args.skip_lime_package:
            explainer = LimeImageExplainer(random_state=i)
            t0 = time.perf_counter()
            explainer.explain_instance(
                image.astype(np.float64), predict, num_samples=args.num_samples
            )
            t_lime = time.perf_counter() - t0
        rows.append(
            {
                "image": i,
                "segments": int(exp.segments.max()) + 1,
                "painzoo_s": t_painzoo,
                "model_only_s": t_model,
                "ratio": t_painzoo / t_model,
                "lime_defaults_s": t_lime,
                "speedup_vs_lime": t_lime / t_painzoo,
            }
        )
        print(
            f"image {i}: painzoo {t_painzoo:.2f}s, model {t_model:.2f}s, "
            f"ratio {t_painzoo / t_model:.2f}, lime {t_lime:.2f}s",
            flush=True,
        )

    table = pd.DataFrame(rows)
    mean = table.mean(numeric_only=True).to_dict()
    table["image"] = table["image"].astype(str)
    table = pd.concat([table, pd.DataFrame([{**mean, "image": "mean"}])], ignore_index=True)
    for key, value in {
        "model": args.model,
        "size": args.size,
        "num_samples": args.num_samples,
        "batch_size": args.batch_size,
        "backend": keras.backend.backend(),
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }.items():
        table[key] = value
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "explain.csv", index=False)
    print(f"Wrote {out / 'explain.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
