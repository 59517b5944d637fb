"""Output handling: atomic writes, file modes per umask, the lock, read-only and full disks."""

import errno
import json
import os
import socket
import stat
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from painzoo.benchmark import apply_overrides, load_config, run
from painzoo.benchmark import storage as storage_module
from painzoo.benchmark.storage import (
    OutputLock,
    OutputLockedError,
    OutputWriteError,
    atomic_write_bytes,
)
from painzoo.cli import main
from painzoo.datasets import Dataset

OUTPUTS = (
    "results.csv",
    "summary.csv",
    "report.md",
    "config.json",
    "confusion.png",
    "accuracy_ci.png",
)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """Four subjects × 6 images of 24 px on disk."""
    rng = np.random.default_rng(0)
    labels = np.tile([0, 1], 12)
    images = np.clip(
        np.where(labels == 1, 160, 90)[:, None, None, None] + rng.normal(0, 30, (24, 24, 24, 3)),
        0,
        255,
    ).astype(np.uint8)
    frame = pd.DataFrame({"label": labels, "subject": np.repeat(["a", "b", "c", "d"], 6)})
    return Dataset(frame, images=images).to_csv(tmp_path_factory.mktemp("toy") / "toy.csv")


def _config(manifest, out, **overrides):
    config = load_config(
        {
            "name": "toy",
            "out": str(out),
            "image_size": 24,
            "data": {"toy": {"manifest": str(manifest)}},
            "models": ["lbp_svm_r1p8_4x4"],
            "experiments": [{"data": "toy", "protocols": ["loso"]}],
            "config_dir": str(manifest.parent),
        }
    )
    return apply_overrides(config, **overrides)


def _files(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def umask():
    """Set a umask for one test and restore the previous one."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_(mask):
        os.umask(mask)

    yield set_
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_every_output_file_is_readable_per_the_umask(manifest, tmp_path, umask, mask):
    umask(mask)
    run(_config(manifest, tmp_path), progress=False)
    files = _files(tmp_path)
    assert {p.name for p in files} >= {*OUTPUTS, "metrics.json", "predictions.csv"}
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask, path


def test_every_output_file_is_written_atomically(manifest, tmp_path, monkeypatch):
    written = []
    real = storage_module.atomic_write_bytes

    def recording(path, data):
        written.append(os.path.abspath(path))
        return real(path, data)

    monkeypatch.setattr(storage_module, "atomic_write_bytes", recording)
    run(_config(manifest, tmp_path), progress=False)
    files = _files(tmp_path)
    assert len(files) == len(OUTPUTS) + 4 * 3  # 4 LOSO units × 3 files, no lock, no temporary
    missed = [p for p in files if str(p) not in written]
    assert not missed, f"written in place: {missed}"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "results.csv"
    atomic_write_bytes(target, b"old")

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OutputWriteError, match="full") as info:
        atomic_write_bytes(target, b"new" * 100_000)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC and str(target) in str(info.value)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == [target.name]


# -- the lock ------------------------------------------------------------------------------
@pytest.fixture
def other_process():
    """A live process that is not this one (its pid goes into a lock file)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def _write_lock(folder, pid, host=None):
    folder.mkdir(parents=True, exist_ok=True)
    info = {"pid": pid, "host": host or socket.gethostname(), "started": "2026-01-01T00:00:00"}
    (folder / ".lock").write_text(json.dumps(info))


def test_a_second_run_on_one_folder_stops_at_once_naming_the_other(
    manifest, tmp_path, other_process, capsys
):
    import yaml

    _write_lock(tmp_path / "out", other_process)
    with pytest.raises(OutputLockedError, match=f"process {other_process}") as info:
        run(_config(manifest, tmp_path / "out"), progress=False)
    assert "--out" in str(info.value) and ".lock" in str(info.value)
    assert not (tmp_path / "out" / "runs").exists()  # nothing was trained or written
    path = tmp_path / "toy.yaml"
    config = _config(manifest, tmp_path / "out")
    path.write_text(
        yaml.safe_dump({k: v for k, v in config.to_dict().items() if k != "config_dir"})
    )
    assert main(["benchmark", "--config", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"process {other_process}" in err and "Traceback" not in err
    # The lock of another host cannot be checked: it is never taken over.
    _write_lock(tmp_path / "far", 1, host="another-host.example")
    with pytest.raises(OutputLockedError, match="another-host.example"):
        OutputLock(tmp_path / "far").acquire()


def test_a_stale_lock_is_taken_over_with_a_warning_and_released(manifest, tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # its pid now names no process
    _write_lock(tmp_path, proc.pid)
    with pytest.warns(UserWarning, match=f"stale lock .* process {proc.pid}"):
        result = run(_config(manifest, tmp_path), progress=False)
    assert len(result.finished) == 4
    assert not (tmp_path / ".lock").exists()


def test_two_locks_on_one_folder_exclude_each_other(tmp_path):
    first = OutputLock(tmp_path).acquire()
    info = json.loads((tmp_path / ".lock").read_text())
    assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
    with pytest.raises(OutputLockedError, match=str(os.getpid())):
        OutputLock(tmp_path).acquire()
    first.release()
    with OutputLock(tmp_path):
        assert (tmp_path / ".lock").is_file()
    assert not (tmp_path / ".lock").exists()


# -- read-only and full --------------------------------------------------------------------
def _chmod_tree(folder, dir_mode, file_mode):
    for p in [folder, *folder.rglob("*")]:
        p.chmod(dir_mode if p.is_dir() else file_mode)


_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.mark.parametrize(
    "how",
    [
        pytest.param(
            "chmod", marks=pytest.mark.skipif(_ROOT, reason="root writes to read-only folders")
        ),
        "simulated",  # the file system refuses to create files, as a read-only mount does
    ],
)
def test_a_read_only_out_gives_one_clear_message_and_keeps_finished_units(
    manifest, tmp_path, capsys, monkeypatch, how
):
    import yaml

    out = tmp_path / "out"
    first = run(_config(manifest, out), progress=False)
    before = {p: p.read_bytes() for p in _files(out / "runs")}
    changed = _config(manifest, out, seed=5)  # new units to train
    path = tmp_path / "toy.yaml"
    path.write_text(
        yaml.safe_dump({k: v for k, v in changed.to_dict().items() if k != "config_dir"})
    )
    if how == "chmod":
        _chmod_tree(out, 0o555, 0o444)
    else:
        real_open = os.open

        def read_only_open(file, flags, *args, **kwargs):
            if str(file).startswith(str(out)) and flags & os.O_CREAT:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(file))
            return real_open(file, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", read_only_open)
    try:
        with pytest.raises(OutputWriteError, match="read-only") as info:
            run(changed, progress=False)
        assert str(out) in str(info.value) and "rerun" in str(info.value)
        assert main(["benchmark", "--config", str(path), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert str(out) in err and "writable" in err and "Traceback" not in err
    finally:
        monkeypatch.undo()
        _chmod_tree(out, 0o755, 0o644)
    assert {p: p.read_bytes() for p in _files(out / "runs")} == before
    again = run(_config(manifest, out), progress=False)
    assert sorted(again.skipped) == sorted(first.finished)


def test_a_full_disk_stops_the_run_with_one_message_and_keeps_finished_units(
    manifest, tmp_path, monkeypatch
):
    real_replace = os.replace
    finished = []

    def replace(src, dst, *args, **kwargs):
        if len(finished) >= 2:  # the disk fills up after two units
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        real_replace(src, dst, *args, **kwargs)
        if str(dst).endswith("metrics.json"):
            finished.append(dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OutputWriteError, match="full") as info:
        run(_config(manifest, tmp_path), progress=False)
    monkeypatch.undo()
    message = str(info.value)
    assert str(tmp_path) in message and "free some space" in message
    assert len(list(tmp_path.glob("runs/*/metrics.json"))) == 2
    assert not list(tmp_path.rglob(".*.tmp")) and not (tmp_path / ".lock").exists()
    again = run(_config(manifest, tmp_path), progress=False)
    assert len(again.skipped) == 2 and len(again.finished) == 2


def test_a_corrupt_keras_file_is_named_as_corrupt(tmp_path):
    from painzoo.explain.files import load_model

    bad = tmp_path / "model.keras"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="not a Keras archive") as info:
        load_model(bad)
    assert str(bad) in str(info.value) and "not found" not in str(info.value).lower()
