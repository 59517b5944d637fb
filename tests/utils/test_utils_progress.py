"""progress_bar: a disabled bar is silent, a shown one counts on stderr."""

from painzoo.utils.progress import progress_bar


def test_a_hidden_bar_takes_updates_and_prints_nothing(capsys):
    with progress_bar(False, total=3, desc="hidden") as bar:
        bar.update(1)
        bar.update(2)
    assert capsys.readouterr().err == ""


def test_a_shown_bar_counts_on_stderr(capsys):
    with progress_bar(True, total=3, desc="shown", unit="image") as bar:
        bar.update(3)
    err = capsys.readouterr().err
    assert "shown" in err and "3/3" in err and "image" in err
