"""Held-out-rat trials for calibrating the ``quick`` benchmark (docs/synthetic.md).

Renders synthetic RatsPain, leaves the given rats out one at a time, trains
each model on the others with a recipe given as JSON (as a ``quick`` unit
does: ``Recipe.fit`` / ``Recipe.predict``) and prints, per model and rat, the
held-out accuracy, the training accuracy, the held-out rat's majority share,
the CPU seconds (user + sys of this process) and the training plan::

    PYTHONPATH=. python experiments/calibrate_quick.py --size 48 --scale 0.5 \\
        --noise 8,16 --margin 1 --balance --models lbp_svm_r1p8_4x4,resnet18 \\
        --hold rat4,rat3 --recipe '{"preset": "painzoo", "augment": null, \\
        "optimizer": "adam", "learning_rate": 1e-3, "weight_decay": 0, \\
        "batch_size": 16, "epochs": 4, "min_steps": 0}'

``--balance`` keeps, per rat, as many no-pain as pain images.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=72)
    p.add_argument("--scale", type=float, default=0.15)
    p.add_argument("--noise", default="15,25", help="'low,high' grey levels or 'default'")
    p.add_argument("--rater", type=float, default=0.05, help="rater_noise")
    p.add_argument("--margin", type=int, default=0, help="pain_margin")
    p.add_argument("--balance", action="store_true")
    p.add_argument("--yaw", type=float, default=None, help="max_yaw (default: ±60°)")
    p.add_argument("--models", default="resnet18")
    p.add_argument("--hold", default="rat4", help="held-out rats, comma-separated")
    p.add_argument("--recipe", default='{"preset": "painzoo", "augment": null}')
    a = p.parse_args()

    import keras
    import numpy as np

    import painzoo
    from painzoo.datasets import make_synthetic
    from painzoo.models.lbp_svm import get_baseline
    from painzoo.training.recipe import Recipe

    noise = None if a.noise == "default" else tuple(float(v) for v in a.noise.split(","))
    ds = make_synthetic(
        "ratspain",
        image_size=a.size,
        scale=a.scale,
        rater_noise=a.rater,
        sensor_noise=noise,
        max_yaw=a.yaw,
        pain_margin=a.margin,
    )
    if a.balance:
        keep = []
        for rat in np.unique(ds.subjects):
            idx = [np.where((ds.subjects == rat) & (ds.labels == c))[0] for c in (0, 1)]
            k = min(len(i) for i in idx)
            keep += [i for ix in idx for i in ix[:k]]
        ds = ds.subset(np.sort(np.array(keep)))
    print("images", len(ds), flush=True)
    recipe = Recipe.from_config(json.loads(a.recipe))
    for hold in a.hold.split(","):
        test_rows = np.where(ds.subjects == hold)[0]
        train, test = ds.subset(np.where(ds.subjects != hold)[0]), ds.subset(test_rows)
        for name in a.models.split(","):
            c0, t0 = cpu_seconds(), time.time()
            keras.utils.set_random_seed(0)
            plan, train_acc = {}, float("nan")
            if name.startswith("lbp"):
                clf = get_baseline(name, class_weight="balanced")
                clf.fit(train.load_images(a.size), train.labels)
                p_pain = clf.predict_proba(test.load_images(a.size))[:, 1]
            else:
                plan = recipe.training_plan(len(train))
                with recipe.scope():
                    model = painzoo.get_model(name, input_shape=(a.size, a.size, 3))
                recipe.fit(model, train)
                p_pain = recipe.predict(model, test)
                train_acc = float(((recipe.predict(model, train) >= 0.5) == train.labels).mean())
                keras.backend.clear_session()
            share = float(test.labels.mean())
            row = {
                "model": name,
                "held_out": hold,
                "accuracy": round(float(((p_pain >= 0.5) == test.labels).mean()), 3),
                "train_accuracy": round(train_acc, 3),
                "majority": round(max(share, 1 - share), 3),
                "cpu_s": round(cpu_seconds() - c0, 1),
                "wall_s": round(time.time() - t0, 1),
                "plan": plan,
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
