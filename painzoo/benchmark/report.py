"""Tables and plots of a run: ``results.csv``, ``summary.csv``, ``report.md``, PNGs.

``report.md`` opens with whether the data are synthetic, what was compared on what data and the
headline accuracies with 95 % intervals, then a reading guide, the paper layouts
(leave-one-subject-out, P1 Table 3; the three P2 scenarios, P2 Fig. 4 and 5; sweeps, P1 Fig. 5) and
the run's bookkeeping. Metrics are in % (F1 and ROC AUC too), every table and figure has a numbered
caption, and generated data are marked ``(synthetic)`` (``summary.csv``: column ``synthetic``).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from painzoo.benchmark.config import DataEntry, resolve_data_spec
from painzoo.benchmark.figures import pyplot as _plt
from painzoo.benchmark.figures import save as _save
from painzoo.benchmark.figures import style as _style
from painzoo.benchmark.storage import atomic_write_text
from painzoo.evaluation.metrics import (
    METRIC_KEYS,
    bootstrap_ci,
    chance_accuracy,
    mean_std,
    per_subject_metrics,
    pooled_metrics,
    roc_auc,
)

__all__ = ["collect_results", "data_origin", "summarize", "summary_lines", "write_report"]


def collect_results(out, units) -> pd.DataFrame:
    """One row per planned :class:`~painzoo.benchmark.units.Unit`, from its
    ``metrics.json`` or ``error.json``; ``unit_id`` is the unit's content hash,
    ``synthetic`` whether any part of its data is synthetic (:func:`data_origin`)."""
    rows = []
    for unit in units:
        folder = Path(out) / "runs" / unit.run_id
        row = {
            "run_id": unit.run_id,
            "unit_id": unit.key,
            "data": unit.data_name,
            "synthetic": data_origin(unit.data, unit.data_name) in (_SYNTHETIC, _PARTLY),
            "protocol": unit.protocol_name,
            "protocol_label": unit.protocol_label,
            "aggregation": unit.aggregation,
            "model": unit.model_label,
            "model_name": unit.model_name,
            "sweep": json.dumps(unit.sweep or {}, sort_keys=True),
            "repeat": unit.repeat,
            "fold": unit.fold,
            "fold_name": unit.fold_name,
            "seed": unit.seed,
        }
        if (folder / "metrics.json").is_file():
            m = json.loads((folder / "metrics.json").read_text())
            seconds = m.pop("seconds", {})
            # model_kwargs / model_aids: JSON text, one cell of results.csv
            row.update(
                (k, json.dumps(v, sort_keys=True) if isinstance(v, dict) else v)
                for k, v in m.items()
                if k not in ("run_id", "unit_id")
            )
            row.update({f"seconds_{k}": v for k, v in seconds.items()})
        elif (folder / "error.json").is_file():
            e = json.loads((folder / "error.json").read_text())
            row.update(status="failed", error=e.get("error", ""))
        else:
            row.update(status="pending")
        rows.append(row)
    return pd.DataFrame(rows)


def _predictions(out, run_ids) -> pd.DataFrame:
    parts = []
    for rid in run_ids:
        f = Path(out) / "runs" / rid / "predictions.csv"
        if f.is_file():
            parts.append(pd.read_csv(f, dtype={"subject": str}).assign(run_id=rid))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def summarize(out, results: pd.DataFrame) -> pd.DataFrame:
    """One row per data × protocol × model with both aggregations.

    Columns ``pooled_<metric>`` sum the confusion counts over the folds of each repeat (P1) and
    average over repeats; ``<metric>`` and ``<metric>_std`` are the mean ± std over units (P2).
    ``auc`` and ``f1_ci_low/high`` use the first repeat's pooled predictions. Metrics are
    fractions in [0, 1]; ``synthetic`` (when ``results`` has it) marks synthetic data.
    """
    if results.empty or "status" not in results:
        return pd.DataFrame()
    done = results[results["status"] == "ok"]
    rows = []
    keys = ["data", "protocol", "protocol_label", "aggregation", "model", "model_name", "sweep"]
    for key, part in results.groupby(keys, sort=False):
        row = dict(zip(keys, key))
        if "synthetic" in part:
            row = {"data": row["data"], "synthetic": bool(part["synthetic"].iloc[0]), **row}
        ok = done[done["run_id"].isin(part["run_id"])]
        failed = _count(part, "failed")
        row.update(units=len(part), finished=len(ok), failed=failed, flagged=_n_flagged(ok))
        if len(ok):
            pooled = [pooled_metrics(r.to_dict("records")) for _, r in ok.groupby("repeat")]
            avg = mean_std(pooled)
            row.update({f"pooled_{k}": avg[k] for k in METRIC_KEYS})
            total = pooled_metrics(ok.to_dict("records"))
            row.update({k: total[k] for k in ("tn", "fp", "fn", "tp")})
            row.update(mean_std(ok.to_dict("records")))
            preds = _predictions(out, ok[ok["repeat"] == ok["repeat"].min()]["run_id"])
            if len(preds):
                row["auc"] = roc_auc(preds["y_true"], preds["p_pain"])
                row["f1_ci_low"], row["f1_ci_high"] = bootstrap_ci(preds, "f1", n_boot=500)
            secs = [c for c in ok.columns if c.startswith("seconds_")]
            row["seconds"] = float(ok[secs].sum().sum()) if secs else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _count(results: pd.DataFrame, status: str) -> int:
    return int((results["status"] == status).sum()) if "status" in results else 0


# -- names a reader understands -------------------------------------------------------
_SYNTHETIC, _PARTLY, _REAL = "synthetic", "partly synthetic", "real"


def data_origin(data: dict | None, spec) -> str | None:
    """Whether a config data entry is rendered by painzoo's generator.

    Args:
        data: The config's ``data`` mapping.
        spec: An entry name in ``data``, or an entry itself.

    Returns:
        ``"synthetic"`` (a ``synthetic:`` entry, or a ``concat`` of such
        entries only), ``"partly synthetic"`` (a ``concat`` of synthetic and
        real parts), ``"real"`` (a ``manifest`` or ``loader`` entry, or a
        ``concat`` of such), or ``None`` for a name ``data`` does not define.
    """
    data = data if isinstance(data, dict) else {}
    if not isinstance(spec, dict) and not (isinstance(spec, str) and spec in data):
        return None
    parts = DataEntry("", spec, resolve_data_spec(spec, data)).parts()
    synthetic = {"synthetic" in part for part in parts}
    if not synthetic:
        return None
    if synthetic == {True}:
        return _SYNTHETIC
    return _REAL if synthetic == {False} else _PARTLY


def _parts(data: dict, spec, seen=()):
    """``spec`` and, depth first, every entry name and mapping it is built from."""
    yield spec
    if isinstance(spec, str) and spec in data and spec not in seen:
        yield from _parts(data, data[spec], (*seen, spec))
    elif isinstance(spec, dict):
        for part in spec.get("concat") or []:
            yield from _parts(data, part, seen)


def _presets(data: dict, names) -> list[str]:
    """The synthetic presets the named data entries render, in order."""
    found = []
    for spec in (s for name in names for s in _parts(data, name)):
        if isinstance(spec, dict) and "synthetic" in spec and spec["synthetic"] not in found:
            found.append(str(spec["synthetic"]))
    return found


#: The real datasets the generator's presets are shaped after.
_PRESET_NAMES = {"ratspain": "RatsPain", "paindb": "PAIN-DB", "cppain": "CP-PAIN"}


class _Names:
    """Readable names of data and protocols for one report."""

    def __init__(self, config_data, results: pd.DataFrame):
        self.data = dict(config_data) if isinstance(config_data, dict) else {}
        self.flag = {}
        if len(results) and "synthetic" in results:
            for name, value in zip(results["data"], results["synthetic"]):
                self.flag.setdefault(name, bool(value))

    def origin(self, name) -> str:
        origin = data_origin(self.data, name)
        if origin is None and name in self.flag:
            origin = _SYNTHETIC if self.flag[name] else _REAL
        return origin or _REAL

    def data_label(self, name) -> str:
        """``ratspain (synthetic)``; real data as the config names them."""
        origin = self.origin(name)
        return str(name) if origin == _REAL else f"{name} ({origin})"

    def noun(self, name) -> str:
        """``rat`` for data built from rat entries, presets or loaders, else ``subject``."""
        words = []
        for s in _parts(self.data, name):
            if isinstance(s, dict):
                words += [str(s[k]) for k in ("synthetic", "loader") if k in s]
            elif isinstance(s, str):
                words.append(s)
        return "rat" if any(w.lower().startswith("rat") for w in words) else "subject"

    def protocol(self, data, protocol, label) -> str:
        """``leave-one-rat-out``, ``subject 2-fold``, ``cross-dataset paindb → cppain``."""
        label = str(label)
        k = label[len(protocol) :] if label.startswith(str(protocol)) else ""
        if protocol == "loso":
            return f"leave-one-{self.noun(data)}-out"
        if protocol in ("image_kfold", "subject_kfold") and k.isdigit():
            return f"{protocol.split('_')[0]} {k}-fold"
        if protocol == "cross_dataset":
            found = re.fullmatch(r"cross_dataset\((.*)\)", label)
            test = found.group(1).split("+") if found else []
            entry = self.data.get(data)
            parts = entry.get("concat") if isinstance(entry, dict) else None
            train = [p for p in parts or [] if isinstance(p, str) and p not in test]
            if not parts or len(train) != len([p for p in parts if p not in test]):
                train = ["the other sources"]
            return f"cross-dataset {'+'.join(train)} → {'+'.join(test) or '?'}"
        return label

    def scenario(self, data, protocol, label) -> str:
        """Protocol and data in one name: ``leave-one-rat-out · ratspain (synthetic)``."""
        name = self.protocol(data, protocol, label)
        if protocol == "cross_dataset" and name.startswith("cross-dataset "):
            origin = self.origin(data)
            return name if origin == _REAL else f"{name} ({origin})"
        return f"{name} · {self.data_label(data)}"

    def any_synthetic(self, names) -> str | None:
        """``"all"``, ``"some"`` or ``None``: how many of ``names`` are (partly) synthetic."""
        flags = [self.origin(n) != _REAL for n in names]
        if not flags or not any(flags):
            return None
        return "all" if all(flags) else "some"


class _Numbering:
    """Running numbers of the report's tables and figures."""

    def __init__(self):
        self.tables = self.figures = 0

    def table(self) -> int:
        self.tables += 1
        return self.tables

    def figure(self) -> int:
        self.figures += 1
        return self.figures


# -- markdown -------------------------------------------------------------------------
#: Widest table the report writes (columns); wider ones are split, the first column repeated.
MAX_COLUMNS = 8


def _md_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|---" * frame.shape[1] + "|"]
    lines += ["| " + " | ".join(str(v) for v in r.tolist()) + " |" for _, r in frame.iterrows()]
    return "\n".join(lines)


def _tables(frame: pd.DataFrame, caption: str, number: _Numbering, keep: int = 1) -> list[str]:
    """Caption + table, split into tables of at most :data:`MAX_COLUMNS` columns.

    The first ``keep`` columns (names) are repeated in every part; each part
    gets its own number and the caption, marked ``(part i of n)``.
    """
    head, rest = list(frame.columns[:keep]), list(frame.columns[keep:])
    step = max(MAX_COLUMNS - keep, 1)
    chunks = [rest[i : i + step] for i in range(0, len(rest), step)] or [[]]
    lines = []
    for i, chunk in enumerate(chunks):
        part = f" (part {i + 1} of {len(chunks)})" if len(chunks) > 1 else ""
        lines += [
            f"**Table {number.table()}{part}.** {caption}",
            "",
            _md_table(frame[head + chunk]),
            "",
        ]
    return lines


def _figure(number: _Numbering, file: str, alt: str, caption: str) -> list[str]:
    return [f"![{alt}]({file})", "", f"*Figure {number.figure()}.* {caption}", ""]


def _is_nan(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _pct(v, digits=1) -> str:
    return "–" if _is_nan(v) else f"{100 * v:.{digits}f}"


def _mark(row) -> str:
    """`` ⚠`` after the numbers of a model with a collapsed or not learning unit."""
    return _FLAG_MARK * bool(row.get("flagged"))


def _pm(row, key) -> str:
    v, s = row.get(key), row.get(f"{key}_std")
    return "–" if _is_nan(v) else f"{100 * v:.1f} ± {100 * (s or 0):.1f}{_mark(row)}"


def _loso_tables(out, results, summary, data, names: _Names, number) -> list[str]:
    """P1 Table 3: F1 / accuracy per held-out subject (first repeat), then pooled."""
    part = summary[(summary["data"] == data) & (summary["protocol"] == "loso")]
    done = results[
        (results["data"] == data) & (results["protocol"] == "loso") & (results["status"] == "ok")
    ]
    subjects = list(dict.fromkeys(done.sort_values("fold")["fold_name"]))
    scenario = names.scenario(data, "loso", "loso")
    per_rows, pooled_rows = [], []
    for _, r in part.iterrows():
        runs = done[(done["model"] == r["model"]) & (done["repeat"] == done["repeat"].min())]
        preds = _predictions(out, runs["run_id"])
        per = per_subject_metrics(preds) if len(preds) else pd.DataFrame()
        row = {"method": r["model"]}
        for s in subjects:
            row[f"{s} F1(pain) / Acc"] = (
                f"{_pct(per.loc[s, 'f1'])} / {_pct(per.loc[s, 'accuracy'])}{_mark(r)}"
                if s in per.index
                else "–"
            )
        per_rows.append(row)
        finished = bool(r.get("finished"))
        f1_acc = f"{_pct(r.get('pooled_f1'))} / {_pct(r.get('pooled_accuracy'))}{_mark(r)}"
        ci = f"[{_pct(r.get('f1_ci_low'))}, {_pct(r.get('f1_ci_high'))}]"
        pooled_rows.append(
            {
                "method": r["model"],
                "pooled F1(pain) / Acc": f1_acc if finished else "–",
                "pooled macro F1": _pct(r.get("pooled_f1_macro")) if finished else "–",
                "ROC AUC": _pct(r.get("auc", np.nan)),
                "F1(pain) 95% CI (subjects)": ci if pd.notna(r.get("f1_ci_low", np.nan)) else "–",
            }
        )
    lines = []
    if subjects:
        lines += _tables(
            pd.DataFrame(per_rows),
            f"{scenario}: F1 of the pain class / accuracy with each {names.noun(data)} held out "
            "in turn (first repeat). All values in %.",
            number,
        )
    return lines + _tables(
        pd.DataFrame(pooled_rows),
        f"{scenario}: pooled over all folds (confusion counts summed, P1). All values in % "
        "(ROC AUC × 100 as well); the interval resamples subjects.",
        number,
    )


def write_report(
    out, config, results: pd.DataFrame, summary: pd.DataFrame, *, interrupted=False
) -> Path:
    """Write ``OUT/report.md`` and its PNG plots; return the report's path.

    ``config`` is the run's :class:`~painzoo.benchmark.config.BenchmarkConfig`, or ``None``.
    """
    out = Path(out)
    names = _Names(config.data_specs if config else None, results)
    number = _Numbering()
    data_names = list(dict.fromkeys(results["data"])) if len(results) else []
    synthetic = names.any_synthetic(data_names)
    title = f"# painzoo benchmark `{config.name if config else ''}`"
    title += {"all": " on synthetic data", "some": " on partly synthetic data"}.get(synthetic, "")
    lines = [title, "", *_origin_lines(names, data_names, synthetic)]
    lines += _compared_lines(results, names)
    if len(results) and _count(results, "ok") < len(results):
        lines += [f"**Incomplete run**: {_progress_text(results, interrupted)}", ""]
    lines += summary_lines(out, results, summary, names=names, number=number)
    lines += _reading_lines(summary, names)
    if not summary.empty:
        lines += _detail_lines(out, results, summary, names, number)
    lines += aid_lines(results) + flagged_lines(results)
    failed = results[results["status"] == "failed"] if "status" in results else results[:0]
    if len(failed):
        lines += ["## Failed units", ""]
        lines += [f"- `{r.run_id}`: {r.error}" for r in failed.itertuples()] + [""]
    lines += _bookkeeping_lines(results, interrupted)
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    return out / "report.md"


def _origin_lines(names: _Names, data_names: list, synthetic: str | None) -> list[str]:
    """The report's first line: whether (and which of) its data are synthetic."""
    if synthetic is None:
        return []
    shown = [f"`{n}`" for n in data_names if names.origin(n) != _REAL]
    presets = _presets(names.data, data_names)
    after = [_PRESET_NAMES[p] for p in presets if p in _PRESET_NAMES]
    shaped = f" (presets {', '.join(presets)}, shaped after the {_and(after)} datasets)"
    shaped = shaped if after else ""
    if synthetic == "all":
        return [
            f"**Synthetic data.** Every dataset in this report ({', '.join(shown)}) was "
            f"rendered by painzoo's face generator{shaped}: no real face is in it, and the "
            "labels are the generator's own. The numbers show how the methods and protocols "
            "behave on faces whose pain the generator knows exactly; they are not findings "
            "about real pain, real animals or real people, and not the papers' results.",
            "",
        ]
    real = [f"`{n}`" for n in data_names if names.origin(n) == _REAL]
    one = len(shown) == 1
    return [
        f"**Partly synthetic data.** {_and(shown)} {'is' if one else 'are'} rendered, "
        f"wholly or in part, by painzoo's face generator{shaped} and marked *(synthetic)* "
        f"wherever {'it appears' if one else 'they appear'}. Their numbers are not findings "
        f"about real pain. {_and(real)} {'is' if len(real) == 1 else 'are'} the data as "
        "configured.",
        "",
    ]


def _and(items) -> str:
    items = list(items)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _compared_lines(results: pd.DataFrame, names: _Names) -> list[str]:
    """What was compared on what data (from the planned units, finished or not)."""
    if results.empty:
        return []
    models, baselines = list(dict.fromkeys(results["model"])), _baselines(results)
    nets = [f"`{m}`" for m in models if m not in baselines]
    bases = [f"`{m}`" for m in models if m in baselines]
    who = []
    if nets:
        who.append(f"{_and(nets)} ({'network' if len(nets) == 1 else 'networks'})")
    if bases:
        who.append(f"{_and(bases)} (hand-crafted baseline: LBP features + SVM)")
    count = f"{len(models)} model{'s' * (len(models) > 1)}"
    lines = [f"**What was compared**: {count}, {' and '.join(who)}, on:", ""]
    for data, grp in results.groupby("data", sort=False):
        parts = []
        for (protocol, label), g in grp.groupby(["protocol", "protocol_label"], sort=False):
            n = g["model"].nunique()
            parts.append(f"{names.protocol(data, protocol, label)} ({n} model{'s' * (n > 1)})")
        lines.append(f"- {names.data_label(data)}: {', '.join(parts)}")
    return [*lines, ""]


def _progress_text(results: pd.DataFrame, interrupted: bool) -> str:
    done = f"{_count(results, 'ok')} of {len(results)} units finished"
    return f"{done}, {_count(results, 'failed')} failed" + (
        " — **interrupted**: rerun the same command to finish." if interrupted else "."
    )


#: How each protocol splits the data, in plain words (in the guide's order).
_PROTOCOL_WORDS = {
    "loso": "*leave-one-subject-out* (or leave-one-rat-out) trains on every subject but one "
    "and tests on the one left out, each in turn",
    "subject_kfold": "*subject K-fold* splits the subjects into K groups; no subject is on "
    "both sides",
    "image_kfold": "*image K-fold* splits the images at random, so the same subject is on "
    "both sides: it partly measures recognising known faces and tends to score higher (the "
    "gap is *subject leakage*)",
    "cross_dataset": "*cross-dataset A → B* trains on dataset A and tests on dataset B",
}


def _reading_lines(summary: pd.DataFrame, names: _Names) -> list[str]:
    """A short guide in plain words: units, protocols, aggregations, intervals, marks."""
    protocols = set(summary["protocol"]) if "protocol" in summary else set()
    lines = [
        "## How to read this report",
        "",
        "- **Metrics in %**, the positive class is pain. *Accuracy*: the share of test "
        "images classified correctly. *F1(pain)*: the F1 of the pain class (P1's F1); "
        "*macro F1*: the mean of the pain and no-pain F1. *P* and *R*: precision and "
        "recall of a class. *ROC AUC* (× 100): how often a random pain image gets a higher "
        "pain score than a random no-pain one. `summary.csv` holds the same metrics as "
        "fractions between 0 and 1.",
    ]
    words = [text for protocol, text in _PROTOCOL_WORDS.items() if protocol in protocols]
    if words:
        lines.append(f"- **Protocols**: {'; '.join(words)}.")
    lines += [
        "- **Pooled** (P1): confusion counts summed over the folds, then the metric. "
        "**Mean ± std** (P2): the metric of each fold or training run, then their mean "
        "and standard deviation.",
        "- **Intervals** `[low, high]`: 95 % bootstrap intervals that resample subjects: "
        "how far the number could move with other subjects drawn like these. A difference "
        "whose interval includes 0 is not established at this size.",
        "- **⚠**: the model has a unit that answered one class for every test image or did "
        "not learn (listed near the end); its numbers say little about the network.",
    ]
    if names.any_synthetic(list(dict.fromkeys(summary.get("data", [])))):
        lines.append(
            "- **(synthetic)** after a data name: the data were drawn by painzoo's generator, "
            "not recorded."
        )
    return [*lines, ""]


def _detail_lines(out, results, summary, names: _Names, number: _Numbering) -> list[str]:
    """The paper-layout tables and figures."""
    lines = ["## Detailed results (paper layouts)", ""]
    sweeps = summary[summary["sweep"] != "{}"]
    plain = summary[summary["sweep"] == "{}"] if len(sweeps) else summary
    for data in dict.fromkeys(plain[plain["protocol"] == "loso"]["data"]):
        loro = names.protocol(data, "loso", "loso")
        lines += [f"### {names.data_label(data)}: {loro} (P1 Table 3 layout)", ""]
        lines += _loso_tables(out, results, plain, data, names, number)
    p2 = plain[plain["protocol"] != "loso"]
    if len(p2):
        lines += _p2_lines(out, p2, names, number)
    if len(sweeps):
        lines += _sweep_lines(out, sweeps, names, number)
    if _plot_confusions(out, summary, names):
        lines += ["### Confusion matrices", ""]
        lines += _figure(
            number,
            "confusion.png",
            "confusion matrices",
            "Confusion matrices, all folds and repeats pooled: rows are the true class, "
            "columns the predicted one; each cell gives the number of test images and its "
            "share of the true class (the colour), so the diagonal shows the recall of each "
            f"class{_synthetic_note(names, summary['data'])}.",
        )
    return lines


#: P2's tables: heading, (summary column, title) pairs, what the titles mean.
_P2_TABLES = (
    (
        "Accuracy and F1 (mean ± std over runs)",
        [("accuracy", "accuracy"), ("f1", "F1(pain)"), ("f1_macro", "macro F1")],
        "*F1(pain)*: the F1 of the pain class; *macro F1*: the mean of the pain and "
        "no-pain F1 (P2 does not say which it reports).",
    ),
    (
        "Precision and recall per class",
        [
            ("precision_no_pain", "P(no pain)"),
            ("recall_no_pain", "R(no pain)"),
            ("precision_pain", "P(pain)"),
            ("recall_pain", "R(pain)"),
        ],
        "*P* / *R*: precision / recall of the class named.",
    ),
)
_SCENARIO = {
    "image_kfold": "P2 scenario 1, subjects on both sides",
    "subject_kfold": "P2 scenario 2",
    "cross_dataset": "P2 scenario 3",
}


def _p2_lines(out, p2, names: _Names, number: _Numbering) -> list[str]:
    """P2's scenarios: a table of mean ± std per scenario, the leakage gap, two figures."""
    keys = list(dict.fromkeys(zip(p2["data"], p2["protocol"], p2["protocol_label"])))
    lines = ["### The three scenarios (P2 layout)", ""]
    for heading, columns, what in _P2_TABLES:
        lines += [f"#### {heading}", "", what, ""]
        for data, protocol, label in keys:
            part = p2[(p2["data"] == data) & (p2["protocol_label"] == label)]
            n = int(part["units"].max()) if "units" in part else 0
            runs = "training run" if protocol == "cross_dataset" else "fold"
            rows = [
                {"model": r["model"], **{title: _pm(r, key) for key, title in columns}}
                for _, r in part.iterrows()
            ]
            caption = (
                f"{names.scenario(data, protocol, label)}, {_SCENARIO.get(protocol, protocol)}: "
                f"mean ± std over {n} {runs}{'s' * (n != 1)}. All values in %."
            )
            lines += _tables(pd.DataFrame(rows), caption, number)
    leak = _leakage_lines(p2, names)
    if leak:
        lines += ["#### Subject leakage (mean over folds)", "", *leak, ""]
    note = _synthetic_note(names, p2["data"])
    _plot_bars(out, p2, keys, names, note)
    lines += _figure(
        number,
        "accuracy_f1.png",
        "accuracy and F1 per model and scenario",
        "Accuracy and F1 of the pain class per model (bars: mean over folds or runs; "
        f"whiskers: ± 1 std), one bar per scenario{note}.",
    )
    return lines + _figure(
        number,
        "precision_recall.png",
        "precision and recall per class, model and scenario",
        "Precision and recall of each class per model (mean ± 1 std over folds or runs), "
        f"one bar per scenario{note}.",
    )


#: The sweep table's columns: summary column and title.
_SWEEP_COLUMNS = [
    ("pooled_f1", "pooled F1(pain)"),
    ("pooled_f1_macro", "pooled macro F1"),
    ("pooled_accuracy", "pooled accuracy"),
    ("f1", "mean F1(pain)"),
    ("f1_macro", "mean macro F1"),
    ("accuracy", "mean accuracy"),
]


def _sweep_lines(out, sweeps, names: _Names, number: _Numbering) -> list[str]:
    """P1 Fig. 5: the swept models' F1 and accuracy, as a table and ``sweeps.png``."""
    rows = [
        {
            "scenario": names.scenario(r["data"], r["protocol"], r["protocol_label"]),
            "model": r["model"],
            **{title: _pct(r.get(key)) for key, title in _SWEEP_COLUMNS},
        }
        for _, r in sweeps.iterrows()
    ]
    lines = ["### Hyper-parameter sweeps (P1 Fig. 5 layout)", ""]
    lines += _tables(
        pd.DataFrame(rows),
        "Sweeps: pooled over folds (P1) and mean over folds (P2). All values in %.",
        number,
        keep=2,
    )
    _plot_sweeps(out, sweeps, names)
    return lines + _figure(
        number,
        "sweeps.png",
        "F1 and accuracy against the swept hyper-parameter",
        "F1 of the pain class (circles) and pooled accuracy (squares) against the swept "
        f"hyper-parameter{_synthetic_note(names, sweeps['data'])}.",
    )


def _synthetic_note(names: _Names, data) -> str:
    which = names.any_synthetic(list(dict.fromkeys(data)))
    return {"all": "; synthetic data", "some": "; partly synthetic data"}.get(which, "")


def _bookkeeping_lines(results: pd.DataFrame, interrupted: bool) -> list[str]:
    lines = ["## Run bookkeeping", ""]
    if results.empty:
        return [*lines, "No unit was planned.", ""]
    lines.append(f"- {_progress_text(results, interrupted)}")
    if "reused" in results:
        n_reused = int(results["reused"].sum())
        lines.append(
            f"- {n_reused} unit(s) reused from an earlier run into this folder (identical "
            "identity hash, `unit_id` in `results.csv`); "
            f"{max(_count(results, 'ok') - n_reused, 0)} trained now."
        )
    return lines + [
        "- Files: `results.csv` (one row per unit), `summary.csv` (one row per data × "
        "protocol × model; metrics as fractions between 0 and 1; `synthetic` says whether "
        "the row's data are synthetic), `config.json` (the config run), and "
        "`runs/<run_id>/` (each unit's metrics and predictions).",
        "",
    ]


def aid_lines(results: pd.DataFrame) -> list[str]:
    """The report section naming the aids (``model_aids``) of each network; empty if none."""
    if "model_aids" not in results or "status" not in results:
        return []
    used: dict[str, list[str]] = {}
    for r in results[results["status"] == "ok"].itertuples():
        aids = r.model_aids if isinstance(r.model_aids, str) else "{}"
        for key, value in json.loads(aids).items():
            text = f"`{key}={json.dumps(value)}`"
            if text not in used.setdefault(r.model, []):
                used[r.model].append(text)
    used = {model: texts for model, texts in used.items() if texts}
    if not used:
        return []
    return [
        "## Model aids",
        "",
        "Networks the recipe built with painzoo's aids for training from random weights "
        "(`model_aids`; the other networks are as published):",
        "",
        *[f"- `{model}`: {', '.join(texts)}" for model, texts in used.items()],
        "",
    ]


_FLAG_MARK = " ⚠"


def _n_flagged(done: pd.DataFrame) -> int:
    if "flag" not in done:
        return 0
    return int(done["flag"].fillna("").astype(str).str.len().gt(0).sum())


def flagged_lines(results: pd.DataFrame) -> list[str]:
    """The section on collapsed or not-learning units (empty if none; their cells carry ``⚠``)."""
    if results.empty or "flag" not in results:
        return []
    flags = results["flag"].fillna("").astype(str)
    flagged = results[(results["status"] == "ok") & (flags != "")]
    if flagged.empty:
        return []
    from painzoo.evaluation.metrics import FLAG_ADVICE

    return [
        "## ⚠ Collapsed or not learning",
        "",
        f"{len(flagged)} unit(s) predicted one class for every test image (`collapsed`) or "
        "did not lower their training loss below chance or fitted their training images "
        "hardly better than answering one class (`not_learning`); their numbers say little "
        f"about the network. To try: {FLAG_ADVICE}.",
        "",
        *[f"- `{r['run_id']}`: {r['flag']}{_curve_note(r)}" for _, r in flagged.iterrows()],
        "",
    ]


def _curve_note(row) -> str:
    """`` (training loss A → B, training accuracy C %)`` from what the unit recorded."""

    def number(key):
        try:
            value = float(row.get(key))
        except (TypeError, ValueError):
            return None
        return value if np.isfinite(value) else None

    first, last, fit = number("loss_first"), number("loss_last"), number("train_accuracy")
    parts = [f"training loss {first:.3f} → {last:.3f}"] if None not in (first, last) else []
    parts += [f"training accuracy {100 * fit:.1f} %"] if fit is not None else []
    return f" ({', '.join(parts)})" if parts else ""


def _leakage_lines(p2, names: _Names) -> list[str]:
    """Image- minus subject-level K-fold accuracy (means over folds) per model and data."""
    lines = []
    for data, grp in p2.groupby("data", sort=False):
        img = grp[grp["protocol"] == "image_kfold"].set_index("model")
        sub = grp[grp["protocol"] == "subject_kfold"].set_index("model")
        for m in img.index.intersection(sub.index) if "accuracy" in grp else []:
            a, b = img.loc[m, "accuracy"], sub.loc[m, "accuracy"]
            if _is_nan(a) or _is_nan(b):
                continue
            la = names.protocol(data, "image_kfold", img.loc[m, "protocol_label"])
            lb = names.protocol(data, "subject_kfold", sub.loc[m, "protocol_label"])
            lines.append(
                f"- `{m}` on `{names.data_label(data)}`: image-level ({la}) {100 * a:.1f} % vs "
                f"subject-level ({lb}) {100 * b:.1f} % accuracy (gap {100 * (a - b):+.1f} "
                "points; a positive gap is what identity leaking across the split buys)."
            )
    return lines


# -- the one-minute summary -------------------------------------------------------------
_SUBJECT_LEVEL = ("loso", "subject_kfold", "cross_dataset")
_N_BOOT = 1000


def _first_repeat_predictions(out, results, data, plabel, model) -> pd.DataFrame:
    done = results[
        (results["status"] == "ok")
        & (results["data"] == data)
        & (results["protocol_label"] == plabel)
        & (results["model"] == model)
    ]
    if done.empty:
        return pd.DataFrame()
    return _predictions(out, done[done["repeat"] == done["repeat"].min()]["run_id"])


def _paired_bootstrap(frames: list[pd.DataFrame], n_boot=_N_BOOT, seed=0):
    """Accuracy of one prediction table, or the accuracy difference of two (first − second).

    The tables predict the same rows (matched on ``row``); each replicate draws subjects with
    replacement. Returns ``(value, (low, high))``, the 95 % interval ``nan`` under two subjects.
    """
    key = ["row", "subject", "y_true"]
    merged = frames[0][key + ["y_pred"]].rename(columns={"y_pred": "a"})
    if len(frames) == 2:
        merged = merged.merge(frames[1][key + ["y_pred"]].rename(columns={"y_pred": "b"}), on=key)
    correct = (merged["a"] == merged["y_true"]).astype(float)
    if len(frames) == 2:
        correct = correct - (merged["b"] == merged["y_true"]).astype(float)
    merged = merged.assign(v=correct.to_numpy())
    value = float(merged["v"].mean()) if len(merged) else float("nan")
    groups = merged.groupby("subject", sort=True)["v"]
    sums, counts = groups.sum().to_numpy(), groups.count().to_numpy()
    if len(sums) < 2:
        return value, (float("nan"), float("nan"))
    pick = np.random.default_rng(seed).integers(0, len(sums), (n_boot, len(sums)))
    low, high = np.quantile(sums[pick].sum(1) / counts[pick].sum(1), [0.025, 0.975])
    return value, (float(low), float(high))


def _ci(value, interval, points=False) -> str:
    """``value [low, high]`` in %, signed for a difference in ``points``."""
    if value is None or np.isnan(value):
        return "–"
    (low, high), fmt = interval, "+.1f" if points else ".1f"
    text = f"{100 * value:{fmt}}"
    return text if np.isnan(low) else f"{text} [{100 * low:{fmt}}, {100 * high:{fmt}}]"


def _verdict(name_a, name_b, diff, interval) -> str:
    low, high = interval
    if np.isnan(low):
        return f"{name_a} − {name_b}: {100 * diff:+.1f} points (too few subjects for an interval)."
    text = f"{name_a} − {name_b}: {_ci(diff, interval, points=True)} points — the interval "
    if low > 0 or high < 0:
        return text + f"excludes 0: {name_a if low > 0 else name_b} is more accurate here."
    return text + "includes 0: no difference can be claimed at this size."


def summary_lines(
    out,
    results: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    names: _Names | None = None,
    number: _Numbering | None = None,
) -> list[str]:
    """The first screen of ``report.md`` as Markdown lines (empty when no unit finished).

    Four parts, each where the run has what it needs: accuracy of every model under the
    subject-level protocols (the best network against the best hand-crafted baseline); subject
    leakage (image- minus subject-level K-fold accuracy on the same rows); P1's comparison under
    leave-one-subject-out (PainSeeker against its ablation and ResNet-18); and where
    PainSeeker's attention β falls relative to the AU masks of synthetic faces. Intervals are 95 %
    percentile bootstraps over subjects (1,000 replicates); differences are paired on the same
    images. Writes ``accuracy_ci.png`` and ``attention.png`` into ``out``.

    Args:
        out: The run folder (unit predictions under ``runs/``).
        results: From :func:`collect_results`.
        summary: From :func:`summarize`.
        names: Readable names of data and protocols (default: from ``results``).
        number: Table and figure numbering to continue (default: from 1).
    """
    out = Path(out)
    names = names or _Names(None, results)
    number = number or _Numbering()
    if summary.empty or "finished" not in summary or not (summary["finished"] > 0).any():
        return []
    plain = summary[(summary["sweep"] == "{}") & (summary["finished"] > 0)]
    subj = plain[plain["protocol"].isin(_SUBJECT_LEVEL)]
    columns = list(dict.fromkeys(zip(subj["data"], subj["protocol"], subj["protocol_label"])))
    preds = {}
    for data, _, plabel in columns:
        for model in subj[(subj["data"] == data) & (subj["protocol_label"] == plabel)]["model"]:
            p = _first_repeat_predictions(out, results, data, plabel, model)
            if len(p):
                preds[data, plabel, model] = p
    return [
        "## Summary",
        "",
        *_accuracy_lines(out, plain, columns, preds, names, number),
        *_paired_leakage_lines(out, results, plain, names),
        *_p1_lines(plain, preds, names),
        *_attention_lines(out, results, names, number),
    ]


def _baselines(frame: pd.DataFrame) -> set:
    """The model labels in ``frame`` that are scikit-learn baselines (LBP+SVM)."""
    from painzoo.training.learner import learner_class

    names = dict(zip(frame["model"], frame["model_name"]))
    return {m for m, name in names.items() if not learner_class(name).trains_network}


def _accuracy_lines(out, plain, columns, preds, names: _Names, number: _Numbering) -> list[str]:
    """Accuracy [95 % interval] per model and subject-level scenario, the best network
    against the best baseline, and ``accuracy_ci.png``."""
    acc = {key: _paired_bootstrap([p]) for key, p in preds.items()}
    if not acc:
        return []
    flagged = {
        (r["data"], r["protocol_label"], r["model"])
        for _, r in plain.iterrows()
        if r.get("flagged", 0) and not _is_nan(r.get("flagged"))
    }
    models = list(dict.fromkeys(m for (_, _, m) in acc))
    table = {"model": models}
    for data, protocol, plabel in columns:
        table[names.scenario(data, protocol, plabel)] = [
            _ci(*acc[data, plabel, m]) + _FLAG_MARK * ((data, plabel, m) in flagged)
            if (data, plabel, m) in acc
            else "–"
            for m in models
        ]
    lines = _tables(
        pd.DataFrame(table),
        "Accuracy under the subject-level protocols (no subject on both sides of a "
        "split), pooled over folds: value [95 % interval, resampling subjects]. All "
        "values in %.",
        number,
    )
    baselines = _baselines(plain) & set(models)
    for data, protocol, plabel in columns:
        here = {m: v for (d, p, m), v in acc.items() if (d, p) == (data, plabel)}
        nets = [m for m in here if m not in baselines]
        bases = [m for m in here if m in baselines]
        if nets and bases:
            best = max(nets, key=lambda m: here[m][0])
            base = max(bases, key=lambda m: here[m][0])
            diff, ci = _paired_bootstrap([preds[data, plabel, best], preds[data, plabel, base]])
            lines.append(
                f"- {names.scenario(data, protocol, plabel)}, best network vs best "
                "baseline: " + _verdict(f"`{best}`", f"`{base}`", diff, ci)
            )
    lines.append("")
    chance = {}
    for (data, plabel, _), p in preds.items():
        chance.setdefault((data, plabel), chance_accuracy(p["y_true"]))
    note = _synthetic_note(names, [d for d, _, _ in columns])
    _plot_accuracy_ci(out, acc, columns, models, names, baselines, chance, note)
    return lines + _figure(
        number,
        "accuracy_ci.png",
        "accuracy with 95 % intervals per model and protocol",
        "Accuracy (%) of each model under the subject-level protocols: dot = pooled over "
        "the folds, bar = 95 % interval resampling subjects; dashed line = the accuracy "
        f"of always answering the test set's commoner class{note}.",
    )


def _paired_leakage_lines(out, results, plain, names: _Names) -> list[str]:
    """Image- minus subject-level accuracy on the same images, paired, per model and data."""
    leak = []
    for data in dict.fromkeys(plain["data"]):
        grp = plain[plain["data"] == data]
        img = grp[grp["protocol"] == "image_kfold"]
        sub = grp[grp["protocol"] == "subject_kfold"]
        if sub.empty:  # leave-one-subject-out is the subject-level K-fold with K = subjects
            sub = grp[grp["protocol"] == "loso"]
        for model in [m for m in img["model"] if m in set(sub["model"])]:
            a = _first_repeat_predictions(out, results, data, img["protocol_label"].iloc[0], model)
            b = _first_repeat_predictions(out, results, data, sub["protocol_label"].iloc[0], model)
            if not (len(a) and len(b)):
                continue
            gap, ci = _paired_bootstrap([a, b])
            ai, bi = _paired_bootstrap([a])[0], _paired_bootstrap([b])[0]
            where = (
                "image-level K-fold flatters the model (identity leaks across the split)"
                if ci[0] > 0
                else "no leakage gap can be claimed at this size"
                if not ci[1] < 0
                else "image-level K-fold scores lower here"
            )
            labels = [
                names.protocol(data, x["protocol"].iloc[0], x["protocol_label"].iloc[0])
                for x in (img, sub)
            ]
            leak.append(
                f"- `{model}` on `{names.data_label(data)}`: image-level ({labels[0]}) "
                f"{100 * ai:.1f} % vs subject-level ({labels[1]}) {100 * bi:.1f} %, gap "
                f"{_ci(gap, ci, points=True)} points — {where}."
            )
    if not leak:
        return []
    return [
        "**Subject leakage**: image-level minus subject-level accuracy on the same images "
        "(paired, resampling subjects):",
        "",
        *leak,
        "",
    ]


def _p1_lines(plain, preds, names: _Names) -> list[str]:
    """P1's comparison under leave-one-subject-out: PainSeeker against its ablation and
    ResNet-18, paired accuracy differences."""
    p1 = []
    loso = plain[plain["protocol"] == "loso"]
    for data in dict.fromkeys(loso["data"]):
        by_name = dict(
            zip(loso[loso["data"] == data]["model_name"], loso[loso["data"] == data]["model"])
        )
        ps = by_name.get("painseeker")
        for other in ("painseeker_no_prsc", "resnet18"):
            if ps and other in by_name:
                a, b = preds.get((data, "loso", ps)), preds.get((data, "loso", by_name[other]))
                if a is not None and b is not None:
                    diff, ci = _paired_bootstrap([a, b])
                    p1.append(
                        f"- {names.scenario(data, 'loso', 'loso')}: "
                        + _verdict(f"`{ps}`", f"`{by_name[other]}`", diff, ci)
                    )
    if not p1:
        return []
    return [
        "**P1's comparison** (leave-one-subject-out, accuracy difference in points):",
        "",
        *p1,
        "",
    ]


def _attention_lines(out, results, names: _Names, number: _Numbering) -> list[str]:
    """Where PainSeeker looks: β on the AU regions against chance, and ``attention.png``."""
    from painzoo.benchmark.attention_report import (
        attention_summary,
        collect_attention,
        plot_attention,
    )

    records = collect_attention(out, results)
    att = attention_summary(records)
    if not len(att):
        return []
    rows = [
        {
            "model": r["model"],
            "scenario": names.scenario(r["data"], _protocol_of(r["protocol"]), r["protocol"]),
            "class": r["class"].replace("_", " "),
            "images": r["images"],
            "β on AU regions": f"{100 * r['share']:.1f} [{100 * r['share_low']:.1f}, "
            f"{100 * r['share_high']:.1f}]",
            "chance (area)": f"{100 * r['chance']:.1f}",
        }
        for _, r in att.iterrows()
    ]
    lines = _tables(
        pd.DataFrame(rows),
        "Where PainSeeker looks: the share of its attention mass β (P1 Eq. 2) on the "
        "action-unit regions the generator drew, against the share of the image those "
        "regions cover (what a uniform β would get); 95 % interval resampling subjects. "
        "All values in % (`images` counts test images).",
        number,
    )
    # One figure per model: its leave-one-subject-out units where there are any.
    shown = [r for r in records if r["protocol_label"] == "loso"] or records
    if not plot_attention(shown, out / "attention.png", names=names):
        return lines
    return lines + _figure(
        number,
        "attention.png",
        "mean attention over the mean test face",
        "Where PainSeeker looks (synthetic faces): left, the mean test face with the "
        "action-unit regions outlined (white: where they lie in at least half the "
        "images); middle and right, the mean attention β of each cell of PainSeeker's "
        "grid over that face, for no-pain and pain images (leave-one-subject-out "
        "units where the run has them). The colour bar and the numbers give β in % "
        "of the map; a uniform β would give every cell the same share.",
    )


def _protocol_of(label: str) -> str:
    """The protocol name of a label (``subject_kfold5`` → ``subject_kfold``)."""
    for name in ("loso", "image_kfold", "subject_kfold", "cross_dataset"):
        if str(label).startswith(name):
            return name
    return str(label)


# -- plots ------------------------------------------------------------------------------
def _wrap(text: str, width: int = 34) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _bars(ax, part, keys, metric, title):
    models = list(dict.fromkeys(part["model"]))
    width = 0.8 / max(len(keys), 1)
    x = np.arange(len(models))
    for i, (data, _, plabel) in enumerate(keys):
        g = part[(part["data"] == data) & (part["protocol_label"] == plabel)].set_index("model")
        vals = [100 * g.loc[m, metric] if m in g.index and metric in g else np.nan for m in models]
        errs = [
            100 * g.loc[m, f"{metric}_std"] if m in g.index and f"{metric}_std" in g else 0
            for m in models
        ]
        ax.bar(x + i * width, vals, width, yerr=errs, color=f"C{i}", capsize=2)
    ax.set_xticks(x + width * (len(keys) - 1) / 2, models, rotation=20, ha="right")
    ax.set(xlabel="model", ylabel=f"{title} (%)", ylim=(0, 100), title=title)


def _scenario_legend(fig, keys, names: _Names):
    from matplotlib.patches import Patch

    handles = [
        Patch(color=f"C{i}", label=names.scenario(data, protocol, plabel))
        for i, (data, protocol, plabel) in enumerate(keys)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(keys), 2))


def _plot_bars(out, p2, keys, names: _Names, note: str):
    """``accuracy_f1.png`` and ``precision_recall.png``: a bar per model and scenario."""
    plt = _plt()
    width = max(8, 1.6 * p2["model"].nunique() + 5)
    per_class = [
        (f"{what}_{cls}", f"{what.capitalize()}, {cls.replace('_', ' ')}")
        for what in ("precision", "recall")
        for cls in ("no_pain", "pain")
    ]
    with _style():
        for file, title, panels in (
            (
                "accuracy_f1",
                "Accuracy and F1",
                [("accuracy", "Accuracy"), ("f1", "F1 of the pain class")],
            ),
            ("precision_recall", "Precision and recall per class", per_class),
        ):
            height = 4.2 if len(panels) == 2 else 7.5
            fig, axes = plt.subplots(
                len(panels) // 2, 2, figsize=(width, height), layout="constrained"
            )
            for ax, (metric, panel) in zip(axes.ravel(), panels):
                _bars(ax, p2, keys, metric, panel)
            _scenario_legend(fig, keys, names)
            fig.suptitle(f"{title}, mean ± std over folds or runs{_title_note(note)}")
            _save(fig, out / f"{file}.png")


def _title_note(note: str) -> str:
    """``"; synthetic data"`` (a caption's note) as a title's ``" (synthetic data)"``."""
    return f" ({note.lstrip('; ')})" if note else ""


def _plot_confusions(out, summary, names: _Names) -> bool:
    """``confusion.png``: one pooled confusion matrix per summary row; whether it was drawn."""
    plt = _plt()
    rows = summary[summary.get("finished", 0) > 0] if "finished" in summary else summary
    if rows.empty or "tp" not in rows:
        return False
    n = len(rows)
    cols = min(n, 4)
    nrows = (n + cols - 1) // cols
    with _style():
        fig, axes = plt.subplots(
            nrows, cols, figsize=(3.0 * cols + 1.2, 3.3 * nrows + 0.6), layout="constrained"
        )
        axes = np.atleast_1d(axes).ravel()
        image = None
        for ax, (_, r) in zip(axes, rows.iterrows()):
            cm = np.array([[r["tn"], r["fp"]], [r["fn"], r["tp"]]], float)
            share = 100 * cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
            image = ax.imshow(share, cmap="Blues", vmin=0, vmax=100)
            for (i, j), v in np.ndenumerate(cm):
                color = "white" if share[i, j] > 60 else "black"
                text = f"{int(v)}\n{share[i, j]:.0f} %"
                ax.text(j, i, text, ha="center", va="center", fontsize=9, color=color)
            ax.set_xticks([0, 1], ["no pain", "pain"])
            ax.set_yticks([0, 1], ["no pain", "pain"])
            scenario = names.scenario(r["data"], r["protocol"], r["protocol_label"])
            ax.set(xlabel="predicted class", ylabel="true class")
            ax.set_title(f"{r['model']}\n{_wrap(scenario)}")
        for ax in axes[n:]:
            ax.axis("off")
        fig.colorbar(image, ax=axes[:n].tolist(), shrink=0.8, label="share of the true class (%)")
        note = _synthetic_note(names, rows["data"])
        fig.suptitle(f"Confusion matrices, all folds pooled{_title_note(note)}")
        _save(fig, out / "confusion.png")
    return True


def _plot_sweeps(out, sweeps, names: _Names):
    """``sweeps.png``: F1 and pooled accuracy against each swept hyper-parameter."""
    from matplotlib.lines import Line2D

    plt = _plt()
    params = sorted({k for s in sweeps["sweep"] for k in json.loads(s)})
    with _style():
        fig, axes = plt.subplots(
            1, len(params), figsize=(5 * len(params), 4), squeeze=False, layout="constrained"
        )
        handles = []
        groups = sweeps.groupby(["model_name", "data", "protocol", "protocol_label"])
        for ax, param in zip(axes[0], params):
            for (name, data, protocol, plabel), g in groups:
                swept = [(json.loads(s), r) for s, r in zip(g["sweep"], g.to_dict("records"))]
                pts = sorted(
                    ((v[param], r) for v, r in swept if list(v) == [param]), key=lambda t: t[0]
                )
                if not pts:
                    continue
                xs = [p for p, _ in pts]
                key = "pooled_f1" if pts[0][1]["aggregation"] == "pooled" else "f1"
                color = f"C{len(handles) % 10}"
                ax.plot(xs, [100 * r.get(key, np.nan) for _, r in pts], "o-", color=color)
                accuracy = [100 * r.get("pooled_accuracy", np.nan) for _, r in pts]
                ax.plot(xs, accuracy, "s--", color=color)
                label = f"{name}, {names.scenario(data, protocol, plabel)}"
                handles.append(Line2D([], [], color=color, label=label))
            ax.set(xlabel=param, ylabel="F1(pain) or accuracy (%)", ylim=(0, 100))
            ax.set_title(f"Sweep of {param}")
        handles += [
            Line2D([], [], color="grey", marker="o", label="F1 of the pain class"),
            Line2D([], [], color="grey", marker="s", ls="--", label="pooled accuracy"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        fig.suptitle(
            f"Hyper-parameter sweeps{_title_note(_synthetic_note(names, sweeps['data']))}"
        )
        _save(fig, out / "sweeps.png")


def _plot_accuracy_ci(out, acc, columns, models, names: _Names, baselines, chance, note):
    """``accuracy_ci.png``: accuracy and its interval per model, a panel per scenario."""
    from matplotlib.lines import Line2D

    plt = _plt()
    shown = {(d, p, pl): [m for m in models if (d, pl, m) in acc] for d, p, pl in columns}
    panels = [(*key, models_shown) for key, models_shown in shown.items() if models_shown]
    heights = [len(shown) + 1.0 for *_, shown in panels]
    with _style():
        fig, axes = plt.subplots(
            len(panels),
            1,
            figsize=(8, 0.38 * sum(heights) + 1.6),
            sharex=True,
            squeeze=False,
            gridspec_kw={"height_ratios": heights},
            layout="constrained",
        )
        for ax, (data, protocol, plabel, shown) in zip(axes[:, 0], panels):
            for y, m in enumerate(shown):
                v, (lo, hi) = acc[data, plabel, m]
                err = [[100 * (v - lo)], [100 * (hi - v)]] if not np.isnan(lo) else None
                color = "C1" if m in baselines else "C0"
                ax.errorbar(100 * v, y, xerr=err, fmt="o", color=color, capsize=3)
            if (data, plabel) in chance:
                ax.axvline(100 * chance[data, plabel], color="grey", lw=1, ls="--")
            ax.set_yticks(range(len(shown)), shown)
            ax.set(ylim=(len(shown) - 0.5, -0.5), ylabel="model")
            ax.set_title(names.scenario(data, protocol, plabel), loc="left")
            ax.grid(axis="x", alpha=0.3)
        axes[-1, 0].set(xlim=(0, 100), xlabel="accuracy (%)")
        drawn = {m for *_, shown in panels for m in shown}
        kinds = [("C0", "network", drawn - set(baselines))]
        kinds += [("C1", "LBP+SVM baseline", drawn & set(baselines))]
        handles = [
            Line2D([], [], color=color, marker="o", ls="none", label=label)
            for color, label, some in kinds
            if some
        ]
        handles += [
            Line2D([], [], color="black", lw=1, label="95 % interval (resampling subjects)"),
            Line2D([], [], color="grey", lw=1, ls="--", label="always the commoner class"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        fig.suptitle(f"Accuracy under subject-level protocols{_title_note(note)}")
        _save(fig, out / "accuracy_ci.png")
