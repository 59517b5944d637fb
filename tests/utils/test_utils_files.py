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


# -- check_outputs: no output over or inside an input ---------------------------------------
def test_check_outputs_refuses_an_input_and_names_both_paths(tmp_path):
    from painzoo.utils.files import check_outputs

    video = tmp_path / "vid.avi"
    video.write_bytes(b"frames")
    with pytest.raises(ValueError) as err:
        check_outputs({"--out": video}, [video], command="painzoo predict")
    message = str(err.value)
    assert message.startswith("painzoo predict: --out ")
    assert message.count(str(video)) == 2 and "would overwrite its input" in message
    assert "nothing was written" in message and "vid-out.avi" in message
    # the same file through another spelling, and through a hard link
    with pytest.raises(ValueError, match="would overwrite"):
        check_outputs([tmp_path / "sub" / ".." / "vid.avi"], [video], command="x")
    link = tmp_path / "link.avi"
    os.link(video, link)
    with pytest.raises(ValueError, match="would overwrite"):
        check_outputs([link], [video], command="x")
    assert video.read_bytes() == b"frames"


def test_check_outputs_refuses_a_path_inside_an_input_folder_only(tmp_path):
    from painzoo.utils.files import check_outputs

    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "a.avi").write_bytes(b"1")
    with pytest.raises(ValueError, match=r"would be written inside its model folder .*videos"):
        check_outputs(
            [("--out", folder / "deep" / "p.csv")], [("model folder", folder)], command="x"
        )
    with pytest.raises(ValueError, match="would overwrite its input folder"):
        check_outputs([folder], [folder], command="x")
    # beside the folder, and a folder that merely holds an input file: allowed
    check_outputs([tmp_path / "p.csv", tmp_path / "videos-crops"], [folder], command="x")
    check_outputs([tmp_path], [folder / "a.avi"], command="x")
    # a file input is not a folder: a sibling path is fine
    check_outputs([folder / "a.csv"], [folder / "a.avi"], command="x")


def test_check_outputs_takes_the_fix_given(tmp_path):
    from painzoo.utils.files import check_outputs

    with pytest.raises(ValueError, match=r"nothing was written\. Pass --out elsewhere\.$"):
        check_outputs([tmp_path / "m"], [tmp_path / "m"], command="x", fix="Pass --out elsewhere.")


# -- replacing an existing output only once the new one is complete -------------------------
def test_open_replacing_moves_the_file_into_place_at_the_end(tmp_path):
    from painzoo.utils.files import open_replacing

    target = tmp_path / "rows.csv"
    target.write_text("old\n")
    with open_replacing(target, "w", encoding="utf-8") as handle:
        handle.write("new\n")
        handle.flush()
        assert target.read_text() == "old\n"  # the old file stays while writing
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rows.csv"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_replacement_keeps_the_old_file(tmp_path, error):
    from painzoo.utils.files import open_replacing, replace_when_complete

    target = tmp_path / "rows.csv"
    target.write_text("old\n")
    with pytest.raises(error), open_replacing(target, "w") as handle:
        handle.write("half")
        raise error()
    with pytest.raises(error), replace_when_complete(target) as tmp:
        assert tmp.suffix == ".csv" and tmp.parent == tmp_path
        tmp.write_text("half")
        raise error()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rows.csv"]


def test_replace_when_complete_needs_a_written_file(tmp_path):
    from painzoo.utils.files import replace_when_complete

    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    with pytest.raises(FileNotFoundError, match="Nothing was written"):
        with replace_when_complete(target):
            pass
    assert target.read_bytes() == b"old"
