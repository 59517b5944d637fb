"""FaceCropper geometry, detectors, background removal and the crop cache."""

import keras
import numpy as np
import pandas as pd
import pytest
from skimage.data import astronaut

from painzoo.datasets import Dataset, load_folder
from painzoo.datasets.io import read_image, write_image
from painzoo.preprocess import (
    FaceCropper,
    NoFaceError,
    crop_dataset,
    preprocess_folder,
)
from painzoo.preprocess.face import BOX_COLUMNS, KEYPOINT_COLUMNS

# The astronaut's face in skimage.data.astronaut() (512×512), read off the image.
ASTRONAUT_FACE = (180, 60, 90, 110)  # x, y, w, h


def _centre_inside(box, region):
    x, y, w, h = box
    rx, ry, rw, rh = region
    cx, cy = x + w / 2, y + h / 2
    return rx <= cx <= rx + rw and ry <= cy <= ry + rh


class CountingDetector:
    """A callable detector returning a fixed box; counts its calls."""

    cache_key = "counting-detector-v1"

    def __init__(self, box=(10, 20, 20, 20), keypoints=None, confidence=0.9):
        self.box, self.keypoints, self.confidence, self.calls = box, keypoints, confidence, 0
        self.shapes = []

    def __call__(self, image):
        self.calls += 1
        self.shapes.append(image.shape)
        if self.box is None:
            return None
        out = {"box": self.box, "confidence": self.confidence}
        if self.keypoints:
            out["keypoints"] = self.keypoints
        return [out]


def _rand(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# -- geometry ------------------------------------------------------------------------------
def test_square_crop_with_margin_matches_numpy_slicing():
    image = _rand(60, 80)
    kps = {
        "left_eye": (15, 25),
        "right_eye": (25, 25),
        "nose": (20, 30),
        "mouth_left": (16, 35),
        "mouth_right": (24, 35),
    }
    cropper = FaceCropper(
        CountingDetector((10, 20, 20, 20), kps), size=40, margin=0.5, min_face_size=1
    )
    crop = cropper(image)
    # side = 20 * (1 + 2 * 0.5) = 40, centred on (20, 30) → x0 = 0, y0 = 10
    assert crop.found and crop.box == (0, 10, 40, 40)
    np.testing.assert_array_equal(crop.image, image[10:50, 0:40])
    assert crop.keypoints["left_eye"] == pytest.approx((15, 15))
    assert crop.keypoints["mouth_right"] == pytest.approx((24, 25))


def test_keypoints_scale_with_the_resize_and_left_means_image_left():
    image = _rand(60, 80)
    # the detector names the eyes the other way round: painzoo swaps them
    kps = {
        "left_eye": (25, 25),
        "right_eye": (15, 25),
        "nose": (20, 30),
        "mouth_left": (24, 35),
        "mouth_right": (16, 35),
    }
    crop = FaceCropper(
        CountingDetector((10, 20, 20, 20), kps), size=20, margin=0.5, min_face_size=1
    )(image)
    assert crop.keypoints["left_eye"] == pytest.approx((7.5, 7.5))  # (15 - 0) * 20 / 40
    assert crop.keypoints["right_eye"][0] > crop.keypoints["left_eye"][0]
    assert crop.keypoints["mouth_left"][0] < crop.keypoints["mouth_right"][0]


@pytest.mark.parametrize(
    "mode,np_mode", [("reflect", "reflect"), ("edge", "edge"), ("constant", "constant")]
)
def test_padding_at_the_border_matches_numpy_pad(mode, np_mode):
    image = _rand(40, 40, seed=1)
    # box at the top-left corner: side 20, centred on (5, 5) → square from (-5, -5)
    crop = FaceCropper(
        CountingDetector((0, 0, 10, 10)), size=20, margin=0.5, pad_mode=mode, min_face_size=1
    )(image)
    padded = np.pad(image, ((5, 0), (5, 0), (0, 0)), mode=np_mode)
    assert crop.box == (-5, -5, 20, 20)
    np.testing.assert_array_equal(crop.image, padded[:20, :20])


def test_most_confident_face_wins():
    image = _rand(64, 64)

    def two_faces(_):
        return [
            {"box": (0, 0, 20, 20), "confidence": 0.6},
            {"box": (30, 30, 20, 20), "confidence": 0.95},
        ]

    crop = FaceCropper(two_faces, size=20, margin=0.0, min_face_size=1)(image)
    assert crop.face_box == (30, 30, 20, 20)
    np.testing.assert_array_equal(crop.image, image[30:50, 30:50])


def test_min_face_size_ignores_small_faces():
    crop = FaceCropper(CountingDetector((10, 10, 8, 8)), size=16, min_face_size=10)(_rand(40, 60))
    assert not crop.found


def test_large_images_are_downscaled_for_detection_and_mapped_back():
    image = np.zeros((1800, 2400, 3), np.uint8)
    det = CountingDetector((200, 100, 100, 100))  # in the downscaled image's pixels
    crop = FaceCropper(det, size=32, margin=0.0, detect_max_side=600, min_face_size=1)(image)
    assert det.shapes[0][:2] == (450, 600)
    assert crop.face_box == pytest.approx((800, 400, 400, 400))  # ×4 back to full resolution
    assert crop.box == (800, 400, 400, 400)


def test_on_no_face_center_skip_error():
    image = _rand(30, 50)
    centre = FaceCropper(CountingDetector(None), size=30, on_no_face="center")(image)
    assert not centre.found and centre.box == (10, 0, 30, 30)
    np.testing.assert_array_equal(centre.image, image[:, 10:40])
    assert FaceCropper(CountingDetector(None), on_no_face="skip")(image) is None
    with pytest.raises(NoFaceError, match="face.jpg"):
        FaceCropper(CountingDetector(None), on_no_face="error")(image, name="face.jpg")


def test_invalid_arguments():
    with pytest.raises(ValueError, match="pad_mode"):
        FaceCropper("none", pad_mode="wrap")
    with pytest.raises(ValueError, match="on_no_face"):
        FaceCropper("none", on_no_face="ignore")
    with pytest.raises(ValueError, match="Unknown face detector"):
        FaceCropper("retinaface")
    with pytest.raises(ValueError, match="Unknown background"):
        FaceCropper("none", background="magic")
    with pytest.raises(ValueError, match="uint8"):
        FaceCropper("none")(np.zeros((8, 8, 3), np.float32))


# -- real photographs -----------------------------------------------------------------------
def test_haar_finds_the_astronaut():
    crop = FaceCropper("haar", size=64)(astronaut())
    assert crop.found and crop.image.shape == (64, 64, 3) and crop.keypoints is None
    assert _centre_inside(crop.face_box, ASTRONAUT_FACE)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="mtcnn needs TensorFlow")
def test_mtcnn_finds_the_astronaut_and_its_keypoints():
    crop = FaceCropper("mtcnn", size=64)(astronaut())
    assert crop.found and crop.image.shape == (64, 64, 3)
    assert _centre_inside(crop.face_box, ASTRONAUT_FACE)
    kp = crop.keypoints
    assert set(kp) == {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}
    assert all(0 <= x < 64 and 0 <= y < 64 for x, y in kp.values())
    assert kp["left_eye"][0] < kp["right_eye"][0]
    assert max(kp["left_eye"][1], kp["right_eye"][1]) < kp["nose"][1]
    assert kp["nose"][1] < min(kp["mouth_left"][1], kp["mouth_right"][1])


def test_mtcnn_off_tensorflow_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(ImportError, match="TensorFlow"):
        FaceCropper("mtcnn")


# -- background ------------------------------------------------------------------------------
def _disc_image(size=64):
    rng = np.random.default_rng(2)
    image = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)  # dark noisy background
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2
    image[disc] = [220, 180, 150]
    return image, disc


def test_grabcut_paints_the_background_white():
    image, disc = _disc_image()
    crop = FaceCropper(
        lambda im: [(20, 20, 24, 24)], size=64, margin=0.8, background="grabcut", min_face_size=1
    )(image)
    # margin 0.8 → side 62.4 → the crop is nearly the whole image
    assert (crop.image[:4, :4] == 255).all() and (crop.image[-4:, -4:] == 255).all()
    centre = crop.image[28:36, 28:36]
    assert (np.abs(centre.astype(int) - [220, 180, 150]) < 30).all()


def _tiny_onnx_model(path):
    from onnx import TensorProto, helper, save

    # saliency = mean over the channels of the normalised input: bright pixels → foreground
    node = helper.make_node("ReduceMean", ["input"], ["mask"], axes=[1], keepdims=1)
    graph = helper.make_graph(
        [node],
        "tiny_saliency",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 32, 32])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save(model, str(path))
    return path


def test_onnx_background_model(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = _tiny_onnx_model(tmp_path / "seg.onnx")
    image = np.full((32, 32, 3), 20, np.uint8)
    image[:, :16] = 200  # bright left half = the "person"
    crop = FaceCropper("none", size=32, background=model)(image)
    np.testing.assert_array_equal(crop.image[:, :14], image[:, :14])
    assert (crop.image[:, 18:] == 255).all()


# -- crop_dataset and the cache ----------------------------------------------------------
def _disk_dataset(tmp_path, n=4, size=48):
    rows = []
    for i in range(n):
        write_image(tmp_path / "src" / f"{i}.png", _rand(size, size, seed=i))
        rows.append(
            {
                "image": f"{i}.png",
                "label": i % 2,
                "subject": f"s{i // 2}",
                "level": float(i),
                "au_4": float(i) / 2,
            }
        )
    return Dataset(pd.DataFrame(rows), root=tmp_path / "src", name="toy")


def test_crop_dataset_second_pass_is_served_from_the_cache(tmp_path):
    ds = _disk_dataset(tmp_path)
    kps = {
        "left_eye": (15, 25),
        "right_eye": (25, 25),
        "nose": (20, 30),
        "mouth_left": (16, 35),
        "mouth_right": (24, 35),
    }
    det = CountingDetector((10, 10, 20, 20), kps)
    cropper = FaceCropper(det, size=24, margin=0.1, min_face_size=1)
    first, report = crop_dataset(ds, cropper, cache_dir=tmp_path / "cache", return_report=True)
    assert det.calls == 4 and report["cropped"] == 4 and report["cached"] == 0
    det2 = CountingDetector((10, 10, 20, 20), kps)
    second, report2 = crop_dataset(
        ds,
        FaceCropper(det2, size=24, margin=0.1, min_face_size=1),
        cache_dir=tmp_path / "cache",
        return_report=True,
    )
    assert det2.calls == 0 and report2["cached"] == 4
    pd.testing.assert_frame_equal(first.frame, second.frame)
    # rows keep their columns; crops are the right pixels
    for col in ("label", "subject", "source", "level", "au_4"):
        assert first.frame[col].tolist() == ds.frame[col].tolist()
    assert set(BOX_COLUMNS) | set(KEYPOINT_COLUMNS) <= set(first.frame.columns)
    side = 24  # 20 * 1.2
    assert first.frame.loc[0, ["box_x", "box_y", "box_w", "box_h"]].tolist() == [8, 8, side, side]
    assert first.frame.loc[0, "kp_left_eye_x"] == pytest.approx(15 - 8)
    np.testing.assert_array_equal(
        read_image(first.image_paths[2]), _rand(48, 48, seed=2)[8:32, 8:32]
    )
    # another setting → new crops
    det3 = CountingDetector((10, 10, 20, 20))
    crop_dataset(ds, FaceCropper(det3, size=16, min_face_size=1), cache_dir=tmp_path / "cache")
    assert det3.calls == 4


def test_crop_dataset_cache_follows_content_not_names(tmp_path):
    ds = _disk_dataset(tmp_path, n=2)
    crop_dataset(
        ds, FaceCropper(CountingDetector(), size=16, min_face_size=1), cache_dir=tmp_path / "c"
    )
    (tmp_path / "src" / "0.png").rename(tmp_path / "src" / "renamed.png")
    write_image(tmp_path / "src" / "1.png", _rand(48, 48, seed=99))  # new content, same name
    moved = Dataset(
        pd.DataFrame({"image": ["renamed.png", "1.png"], "label": [0, 1], "subject": ["a", "b"]}),
        root=tmp_path / "src",
    )
    det = CountingDetector()
    crop_dataset(moved, FaceCropper(det, size=16, min_face_size=1), cache_dir=tmp_path / "c")
    assert det.calls == 1


def test_crop_dataset_corrupt_file_raise_and_skip(tmp_path):
    ds = _disk_dataset(tmp_path, n=3)
    (tmp_path / "src" / "1.png").write_bytes(b"not an image")
    cropper = FaceCropper(CountingDetector(), size=16, min_face_size=1)
    with pytest.raises(ValueError, match="1.png"):
        crop_dataset(ds, cropper, cache_dir=tmp_path / "c")
    with pytest.warns(UserWarning, match=r"Skipped 1 unreadable.*1\.png"):
        out, report = crop_dataset(
            ds, cropper, cache_dir=tmp_path / "c", on_error="skip", return_report=True
        )
    assert report["unreadable"] == 1 and len(out) == 2
    assert out.frame["subject"].tolist() == ["s0", "s1"]


def test_crop_dataset_reports_faces_not_found(tmp_path):
    ds = _disk_dataset(tmp_path, n=3)
    with pytest.warns(UserWarning, match=r"No face found in 3 of 3.*0\.png"):
        out, report = crop_dataset(
            ds,
            FaceCropper(CountingDetector(None), size=16),
            cache_dir=tmp_path / "c",
            return_report=True,
        )
    assert report["no_face"] == 3 and len(out) == 3 and not out.frame["face_found"].any()
    # skipping drops the rows; every one skipped is an error
    with pytest.raises(ValueError, match="Every one"):
        with pytest.warns(UserWarning, match="skipped"):
            crop_dataset(
                ds,
                FaceCropper(CountingDetector(None), size=16, on_no_face="skip"),
                cache_dir=tmp_path / "c",
            )
    with pytest.raises(ValueError, match="empty"):
        crop_dataset(ds.subset([]), FaceCropper("none"), cache_dir=tmp_path / "c")


def test_crop_dataset_in_memory(tmp_path):
    images = np.stack([_rand(40, 40, seed=i) for i in range(3)])
    ds = Dataset(pd.DataFrame({"label": [0, 1, 1], "subject": ["a", "b", "c"]}), images=images)
    out = crop_dataset(ds, FaceCropper("none", size=20), cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(
        out.load_images(), np.stack([read_image(p) for p in out.image_paths])
    )
    assert out.load_images().shape == (3, 20, 20, 3)


def test_preprocess_folder_and_cli(tmp_path):
    for s in ("s1", "s2"):
        for lab in ("no_pain", "pain"):
            write_image(tmp_path / "in" / s / lab / "f.png", _rand(40, 40))
    ds = preprocess_folder(
        tmp_path / "in", tmp_path / "out", detector="none", size=24, cache_dir=tmp_path / "c"
    )
    assert len(ds) == 4 and (tmp_path / "out" / "manifest.csv").is_file()
    assert (tmp_path / "out" / "images" / "s1" / "pain" / "f.png").is_file()
    back = load_folder(tmp_path / "out" / "images")
    assert sorted(zip(back.subjects, back.labels)) == sorted(zip(ds.subjects, ds.labels))
    from painzoo.cli import main

    rc = main(
        [
            "preprocess",
            str(tmp_path / "in"),
            str(tmp_path / "out2"),
            "--detector",
            "none",
            "--size",
            "16",
        ]
    )
    assert rc == 0
    assert read_image(tmp_path / "out2" / "images" / "s2" / "no_pain" / "f.png").shape == (
        16,
        16,
        3,
    )


def test_preprocess_never_writes_over_its_input(tmp_path):
    from painzoo.cli import main

    data = tmp_path / "data"
    for s in ("s1", "s2"):
        for lab in ("no_pain", "pain"):
            write_image(data / "images" / s / lab / "f.png", _rand(40, 40))
    manifest = load_folder(data / "images").to_csv(data / "manifest.csv")
    before = manifest.read_bytes()
    image = data / "images" / "s1" / "pain" / "f.png"
    pixels = image.read_bytes()
    # the reported data loss: the crop manifest written over the input manifest
    with pytest.raises(ValueError, match=r"would overwrite its input .*manifest\.csv"):
        preprocess_folder(manifest, data, detector="none", size=16, cache_dir=tmp_path / "c")
    # crops written over the source images (SRC = DST/images)
    with pytest.raises(
        ValueError, match=r"would overwrite its input .*f\.png.*nothing was written"
    ):
        preprocess_folder(
            data / "images", data, detector="none", size=16, cache_dir=tmp_path / "c"
        )
    rc = main(
        ["preprocess", str(manifest), str(data), "--detector", "none", "--on-no-face", "skip"]
    )
    assert rc == 2
    assert manifest.read_bytes() == before and image.read_bytes() == pixels
    # a separate output folder works
    out = preprocess_folder(
        manifest, data / "crops", detector="none", size=16, cache_dir=tmp_path / "c"
    )
    assert len(out) == 4 and manifest.read_bytes() == before


def test_preprocess_on_error_skip_counts_bad_images(tmp_path):
    for i in range(3):
        write_image(tmp_path / "in" / "s1" / "pain" / f"{i}.png", _rand(40, 40, seed=i))
    (tmp_path / "in" / "s1" / "pain" / "1.png").write_bytes(b"broken")
    with pytest.raises(ValueError, match=r"Cannot decode .*1\.png"):
        preprocess_folder(
            tmp_path / "in", tmp_path / "o", detector="none", size=16, cache_dir=tmp_path / "c"
        )
    with pytest.warns(UserWarning, match=r"Skipped 1 unreadable image.*1\.png"):
        ds = preprocess_folder(
            tmp_path / "in",
            tmp_path / "o",
            detector="none",
            size=16,
            cache_dir=tmp_path / "c",
            on_error="skip",
        )
    assert len(ds) == 2
