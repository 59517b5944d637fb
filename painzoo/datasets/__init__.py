"""Datasets: the manifest, loaders for the real datasets, and the synthetic generator."""

from painzoo.datasets.manifest import REQUIRED_COLUMNS, Dataset

__all__ = ["Dataset", "REQUIRED_COLUMNS"]
