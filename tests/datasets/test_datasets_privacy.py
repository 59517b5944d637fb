"""No MInt PAIN participant name in any message, warning, log, output, file or traceback.

The fake database's folders carry names (``Sub01 Jane Doe``); every error path
of ``load_mintpain`` and ``preprocess`` is walked and everything it produced is
searched for the name.
"""

import errno
import logging
import os
import shutil
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from painzoo.cli import main
from painzoo.datasets import load_folder, load_mintpain
from painzoo.preprocess import preprocess_folder

NAMES = ("Jane Doe", "Jane", "Doe", "Jolanta Wiśniewska", "Jolanta", "Wiśniewska", "Secret")


def _mint(root: Path) -> Path:
    for n, name in ((1, "Jane Doe"), (2, "Jolanta Wiśniewska")):
        for trial in (1, 2):
            for sweep, level in ((1, 0), (2, 3)):
                rgb = (
                    root
                    / f"Sub{n} {name}"
                    / f"Annotated_data_Sub{n:02d}_Trial{trial:02d}"
                    / f"Sub{n:02d}_Trial{trial:02d}_Sweep{sweep:02d}_Label{level}"
                    / "rgb"
                )
                rgb.mkdir(parents=True)
                for i in range(2):
                    pixels = np.full((24, 24, 3), 40 + 50 * i + 20 * level, np.uint8)
                    Image.fromarray(pixels).save(rgb / f"{i:04d}.jpg")
    (root / "Secret notes of Jane Doe").mkdir()  # not Sub<N>: counted, never named
    return root


class Trap:
    """Everything a run could show or store, searched for the names at the end."""

    def __init__(self, tmp_path, capsys, caplog):
        self.tmp_path, self.capsys, self.caplog = tmp_path, capsys, caplog
        self.texts: list[str] = []

    def call(self, fn, *args, expect=None, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fn(*args, **kwargs)
                error = None
            except Exception as err:  # noqa: BLE001  (every error path is searched)
                result, error = None, err
        self.texts += [str(w.message) for w in caught]
        out = self.capsys.readouterr()
        self.texts += [out.out, out.err, self.caplog.text]
        if error is not None:
            self.texts.append("".join(traceback.format_exception(error)))
            self.texts.append(repr(error.args))
        if expect is None:
            assert error is None, error
        else:
            assert isinstance(error, expect), error
        return result, error

    def files(self, *roots):
        for root in roots:
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames + filenames:
                    path = Path(dirpath) / name
                    self.texts.append(str(path.relative_to(root)))
                    if path.is_file():
                        self.texts.append(path.read_bytes().decode("utf-8", "replace"))

    def check(self):
        for name in NAMES:
            leaks = [t for t in self.texts if name.lower() in t.lower()]
            assert not leaks, f"{name!r} leaked: {leaks[0][:300]}"


@pytest.fixture
def trap(tmp_path, capsys, caplog, monkeypatch):
    monkeypatch.setenv("PAINZOO_CACHE", str(tmp_path / "cache"))
    caplog.set_level(logging.DEBUG)
    return Trap(tmp_path, capsys, caplog)


def test_loading_and_preprocessing_a_named_tree(tmp_path, trap):
    root = _mint(tmp_path / "mint")
    ds, _ = trap.call(load_mintpain, root, frames_per_subject_class=None)
    assert sorted(set(ds.subjects)) == ["Sub01", "Sub02"]
    trap.texts += [ds.frame.to_csv(), repr(ds), str(ds.root), ds.summary().to_string()]
    trap.texts += [str(p) for p in ds.image_paths]
    # preprocess with the MInt PAIN layout, through the CLI: success, output files
    rc, _ = trap.call(
        main,
        ["preprocess", str(root), str(tmp_path / "out"), "--layout", "mintpain"]
        + ["--detector", "none", "--size", "16"],
    )
    assert rc == 0
    assert (tmp_path / "out" / "manifest.csv").is_file()
    # the default folder layout on a MInt PAIN root: a clear error, without the names
    rc, _ = trap.call(
        main, ["preprocess", str(root), str(tmp_path / "out2"), "--detector", "none"]
    )
    assert rc == 2
    _, err = trap.call(load_folder, root, expect=ValueError)
    assert "load_mintpain" in str(err) and "--layout mintpain" in str(err)
    trap.files(tmp_path / "out", tmp_path / "cache")
    trap.check()


def test_bad_images_in_a_named_tree(tmp_path, trap):
    root = _mint(tmp_path / "mint")
    bad = next(root.glob("Sub1 */*/*Label3/rgb/0001.jpg"))
    bad.write_bytes(b"\xff\xd8 broken")
    _, err = trap.call(
        preprocess_folder,
        root,
        tmp_path / "o1",
        layout="mintpain",
        detector="none",
        size=16,
        expect=ValueError,
    )
    assert "Sub01/Annotated_data_Sub01_Trial01" in str(err)  # the pseudonym names it
    ds, _ = trap.call(
        preprocess_folder,
        root,
        tmp_path / "o2",
        layout="mintpain",
        detector="none",
        size=16,
        on_error="skip",
    )
    assert len(ds) == 2 * 2 * 2 * 2 - 1  # 2 subjects × 2 trials × 2 sweeps × 2 frames, one bad
    trap.files(tmp_path / "o2", tmp_path / "cache")
    trap.check()


def test_link_cache_on_a_full_disk(tmp_path, trap, monkeypatch):
    root = _mint(tmp_path / "mint")

    def no_link(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link", str(src), None, str(dst))

    def full(src, dst, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(src), None, str(dst))

    monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(shutil, "copyfile", full)
    _, err = trap.call(load_mintpain, root, link_dir=tmp_path / "links", expect=OSError)
    assert err.errno == errno.ENOSPC and "No space left" in str(err)
    assert "Sub01/Annotated_data_Sub01_Trial01" in str(err)
    rc, _ = trap.call(main, ["preprocess", str(root), str(tmp_path / "o"), "--layout", "mintpain"])
    assert rc == 2
    trap.check()


def test_unreadable_folder_and_odd_file_name(tmp_path, trap, monkeypatch):
    root = _mint(tmp_path / "mint")
    real_iterdir = Path.iterdir

    def guarded(self):
        if self.name.endswith("Trial02"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", guarded)
    _, err = trap.call(load_mintpain, root, link_dir=tmp_path / "l", expect=PermissionError)
    assert "Sub01/Annotated_data_Sub01_Trial02" in str(err)
    monkeypatch.setattr(Path, "iterdir", real_iterdir)
    rgb = next(root.glob("Sub1 */*/*Label0/rgb"))
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(
        os.fsdecode(os.fsencode(rgb) + b"/odd\xe9.jpg"), format="JPEG"
    )
    _, err = trap.call(load_mintpain, root, link_dir=tmp_path / "l", expect=ValueError)
    assert "not valid UTF-8" in str(err) and "\\xe9" in str(err)
    trap.check()
