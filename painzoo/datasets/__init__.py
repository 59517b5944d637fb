"""Datasets: the manifest, loaders for the real datasets, and the synthetic generator."""

from painzoo.datasets.loaders import (
    load_csv,
    load_delaware,
    load_folder,
    load_mintpain,
    load_ratspain,
    load_unbc,
    paindb,
)
from painzoo.datasets.manifest import REQUIRED_COLUMNS, Dataset, find_duplicates
from painzoo.datasets.synthetic import make_synthetic

__all__ = [
    "Dataset",
    "REQUIRED_COLUMNS",
    "find_duplicates",
    "load_folder",
    "load_csv",
    "load_unbc",
    "load_mintpain",
    "load_delaware",
    "load_ratspain",
    "paindb",
    "make_synthetic",
]
