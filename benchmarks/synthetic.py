"""Speed of the synthetic generator: images per second on one core.

    python benchmarks/synthetic.py [--image-size 128] [--scale 0.5]

Prints a table and writes benchmarks/results/synthetic_speed.csv.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import pandas as pd

from painzoo.datasets import make_synthetic


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/synthetic_speed.csv")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # one core, as the target says
    make_synthetic(
        "cppain", image_size=args.image_size, scale=0.05
    )  # warm-up (noise bank, imports)
    rows = []
    for preset in ("ratspain", "paindb", "cppain"):
        best = 0.0
        for _ in range(args.repeats):
            t = time.perf_counter()
            ds = make_synthetic(preset, image_size=args.image_size, scale=args.scale)
            best = max(best, len(ds) / (time.perf_counter() - t))
        rows.append(
            {
                "preset": preset,
                "image_size": args.image_size,
                "images": len(ds),
                "images_per_s": round(best, 1),
            }
        )
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    return table


if __name__ == "__main__":
    main()
