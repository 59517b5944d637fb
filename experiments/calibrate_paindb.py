"""How learnable is the synthetic PAIN-DB of ``quick``? LBP+SVM under subject 2-fold.

painzoo's ``lbp_svm_r1p8_4x4`` (balanced class weights) on ``make_synthetic
("paindb")`` at ``--size`` px, for each sensor-noise setting given: subject-
level 2-fold cross-validation (scikit-learn's ``GroupKFold``), pooled accuracy,
then the accuracy per source (UNBC, MInt PAIN, Delaware) and per pain level.
A hand-crafted descriptor near chance says the set, not a network, is the
problem. ``--models`` adds zoo networks trained with ``--recipe`` (JSON, as a
``quick`` unit trains them: ``Recipe.fit`` / ``Recipe.predict``), with the
CPU seconds of each; ``docs/synthetic.md`` records the figures::

    PYTHONPATH=. python experiments/calibrate_paindb.py --size 66 --scale 0.5 \\
        --subjects 80 --noise 8,16 default
    PYTHONPATH=. python experiments/calibrate_paindb.py --models resnet18 \\
        --recipe '{"preset": "painzoo", "optimizer": "adam", "learning_rate": 1e-3,
                   "weight_decay": 0, "batch_size": 16, "epochs": 8, "min_steps": 0}'
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=66)
    p.add_argument("--scale", type=float, default=0.5)
    p.add_argument("--subjects", type=int, default=0, help="random subjects kept (0 = all)")
    p.add_argument("--margin", type=int, default=0, help="pain_margin (1: pain PSPI >= 3)")
    p.add_argument(
        "--yaw", type=float, default=None, help="max_yaw in degrees (default: presets')"
    )
    p.add_argument("--face-scale", type=float, default=1.0, help="face_scale (people's head size)")
    p.add_argument("--rater", type=float, default=0.05, help="rater_noise")
    p.add_argument("--noise", nargs="+", default=["default"], help="'low,high' or 'default'")
    p.add_argument("--models", default="", help="zoo networks, comma-separated")
    p.add_argument("--recipe", default='{"preset": "painzoo"}', help="Recipe as JSON")
    a = p.parse_args()

    import json
    import resource

    import numpy as np
    from sklearn.model_selection import GroupKFold

    from painzoo.datasets import make_synthetic
    from painzoo.models.lbp_svm import get_baseline

    def cpu_seconds() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def fit_predict(name, ds, train, test, x):
        if name.startswith("lbp"):
            clf = get_baseline(name, class_weight="balanced")
            clf.fit(x[train], ds.labels[train])
            return clf.predict_proba(x[test])[:, 1]
        import keras

        import painzoo
        from painzoo.training.recipe import Recipe

        recipe = Recipe.from_config(json.loads(a.recipe))
        keras.utils.set_random_seed(0)
        with recipe.scope():
            model = painzoo.get_model(name, input_shape=(a.size, a.size, 3))
        recipe.fit(model, ds.subset(train))
        p_pain = recipe.predict(model, ds.subset(test))
        keras.backend.clear_session()
        return p_pain

    for noise in a.noise:
        sensor = None if noise == "default" else tuple(float(v) for v in noise.split(","))
        ds = make_synthetic(
            "paindb",
            image_size=a.size,
            scale=a.scale,
            rater_noise=a.rater,
            sensor_noise=sensor,
            pain_margin=a.margin,
            max_yaw=a.yaw,
            face_scale=a.face_scale,
        )
        if a.subjects:
            subjects = np.unique(ds.subjects)
            keep = np.random.default_rng(0).choice(subjects, a.subjects, replace=False)
            ds = ds.subset(np.isin(ds.subjects, keep))
        x, y = ds.load_images(a.size), ds.labels
        source, level = ds.frame["source"].to_numpy(), ds.frame["level"].to_numpy()
        for name in ["lbp_svm_r1p8_4x4", *filter(None, a.models.split(","))]:
            c0 = cpu_seconds()
            right = np.zeros(len(y), bool)
            for train, test in GroupKFold(2).split(x, y, ds.subjects):
                right[test] = (fit_predict(name, ds, train, test, x) >= 0.5) == y[test]
            by_source = {s: round(float(right[source == s].mean()), 2) for s in np.unique(source)}
            by_level = {
                int(v): round(float(right[level == v].mean()), 2) for v in np.unique(level)
            }
            print(
                f"noise {noise}, {name}: {len(y)} images, accuracy {right.mean():.3f}; "
                f"by source {by_source}; by level {by_level}; "
                f"{cpu_seconds() - c0:.0f} CPU-s",
                flush=True,
            )


if __name__ == "__main__":
    main()
