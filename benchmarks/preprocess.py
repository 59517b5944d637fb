"""Face cropping speed: first pass (decode + detect + crop) vs cached pass.

Builds small on-disk datasets of JPEG files at P2's three source
resolutions — 320×240 (UNBC-McMaster), 1920×1080 (MInt PAIN), 5152×3864
(Delaware) — from real photographs (``skimage.data.astronaut()``, a person;
``coffee()`` and ``chelsea()``, no human face) and from synthetic images
(smooth noise), every file slightly different so each has its own cache
entry. Then runs :func:`painzoo.preprocess.crop_dataset` twice with a fresh
cache: the first pass decodes and detects every image, the second is served
from the cache. Target: cached ≥ 20× faster.

Examples::

    python benchmarks/preprocess.py                      # haar, 8 images per cell
    python benchmarks/preprocess.py --detector mtcnn --n 4

Prints a table and writes ``benchmarks/results/preprocess.csv``.
"""

from __future__ import annotations

import argparse
import csv
import platform
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"
RESOLUTIONS = {
    "unbc 320x240": (320, 240),
    "mintpain 1920x1080": (1920, 1080),
    "delaware 5152x3864": (5152, 3864),
}


def _sources(kind: str, rng) -> list[np.ndarray]:
    from skimage import data

    if kind == "photographs":
        return [data.astronaut(), data.coffee(), data.chelsea()]
    noise = rng.random((3, 24, 32, 3)).astype(np.float32)
    return [cv2.resize(n, (640, 480), interpolation=cv2.INTER_CUBIC) for n in noise]


def _fit(image: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
    """Scale to fit inside ``wh`` (faces stay whole) and pad the sides by reflection."""
    w, h = wh
    ih, iw = image.shape[:2]
    s = min(w / iw, h / ih)
    nw, nh = round(iw * s), round(ih * s)
    im = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    left, top = (w - nw) // 2, (h - nh) // 2
    return cv2.copyMakeBorder(im, top, h - nh - top, left, w - nw - left, cv2.BORDER_REFLECT_101)


def build(folder: Path, kind: str, wh, n: int, seed: int = 0):
    from painzoo.datasets import Dataset

    rng = np.random.default_rng(seed)
    sources = _sources(kind, rng)
    rows = []
    for i in range(n):
        base = sources[i % len(sources)]
        if base.dtype != np.uint8:
            base = (base * 255).astype(np.uint8)
        im = _fit(base, wh).astype(np.int16)
        im = np.clip(im + rng.integers(-2, 3, im.shape), 0, 255).astype(np.uint8)
        path = folder / f"{i:04d}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(im, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        rows.append({"image": path.name, "label": i % 2, "subject": f"s{i}"})
    return Dataset(pd.DataFrame(rows), root=folder, name=f"{kind}-{wh[0]}x{wh[1]}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="haar", help="haar, mtcnn or none")
    parser.add_argument(
        "--n", type=int, default=8, help="images per resolution and kind (4x at 320x240)"
    )
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--out", default=str(RESULTS / "preprocess.csv"))
    args = parser.parse_args(argv)

    from painzoo.preprocess import FaceCropper, crop_dataset

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind in ("photographs", "synthetic"):
            for label, wh in RESOLUTIONS.items():
                folder = tmp / f"{kind}-{wh[0]}"
                folder.mkdir()
                # small images are cheap: use more of them so fixed per-call costs average out
                ds = build(folder, kind, wh, args.n * (4 if wh[0] <= 320 else 1))
                cache = tmp / f"cache-{kind}-{wh[0]}"
                times, found = [], 0
                for _ in range(2):
                    cropper = FaceCropper(args.detector, size=args.size)
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        out, report = crop_dataset(
                            ds, cropper, cache_dir=cache, return_report=True
                        )
                    times.append(time.perf_counter() - t0)
                    found = int(out.frame["face_found"].sum())
                first, cached = len(ds) / times[0], len(ds) / times[1]
                results.append(
                    {
                        "kind": kind,
                        "resolution": label,
                        "images": len(ds),
                        "detector": args.detector,
                        "faces_found": found,
                        "first_pass_img_s": round(first, 2),
                        "cached_img_s": round(cached, 1),
                        "speedup": round(cached / first, 1),
                        "cache_hits_2nd": report["cached"],
                        "cpu": platform.processor() or platform.machine(),
                    }
                )
    header = list(results[0])
    widths = [max(len(h), *(len(str(r[h])) for r in results)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in results:
        print("  ".join(str(r[h]).ljust(w) for h, w in zip(header, widths)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
