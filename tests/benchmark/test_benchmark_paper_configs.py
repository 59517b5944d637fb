"""The bundled paper configs do what the papers say, and data entries keep their names."""

import numpy as np
import pandas as pd

from painzoo.benchmark import load_config, run
from painzoo.benchmark import units as units_module
from painzoo.datasets import Dataset


def _face_like(n=2, side=64, seed=0):
    """Textured green background with a bright reddish disc in the middle."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, side, side, 3), np.uint8)
    yy, xx = np.mgrid[:side, :side]
    disc = (yy - side / 2) ** 2 + (xx - side / 2) ** 2 < (side / 3) ** 2
    for i in range(n):
        im = np.stack(
            [
                rng.integers(0, 60, (side, side)),
                rng.integers(80, 160, (side, side)),
                rng.integers(0, 60, (side, side)),
            ],
            -1,
        )
        im[disc] = (220, 160, 140)
        images[i] = im
    return images


def test_p2_config_removes_the_background(tmp_path, monkeypatch):
    # P2 paints the background white; the bundled config used to crop faces only.
    monkeypatch.setenv("PAINZOO_CACHE", str(tmp_path / "cache"))
    config = load_config("p2-cppain")
    face_crop = dict(config.face_crop)
    assert face_crop["background"] == "grabcut"
    face_crop["detector"] = "none"  # MTCNN is not what this test is about
    images = _face_like()
    frame = pd.DataFrame({"label": [0, 1], "subject": ["a", "b"], "source": "x"})
    Dataset(frame, images=images).to_csv(tmp_path / "toy.csv")
    data = {"toy": {"manifest": str(tmp_path / "toy.csv")}}
    cropped = units_module.load_data("toy", data, face_crop={**face_crop, "size": 64})
    out = cropped.load_images()
    corners = out[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 255).all()  # background painted white, as in P2
    assert (out[:, 32, 32] != 255).any()  # the face is kept
    plain = units_module.load_data(
        "toy", data, face_crop={k: v for k, v in face_crop.items() if k != "background"}
    )
    assert not (plain.load_images()[:, 0, 0] == 255).all()


def test_p1_configs_offer_both_initialisations_and_say_whose_choice():
    config = load_config("p1-ratspain")
    models = config.models
    by_label = {m.label: m for m in models}
    for name in ("resnet18", "painseeker_no_prsc", "painseeker"):
        assert by_label[name].kwargs["weights"] is None  # P1 as written
        assert by_label[f"{name}_imagenet"].kwargs["weights"] == "imagenet"
    assert len(models) == 12
    from importlib import resources

    for cfg in ("p1-ratspain", "p1-sensitivity"):
        text = resources.files("painzoo.benchmark.configs").joinpath(f"{cfg}.yaml").read_text()
        assert "fine-tunes an ImageNet" not in text  # not in P1
        assert "does not say" in text


def test_scenario_3_on_a_cppain_csv_without_a_source_column(tmp_path):
    """A manifest without `source` takes its config key: CP-PAIN is found by name."""
    rng = np.random.default_rng(0)

    def write(folder, n_subjects, with_source):
        labels = np.tile([0, 1], 4 * n_subjects)
        subjects = np.repeat([f"p{i}" for i in range(n_subjects)], 8)
        base = np.where(labels == 1, 170, 80)[:, None, None, None]
        images = np.clip(base + rng.normal(0, 25, (len(labels), 32, 32, 3)), 0, 255)
        frame = pd.DataFrame({"label": labels, "subject": subjects})
        if with_source:
            frame["source"] = "unbc"
        folder.mkdir()
        path = Dataset(frame, images=images.astype(np.uint8)).to_csv(folder / "manifest.csv")
        if not with_source:  # a CP-PAIN CSV as a user writes it: no `source` column
            pd.read_csv(path).drop(columns="source").to_csv(path, index=False)
        return str(path)

    config = load_config(
        {
            "name": "scenario3",
            "out": str(tmp_path / "out"),
            "image_size": 32,
            "recipe": {"preset": "p2", "epochs": 1, "augment": None},
            "data": {
                "paindb": {"manifest": write(tmp_path / "paindb", 3, True)},
                "cppain": {"manifest": write(tmp_path / "cppain", 2, False)},
                "paindb+cppain": {"concat": ["paindb", "cppain"]},
            },
            "models": ["lbp_svm_r1p8_4x4"],
            "experiments": [
                {
                    "data": "paindb+cppain",
                    "protocols": [{"cross_dataset": {"test_sources": "cppain", "repeats": 1}}],
                }
            ],
        }
    )
    result = run(config, progress=False)
    assert int(result.summary["finished"].iloc[0]) == 1
    preds = pd.read_csv(next((tmp_path / "out" / "runs").rglob("predictions.csv")))
    assert set(preds["source"]) == {"cppain"} and len(preds) == 16
