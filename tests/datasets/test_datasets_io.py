"""read_image turns every file a dataset ships into RGB uint8."""

import numpy as np
import pytest
from PIL import Image

from painzoo.datasets.io import is_image_file, read_image, resize_image, to_uint8, write_image


def _gradient(h=24, w=32):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 7 % 256, y * 9 % 256, (x + y) * 3 % 256], -1).astype(np.uint8)


def test_rgb_png_round_trip(tmp_path):
    rgb = _gradient()
    write_image(tmp_path / "a.png", rgb)
    out = read_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    np.testing.assert_array_equal(out, rgb)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = _gradient()[..., 0]
    Image.fromarray(gray, mode="L").save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (*gray.shape, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)


def test_rgba_is_composited_over_white(tmp_path):
    rgb = _gradient()
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[:, : rgb.shape[1] // 2] = 255  # left half opaque, right half transparent
    Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out.shape == rgb.shape
    half = rgb.shape[1] // 2
    np.testing.assert_array_equal(out[:, :half], rgb[:, :half])
    assert (out[:, half:] == 255).all()


def test_palette_image_maps_through_its_palette(tmp_path):
    idx = (np.arange(24 * 32).reshape(24, 32) % 4).astype(np.uint8)
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]], np.uint8)
    im = Image.fromarray(idx, mode="P")
    im.putpalette(colours.ravel().tolist() + [0] * (768 - 12))
    im.save(tmp_path / "p.png")
    out = read_image(tmp_path / "p.png")
    np.testing.assert_array_equal(out, colours[idx])


def test_sixteen_bit_grayscale_is_scaled(tmp_path):
    import cv2

    gray16 = (np.arange(24 * 32).reshape(24, 32) * 85).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), gray16)
    out = read_image(tmp_path / "g16.png")
    expected = np.round(gray16 / 257.0).astype(np.uint8)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], expected)
    np.testing.assert_array_equal(out[..., 2], expected)


def test_sixteen_bit_colour_is_scaled(tmp_path):
    import cv2

    rgb16 = (_gradient().astype(np.uint16) * 257).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[..., ::-1])  # OpenCV writes BGR
    out = read_image(tmp_path / "c16.png")
    assert out.dtype == np.uint8 and out.shape == rgb16.shape
    np.testing.assert_allclose(out.astype(int), _gradient().astype(int), atol=1)


def test_exif_orientation_is_honoured(tmp_path):
    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:, :10] = [255, 0, 0]  # a red band on the left of the stored pixels
    im = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    im.save(tmp_path / "o.jpg", exif=exif.tobytes(), quality=95)
    out = read_image(tmp_path / "o.jpg")
    # Displayed upright: the stored 20×40 becomes 40×20 and the left band moves to the top.
    assert out.shape == (40, 20, 3)
    assert out[:10, :, 0].mean() > 200 and out[-10:, :, 0].mean() < 50


def test_corrupt_file_error_names_the_file(tmp_path):
    bad = tmp_path / "broken_face.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(ValueError, match="broken_face.png"):
        read_image(bad)


def test_truncated_jpeg_error_names_the_file(tmp_path):
    Image.fromarray(_gradient(64, 64)).save(tmp_path / "t.jpg")
    data = (tmp_path / "t.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[:40])
    with pytest.raises(ValueError, match="t.jpg"):
        read_image(tmp_path / "t.jpg")


def test_missing_file_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")


def test_is_image_file():
    assert is_image_file("a/B.JPG") and is_image_file("x.png")
    assert not is_image_file("notes.txt") and not is_image_file(".DS_Store")


def test_resize_image_shape():
    out = resize_image(_gradient(24, 32), (12, 10))
    assert out.shape == (12, 10, 3) and out.dtype == np.uint8


# -- hostile files ---------------------------------------------------------------------
def _png_claiming(path, width, height):
    """A 1×1 PNG whose header claims ``width × height`` (a decompression bomb's header)."""
    import struct
    import zlib

    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("width, height", [(30000, 30000), (25000, 20000)])
def test_decompression_bomb_is_refused_naming_the_file(tmp_path, width, height):
    # 900 M pixels: PIL raises its own error; 500 M: PIL only warns and would decode 1.5 GB.
    path = _png_claiming(tmp_path / "bomb.png", width, height)
    assert path.stat().st_size < 200
    with pytest.raises(ValueError, match=r"Refusing to decode .*bomb\.png.*MAX_IMAGE_PIXELS"):
        read_image(path)


def test_non_utf8_file_names_are_named_printably(tmp_path):
    import os

    from painzoo.datasets import load_folder

    folder = os.fsencode(tmp_path / "data" / "s1" / "pain")
    os.makedirs(folder)
    Image.new("RGB", (4, 4)).save(tmp_path / "data" / "s1" / "pain" / "ok.png")
    with open(folder + b"/caf\xe9.png", "wb") as f:
        f.write(b"not a png")
    odd = os.fsdecode(folder + b"/caf\xe9.png")
    with pytest.raises(ValueError) as err:
        read_image(odd)
    assert "caf\\xe9.png" in str(err.value)
    str(err.value).encode("utf-8")  # printable: no lone surrogate
    with pytest.raises(ValueError, match=r"caf\\xe9\.png.*is not valid UTF-8.*rename"):
        load_folder(tmp_path / "data")


# -- the one resize and the one to-uint8 -------------------------------------------
def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]``: share of output cell i covered by input pixel j (rows sum to 1)."""
    scale = n_in / n_out
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = i * scale, (i + 1) * scale
        for j in range(n_in):
            w[i, j] = max(0.0, min(hi, j + 1) - max(lo, j)) / scale
    return w


@pytest.mark.parametrize("size", [(7, 5), (8, 16), (13, 11)])
def test_resize_shrinking_averages_the_covered_area(size):
    img = np.random.default_rng(1).uniform(0, 255, (24, 32, 3)).astype(np.float32)
    wh, ww = _area_weights(24, size[0]), _area_weights(32, size[1])
    expected = np.einsum("ih,hwc,jw->ijc", wh, img.astype(np.float64), ww)
    for interpolation in ("auto", "area"):
        out = resize_image(img, size, interpolation)
        assert out.shape == (*size, 3) and out.dtype == np.float32
        np.testing.assert_allclose(out, expected, atol=1e-3)


def test_resize_uint8_shrink_by_two_is_the_rounded_block_mean():
    img = np.random.default_rng(2).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    block = img.reshape(8, 2, 12, 2, 3).astype(np.float64).mean(axis=(1, 3))
    out = resize_image(img, (8, 12))
    assert out.dtype == np.uint8
    assert np.abs(out.astype(int) - np.rint(block)).max() <= 1  # rounding of .5 ties


@pytest.mark.parametrize("size", [(40, 50), (48, 64), (31, 97)])
def test_resize_enlarging_is_bilinear_like_pil(size):
    img = np.random.default_rng(3).uniform(0, 255, (12, 16)).astype(np.float32)
    expected = np.asarray(
        Image.fromarray(img, mode="F").resize(size[::-1], Image.Resampling.BILINEAR)
    )
    for interpolation in ("auto", "bilinear"):
        out = resize_image(img, size, interpolation)
        assert out.shape == size
        np.testing.assert_allclose(out, expected, atol=1e-3)


def test_resize_nearest_keeps_labels_and_samples_pixel_centres():
    labels = np.random.default_rng(4).integers(0, 50, (9, 7)).astype(np.int32)
    size = (20, 16)
    rows = np.floor((np.arange(size[0]) + 0.5) * 9 / size[0]).astype(int)
    cols = np.floor((np.arange(size[1]) + 0.5) * 7 / size[1]).astype(int)
    out = resize_image(labels, size, "nearest")
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, labels[rows][:, cols])
    pil = np.asarray(
        Image.fromarray(labels.astype(np.uint8)).resize(size[::-1], Image.Resampling.NEAREST)
    )
    np.testing.assert_array_equal(out, pil)


def test_resize_keeps_a_single_channel_axis_and_rejects_bad_arguments():
    out = resize_image(np.ones((10, 10, 1), np.float32), (5, 4))
    assert out.shape == (5, 4, 1)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        resize_image(np.ones((4, 4)), (2, 2), "cubic")
    with pytest.raises(ValueError, match="positive"):
        resize_image(np.ones((4, 4)), (0, 2))


def test_to_uint8_rounds_to_nearest_and_clips():
    values = np.random.default_rng(5).uniform(-50, 300, 1000)
    expected = [min(255, max(0, round(v))) for v in values.tolist()]
    assert to_uint8(values).tolist() == expected
    u8 = np.arange(256, dtype=np.uint8)
    assert to_uint8(u8) is u8
