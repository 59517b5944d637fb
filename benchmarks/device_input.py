"""Device-resident vs streaming input pipeline: images/s of make_input on JAX or PyTorch.

For each augmentation (none, ``p1``, ``p2``) builds ``make_input`` twice from
the same ``--n`` in-memory images (``--load`` px, resized to ``--size``):

- ``streaming``: ``device_resident=False`` — the host ``PyDataset`` (NumPy
  batches, per-image Keras augmentation layers, ``--workers`` threads);
- ``device``: ``device_resident=True`` — uint8 images on the device, batched
  ``keras.ops`` augmentation (:mod:`painzoo.training.device_input`).

It iterates every batch of ``--epochs`` epochs after one warm-up epoch (which
decodes, caches and compiles) and reports images/s, waiting for the device
at the end of each epoch. With ``--fit MODEL`` it also trains that model
through both pipelines and reports training images/s after the first epoch.

Examples::

    KERAS_BACKEND=jax nice -n 10 python benchmarks/device_input.py --n 256 --size 64
    KERAS_BACKEND=torch nice -n 10 python benchmarks/device_input.py --n 256 --size 64
    KERAS_BACKEND=jax python benchmarks/device_input.py --n 2048 --size 224 --batch 256 \\
        --fit resnet18   # on a GPU machine

Prints a table and writes ``benchmarks/results/device_input.csv`` (rows of
other backends are kept).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


def _sync(x) -> None:
    """Wait until ``x`` (and the device work queued before it) is computed."""
    import keras

    keras.ops.convert_to_numpy(x)


def _iterate(pipe, epochs: int) -> float:
    """Seconds for ``epochs`` passes over every batch of ``pipe``."""
    import keras

    t0 = time.perf_counter()
    for _ in range(epochs):
        acc = None
        for i in range(len(pipe)):
            x, _y = pipe[i]
            s = keras.ops.sum(x[:, 0, 0, 0])  # a dependency on every batch, no host copy
            acc = s if acc is None else acc + s
        _sync(acc)
        pipe.on_epoch_end()
    return time.perf_counter() - t0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="images")
    parser.add_argument("--load", type=int, default=96, help="side of the source images")
    parser.add_argument("--size", type=int, default=64, help="training size")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="threads of the streaming feed")
    parser.add_argument("--augment", nargs="+", default=["none", "p1", "p2"])
    parser.add_argument("--fit", default=None, help="also train this zoo model through both")
    parser.add_argument("--out", default=str(RESULTS / "device_input.csv"))
    args = parser.parse_args(argv)

    import keras

    import painzoo
    from painzoo.datasets import Dataset
    from painzoo.training import make_input

    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (args.n, 12, 12, 3), dtype=np.uint8)
    import cv2

    images = np.stack(
        [cv2.resize(s, (args.load, args.load), interpolation=cv2.INTER_CUBIC) for s in small]
    )
    frame = pd.DataFrame({"label": np.arange(args.n) % 2, "subject": np.arange(args.n) % 20})
    ds = Dataset(frame, images=images, name="bench")

    results = []
    for augment in args.augment:
        aug = None if augment == "none" else augment
        for feed, resident in (("streaming", False), ("device", True)):

            def make(aug=aug, resident=resident):
                return make_input(
                    ds,
                    image_size=args.size,
                    batch_size=args.batch,
                    augment=aug,
                    shuffle=True,
                    workers=args.workers,
                    device_resident=resident,
                )

            t0 = time.perf_counter()
            pipe = make()
            warm = _iterate(pipe, 1)
            prep = time.perf_counter() - t0
            seconds = _iterate(pipe, args.epochs)
            row = {
                "backend": backend,
                "augment": augment,
                "feed": feed,
                "images": args.n,
                "size": args.size,
                "batch": args.batch,
                "first_epoch_s": round(prep, 2),
                "warm_epoch_s": round(warm, 2),
                "img_s": round(args.n * args.epochs / seconds, 1),
            }
            if args.fit:
                keras.utils.set_random_seed(0)
                model = painzoo.get_model(args.fit, input_shape=(args.size, args.size, 3))
                model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
                times = []
                cb = keras.callbacks.LambdaCallback(
                    on_epoch_begin=lambda e, logs, t=times: t.append(time.perf_counter()),
                    on_epoch_end=lambda e, logs, t=times: t.append(time.perf_counter()),
                )
                model.fit(make(), epochs=args.epochs + 1, verbose=0, callbacks=[cb], shuffle=False)
                steady = [times[i + 1] - times[i] for i in range(2, len(times), 2)]
                row["fit_model"] = args.fit
                row["fit_img_s"] = round(args.n * len(steady) / sum(steady), 1)
            results.append(row)
            print(row, flush=True)

    for r in results:
        base = next(
            b["img_s"]
            for b in results
            if b["augment"] == r["augment"] and b["feed"] == "streaming"
        )
        r["ratio_vs_streaming"] = round(r["img_s"] / base, 2)
        if "fit_img_s" in r:
            fbase = next(
                b["fit_img_s"]
                for b in results
                if b["augment"] == r["augment"] and b["feed"] == "streaming"
            )
            r["fit_ratio_vs_streaming"] = round(r["fit_img_s"] / fbase, 2)
        r["cpu_count"] = os.cpu_count()
        r["machine"] = platform.machine()
        r["device"] = _device_name(backend)
    header = list(dict.fromkeys(k for r in results for k in r))
    widths = [max(len(h), *(len(str(r.get(h, ""))) for r in results)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in results:
        print("  ".join(str(r.get(h, "")).ljust(w) for h, w in zip(header, widths)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    old = []
    if out.is_file():
        with open(out) as f:
            old = [r for r in csv.DictReader(f) if r.get("backend") != backend]
    header = list(dict.fromkeys([*header, *(k for r in old for k in r)]))
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(old + results)
    print(f"wrote {out}")


def _device_name(backend: str) -> str:
    try:
        if backend == "jax":
            import jax

            return str(jax.devices()[0].device_kind)
        if backend == "torch":
            import torch

            return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except Exception:  # a name is a label; never fail the benchmark for it
        pass
    return "cpu"


if __name__ == "__main__":
    main()
