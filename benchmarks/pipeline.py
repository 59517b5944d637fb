"""Does the input pipeline keep up? ResNet-18 training fed by make_input vs NumPy arrays.

Writes ``--n`` JPEG files (synthetic faces-sized noise, 128×128) to a
temporary folder and trains ResNet-18 at ``--size`` (112 px) for
``--epochs`` epochs three ways on the current Keras backend:

- ``arrays``: all images decoded and resized up front, ``model.fit(x, y)``;
- ``make_input``: ``painzoo.training.make_input`` from the files (the first
  epoch decodes and caches, later epochs read the cache);
- ``make_input p1``: the same with P1's augmentation (crop + flip).

Throughput is images/s over the epochs after the first (the first includes
compilation for every variant and decoding for the pipeline; it is reported
separately). Target: make_input / arrays ≥ 0.9.

Examples::

    python benchmarks/pipeline.py
    KERAS_BACKEND=torch python benchmarks/pipeline.py --n 256 --epochs 3

Prints a table and writes ``benchmarks/results/pipeline.csv`` (rows are
appended per backend so TensorFlow and PyTorch runs sit side by side).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


class _EpochTimer:
    def __init__(self):
        import keras

        class Cb(keras.callbacks.Callback):
            def __init__(cb):
                super().__init__()
                cb.times = []

            def on_epoch_begin(cb, epoch, logs=None):
                cb.t0 = time.perf_counter()

            def on_epoch_end(cb, epoch, logs=None):
                cb.times.append(time.perf_counter() - cb.t0)

        self.callback = Cb()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="training images")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "pipeline.csv"))
    args = parser.parse_args(argv)

    import cv2
    import keras

    import painzoo
    from painzoo.datasets import Dataset
    from painzoo.training import make_input

    rng = np.random.default_rng(0)
    rows = []
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            small = rng.random((16, 16, 3)).astype(np.float32)
            im = (cv2.resize(small, (128, 128), interpolation=cv2.INTER_CUBIC) * 255).clip(0, 255)
            cv2.imwrite(os.path.join(tmp, f"{i:05d}.jpg"), im.astype(np.uint8))
            rows.append({"image": f"{i:05d}.jpg", "label": i % 2, "subject": f"s{i % 20}"})
        ds = Dataset(pd.DataFrame(rows), root=tmp, name="bench")

        def run(name, make_data):
            keras.utils.set_random_seed(0)
            model = painzoo.get_model("resnet18", input_shape=(args.size, args.size, 3))
            model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
            timer = _EpochTimer().callback
            t0 = time.perf_counter()
            data = make_data()
            prep = time.perf_counter() - t0
            if isinstance(data, tuple):
                model.fit(
                    *data,
                    batch_size=args.batch,
                    epochs=args.epochs,
                    shuffle=True,
                    verbose=0,
                    callbacks=[timer],
                )
            else:
                model.fit(data, epochs=args.epochs, verbose=0, callbacks=[timer])
            steady = sum(timer.times[1:]) / max(1, len(timer.times) - 1)
            results.append(
                {
                    "backend": keras.backend.backend(),
                    "feed": name,
                    "images": args.n,
                    "size": args.size,
                    "batch": args.batch,
                    "prep_s": round(prep, 2),
                    "first_epoch_s": round(timer.times[0], 2),
                    "img_s": round(args.n / steady, 1),
                }
            )

        run("arrays", lambda: (ds.load_images(args.size).astype(np.float32), ds.labels))
        run(
            "make_input",
            lambda: make_input(ds, image_size=args.size, batch_size=args.batch, shuffle=True),
        )
        run(
            "make_input p1",
            lambda: make_input(
                ds, image_size=args.size, batch_size=args.batch, augment="p1", shuffle=True
            ),
        )
    base = results[0]["img_s"]
    for r in results:
        r["ratio_vs_arrays"] = round(r["img_s"] / base, 3)
        r["cpu_count"] = os.cpu_count()
        r["machine"] = platform.machine()
    header = list(results[0])
    widths = [max(len(h), *(len(str(r[h])) for r in results)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in results:
        print("  ".join(str(r[h]).ljust(w) for h, w in zip(header, widths)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    old = []
    if out.is_file():
        old = [r for r in csv.DictReader(open(out)) if r.get("backend") != results[0]["backend"]]
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(old + results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
