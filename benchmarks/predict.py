"""Speed and memory of ``painzoo.predict`` on images and videos.

Three measurements, on the current Keras backend (``KERAS_BACKEND``):

1. images/s of ``painzoo.predict`` on pre-cropped images (a uint8 array and
   the same images as PNG files, no face detection) against the model's own
   ``model.predict`` on the same arrays — target: ratio >= 0.9;
2. frames/s of ``painzoo.predict`` on a video with face detection (Haar);
3. peak memory (max RSS) and time per frame on a short video and a 10× longer
   one, each in a fresh process — both should be flat (streaming).

The network is untrained (speed does not depend on the weights).

Examples::

    python benchmarks/predict.py                          # songnet at 64 px, 10 s video
    python benchmarks/predict.py --model resnet18 --size 112 --seconds 30 --batch 64

Prints the figures; writes nothing but temporary files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _faces(n: int, size: int, seed: int = 0) -> np.ndarray:
    from painzoo.datasets.synthetic import make_synthetic

    ds = make_synthetic("cppain", image_size=size, scale=max(0.05, n / 109), seed=seed)
    reps = int(np.ceil(n / len(ds)))
    return np.concatenate([ds.images] * reps)[:n]


def _write_video(path: Path, seconds: float, fps: int, side: int) -> Path:
    import cv2

    faces = _faces(64, side // 2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (side, side))
    canvas = np.full((side, side, 3), 200, np.uint8)
    for i in range(int(seconds * fps)):
        frame = canvas.copy()
        o = side // 4
        frame[o : o + side // 2, o : o + side // 2] = faces[i % len(faces)]
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _model(name: str, size: int):
    import painzoo
    from painzoo.inference import PainModel

    return PainModel.from_keras(painzoo.get_model(name, input_shape=(size, size, 3)))


def _best(fn, repeats: int) -> float:
    fn()  # warm-up: tracing and compilation
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def one_video(args) -> None:
    """Child process: predict one video, print time per frame and peak RSS as JSON."""
    import painzoo

    model = _model(args.model, args.size)
    warm = np.zeros((args.batch, args.size, args.size, 3), np.float32)
    model.keras_model.predict_on_batch(warm)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    rows = painzoo.predict(
        model, args.one_video, fps=args.fps, batch_size=args.batch, face_crop=args.face_crop
    )
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "frames": len(rows),
                "s_per_frame": seconds / max(1, len(rows)),
                "peak_rss_mb": rss / 1024,
                "rss_growth_mb": (rss - rss0) / 1024,
            }
        )
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="songnet")
    p.add_argument("--size", type=int, default=64, help="Network input side.")
    p.add_argument("--images", type=int, default=512, help="Pre-cropped images.")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seconds", type=float, default=10.0, help="Length of the short video.")
    p.add_argument("--video-fps", type=int, default=25, help="Native rate of the videos.")
    p.add_argument("--fps", type=float, default=5.0, help="Sampling rate of predict.")
    p.add_argument("--side", type=int, default=256, help="Video frame side in pixels.")
    p.add_argument("--face-crop", default="haar")
    p.add_argument("--one-video", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one_video:
        one_video(args)
        return 0

    import keras

    import painzoo
    from painzoo.datasets.io import write_image

    print(
        f"backend {keras.backend.backend()}, model {args.model} at {args.size} px, "
        f"batch {args.batch}"
    )
    model = _model(args.model, args.size)
    x = _faces(args.images, args.size)
    xf = x.astype(np.float32)
    t_keras = _best(
        lambda: model.keras_model.predict(xf, batch_size=args.batch, verbose=0), args.repeats
    )
    t_array = _best(lambda: painzoo.predict(model, x, batch_size=args.batch), args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, im in enumerate(x):
            files.append(Path(tmp) / f"{i:05d}.png")
            write_image(files[-1], im)
        t_files = _best(
            lambda: painzoo.predict(model, files, batch_size=args.batch, face_crop="none"),
            args.repeats,
        )
    n = len(x)
    print(f"model.predict on arrays        {n / t_keras:9.1f} images/s")
    print(
        f"painzoo.predict on arrays      {n / t_array:9.1f} images/s  "
        f"ratio {t_keras / t_array:.2f} (target >= 0.9)"
    )
    print(
        f"painzoo.predict on PNG files   {n / t_files:9.1f} images/s  "
        f"ratio {t_keras / t_files:.2f} (includes decoding)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        short = _write_video(Path(tmp) / "short.avi", args.seconds, args.video_fps, args.side)
        long = _write_video(Path(tmp) / "long.avi", 10 * args.seconds, args.video_fps, args.side)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        for name, path in (("short", short), ("long (10x)", long)):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one-video",
                    str(path),
                    "--model",
                    args.model,
                    "--size",
                    str(args.size),
                    "--batch",
                    str(args.batch),
                    "--fps",
                    str(args.fps),
                    "--face-crop",
                    args.face_crop,
                ],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"video {name:<11} {r['frames']:6d} frames  {1 / r['s_per_frame']:7.1f} frames/s "
                f"({1000 * r['s_per_frame']:.1f} ms/frame, {args.face_crop} detection)  "
                f"peak RSS {r['peak_rss_mb']:.0f} MB (+{r['rss_growth_mb']:.0f} MB while predicting)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
