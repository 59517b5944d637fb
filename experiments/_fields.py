"""``FIELD=VALUE`` command-line pairs, shared by the experiment scripts (``--set``, ``--data-args``)."""

from __future__ import annotations

import argparse


def field_values(parser: argparse.ArgumentParser, items: list[str], flag: str) -> dict:
    """Read ``FIELD=VALUE`` items into a dict, each value as YAML (``augment=null`` → ``None``).

    Args:
        parser: The script's parser; a malformed item ends the script through it.
        items: The items as given on the command line.
        flag: The option's name, for the message.
    """
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"{flag} takes FIELD=VALUE; received {item!r}")
        out[key] = yaml.safe_load(value)
    return out


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--model-args``: keyword arguments of the model builder, read by :func:`field_values`.

    The scripts build each network with the recipe's model aids
    (``Recipe.model_kwargs_for``) and these arguments on top, so
    ``--model-args low_resolution_stem=false`` builds InceptionV3 as Keras does
    at any size under the ``painzoo`` preset too (the network of the
    InceptionV3 figures taken before 2026-12-06).
    """
    parser.add_argument(
        "--model-args",
        nargs="*",
        default=[],
        metavar="ARG=VALUE",
        help="keyword arguments of the model builder, values as YAML (low_resolution_stem=false)",
    )
