"""The user's chain on a folder of real photographs, through the ``painzoo`` command.

Splits a label-layout folder (``no_pain/``, ``pain/``, person id at the start
of each file name) into two halves of people, then:

1. ``painzoo preprocess`` the first half (MTCNN face crops);
2. ``painzoo train`` a network on the crops;
3. ``painzoo predict`` the second half's *uncropped* photographs three ways:
   with the card's settings (the crop recorded by preprocess), with
   ``--face-crop none`` (whole photographs, what a card without the crop
   gave), and on the second half's own crops from ``painzoo preprocess``
   (the training crops' pipeline);

and prints accuracy and AUC of each. Usage::

    python experiments/chain_real_photos.py london-dev/ --model resnet18 --size 64
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


def _painzoo(*argv) -> None:
    subprocess.run([sys.executable, "-m", "painzoo.cli", *map(str, argv)], check=True)


def _split(src: Path, work: Path) -> tuple[Path, Path]:
    ids = sorted({p.name.split("_")[0] for p in src.glob("*/*.jpg")})
    halves = {"train": set(ids[0::2]), "new": set(ids[1::2])}
    for part, people in halves.items():
        for image in src.glob("*/*.jpg"):
            if image.name.split("_")[0] in people:
                target = work / part / image.parent.name / image.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(image.resolve())
    return work / "train", work / "new"


def _score(csv: Path) -> tuple[float, float, int]:
    rows = pd.read_csv(csv)
    truth = np.array(["/pain/" in p.replace("\\", "/") for p in rows["input"]], int)
    p = rows["p_pain"].to_numpy(float)
    ok = ~np.isnan(p)
    accuracy = float(((p[ok] >= 0.5).astype(int) == truth[ok]).mean())
    return accuracy, float(roc_auc_score(truth[ok], p[ok])), int(ok.sum())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--size", type=int, default=64, help="Network input side.")
    parser.add_argument("--crop", type=int, default=112, help="Side of the preprocess crops.")
    parser.add_argument("--work", type=Path, default=None, help="Working folder (kept).")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="painzoo-chain-"))
    train, new = _split(args.folder, work)
    crops = work / "crops"
    _painzoo("preprocess", train, crops, "--layout", "label", "--size", args.crop)
    config = work / "chain.yaml"
    config.write_text(
        f"name: chain\nimage_size: {args.size}\nseed: 0\nrecipe: {{preset: painzoo}}\n"
        f"data:\n  photos: {{manifest: {crops / 'manifest.csv'}}}\nmodels: [{args.model}]\n"
        "experiments:\n  - {data: photos, protocols: [loso]}\n"
    )
    model = work / "model"
    _painzoo("train", "--config", config, "--model", args.model, "--out", model, "--no-progress")
    new_crops = work / "new-crops"
    _painzoo("preprocess", new, new_crops, "--layout", "label", "--size", args.crop)
    runs = {
        "card's settings, uncropped photographs": (new, "card"),
        "--face-crop none, uncropped photographs": (new, "none"),
        "preprocess crops of the new people": (new_crops / "manifest.csv", "none"),
    }
    print(
        f"\n{args.model} at {args.size} px, trained on {len(list(train.glob('*/*')))} photographs"
    )
    for label, (inputs, crop) in runs.items():
        out = work / f"{crop}-{Path(inputs).stem}.csv"
        _painzoo("predict", model, inputs, "--out", out, "--face-crop", crop, "--no-progress")
        accuracy, auc, n = _score(out)
        print(f"{label:42s} accuracy {100 * accuracy:5.1f} %  AUC {auc:.3f}  ({n} scored)")
    print(f"working folder: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
