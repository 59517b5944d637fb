"""Does PainSeeker's attention land on the action-unit regions? With and without PRSC.

Trains ``painseeker`` (λ = 0.1) and ``painseeker_no_prsc`` (λ = 0) briefly on
synthetic RatsPain (leave rat #6 out), then scores the attention maps β of
the held-out rat against the synthetic AU masks with
``painzoo.explain.localisation_score`` (energy share inside the masks and
pointing-game hit rate; ``baseline`` = the masks' area share, what a uniform
map would get). Prints a table and writes ``experiments/results/localisation.csv``.

    python experiments/localisation.py --size 128 --scale 0.1 --epochs 4
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-subject", default=None, help="Held-out rat (default: the last).")
    p.add_argument("--out", default="experiments/results")
    args = p.parse_args(argv)

    import keras

    import painzoo
    from painzoo.datasets import make_synthetic
    from painzoo.explain import localisation_score
    from painzoo.explain.attention import attention_maps

    ds = make_synthetic("ratspain", image_size=args.size, scale=args.scale, seed=args.seed)
    subjects = sorted(set(ds.subjects))
    test_subject = args.test_subject or subjects[-1]
    test = ds.subjects == test_subject
    x = ds.images.astype("float32")
    y = ds.labels
    rows = []
    for name in ("painseeker", "painseeker_no_prsc"):
        keras.utils.set_random_seed(args.seed)
        model = painzoo.get_model(name, input_shape=(args.size, args.size, 3))
        model.compile(
            optimizer=keras.optimizers.AdamW(args.lr, weight_decay=0.01),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        t0 = time.perf_counter()
        model.fit(x[~test], y[~test], batch_size=args.batch_size, epochs=args.epochs, verbose=2)
        train_s = time.perf_counter() - t0
        acc = float(np.mean(np.argmax(model.predict(x[test], verbose=0), axis=1) == y[test]))
        maps = attention_maps(model, x[test])
        masks = {k: v[test] for k, v in ds.masks.items()}
        all_score = localisation_score(maps, masks)
        pain = y[test] == 1
        pain_score = localisation_score(maps[pain], {k: v[pain] for k, v in masks.items()})
        rows.append(
            {
                "model": name,
                "test_subject": test_subject,
                "train_images": int((~test).sum()),
                "test_images": int(test.sum()),
                "epochs": args.epochs,
                "test_accuracy": acc,
                "energy": all_score.energy,
                "pointing": all_score.pointing,
                "energy_pain_only": pain_score.energy,
                "pointing_pain_only": pain_score.pointing,
                "uniform_baseline": all_score.baseline,
                "grid": f"{maps.shape[1]}x{maps.shape[2]}",
                "train_s": train_s,
                "backend": keras.backend.backend(),
            }
        )
        keras.backend.clear_session()
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "localisation.csv", index=False)
    print(f"Wrote {out / 'localisation.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
