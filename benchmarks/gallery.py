"""Gallery of synthetic faces: PNG grids for the documentation.

    python benchmarks/gallery.py [--out docs/images]

Writes synthetic_<preset>.png (one row per subject), synthetic_rat_levels.png
and synthetic_human_levels.png (AU intensity 0 → max, with the masks),
synthetic_rat_poses.png and synthetic_human_poses.png (yaw −60° … 60°).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from painzoo.datasets import make_synthetic
from painzoo.datasets.io import write_image
from painzoo.datasets.synthetic import human, rat

_MASK_COLORS = [(255, 60, 60), (60, 220, 60), (70, 90, 255), (255, 220, 0)]


def grid(images, cols: int, pad: int = 2) -> np.ndarray:
    """Tile ``[N, H, W, 3]`` images into rows of ``cols`` with a white gap."""
    n, h, w, _ = images.shape
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = im
    return out


def overlay(image, masks) -> np.ndarray:
    out = image.astype(float)
    for color, m in zip(_MASK_COLORS, masks.values()):
        out[m] = 0.55 * out[m] + 0.45 * np.array(color)
    return out.astype(np.uint8)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--size", type=int, default=96)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    s = args.size
    for preset, per in (("ratspain", 4), ("paindb", 4), ("cppain", 4)):
        ds = make_synthetic(preset, image_size=s, scale=0.05 if preset != "cppain" else 1.0)
        picks = []
        subjects = list(dict.fromkeys(ds.subjects))[:: max(1, len(set(ds.subjects)) // 3)][:3]
        for subj in subjects:
            idx = np.flatnonzero(ds.subjects == subj)
            order = idx[np.argsort(ds.labels[idx], kind="stable")]
            picks += list(np.resize(order, per))
        write_image(out / f"synthetic_{preset}.png", grid(ds.images[picks], per))
    still = {"noise": 2.0, "blur": 0.0, "clutter": 4}
    frontal = {"yaw": 0.0, "roll": 0.0, "scale": 1.0, "dx": 0.0, "dy": 0.0}
    tiles = []
    for k, subj in enumerate(["rat1", "rat3", "rat5"]):
        ident = rat.rat_identity(subj)
        for a in (0.0, 1.0, 2.0):
            im, m, _ = rat.render_rat(
                s, ident, [a] * 4, frontal, np.random.default_rng(k), style=still
            )
            tiles.append(im)
        tiles.append(overlay(im, m))
    write_image(out / "synthetic_rat_levels.png", grid(np.stack(tiles), 4))
    tiles = []
    for k, subj in enumerate(["unbc_01", "mintpain_02", "delaware_003"]):
        ident = human.human_identity(subj)
        for a in (0.0, 2.0, 4.0):
            aus = [a, a, a / 2, a, a / 2, float(a >= 4)]
            im, m, _ = human.render_human(
                s, ident, aus, frontal, np.random.default_rng(k), style=still
            )
            tiles.append(im)
        tiles.append(overlay(im, m))
    write_image(out / "synthetic_human_levels.png", grid(np.stack(tiles), 4))
    for name, mod, ident in (
        ("rat", rat, rat.rat_identity("rat2")),
        ("human", human, human.human_identity("unbc_05")),
    ):
        tiles = []
        for yaw in (-60, -40, -20, 0, 20, 40, 60):
            pose = dict(frontal, yaw=float(yaw))
            render = mod.render_rat if name == "rat" else mod.render_human
            aus = [1.0] * 4 if name == "rat" else [2, 2, 1, 2, 1, 0]
            im, _, _ = render(s, ident, aus, pose, np.random.default_rng(0), style=still)
            tiles.append(im)
        write_image(out / f"synthetic_{name}_poses.png", grid(np.stack(tiles), 7))
    print(f"wrote {len(list(out.glob('synthetic_*.png')))} grids to {out}")


if __name__ == "__main__":
    main()
