"""A fast, quiet command line: no backend import for help and the model table; no log noise."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from painzoo.cli import build_parser
from painzoo.models.zoo import ZOO

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "jax", "torch")
PROBE = f"""
import sys
from painzoo.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("HEAVY=" + ",".join(m for m in {HEAVY!r} if m in sys.modules))
sys.exit(code or 0)
"""


def _run(*argv, script=PROBE, env=None):
    return subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def _subcommands():
    return sorted(build_parser()._subparsers._group_actions[0].choices)


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["models"], ["models", "vgg*", "--tag", "imagenet"]]
    + [[name, "--help"] for name in _subcommands()],
    ids=lambda argv: " ".join(argv),
)
def test_help_and_model_table_import_no_backend(argv):
    done = _run(*argv)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "HEAVY=", done.stdout[-500:]


def test_models_table_lists_the_zoo_table():
    done = _run("models")
    names = [line.split()[0] for line in done.stdout.splitlines()[2:-1]]
    assert names == sorted(ZOO) and len(names) == 19


REGISTRY_PROBE = f"""
import sys
import painzoo.registry as registry
names = registry.list_models(kind=None)
assert registry.model_info("painseeker").params == 11_187_651
assert registry.model_info("lbp_svm_r2p16_7x7").kind == "sklearn"
assert registry.model_kind("vgg16") == "keras"
print(len(names), "HEAVY=" + ",".join(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_listing_and_describing_models_import_no_backend():
    done = _run(script=REGISTRY_PROBE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["19", "HEAVY="]


def test_verbose_before_or_after_the_subcommand():
    parser = build_parser()
    assert parser.parse_args(["-v", "models"]).verbose is True
    assert parser.parse_args(["models", "--verbose"]).verbose is True
    assert getattr(parser.parse_args(["models"]), "verbose", False) is False


QUIET = """
import sys
from painzoo.cli import quiet_backend
quiet_backend(verbose="-v" in sys.argv)
import tensorflow as tf

@tf.function
def f(x):
    return x * 2

for i in range(8):
    f(tf.ones([i + 1]))  # a new shape every call: retracing warnings
print("done")
"""


@pytest.mark.slow
def test_backend_start_up_log_and_retracing_warnings_are_hidden():
    env = {"KERAS_BACKEND": "tensorflow"}
    env_clear = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-c", QUIET],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env_clear, **env},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "done" in done.stdout
    for noise in ("I0000", "oneDNN", "retracing", "absl::InitializeLog"):
        assert noise not in done.stderr, done.stderr
    loud = subprocess.run(
        [sys.executable, "-c", QUIET, "-v"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env_clear, **env},
        timeout=600,
    )
    assert "retracing" in loud.stderr  # the same script shows them when asked
