"""Tables and plots of a run: ``results.csv``, ``summary.csv``, ``report.md``, PNGs.

Layouts follow the papers:

- leave-one-subject-out (P1 Table 3): one row per method, F1 / accuracy per
  held-out subject, then the pooled F1 / accuracy over all folds;
- the three P2 scenarios: accuracy and F1 per model × scenario (mean ± std
  over the five runs, P2 Fig. 4), precision and recall per class (Fig. 5);
- sweeps (P1 Fig. 5): F1 and accuracy against the swept hyper-parameter.

Beyond the papers every row also carries ROC AUC and a 95 % bootstrap
interval of F1 that resamples subjects.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from painzoo.benchmark.storage import atomic_write_text, save_figure
from painzoo.evaluation.metrics import (
    METRIC_KEYS,
    bootstrap_ci,
    mean_std,
    per_subject_metrics,
    pooled_metrics,
    roc_auc,
)

__all__ = ["collect_results", "summarize", "summary_lines", "write_report"]

_SCENARIO = {
    "image_kfold": "Scenario 1 — image-level K-fold (subjects on both sides)",
    "subject_kfold": "Scenario 2 — subject-level K-fold",
    "cross_dataset": "Scenario 3 — cross-dataset",
    "loso": "Leave-one-subject-out",
}


def collect_results(out, units) -> pd.DataFrame:
    """One row per planned :class:`~painzoo.benchmark.units.Unit`, from its
    ``metrics.json`` or ``error.json``; ``unit_id`` is the unit's content hash."""
    rows = []
    for unit in units:
        folder = Path(out) / "runs" / unit.run_id
        row = {
            "run_id": unit.run_id,
            "unit_id": unit.key,
            "data": unit.data_name,
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
            row.update(
                {
                    # model_kwargs / model_aids: JSON text, one cell of results.csv
                    k: json.dumps(v, sort_keys=True) if isinstance(v, dict) else v
                    for k, v in m.items()
                    if k not in ("run_id", "unit_id")
                }
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

    Columns ``pooled_<metric>`` sum the confusion counts over the folds of
    each repeat (P1) and average over repeats; ``<metric>`` and
    ``<metric>_std`` are the mean ± std over units (P2). ``auc`` and
    ``f1_ci_low/high`` use the first repeat's pooled predictions.
    """
    if results.empty or "status" not in results:
        return pd.DataFrame()
    done = results[results["status"] == "ok"]
    rows = []
    keys = ["data", "protocol", "protocol_label", "aggregation", "model", "model_name", "sweep"]
    for key, part in results.groupby(keys, sort=False):
        row = dict(zip(keys, key))
        ok = done[done["run_id"].isin(part["run_id"])]
        row.update(
            units=len(part), finished=len(ok), failed=int((part["status"] == "failed").sum())
        )
        row["flagged"] = _n_flagged(ok)
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


# -- markdown -------------------------------------------------------------------------
def _md_table(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in frame.iterrows():
        lines.append("| " + " | ".join(str(v) for v in r.tolist()) + " |")
    return "\n".join(lines)


def _pct(v) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.2f}"


def _pm(row, key) -> str:
    v, s = row.get(key), row.get(f"{key}_std")
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return f"{100 * v:.2f} ± {100 * (s or 0):.2f}" + _FLAG_MARK * bool(row.get("flagged"))


def _loso_table(out, results, summary, data) -> str:
    part = summary[(summary["data"] == data) & (summary["protocol"] == "loso")]
    done = results[
        (results["data"] == data) & (results["protocol"] == "loso") & (results["status"] == "ok")
    ]
    subjects = []
    for s in done.sort_values("fold")["fold_name"]:
        if s not in subjects:
            subjects.append(s)
    rows = []
    for _, r in part.iterrows():
        runs = done[(done["model"] == r["model"]) & (done["repeat"] == done["repeat"].min())]
        preds = _predictions(out, runs["run_id"])
        per = per_subject_metrics(preds) if len(preds) else pd.DataFrame()
        row = {"method": r["model"]}
        for s in subjects:
            row[f"{s} F1(pain) / Acc"] = (
                f"{per.loc[s, 'f1']:.4f} / {100 * per.loc[s, 'accuracy']:.2f}"
                if s in per.index
                else "–"
            )
        row["pooled F1(pain) / Acc"] = (
            f"{r.get('pooled_f1', np.nan):.4f} / {_pct(r.get('pooled_accuracy'))}"
            if r.get("finished")
            else "–"
        )
        row["pooled macro F1"] = (
            f"{r.get('pooled_f1_macro', np.nan):.4f}" if r.get("finished") else "–"
        )
        row["AUC"] = f"{r['auc']:.3f}" if pd.notna(r.get("auc", np.nan)) else "–"
        row["F1 95% CI (subjects)"] = (
            f"[{r['f1_ci_low']:.3f}, {r['f1_ci_high']:.3f}]"
            if pd.notna(r.get("f1_ci_low", np.nan))
            else "–"
        )
        rows.append(row)
    return _md_table(pd.DataFrame(rows))


def _scenario_tables(summary, data_protocols) -> list[str]:
    part = summary[summary.set_index(["data", "protocol_label"]).index.isin(data_protocols)]
    if part.empty:
        return []
    models = list(dict.fromkeys(part["model"]))
    acc = {"model": models}
    prec = {"model": models}
    for (data, plabel), grp in part.groupby(["data", "protocol_label"], sort=False):
        col = f"{plabel} ({data})"
        g = grp.set_index("model")
        acc[f"{col} accuracy"] = [
            _pm(g.loc[m], "accuracy") if m in g.index else "–" for m in models
        ]
        acc[f"{col} F1(pain)"] = [_pm(g.loc[m], "f1") if m in g.index else "–" for m in models]
        acc[f"{col} macro F1"] = [
            _pm(g.loc[m], "f1_macro") if m in g.index else "–" for m in models
        ]
        for cls in ("no_pain", "pain"):
            prec[f"{col} P({cls})"] = [
                _pm(g.loc[m], f"precision_{cls}") if m in g.index else "–" for m in models
            ]
            prec[f"{col} R({cls})"] = [
                _pm(g.loc[m], f"recall_{cls}") if m in g.index else "–" for m in models
            ]
    return [_md_table(pd.DataFrame(acc)), _md_table(pd.DataFrame(prec))]


def write_report(
    out, config, results: pd.DataFrame, summary: pd.DataFrame, *, interrupted=False
) -> Path:
    """Write ``OUT/report.md`` and its PNG plots; return the report's path."""
    out = Path(out)
    lines = [f"# painzoo benchmark: {config.get('name', '')}", ""]
    n_ok = int((results.get("status") == "ok").sum()) if len(results) else 0
    n_fail = int((results.get("status") == "failed").sum()) if len(results) else 0
    lines.append(
        f"{n_ok} of {len(results)} units finished, {n_fail} failed"
        + (" — **interrupted**: rerun the same command to finish." if interrupted else ".")
    )
    if "reused" in results:
        n_reused = int(results["reused"].sum())
        lines.append(
            f"{n_reused} unit(s) reused from an earlier run into this folder (identical "
            "identity hash, `unit_id` in `results.csv`); "
            f"{max(n_ok - n_reused, 0)} trained now."
        )
    lines += ["", *summary_lines(out, results, summary)]
    lines += [
        "Metrics in %, positive class = pain. *Pooled*: confusion counts summed over the folds "
        "(P1). *Mean ± std*: over folds or repeated trainings (P2). AUC from the predicted "
        "probabilities; the 95 % interval resamples subjects (1st repeat).",
        "",
    ]
    if summary.empty:
        atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
        return out / "report.md"
    sweeps = summary[summary["sweep"] != "{}"]
    plain = summary[summary["sweep"] == "{}"] if len(sweeps) else summary
    # P1 layout
    for data in dict.fromkeys(plain[plain["protocol"] == "loso"]["data"]):
        lines += [f"## {data}: leave-one-subject-out (P1 Table 3 layout)", ""]
        lines += [
            "F1 of the pain class (P1's F1) / accuracy per held-out subject, then pooled over "
            "all folds; macro F1 = mean of the pain and no-pain F1.",
            "",
        ]
        lines += [_loso_table(out, results, plain, data), ""]
    # P2 layout
    p2 = plain[plain["protocol"] != "loso"]
    if len(p2):
        keys = list(dict.fromkeys(zip(p2["data"], p2["protocol_label"])))
        lines += ["## The three scenarios (P2 layout)", ""]
        for data, plabel in keys:
            proto = p2[(p2["data"] == data) & (p2["protocol_label"] == plabel)]["protocol"].iloc[0]
            lines.append(f"- `{plabel}` on `{data}`: {_SCENARIO.get(proto, proto)}")
        acc, prec = _scenario_tables(p2, keys)
        lines += [
            "",
            "### Accuracy and F1 (mean ± std over runs)",
            "",
            "F1(pain): F1 of the pain class; macro F1: mean of the pain and no-pain F1 "
            "(P2 does not say which it reports).",
            "",
            acc,
            "",
        ]
        lines += ["### Precision and recall per class", "", prec, ""]
        leak = _leakage_lines(p2)
        if leak:
            lines += ["### Subject leakage", "", *leak, ""]
        _plot_bars(out, p2, keys)
        lines += [
            "![accuracy and F1](accuracy_f1.png)",
            "",
            "![precision and recall](precision_recall.png)",
            "",
        ]
    if len(sweeps):
        lines += ["## Hyper-parameter sweeps (P1 Fig. 5 layout)", ""]
        table = sweeps[
            [
                "data",
                "protocol_label",
                "model",
                "pooled_f1",
                "pooled_f1_macro",
                "pooled_accuracy",
                "f1",
                "f1_macro",
                "accuracy",
            ]
        ]
        lines += [_md_table(table.round(4)), "", "![sweeps](sweeps.png)", ""]
        _plot_sweeps(out, sweeps)
    _plot_confusions(out, summary)
    lines += [
        "## Confusion matrices (all folds pooled)",
        "",
        "![confusion matrices](confusion.png)",
        "",
    ]
    lines += aid_lines(results)
    lines += [
        "## All rows",
        "",
        "Per-unit rows are in `results.csv`; aggregated rows in `summary.csv`.",
        "",
    ]
    lines += flagged_lines(results)
    failed = results[results["status"] == "failed"]
    if len(failed):
        lines += ["## Failed units", ""]
        lines += [f"- `{r.run_id}`: {r.error}" for r in failed.itertuples()]
        lines.append("")
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    return out / "report.md"


def aid_lines(results: pd.DataFrame) -> list[str]:
    """The report section naming the model aids each network was built with (empty if none).

    Reads the ``model_aids`` column of ``results.csv`` (JSON per unit, what
    the recipe added to the model's arguments).
    """
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
    lines = [
        "## Model aids",
        "",
        "Networks the recipe built with painzoo's aids for training from random weights "
        "(`model_aids`; the other networks are as published):",
        "",
    ]
    lines += [f"- `{model}`: {', '.join(texts)}" for model, texts in used.items()]
    return [*lines, ""]


_FLAG_MARK = " ⚠"


def _n_flagged(done: pd.DataFrame) -> int:
    if "flag" not in done:
        return 0
    return int(done["flag"].fillna("").astype(str).str.len().gt(0).sum())


def flagged_lines(results: pd.DataFrame) -> list[str]:
    """The report section listing units that collapsed or did not learn (empty if none).

    Cells of the tables whose model has such a unit carry ``⚠``.
    """
    if results.empty or "flag" not in results:
        return []
    flags = results["flag"].fillna("").astype(str)
    flagged = results[(results["status"] == "ok") & (flags != "")]
    if flagged.empty:
        return []
    from painzoo.evaluation.metrics import FLAG_ADVICE

    lines = [
        "## ⚠ Collapsed or not learning",
        "",
        f"{len(flagged)} unit(s) predicted one class for every test image (`collapsed`) or "
        "did not lower their training loss below chance or fitted their training images "
        "hardly better than answering one class (`not_learning`); their numbers say little "
        f"about the network. To try: {FLAG_ADVICE}.",
        "",
    ]
    lines += [f"- `{r['run_id']}`: {r['flag']}{_curve_note(r)}" for _, r in flagged.iterrows()]
    return [*lines, ""]


def _curve_note(row) -> str:
    """`` (training loss A → B, training accuracy C %)`` from what the unit recorded."""

    def number(key):
        value = row.get(key)
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return value if np.isfinite(value) else None

    parts = []
    first, last = number("loss_first"), number("loss_last")
    if first is not None and last is not None:
        parts.append(f"training loss {first:.3f} → {last:.3f}")
    fit = number("train_accuracy")
    if fit is not None:
        parts.append(f"training accuracy {100 * fit:.1f} %")
    return f" ({', '.join(parts)})" if parts else ""


def _leakage_lines(p2) -> list[str]:
    lines = []
    for data, grp in p2.groupby("data", sort=False):
        img = grp[grp["protocol"] == "image_kfold"].set_index("model")
        sub = grp[grp["protocol"] == "subject_kfold"].set_index("model")
        for m in img.index.intersection(sub.index):
            gap = img.loc[m, "accuracy"] - sub.loc[m, "accuracy"]
            lines.append(
                f"- `{m}` on `{data}`: image-level {100 * img.loc[m, 'accuracy']:.2f} % vs "
                f"subject-level {100 * sub.loc[m, 'accuracy']:.2f} % accuracy "
                f"(gap {100 * gap:+.2f} points; a positive gap is what identity leaking across "
                "the split buys)."
            )
    return lines


# -- plots ------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _bars(ax, part, keys, metric, title):
    models = list(dict.fromkeys(part["model"]))
    width = 0.8 / max(len(keys), 1)
    x = np.arange(len(models))
    for i, (data, plabel) in enumerate(keys):
        g = part[(part["data"] == data) & (part["protocol_label"] == plabel)].set_index("model")
        vals = [100 * g.loc[m, metric] if m in g.index and metric in g else np.nan for m in models]
        errs = [
            100 * g.loc[m, f"{metric}_std"] if m in g.index and f"{metric}_std" in g else 0
            for m in models
        ]
        ax.bar(x + i * width, vals, width, yerr=errs, label=f"{plabel} ({data})", capsize=2)
    ax.set_xticks(x + width * (len(keys) - 1) / 2, models, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"{title} (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)


def _plot_bars(out, p2, keys):
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 1.2 * p2["model"].nunique() + 3), 7))
    _bars(axes[0], p2, keys, "accuracy", "Accuracy")
    _bars(axes[1], p2, keys, "f1", "F1")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out / "accuracy_f1.png", dpi=100)
    plt.close(fig)
    fig, axes = plt.subplots(2, 2, figsize=(max(8, 1.5 * p2["model"].nunique() + 4), 7))
    for ax, (metric, title) in zip(
        axes.ravel(),
        [
            ("precision_no_pain", "Precision, no pain"),
            ("precision_pain", "Precision, pain"),
            ("recall_no_pain", "Recall, no pain"),
            ("recall_pain", "Recall, pain"),
        ],
    ):
        _bars(ax, p2, keys, metric, title)
    axes[0, 0].legend(fontsize=6)
    fig.tight_layout()
    save_figure(fig, out / "precision_recall.png", dpi=100)
    plt.close(fig)


def _plot_confusions(out, summary):
    plt = _plt()
    rows = summary[summary.get("finished", 0) > 0] if "finished" in summary else summary
    if rows.empty or "tp" not in rows:
        return
    n = len(rows)
    cols = min(n, 5)
    fig, axes = plt.subplots(
        (n + cols - 1) // cols, cols, figsize=(2.6 * cols, 2.6 * ((n + cols - 1) // cols))
    )
    axes = np.atleast_1d(axes).ravel()
    for ax, (_, r) in zip(axes, rows.iterrows()):
        cm = np.array([[r["tn"], r["fp"]], [r["fn"], r["tp"]]], float)
        ax.imshow(cm / max(cm.sum(), 1), cmap="Blues", vmin=0, vmax=1)
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=8)
        ax.set_xticks([0, 1], ["no pain", "pain"], fontsize=6)
        ax.set_yticks([0, 1], ["no pain", "pain"], fontsize=6)
        ax.set_title(f"{r['model']}\n{r['protocol_label']} ({r['data']})", fontsize=6)
    for ax in axes[n:]:
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, out / "confusion.png", dpi=100)
    plt.close(fig)


def _plot_sweeps(out, sweeps):
    plt = _plt()
    params = sorted({k for s in sweeps["sweep"] for k in json.loads(s)})
    fig, axes = plt.subplots(1, len(params), figsize=(4 * len(params), 3.2), squeeze=False)
    for ax, param in zip(axes[0], params):
        for (name, data, _plabel), g in sweeps.groupby(["model_name", "data", "protocol_label"]):
            pts = [
                (json.loads(s)[param], r)
                for s, r in zip(g["sweep"], g.to_dict("records"))
                if list(json.loads(s)) == [param]
            ]
            if not pts:
                continue
            pts.sort(key=lambda t: t[0])
            xs = [p for p, _ in pts]
            key = "pooled_f1" if pts[0][1]["aggregation"] == "pooled" else "f1"
            ax.plot(
                xs, [100 * r.get(key, np.nan) for _, r in pts], "o-", label=f"{name} F1 ({data})"
            )
            ax.plot(
                xs,
                [100 * r.get("pooled_accuracy", np.nan) for _, r in pts],
                "s--",
                label=f"{name} acc",
            )
        ax.set_xlabel(param)
        ax.set_ylabel("%")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out / "sweeps.png", dpi=100)
    plt.close(fig)


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
    """Accuracy of each prediction table and of their difference (first − second).

    The tables predict the same rows (matched on ``row``); each replicate
    draws subjects with replacement. Returns ``(values, (low, high))`` for
    one table, or the difference and its 95 % interval for two.
    """
    key = ["row", "subject", "y_true"]
    merged = frames[0][key + ["y_pred"]].rename(columns={"y_pred": "a"})
    if len(frames) == 2:
        other = frames[1][key + ["y_pred"]].rename(columns={"y_pred": "b"})
        merged = merged.merge(other, on=key)
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
    reps = sums[pick].sum(1) / counts[pick].sum(1)
    low, high = np.quantile(reps, [0.025, 0.975])
    return value, (float(low), float(high))


def _ci(value, interval, points=False) -> str:
    if value is None or np.isnan(value):
        return "–"
    low, high = interval
    sign = "+" if points else ""
    if np.isnan(low):
        return f"{100 * value:{sign}.1f}"
    return f"{100 * value:{sign}.1f} [{100 * low:{sign}.1f}, {100 * high:{sign}.1f}]"


def _verdict(name_a, name_b, diff, interval) -> str:
    low, high = interval
    if np.isnan(low):
        return f"{name_a} − {name_b}: {100 * diff:+.1f} points (too few subjects for an interval)."
    text = f"{name_a} − {name_b}: {_ci(diff, interval, points=True)} points"
    if low > 0:
        return text + f" — the interval excludes 0: {name_a} is more accurate here."
    if high < 0:
        return text + f" — the interval excludes 0: {name_b} is more accurate here."
    return text + " — the interval includes 0: no difference can be claimed at this size."


def summary_lines(out, results: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """The first screen of ``report.md``: headline numbers with intervals, and figures.

    Four parts, each present when the run has what it needs: accuracy of every
    model under the subject-level protocols (the best network against the
    best hand-crafted baseline); subject leakage (image- minus subject-level
    K-fold accuracy on the same rows); P1's comparison under
    leave-one-subject-out (PainSeeker against its ablation and ResNet-18);
    and where PainSeeker's attention β falls relative to the AU masks of
    synthetic faces. Every interval is a 95 % percentile bootstrap over
    subjects (1,000 replicates); differences are paired on the same images.
    Writes ``accuracy_ci.png`` and ``attention.png`` into ``out``.

    Args:
        out: The run folder (unit predictions under ``runs/``).
        results: From :func:`collect_results`.
        summary: From :func:`summarize`.

    Returns:
        Markdown lines (empty when no unit finished).
    """
    from painzoo.benchmark.attention_report import (
        attention_summary,
        collect_attention,
        plot_attention,
    )
    from painzoo.models.lbp_svm import is_baseline

    out = Path(out)
    if summary.empty or "finished" not in summary or not (summary["finished"] > 0).any():
        return []
    plain = summary[(summary["sweep"] == "{}") & (summary["finished"] > 0)]
    lines = ["## Summary", ""]
    # 1. accuracy under subject-level protocols
    subj = plain[plain["protocol"].isin(_SUBJECT_LEVEL)]
    columns = list(dict.fromkeys(zip(subj["data"], subj["protocol_label"])))
    preds, acc = {}, {}
    for data, plabel in columns:
        for model in subj[(subj["data"] == data) & (subj["protocol_label"] == plabel)]["model"]:
            p = _first_repeat_predictions(out, results, data, plabel, model)
            if len(p):
                preds[data, plabel, model] = p
                acc[data, plabel, model] = _paired_bootstrap([p])
    if acc:
        models = list(dict.fromkeys(m for (_, _, m) in acc))
        table = {"model": models}
        for data, plabel in columns:
            table[f"{plabel} ({data})"] = [
                _ci(*acc[data, plabel, m]) if (data, plabel, m) in acc else "–" for m in models
            ]
        names = dict(zip(plain["model"], plain["model_name"]))
        lines += [
            "**Accuracy under subject-level protocols** (%, pooled over folds; 95 % interval "
            "resampling subjects):",
            "",
            _md_table(pd.DataFrame(table)),
            "",
        ]
        for data, plabel in columns:
            here = {m: v for (d, p, m), v in acc.items() if (d, p) == (data, plabel)}
            nets = {m: v for m, v in here.items() if not is_baseline(names.get(m, m))}
            bases = {m: v for m, v in here.items() if is_baseline(names.get(m, m))}
            if nets and bases:
                best = max(nets, key=lambda m: nets[m][0])
                base = max(bases, key=lambda m: bases[m][0])
                diff, ci = _paired_bootstrap(
                    [preds[data, plabel, best], preds[data, plabel, base]]
                )
                lines.append(
                    f"- `{plabel}` on `{data}`, best network vs best baseline: "
                    + _verdict(f"`{best}`", f"`{base}`", diff, ci)
                )
        lines.append("")
        _plot_accuracy_ci(out, acc, columns, models)
        lines += ["![accuracy with intervals](accuracy_ci.png)", ""]
    # 2. subject leakage
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
            if len(a) and len(b):
                gap, ci = _paired_bootstrap([a, b])
                ai, bi = _paired_bootstrap([a])[0], _paired_bootstrap([b])[0]
                where = (
                    "image-level K-fold flatters the model (identity leaks across the split)"
                    if ci[0] > 0
                    else "no leakage gap can be claimed at this size"
                    if not ci[1] < 0
                    else "image-level K-fold scores lower here"
                )
                labels = (img["protocol_label"].iloc[0], sub["protocol_label"].iloc[0])
                leak.append(
                    f"- `{model}` on `{data}`: image-level ({labels[0]}) {100 * ai:.1f} % vs "
                    f"subject-level ({labels[1]}) {100 * bi:.1f} %, gap "
                    f"{_ci(gap, ci, points=True)} points — {where}."
                )
    if leak:
        lines += [
            "**Subject leakage**: image-level minus subject-level accuracy on the same images "
            "(paired, resampling subjects):",
            "",
            *leak,
            "",
        ]
    # 3. P1's comparison under leave-one-subject-out
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
                        f"- `{data}`: " + _verdict(f"`{ps}`", f"`{by_name[other]}`", diff, ci)
                    )
    if p1:
        lines += ["**P1's comparison** (leave-one-subject-out, accuracy difference):", "", *p1, ""]
    # 4. where PainSeeker looks
    records = collect_attention(out, results)
    att = attention_summary(records)
    if len(att):
        rows = [
            {
                "model": r["model"],
                "data": f"{r['protocol']} ({r['data']})",
                "class": r["class"],
                "images": r["images"],
                "β on AU regions": f"{100 * r['share']:.1f} [{100 * r['share_low']:.1f}, {100 * r['share_high']:.1f}]",
                "chance (area)": f"{100 * r['chance']:.1f}",
                "ratio": f"{r['ratio']:.2f}",
            }
            for _, r in att.iterrows()
        ]
        lines += [
            "**Where PainSeeker looks**: share (%) of the attention mass β (P1 Eq. 2) on the "
            "AU regions the generator drew, against the share those regions cover (what a "
            "uniform β would get); 95 % interval resampling subjects:",
            "",
            _md_table(pd.DataFrame(rows)),
            "",
        ]
        # One figure per model: its leave-one-subject-out units where there are any.
        shown = [r for r in records if r["protocol_label"] == "loso"] or records
        if plot_attention(shown, out / "attention.png"):
            lines += [
                "![mean attention over the mean test face](attention.png)",
                "",
                "Mean β per class over the mean test face (leave-one-subject-out units where "
                "the run has them); white outline: where AU regions lie in at least half the "
                "images.",
                "",
            ]
    lines += ["The paper-layout tables follow.", ""]
    return lines


def _plot_accuracy_ci(out, acc, columns, models):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(models) * len(columns) + 1.2))
    y = 0
    ticks, labels = [], []
    for ci_col, (data, plabel) in enumerate(columns):
        for m in models:
            if (data, plabel, m) not in acc:
                continue
            v, (lo, hi) = acc[data, plabel, m]
            err = [[100 * (v - lo)], [100 * (hi - v)]] if not np.isnan(lo) else None
            ax.errorbar(100 * v, y, xerr=err, fmt="o", color=f"C{ci_col}", capsize=3)
            ticks.append(y)
            labels.append(f"{m} · {plabel} ({data})")
            y += 1
        y += 0.5
    ax.axvline(50, color="grey", lw=0.8, ls="--")
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("accuracy (%), 95 % subject-bootstrap interval")
    fig.tight_layout()
    save_figure(fig, out / "accuracy_ci.png", dpi=100)
    plt.close(fig)
