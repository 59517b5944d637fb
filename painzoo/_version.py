"""The version of painzoo (read by setup.cfg and written into model cards)."""

__version__ = "0.1.0"
