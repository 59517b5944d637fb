"""report.md for a reader: synthetic data said everywhere, one unit per table, figures that stand alone.

One run of LBP+SVM (fast) on three data entries: ``rats``, synthetic (the
``ratspain`` preset); ``toy``, a real manifest of nine subjects; and ``mix``,
synthetic rats and synthetic CP-PAIN people for the cross-dataset protocol.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from painzoo.benchmark import figures as figures_module
from painzoo.benchmark import load_config, run
from painzoo.benchmark.report import (
    MAX_COLUMNS,
    _tables,
    data_origin,
    summarize,
    write_report,
)
from painzoo.datasets import Dataset

# LBP+SVM on a few toy images answers one class on some folds, which the run flags.
pytestmark = pytest.mark.filterwarnings("ignore:.*predicted one class for every test image")

MODEL = "lbp_svm_r1p8_4x4"
#: The origin of each data entry of the config below, as its entries say.
SYNTHETIC = {"rats": True, "toy": False, "mix": True}


def _figure_problems(fig) -> list[str]:
    """What keeps a figure from standing alone (empty when nothing does)."""
    import matplotlib.text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < 9:
            problems.append(f"{text.get_text()!r} is {text.get_fontsize()} pt")
    colorbars = [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]
    plots = [ax for ax in fig.axes if ax not in colorbars and ax.axison]
    for ax in plots:
        for axis, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            ticks = getattr(ax, f"get_{axis}ticklabels")()
            if any(t.get_visible() and t.get_text() for t in ticks) and not label:
                problems.append(f"axes {ax.get_title()!r}: {axis} ticks without an axis label")
    if any(ax.images for ax in plots) and not colorbars:
        problems.append("a map without a colour bar")
    for ax in colorbars:
        if not (ax.get_ylabel() or ax.get_xlabel()):
            problems.append("a colour bar without a label")
    legends = list(fig.legends) + [ax.get_legend() for ax in plots if ax.get_legend()]
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in plots:
            if box.overlaps(ax.get_tightbbox(renderer)):
                problems.append(f"the legend covers axes {ax.get_title()!r}")
    return problems


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    """The run's folder, its report text and what each saved figure showed."""
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("readable")
    labels = np.tile([0, 1], 18)
    images = np.clip(
        np.where(labels == 1, 150, 100)[:, None, None, None] + rng.normal(0, 25, (36, 24, 24, 3)),
        0,
        255,
    ).astype(np.uint8)
    frame = pd.DataFrame({"label": labels, "subject": np.repeat([f"s{i}" for i in range(9)], 4)})
    manifest = Dataset(frame, images=images).to_csv(root / "toy" / "toy.csv")
    out = root / "out"
    config = load_config(
        {
            "name": "readable",
            "out": str(out),
            "image_size": 24,
            "data": {
                "rats": {"synthetic": "ratspain", "args": {"image_size": 24, "scale": 0.03}},
                "toy": {"manifest": str(manifest)},
                "cppain": {"synthetic": "cppain", "args": {"image_size": 24, "scale": 0.1}},
                "mix": {"concat": ["rats", "cppain"]},
            },
            "models": [MODEL],
            "experiments": [
                {"data": "rats", "protocols": ["loso", {"image_kfold": {"n_splits": 2}}]},
                {"data": "toy", "protocols": ["loso", {"subject_kfold": {"n_splits": 2}}]},
                {
                    "data": "mix",
                    "protocols": [{"cross_dataset": {"test_sources": "cppain", "repeats": 1}}],
                },
            ],
            "config_dir": str(manifest.parent),
        }
    )
    figures = {}
    real_save = figures_module.save_figure

    def inspecting_save(fig, path, **kwargs):
        figures[path.name] = {
            "problems": _figure_problems(fig),
            "title": fig._suptitle.get_text() if fig._suptitle else "",
        }
        real_save(fig, path, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(figures_module, "save_figure", inspecting_save)
        result = run(config, progress=False, jobs=0)
    assert not result.failed, result.results.get("error")
    return out, (out / "report.md").read_text(encoding="utf-8"), figures


def _md_tables(text: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """``(caption, header, rows)`` of every Markdown table; caption = the line above it."""
    lines = text.splitlines()
    found, i = [], 0
    while i < len(lines):
        if lines[i].startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            above = [line for line in lines[:i] if line.strip()]
            cells = [
                [c.strip() for c in line.strip().strip("|").split("|")] for line in lines[i:j]
            ]
            found.append((above[-1] if above else "", cells[0], cells[2:]))
            i = j
        else:
            i += 1
    return found


def _table(text, caption_part, header_part=None):
    for caption, header, rows in _md_tables(text):
        if caption_part in caption and (header_part is None or header_part in header):
            return header, rows
    raise AssertionError(f"no table whose caption has {caption_part!r}")


def _row(rows, first):
    return next(r for r in rows if r[0] == first)


def _predictions(out, pattern) -> pd.DataFrame:
    parts = [
        pd.read_csv(f).assign(unit=f.parent.name)
        for f in sorted(out.glob(f"runs/{pattern}/predictions.csv"))
    ]
    assert parts, pattern
    return pd.concat(parts, ignore_index=True)


# -- synthetic data said everywhere ----------------------------------------------------------
def test_the_title_and_first_line_say_the_data_are_partly_synthetic(outcome):
    _, text, _ = outcome
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0] == "# painzoo benchmark `readable` on partly synthetic data"
    first = lines[1]
    assert first.startswith("**Partly synthetic data.**")
    assert "`rats`" in first and "`mix`" in first and "ratspain" in first
    # The real data are named as the config names them, and said to be the data as given.
    assert "`toy` is the data as configured" in first


def test_every_shown_data_name_carries_its_origin(outcome):
    _, text, _ = outcome
    header, _ = _table(text, "Accuracy under the subject-level protocols")
    assert header[1:] == [
        "leave-one-rat-out · rats (synthetic)",
        "leave-one-subject-out · toy",
        "subject 2-fold · toy",
        "cross-dataset rats → cppain (synthetic)",
    ]
    compared = text[text.index("**What was compared**") : text.index("## Summary")]
    assert "- rats (synthetic): leave-one-rat-out (1 model), image 2-fold (1 model)" in compared
    assert "- toy: leave-one-subject-out (1 model), subject 2-fold (1 model)" in compared
    assert "- mix (synthetic): cross-dataset rats → cppain (1 model)" in compared
    # Wherever a synthetic data entry is named, its line says "(synthetic)"
    # (run ids such as rats__loso__… and the `rats` of the first line excepted).
    for name in ("rats", "mix"):
        for hit in re.finditer(rf"(?<![\w`]){name}(?![\w`])", text):
            line = text[text.rindex("\n", 0, hit.start()) : text.index("\n", hit.end())]
            assert "(synthetic)" in line, line


def test_summary_csv_and_results_csv_have_a_synthetic_column(outcome):
    out, _, _ = outcome
    for name in ("summary.csv", "results.csv"):
        frame = pd.read_csv(out / name)
        assert frame["synthetic"].dtype == bool, name
        assert dict(zip(frame["data"], frame["synthetic"])) == SYNTHETIC, name


def test_every_figure_title_says_synthetic(outcome):
    _, text, figures = outcome
    assert set(figures) >= {
        "accuracy_ci.png",
        "accuracy_f1.png",
        "precision_recall.png",
        "confusion.png",
    }
    for name, seen in figures.items():
        assert "synthetic data" in seen["title"], (name, seen["title"])


def _named_config(name, data):
    """A config with this name and data (what the report reads of it)."""
    experiments = [{"data": "r", "protocols": ["loso"]}]
    return load_config(
        {"name": name, "data": data, "models": ["resnet18"], "experiments": experiments}
    )


def test_data_origin_follows_the_entries():
    data = {
        "syn": {"synthetic": "ratspain"},
        "real": {"manifest": "a.csv"},
        "load": {"loader": "load_unbc", "args": {}},
        "both": {"concat": ["syn", "real"]},
        "syns": {"concat": ["syn", {"synthetic": "cppain"}]},
        "reals": {"concat": ["real", "load"]},
    }
    origins = {name: data_origin(data, name) for name in data}
    assert origins == {
        "syn": "synthetic",
        "real": "real",
        "load": "real",
        "both": "partly synthetic",
        "syns": "synthetic",
        "reals": "real",
    }
    assert data_origin(data, "unknown") is None


def test_a_report_on_synthetic_data_only_says_so_and_real_data_say_nothing(tmp_path):
    rows = [
        {
            "run_id": f"{data}__subject_kfold2__m__r0f{fold}",
            "data": data,
            "protocol": "subject_kfold",
            "protocol_label": "subject_kfold2",
            "aggregation": "mean",
            "model": "m",
            "model_name": "resnet18",
            "sweep": "{}",
            "repeat": 0,
            "fold": fold,
            "status": "ok",
            "tn": 1,
            "fp": 1,
            "fn": 0,
            "tp": 2,
            "accuracy": 0.75,
            "f1": 0.8,
        }
        for data in ("r",)
        for fold in (0, 1)
    ]
    results = pd.DataFrame(rows)
    config = _named_config("s", {"r": {"synthetic": "ratspain"}})
    text = write_report(tmp_path, config, results, summarize(tmp_path, results)).read_text()
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0] == "# painzoo benchmark `s` on synthetic data"
    assert lines[1].startswith("**Synthetic data.**") and "RatsPain" in lines[1]
    assert "subject 2-fold · r (synthetic)" in text
    config = _named_config("s", {"r": {"manifest": "r.csv"}})
    text = write_report(tmp_path, config, results, summarize(tmp_path, results)).read_text()
    assert "(synthetic" not in text and "synthetic data" not in text.lower()
    assert text.splitlines()[0] == "# painzoo benchmark `s`"


# -- the first screen ---------------------------------------------------------------------------
def test_the_first_screen_has_readable_names_and_bookkeeping_comes_last(outcome):
    _, text, _ = outcome
    head = text[: text.index("## How to read this report")]
    assert not re.search(r"\bloso\b|kfold|cross_dataset", head), "protocol codes on screen one"
    assert "unit(s)" not in head and "units finished" not in head
    sections = re.findall(r"^## (.+)$", text, flags=re.M)
    assert sections[0] == "Summary" and sections[1] == "How to read this report"
    assert sections[-1] == "Run bookkeeping"
    tail = text[text.index("## Run bookkeeping") :]
    assert "20 of 20 units finished, 0 failed." in tail
    # The sentences with intervals: the leakage on the rats, in readable protocol names.
    assert "- `lbp_svm_r1p8_4x4` on `rats (synthetic)`: image-level (image 2-fold)" in head
    assert "subject-level (leave-one-rat-out)" in head


# -- one unit per table, wide tables split ---------------------------------------------------------
def test_every_table_states_one_unit_and_holds_at_most_eight_columns(outcome):
    _, text, _ = outcome
    tables = _md_tables(text)
    assert len(tables) >= 6
    for caption, header, rows in tables:
        assert caption.startswith("**Table "), caption
        assert "All values in %" in caption, caption
        assert len(header) <= MAX_COLUMNS, header
        for row in rows:
            for column, cell in zip(header[1:], row[1:]):
                if column == "images":  # a count of images, as the caption says
                    continue
                for number in re.findall(r"\d+\.\d+", cell):
                    # Percentages with one decimal; a fraction such as 0.8000 would show here.
                    assert re.fullmatch(r"\d{1,3}\.\d", number), (caption, column, cell)
                    assert 0 <= float(number) <= 100, (caption, column, cell)


def test_the_nine_subject_table_is_split_and_its_numbers_are_percent(outcome):
    out, text, _ = outcome
    parts = [
        (caption, header, rows)
        for caption, header, rows in _md_tables(text)
        if "leave-one-subject-out · toy: F1 of the pain class / accuracy" in caption
    ]
    assert [p[0].split(".**")[0] for p in parts] == [
        f"**Table {parts[0][0].split()[1]} (part 1 of 2)",
        f"**Table {int(parts[0][0].split()[1]) + 1} (part 2 of 2)",
    ]
    columns = [c for _, header, _ in parts for c in header[1:]]
    assert columns == [f"s{i} F1(pain) / Acc" for i in range(9)]
    assert all(header[0] == "method" for _, header, _ in parts)
    preds = _predictions(out, "toy__loso__*")
    cells = {c: v for _, header, rows in parts for c, v in zip(header[1:], rows[0][1:])}
    for subject, part in preds.groupby("subject"):
        acc = 100 * accuracy_score(part["y_true"], part["y_pred"])
        assert cells[f"{subject} F1(pain) / Acc"].split(" / ")[1].split()[0] == f"{acc:.1f}"
    # Pooled over the folds: scikit-learn on all test predictions concatenated, in %.
    _, rows = _table(text, "leave-one-subject-out · toy: pooled over all folds")
    cell = _row(rows, MODEL)[1].split(" ⚠")[0]
    f1 = 100 * f1_score(preds["y_true"], preds["y_pred"])
    acc = 100 * accuracy_score(preds["y_true"], preds["y_pred"])
    assert cell == f"{f1:.1f} / {acc:.1f}"


def test_a_scenario_table_gives_mean_and_std_in_percent(outcome):
    out, text, _ = outcome
    header, rows = _table(
        text, "subject 2-fold · toy, P2 scenario 2: mean ± std over 2 folds", "accuracy"
    )
    assert header == ["model", "accuracy", "F1(pain)", "macro F1"]
    per_class, _ = _table(
        text, "subject 2-fold · toy, P2 scenario 2: mean ± std over 2 folds", "P(pain)"
    )
    assert per_class == ["model", "P(no pain)", "R(no pain)", "P(pain)", "R(pain)"]
    preds = _predictions(out, "toy__subject_kfold2__*")
    per_fold = [
        (accuracy_score(p["y_true"], p["y_pred"]), f1_score(p["y_true"], p["y_pred"]))
        for _, p in preds.groupby("unit")
    ]
    acc, f1 = 100 * np.mean(per_fold, axis=0)
    acc_std, f1_std = 100 * np.std(per_fold, axis=0)
    row = _row(rows, MODEL)
    assert row[1].split(" ⚠")[0] == f"{acc:.1f} ± {acc_std:.1f}"
    assert row[2].split(" ⚠")[0] == f"{f1:.1f} ± {f1_std:.1f}"


def test_wide_tables_split_into_parts_that_repeat_the_name_columns():
    frame = pd.DataFrame({f"c{i}": [i, i + 1] for i in range(17)})

    class Count:
        tables = 0

        def table(self):
            self.tables += 1
            return self.tables

    lines = _tables(frame, "Caption. All values in %.", Count(), keep=2)
    tables = _md_tables("\n".join(lines))
    assert len(tables) == 3
    assert [t[0] for t in tables] == [
        f"**Table {i} (part {i} of 3).** Caption. All values in %." for i in (1, 2, 3)
    ]
    assert all(len(h) <= MAX_COLUMNS and h[:2] == ["c0", "c1"] for _, h, _ in tables)
    assert [c for _, h, _ in tables for c in h[2:]] == [f"c{i}" for i in range(2, 17)]
    assert [r[:2] for r in tables[2][2]] == [["0", "1"], ["1", "2"]]


# -- figures ------------------------------------------------------------------------------------------
def test_every_figure_stands_alone_and_has_a_caption(outcome):
    out, text, figures = outcome
    for name, seen in figures.items():
        assert not seen["problems"], (name, seen["problems"])
    shown = re.findall(r"^!\[[^\]]+\]\(([^)]+)\)$", text, flags=re.M)
    assert set(shown) == set(figures)
    lines = text.splitlines()
    for name in shown:
        i = next(k for k, line in enumerate(lines) if line.endswith(f"({name})"))
        caption = next(line for line in lines[i + 1 :] if line.strip())
        assert re.match(r"\*Figure \d+\.\* \S", caption), (name, caption)
        assert (out / name).stat().st_size > 0


def test_the_attention_figure_draws_beta_over_the_mean_face_with_a_colour_bar(
    tmp_path, monkeypatch
):
    from painzoo.benchmark.attention_report import plot_attention
    from painzoo.datasets.io import to_uint8

    rng = np.random.default_rng(0)
    face = rng.integers(0, 255, (64, 64, 3)).astype(float)
    mask = np.zeros((64, 64))
    mask[10:30, 10:50] = 255
    beta = {"0": np.full((3, 3), 1 / 9).tolist(), "1": (np.eye(3) / 3).tolist()}
    records = [
        {
            "model": "painseeker",
            "data": "rats",
            "protocol_label": "loso",
            "mean_image": face.tolist(),
            "mean_mask": mask.tolist(),
            "mean_beta": beta,
        }
    ]
    seen = {}
    real_save = figures_module.save_figure

    def inspecting_save(fig, path, **kwargs):
        seen["problems"] = _figure_problems(fig)
        seen["axes"] = [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is None]
        seen["colorbars"] = [ax for ax in fig.axes if getattr(ax, "_colorbar", None)]
        seen["title"] = fig._suptitle.get_text()
        real_save(fig, path, **kwargs)

    monkeypatch.setattr(figures_module, "save_figure", inspecting_save)
    assert plot_attention(records, tmp_path / "a.png")
    assert not seen["problems"], seen["problems"]
    assert "synthetic" in seen["title"] and len(seen["colorbars"]) == 1
    assert "β" in seen["colorbars"][0].get_ylabel()
    face_ax, no_pain, pain = seen["axes"]
    np.testing.assert_array_equal(face_ax.images[0].get_array(), to_uint8(face))
    for ax, cls in ((no_pain, "0"), (pain, "1")):
        under, heat = ax.images
        np.testing.assert_array_equal(under.get_array(), to_uint8(face))  # the face beneath
        np.testing.assert_allclose(heat.get_array(), 100 * np.asarray(beta[cls]))  # β in %
        assert heat.get_extent() == under.get_extent()  # the grid covers the whole face
    assert min(seen["colorbars"][0].get_ylim()) == 0
