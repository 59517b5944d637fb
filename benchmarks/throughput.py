"""Training and inference throughput (images/s) of zoo models.

For each model: build it at its default input (or ``--size``), time
``--steps`` training steps and inference batches after warm-up, on the current
Keras backend (``KERAS_BACKEND``), at a batch size and precision. The input
pipeline against in-memory arrays is measured by ``benchmarks/pipeline.py``.

Examples::

    python benchmarks/throughput.py --models resnet18 painseeker --size 112 --batch 32
    KERAS_BACKEND=jax python benchmarks/throughput.py --models resnet50 --batch 256 \
        --precision mixed --steps 50

Prints a table and writes ``benchmarks/results/throughput.csv``. On a GPU it
also prints the fraction of the device's bf16 peak the training step reaches,
from the model's forward FLOPs (×3 for forward + backward).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def _devices() -> str:
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            return ", ".join(str(d) for d in jax.devices())
        if backend == "torch":
            import torch

            return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            return ", ".join(g.name for g in gpus) or "cpu"
    except Exception as err:  # noqa: BLE001 - report, do not fail the benchmark
        return f"unknown ({err})"
    return "cpu"


def forward_flops(model) -> float | None:
    """Multiply-accumulate FLOPs (×2) of one forward pass per image, from layer shapes.

    Counts Conv2D / DepthwiseConv2D / SeparableConv2D / Dense layers, which
    dominate every zoo model; returns ``None`` if no such layer is found.
    """
    import keras

    total = 0.0
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            out = layer.output.shape
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1]
            if isinstance(layer, keras.layers.SeparableConv2D):
                total += 2 * out[1] * out[2] * cin * kh * kw
                total += 2 * out[1] * out[2] * cin * out[3]
            else:
                groups = getattr(layer, "groups", 1)
                total += 2 * out[1] * out[2] * out[3] * kh * kw * cin / groups
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            out = layer.output.shape
            kh, kw = layer.kernel_size
            total += 2 * out[1] * out[2] * out[3] * kh * kw
        elif isinstance(layer, keras.layers.Dense):
            units = layer.units
            fan_in = layer.input.shape[-1]
            lead = int(np.prod([d for d in layer.input.shape[1:-1] if d])) or 1
            total += 2 * lead * fan_in * units
    return total or None


def _all_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _all_layers(layer)
        else:
            yield layer


def _time(fn, steps: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return time.perf_counter() - start


def bench_model(name, *, size, batch, steps, warmup, precision, jit_compile):
    """Measure one model; returns a result row (dict)."""
    import keras

    import painzoo

    if precision == "mixed":
        keras.mixed_precision.set_dtype_policy(
            "mixed_bfloat16" if keras.backend.backend() != "tensorflow" else "mixed_float16"
        )
    else:
        keras.mixed_precision.set_dtype_policy("float32")
    kwargs = {}
    if size is not None:
        kwargs["input_shape"] = (size, size, 3)
    model = painzoo.get_model(name, **kwargs)
    h, w = model.input_shape[1:3]
    model.compile(
        optimizer=keras.optimizers.Adam(1e-4),
        loss="sparse_categorical_crossentropy",
        jit_compile=jit_compile,
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(batch, h, w, 3)).astype("float32")
    y = rng.integers(0, 2, size=(batch,))
    xs = np.repeat(x, steps + warmup, axis=0)
    ys = np.repeat(y, steps + warmup, axis=0)

    # Training: one fit over (warmup + steps) batches; the first `warmup`
    # batches are timed separately through a callback.
    marks = []

    class _Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch_index, logs=None):
            if batch_index == warmup:
                marks.append(time.perf_counter())

        def on_train_end(self, logs=None):
            marks.append(time.perf_counter())

    model.fit(xs, ys, batch_size=batch, epochs=1, verbose=0, shuffle=False, callbacks=[_Clock()])
    train_ips = batch * steps / (marks[1] - marks[0])

    infer_time = _time(lambda: model.predict_on_batch(x), steps, warmup)
    infer_ips = batch * steps / infer_time

    row = {
        "model": name,
        "input": f"{h}x{w}",
        "params": model.count_params(),
        "backend": keras.backend.backend(),
        "device": _devices(),
        "batch": batch,
        "precision": precision,
        "jit_compile": jit_compile,
        "train_img_s": round(train_ips, 1),
        "infer_img_s": round(infer_ips, 1),
    }
    flops = forward_flops(model)
    if flops:
        row["train_tflops"] = round(3 * flops * train_ips / 1e12, 3)
    keras.mixed_precision.set_dtype_policy("float32")
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet18", "painseeker"])
    parser.add_argument("--size", type=int, default=None, help="Input size (default: model's).")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--precision", choices=("float32", "mixed"), default="float32")
    parser.add_argument("--jit-compile", default="auto", help="auto, true or false.")
    parser.add_argument("--peak-tflops", type=float, default=None, help="Device bf16 peak.")
    parser.add_argument("--out", default=str(RESULTS / "throughput.csv"))
    args = parser.parse_args(argv)
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile.lower()]

    rows = []
    for name in args.models:
        row = bench_model(
            name,
            size=args.size,
            batch=args.batch,
            steps=args.steps,
            warmup=args.warmup,
            precision=args.precision,
            jit_compile=jit,
        )
        if args.peak_tflops and "train_tflops" in row:
            row["peak_fraction"] = round(row["train_tflops"] / args.peak_tflops, 3)
        rows.append(row)
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(
        {k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99
    )
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    header = ["model", "input", "batch", "precision", "train_img_s", "infer_img_s"]
    header += [k for k in ("train_tflops", "peak_fraction") if k in keys]
    print(" | ".join(header))
    for r in rows:
        print(" | ".join(str(r.get(k, "")) for k in header))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
