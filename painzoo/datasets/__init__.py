"""Datasets: the manifest, loaders for the real datasets, and the synthetic generator."""

from painzoo.datasets.manifest import REQUIRED_COLUMNS, Dataset, find_duplicates

__all__ = ["Dataset", "REQUIRED_COLUMNS", "find_duplicates"]

from painzoo.datasets.loaders import (  # noqa: E402
    load_csv,
    load_delaware,
    load_folder,
    load_mintpain,
    load_ratspain,
    load_unbc,
    paindb,
)

__all__ += [
    "load_csv",
    "load_delaware",
    "load_folder",
    "load_mintpain",
    "load_ratspain",
    "load_unbc",
    "paindb",
]

from painzoo.datasets.synthetic import make_synthetic  # noqa: E402

__all__ += ["make_synthetic"]
