"""Scale-out: the Ray executor against the in-process one, worker deaths, storage URIs."""

import json
import os
import sys
import textwrap

import pandas as pd
import pytest
import ray

from painzoo.benchmark import load_config, run
from painzoo.benchmark import runner as runner_module
from painzoo.benchmark.executors import LocalExecutor, RayExecutor, get_executor
from painzoo.benchmark.storage import RunStorage, is_uri
from painzoo.cli import main
from painzoo.registry import _unregister

# Models registered by a plug-in module: Ray workers import it at start-up
# (runtime_env's worker_process_setup_hook), as a lab ships its own models.
PLUGIN = textwrap.dedent(
    """
    import os

    import keras

    from painzoo.registry import ModelInfo, list_models, register_model


    def tiny(num_classes=2, input_shape=(32, 32, 3), weights=None, log=None):
        if log:
            with open(log, "a") as f:
                f.write(f"{os.getpid()}\\n")
        inputs = keras.Input(input_shape)
        x = keras.layers.Rescaling(1 / 255.0)(inputs)
        x = keras.layers.Conv2D(4, 3, activation="relu")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))


    def crash(num_classes=2, input_shape=(32, 32, 3), weights=None, folder=None, crashes=0):
        attempt = 1
        while True:  # claim the next attempt number atomically across processes
            try:
                os.close(os.open(os.path.join(folder, str(attempt)), os.O_CREAT | os.O_EXCL))
                break
            except FileExistsError:
                attempt += 1
        if attempt <= crashes:
            os._exit(1)  # the worker process dies, as when killed or out of memory
        return tiny(num_classes, input_shape)


    def setup():
        info = ModelInfo(input_shape=(32, 32, 3))
        if "ray_tiny_net" not in list_models():
            register_model("ray_tiny_net", info=info)(tiny)
            register_model("ray_crash_net", info=info)(crash)
    """
)


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    """A local two-CPU Ray instance whose workers know the plug-in models."""
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "painzoo_ray_plugin.py").write_text(PLUGIN)
    sys.path.insert(0, str(folder))
    import painzoo_ray_plugin

    painzoo_ray_plugin.setup()
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={
            "env_vars": {"PYTHONPATH": path},
            "worker_process_setup_hook": "painzoo_ray_plugin.setup",
        },
    )
    yield
    ray.shutdown()
    _unregister("ray_tiny_net")
    _unregister("ray_crash_net")
    sys.path.remove(str(folder))
    sys.modules.pop("painzoo_ray_plugin", None)


def _config(out, models):
    return load_config(
        {
            "name": "ray-toy",
            "out": str(out),
            "image_size": 32,
            "seed": 0,
            "recipe": {"preset": "p2", "epochs": 2, "batch_size": 16, "augment": None},
            "data": {"rats": {"synthetic": "ratspain", "args": {"image_size": 32, "scale": 0.05}}},
            "models": models,
            "experiments": [{"data": "rats", "protocols": [{"subject_kfold": {"n_splits": 2}}]}],
            "config_dir": str(out),
        }
    )


def _without_seconds(frame):
    return frame[[c for c in frame.columns if not str(c).startswith("seconds")]]


def _stamps(folder):
    return {p: p.stat().st_mtime_ns for p in sorted(folder.glob("runs/*/*"))}


@pytest.mark.backend
def test_ray_reproduces_the_in_process_run_and_resumes(ray_local, tmp_path):
    log = tmp_path / "pids.txt"
    models = ["lbp_svm_r1p8_4x4", {"ray_tiny_net": {"log": str(log)}}]
    local = run(_config(tmp_path / "local", models), progress=False)
    assert not local.failed and len(local.finished) == 4
    assert set(log.read_text().split()) == {str(os.getpid())}
    log.unlink()

    remote = run(_config(tmp_path / "ray", models), progress=False, executor=RayExecutor())
    assert not remote.failed, remote.results.get("error")
    assert sorted(remote.finished) == sorted(local.finished)
    # The Keras units trained in Ray worker processes, not here.
    worker_pids = set(log.read_text().split())
    assert len(worker_pids) >= 1 and str(os.getpid()) not in worker_pids

    # Same files, same metrics, same predictions, same report.
    for rid in local.finished:
        a, b = (tmp_path / side / "runs" / rid for side in ("local", "ray"))
        assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
        pa, pb = pd.read_csv(a / "predictions.csv"), pd.read_csv(b / "predictions.csv")
        pd.testing.assert_frame_equal(pa.drop(columns="p_pain"), pb.drop(columns="p_pain"))
        assert (pa["p_pain"] - pb["p_pain"]).abs().max() <= 1e-5
        ma, mb = (json.loads((f / "metrics.json").read_text()) for f in (a, b))
        ma.pop("seconds"), mb.pop("seconds")
        for key in ("model_kwargs", "model_aids"):  # dicts: equal, not approximately
            assert ma.pop(key, None) == mb.pop(key, None)
        assert ma == pytest.approx(mb, abs=1e-6)
    pd.testing.assert_frame_equal(
        _without_seconds(local.results), _without_seconds(remote.results), atol=1e-6
    )
    pd.testing.assert_frame_equal(
        _without_seconds(local.summary), _without_seconds(remote.summary), atol=1e-6
    )
    assert local.report_path.read_text() == remote.report_path.read_text()

    # Resume: a second Ray run skips every unit and leaves the files alone ...
    before = _stamps(tmp_path / "ray")
    again = run(_config(tmp_path / "ray", models), progress=False, executor="ray")
    assert sorted(again.skipped) == sorted(local.finished) and not again.finished
    assert _stamps(tmp_path / "ray") == before
    # ... and reruns only a unit whose metrics.json is missing.
    lost = local.finished[0]
    (tmp_path / "ray" / "runs" / lost / "metrics.json").unlink()
    third = run(_config(tmp_path / "ray", models), progress=False, executor="ray")
    assert third.finished == [lost] and len(third.skipped) == 3

    # The command line: painzoo benchmark --executor ray.
    import yaml

    path = tmp_path / "toy.yaml"
    config = _config(tmp_path / "unused", models)
    path.write_text(
        yaml.safe_dump({k: v for k, v in config.to_dict().items() if k != "config_dir"})
    )
    argv = ["benchmark", "--config", str(path), "--no-progress", "--executor", "ray"]
    argv += ["--out", str(tmp_path / "cli"), "--models", "lbp_svm_r1p8_4x4", "--max-retries", "1"]
    assert main([*argv, "--cpus-per-unit", "1"]) == 0
    assert len(list((tmp_path / "cli" / "runs").glob("*/metrics.json"))) == 2


def test_failures_lose_only_their_unit_with_bounded_retries(ray_local, tmp_path):
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    # Two units; the first three attempts kill their worker: with max_retries=1 one unit
    # dies twice and is given up, the other dies once and succeeds on its retry.
    crash = {"ray_crash_net": {"folder": str(attempts), "crashes": 3}}
    raises = {"ray_tiny_net": {"log": "/no-such-folder/x.log"}}  # the builder raises
    models = ["lbp_svm_r1p8_4x4", crash, raises]
    result = run(
        _config(tmp_path / "ray", models), progress=False, executor=RayExecutor(max_retries=1)
    )
    assert sorted(p.name for p in attempts.iterdir()) == ["1", "2", "3", "4"]
    crashed = [r for r in result.failed if "ray_crash_net" in r]
    assert len(crashed) == 1 and len(result.failed) == 3  # + both units that raise
    assert len(result.finished) == 3  # LBP ×2 and the retried crash unit
    error = json.loads((tmp_path / "ray" / "runs" / crashed[0] / "error.json").read_text())
    assert error["status"] == "failed" and "died 2 time(s)" in error["error"]
    assert "Failed units" in result.report_path.read_text()
    # An exception raised by a unit is recorded as the in-process runner records it.
    local = run(_config(tmp_path / "local", ["lbp_svm_r1p8_4x4", raises]), progress=False)
    assert len(local.failed) == 2
    for rid in local.failed:
        errors = [
            json.loads((tmp_path / side / "runs" / rid / "error.json").read_text())["error"]
            for side in ("local", "ray")
        ]
        assert errors[0] == errors[1] and "no-such-folder" in errors[0]


def test_cli_rejects_ray_options_without_ray(capsys):
    assert main(["benchmark", "--gpus-per-unit", "1", "--no-progress"]) == 2
    assert "--executor ray" in capsys.readouterr().err


def test_executor_names_and_a_missing_ray(monkeypatch):
    assert isinstance(get_executor("local"), LocalExecutor)
    executor = get_executor("ray", address="auto", gpus_per_unit=1, max_retries=None)
    assert (executor.address, executor.gpus_per_unit, executor.max_retries) == ("auto", 1, 2)
    with pytest.raises(ValueError, match="available"):
        get_executor("dask")
    with pytest.raises(ValueError, match="gpus_per_unit"):
        RayExecutor(gpus_per_unit=-1)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "painzoo\[ray\]"'):
        get_executor("ray")


# -- storage ------------------------------------------------------------------------------
def test_storage_writes_atomically_to_paths_and_file_uris(tmp_path):
    pytest.importorskip("pyarrow")
    assert is_uri("file:///x") and is_uri("s3://bucket/x") and not is_uri(str(tmp_path))
    for out in (tmp_path / "plain", f"file://{tmp_path / 'uri'}"):
        store = RunStorage(out)
        assert store.is_local
        store.write_text("runs/a/metrics.json", '{"f1": 1}')
        store.write_text("runs/a/metrics.json", '{"f1": 0.5}')
        assert store.exists("runs/a/metrics.json") and not store.exists("runs/a/other.json")
        assert json.loads(store.read_text("runs/a/metrics.json")) == {"f1": 0.5}
        folder = store.local_path / "runs" / "a"
        assert [p.name for p in folder.iterdir()] == ["metrics.json"]  # no temporary left
        store.remove("runs/a/metrics.json")
        store.remove("runs/a/metrics.json")
        assert not store.exists("runs/a/metrics.json")
    with pytest.raises(ValueError, match="pyarrow cannot open"):
        RunStorage("nosuchscheme://bucket/x")


def test_a_uri_run_matches_a_path_run_and_remote_reports_are_uploaded(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    models = ["lbp_svm_r1p8_4x4"]
    plain = run(_config(tmp_path / "plain", models), progress=False)
    uri = run(_config(f"file://{tmp_path / 'uri'}", models), progress=False)
    assert uri.out == tmp_path / "uri"
    assert plain.report_path.read_text() == uri.report_path.read_text()
    # A remote file system: units write through pyarrow, the report is computed on a
    # local copy and uploaded next to the units.
    monkeypatch.setattr(RunStorage, "is_local", property(lambda self: self._fs is None))
    remote = run(_config(f"file://{tmp_path / 'remote'}", models), progress=False)
    assert remote.out != tmp_path / "remote"
    for name in ("report.md", "results.csv", "summary.csv", "config.json"):
        assert (tmp_path / "remote" / name).is_file(), name
    assert (tmp_path / "remote" / "report.md").read_text() == plain.report_path.read_text()
    assert sorted(p.name for p in (tmp_path / "remote" / "runs").iterdir()) == sorted(
        plain.finished
    )
    # Resume on the remote folder skips the finished units.
    again = run(_config(f"file://{tmp_path / 'remote'}", models), progress=False)
    assert sorted(again.skipped) == sorted(plain.finished)
    assert runner_module.is_finished(plain.finished[0], f"file://{tmp_path}/remote")
