"""Where PainSeeker looks, against the action-unit masks of synthetic faces.

The synthetic generator knows, for every image, which pixels belong to each action-unit region
(:attr:`painzoo.datasets.Dataset.masks`). PainSeeker's β (P1 Eq. 2) is one attention weight per
cell of its M×M feature grid, summing to 1. The *AU mass share* of an image is the attention mass
that falls on the AU regions, each cell's β spread evenly over the pixels of its cell:

    share = Σ_j β_j · cover_j,   cover_j = fraction of cell j inside the mask;

*chance* is the share a uniform β would get, the mask's area share. :func:`save_unit_attention`
writes a unit's ``attention.json``; :func:`attention_summary` and :func:`plot_attention` read them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from painzoo.datasets.io import resize_image, to_uint8
from painzoo.preprocess.spec import resolve_input_spec

__all__ = [
    "au_mass_shares",
    "cell_cover",
    "save_unit_attention",
    "collect_attention",
    "attention_summary",
    "plot_attention",
]

_FILE = "attention.json"


def cell_cover(masks, grid: tuple[int, int]) -> np.ndarray:
    """Fraction of each grid cell that lies inside the mask.

    Cell ``(r, c)`` spans rows ``edges_h[r]:edges_h[r+1]`` and columns
    ``edges_w[c]:edges_w[c+1]`` with ``edges = round(linspace(0, side, M+1))``,
    so cells tile the image even when the side is not a multiple of M.

    Args:
        masks: Bool ``[N, H, W]`` (or one ``[H, W]``).
        grid: ``(M_h, M_w)`` of the attention grid.

    Returns:
        Float ``[N, M_h, M_w]`` in [0, 1].

    Raises:
        ValueError: If the mask is not 2-D/3-D or smaller than the grid.
    """
    m = np.asarray(masks, dtype=np.float64)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(f"masks must be [N, H, W]; received shape {m.shape}.")
    gh, gw = int(grid[0]), int(grid[1])
    h, w = m.shape[1:]
    if h < gh or w < gw:
        raise ValueError(f"masks of {h}×{w} pixels cannot be split into a {gh}×{gw} grid.")
    eh = np.round(np.linspace(0, h, gh + 1)).astype(int)
    ew = np.round(np.linspace(0, w, gw + 1)).astype(int)
    out = np.empty((len(m), gh, gw))
    for r in range(gh):
        for c in range(gw):
            out[:, r, c] = m[:, eh[r] : eh[r + 1], ew[c] : ew[c + 1]].mean(axis=(1, 2))
    return out


def au_mass_shares(beta, masks) -> tuple[np.ndarray, np.ndarray]:
    """Attention mass on a region and the region's area share (chance), per image.

    Args:
        beta: ``[N, M, M]`` maps summing to 1, e.g. from :func:`painzoo.explain.attention_maps`.
        masks: Bool ``[N, H, W]`` region masks, one per map.

    Returns:
        ``(share, chance)``, float ``[N]`` each: ``Σ_j β_j · cover_j`` and the mask's area share.

    Raises:
        ValueError: If the numbers of maps and masks differ.

    Example:
        >>> beta = np.array([[[0.5, 0.5], [0.0, 0.0]]])
        >>> mask = np.zeros((1, 4, 4), bool); mask[0, :2, :] = True
        >>> au_mass_shares(beta, mask)
        (array([1.]), array([0.5]))
    """
    beta = np.asarray(beta, dtype=np.float64)
    if beta.ndim == 2:
        beta = beta[None]
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim == 2:
        masks = masks[None]
    if len(beta) != len(masks):
        raise ValueError(f"{len(beta)} attention map(s) but {len(masks)} mask(s).")
    cover = cell_cover(masks, beta.shape[1:])
    share = (beta * cover).sum(axis=(1, 2)) / np.maximum(beta.sum(axis=(1, 2)), 1e-12)
    return share, masks.mean(axis=(1, 2))


def _has_attention(model) -> bool:
    from painzoo.layers.painseeker import PainSeekerAttention

    return any(isinstance(layer, PainSeekerAttention) for layer in model.layers)


def save_unit_attention(model, test, store, folder: str, *, input_spec=None) -> dict | None:
    """Write ``<folder>/attention.json`` for a trained PainSeeker model and its test set.

    Needs a :class:`~painzoo.layers.PainSeekerAttention` layer in the model and AU masks (synthetic
    data) in the test set; otherwise writes nothing and returns ``None``.

    Args:
        model: The trained model.
        test: The test :class:`~painzoo.datasets.Dataset` (with ``masks``).
        store: A :class:`painzoo.benchmark.storage.RunStorage` (or anything
            with ``write_text(rel, text)``).
        folder: The unit's folder relative to the store (``runs/<run_id>``).
        input_spec: The :class:`~painzoo.preprocess.InputSpec` the model was
            trained with (default: the model's input size, whole images).

    Returns:
        The dict written: per image ``label``, ``subject``, ``share`` and ``chance`` per region
            (and ``any`` = the union of the regions); the grid; mean β per class; mean test image
            and mean union mask (uint8, downsampled to at most 64 px) for the figure.
    """
    from painzoo.explain.attention import attention_maps

    if not getattr(test, "masks", None) or len(test) == 0 or not _has_attention(model):
        return None
    spec = input_spec or resolve_input_spec(model)
    images = np.stack([spec.prepare(image) for image in test.load_images(spec.load_size)])
    beta = attention_maps(model, images)
    regions = {k: np.asarray(v, bool) for k, v in sorted(test.masks.items())}
    union = np.logical_or.reduce(list(regions.values()))
    share, chance = {}, {}
    for name, mask in {**regions, "any": union}.items():
        s, c = au_mass_shares(beta, mask)
        share[name], chance[name] = np.round(s, 6).tolist(), np.round(c, 6).tolist()
    labels = np.asarray(test.labels, int)
    mean_beta = {str(k): beta[labels == k].mean(0).round(6).tolist() for k in np.unique(labels)}
    thumb = _thumbnail(np.asarray(images, np.float32).mean(0))
    mask_thumb = _thumbnail(union.mean(0)[..., None] * 255.0)[..., 0]
    record = {
        "grid": list(beta.shape[1:]),
        "regions": list(regions) + ["any"],
        "label": labels.tolist(),
        "subject": [str(s) for s in test.subjects],
        "share": share,
        "chance": chance,
        "mean_beta": mean_beta,
        "mean_image": thumb.tolist(),
        "mean_mask": mask_thumb.tolist(),
    }
    store.write_text(f"{folder}/{_FILE}", json.dumps(record))
    return record


def _thumbnail(image: np.ndarray, side: int = 64) -> np.ndarray:
    if image.shape[0] > side:
        image = resize_image(image, (side, side))
    return to_uint8(image)


# -- report side ------------------------------------------------------------------------
def collect_attention(out, results: pd.DataFrame) -> list[dict]:
    """The ``attention.json`` records of a run's finished units, with their model and data."""
    from pathlib import Path

    records = []
    if results.empty or "status" not in results:
        return records
    for r in results[results["status"] == "ok"].itertuples():
        f = Path(out) / "runs" / r.run_id / _FILE
        if f.is_file():
            rec = json.loads(f.read_text())
            rec.update(model=r.model, data=r.data, protocol_label=r.protocol_label)
            records.append(rec)
    return records


def _per_image(records: list[dict]) -> pd.DataFrame:
    parts = []
    for rec in records:
        frame = pd.DataFrame({"label": rec["label"], "subject": rec["subject"]})
        for region in rec["regions"]:
            frame[f"share_{region}"] = rec["share"][region]
            frame[f"chance_{region}"] = rec["chance"][region]
        parts.append(
            frame.assign(model=rec["model"], data=rec["data"], protocol=rec["protocol_label"])
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _subject_bootstrap(frame: pd.DataFrame, column: str, n_boot=1000, seed=0):
    """95 % percentile interval of the mean of ``column``, resampling subjects."""
    groups = [g[column].to_numpy(float) for _, g in frame.groupby("subject", sort=True)]
    if len(groups) < 2:
        return float("nan"), float("nan")
    sums = np.array([g.sum() for g in groups])
    counts = np.array([len(g) for g in groups])
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(groups), (n_boot, len(groups)))
    values = sums[pick].sum(1) / counts[pick].sum(1)
    low, high = np.quantile(values, [0.025, 0.975])
    return float(low), float(high)


def attention_summary(records: list[dict], region: str = "any") -> pd.DataFrame:
    """Mean AU mass share vs chance per data × protocol × model × class.

    Returns:
        Columns ``data, protocol, model, class, images, share, share_low, share_high`` (95 %
            subject bootstrap), ``chance`` and ``ratio`` = share / chance. Empty without records.
    """
    frame = _per_image(records)
    if frame.empty:
        return frame
    rows = []
    names = {0: "no_pain", 1: "pain"}
    for (data, proto, model), grp in frame.groupby(["data", "protocol", "model"], sort=False):
        for label in sorted(grp["label"].unique()):
            part = grp[grp["label"] == label]
            low, high = _subject_bootstrap(part, f"share_{region}")
            share = float(part[f"share_{region}"].mean())
            chance = float(part[f"chance_{region}"].mean())
            rows.append(
                {
                    "data": data,
                    "protocol": proto,
                    "model": model,
                    "class": names.get(int(label), str(label)),
                    "images": len(part),
                    "share": share,
                    "share_low": low,
                    "share_high": high,
                    "chance": chance,
                    "ratio": share / chance if chance > 0 else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def plot_attention(records: list[dict], path, *, names=None) -> bool:
    """Mean β per model and class over the mean test face, AU regions outlined.

    One row per model: the mean test face with the AU regions outlined, then the mean β (% of the
    map) over it for no-pain and pain images; grids up to 5×5 show each cell's value.

    Args:
        records: From :func:`collect_attention`.
        path: The PNG to write.
        names: The report's readable names (optional; for the data in titles).

    Returns:
        Whether a figure was written (False without records).
    """
    if not records:
        return False
    from matplotlib import patheffects

    from painzoo.benchmark.figures import pyplot, save, style

    plt = pyplot()
    models = list(dict.fromkeys(r["model"] for r in records))
    classes = (("0", "no-pain images"), ("1", "pain images"))
    rows = []
    top = 0.0
    for model in models:
        recs = [r for r in records if r["model"] == model]
        image = np.mean([np.asarray(r["mean_image"], float) for r in recs], axis=0)
        mask = np.mean([np.asarray(r["mean_mask"], float) for r in recs], axis=0)
        maps = {}
        for cls, _ in classes:
            found = [np.asarray(r["mean_beta"][cls], float) for r in recs if cls in r["mean_beta"]]
            if found:
                maps[cls] = 100 * np.mean(found, axis=0)
                top = max(top, float(maps[cls].max()))
        data = list(dict.fromkeys(r["data"] for r in recs))
        shown = ", ".join(names.data_label(d) if names is not None else str(d) for d in data)
        rows.append((model, shown, image, mask, maps))
    with style():
        fig, axes = plt.subplots(
            len(rows), 3, figsize=(9, 3.1 * len(rows) + 0.8), squeeze=False, layout="constrained"
        )
        heat = None
        for i, (model, shown, image, mask, maps) in enumerate(rows):
            face = to_uint8(image)
            side = face.shape[0]
            for ax in axes[i]:
                ax.imshow(face)
                ax.contour(mask / 255.0, levels=[0.5], colors="white", linewidths=1.2)
                ax.set_xticks([])
                ax.set_yticks([])
            axes[i, 0].set_title("mean test face,\nAU regions outlined")
            axes[i, 0].set_ylabel(f"{model}\n{shown}")
            for j, (cls, title) in enumerate(classes, start=1):
                ax = axes[i, j]
                ax.set_title(f"mean β, {title}")
                if cls not in maps:
                    continue
                beta = maps[cls]
                gh, gw = beta.shape
                heat = ax.imshow(
                    beta,
                    cmap="magma",
                    alpha=0.55,
                    vmin=0,
                    vmax=max(top, 1e-9),
                    extent=(-0.5, side - 0.5, side - 0.5, -0.5),
                    interpolation="nearest",
                )
                for edge in np.linspace(-0.5, side - 0.5, gw + 1)[1:-1]:
                    ax.axvline(edge, color="white", lw=0.5, alpha=0.6)
                for edge in np.linspace(-0.5, side - 0.5, gh + 1)[1:-1]:
                    ax.axhline(edge, color="white", lw=0.5, alpha=0.6)
                if max(gh, gw) <= 5:
                    for (r, c), v in np.ndenumerate(beta):
                        ax.text(
                            (c + 0.5) * side / gw - 0.5,
                            (r + 0.5) * side / gh - 0.5,
                            f"{v:.0f}",
                            ha="center",
                            va="center",
                            fontsize=9,
                            color="white",
                            fontweight="bold",
                            path_effects=[patheffects.withStroke(linewidth=2, foreground="black")],
                        )
        if heat is not None:
            fig.colorbar(
                heat, ax=axes[:, 1:].ravel().tolist(), shrink=0.8, label="mean β (% of the map)"
            )
        fig.suptitle("Where PainSeeker looks (synthetic faces)")
        save(fig, path)
    return True
