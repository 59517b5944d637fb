"""The one atomic write: all or nothing, no temporary file left behind."""

import os
import stat

import pytest

from painzoo.utils import files
from painzoo.utils.files import atomic_write_bytes, atomic_write_text


def test_writes_creates_folders_and_replaces(tmp_path):
    target = tmp_path / "a" / "b" / "out.json"
    atomic_write_text(target, "first ✓")
    assert target.read_text(encoding="utf-8") == "first ✓"
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "card.json"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


@pytest.mark.skipif(os.name != "posix", reason="umask is POSIX")
def test_mode_is_0666_minus_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "x", b"1")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x").stat().st_mode) == 0o640


def test_storage_translates_a_full_disk_into_its_own_error(tmp_path, monkeypatch):
    from painzoo.benchmark.storage import OutputWriteError
    from painzoo.benchmark.storage import atomic_write_bytes as storage_write

    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full)
    with pytest.raises(OutputWriteError, match="full"):
        storage_write(tmp_path / "results.csv", b"x")
