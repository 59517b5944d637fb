"""The ``painzoo`` command line.

Sub-commands:

- ``painzoo models``: the zoo as a table.
- ``painzoo benchmark``: run an evaluation config (default: ``quick``).
- ``painzoo preprocess SRC DST``: crop faces and write a manifest.
- ``painzoo explain MODEL.keras IMAGES…``: LIME / Grad-CAM / attention maps.
- ``painzoo agreement RATINGS.csv``: intra-class correlation of raters.
- ``painzoo train --config FILE --model NAME --out DIR``: one model on all data.
- ``painzoo predict MODEL INPUT…``: p_pain for images and videos.
- ``painzoo frames VIDEO… --out DIR``: candidate frames and a blinded rating sheet.

Heavy imports happen inside each ``_run_<name>``, so ``--help`` and ``painzoo models`` never import
Keras. Every sub-command takes ``-v/--verbose``; without it the backend's log lines and other
libraries' warnings are hidden, and painzoo's warnings print as
``painzoo <command>: warning: <message>``. ``--no-progress`` hides the progress bars.
"""

from __future__ import annotations

import argparse
import sys

from painzoo._quiet import command_warnings, quiet_backend

__all__ = ["build_parser", "main", "quiet_backend"]


# -- models ---------------------------------------------------------------------
def _add_models(sub):
    p = sub.add_parser("models", help="List the model zoo as a table.")
    p.add_argument("pattern", nargs="?", default=None, help="Shell wildcard, e.g. 'resnet*'.")
    p.add_argument("--tag", default=None, help="Only models with this tag (p1, p2, imagenet…).")
    p.add_argument(
        "--kind",
        default=None,
        choices=("keras", "sklearn"),
        help="Only networks (keras) or only the LBP + SVM baselines (sklearn).",
    )
    p.add_argument(
        "--count",
        action="store_true",
        help="Build every model to count its parameters (slow) instead of "
        "printing the reference counts.",
    )


def _run_models(args) -> int:
    from painzoo.registry import list_models, model_info
    from painzoo.training.learner import learner_class

    rows = []  # the registry's metadata imports no backend; only --count builds models
    for info in map(model_info, list_models(args.pattern, tag=args.tag, kind=args.kind)):
        name = info.name
        keras_model = learner_class(name).trains_network
        if args.count and keras_model:
            import painzoo

            params = painzoo.get_model(name).count_params()
        else:
            params = info.params
        rows.append(
            (
                name,
                "×".join(str(s) for s in info.input_shape) if keras_model else "any",
                f"{params:,}" if params is not None else ("?" if keras_model else "-"),
                info.paper_params or "-",
                ", ".join(info.weights) or "-",
                info.kind,
                info.citation.split(".")[0] if info.citation else "",
            )
        )
    header = ("model", "input", "params (2 classes)", "paper", "weights", "kind", "citation")
    _print_table(header, rows)
    return 0


def _add_image_size(p) -> None:
    help = "Override the input size: a side (64) or height x width (48x64)."
    p.add_argument("--image-size", type=_image_size, default=None, metavar="SIDE|HxW", help=help)


def _image_size(text: str) -> int | tuple[int, int]:
    """``--image-size``: ``64`` (a square) or ``48x64`` (height x width)."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        values = [int(v) for v in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):  # the sides' values are checked with the other overrides
        raise argparse.ArgumentTypeError(
            f"expected a side (64) or height x width (48x64) in integers; got {text!r}"
        )
    return values[0] if len(values) == 1 else (values[0], values[1])


# -- benchmark --------------------------------------------------------------------
def _add_benchmark(sub):
    p = sub.add_parser("benchmark", help="Evaluate models under the papers' protocols.")
    p.add_argument("--config", default="quick", help="Bundled config name or a YAML file.")
    p.add_argument("--out", default=None, help="Output folder (default: from the config).")
    p.add_argument("--models", nargs="+", default=None, help="Only these models.")
    p.add_argument("--protocols", nargs="+", default=None, help="Only these protocols.")
    p.add_argument("--epochs", type=int, default=None, help="Override the recipe's epochs.")
    p.add_argument("--repeats", type=int, default=None, help="Override the repeats.")
    _add_image_size(p)
    p.add_argument("--seed", type=int, default=None, help="Override the base seed.")
    p.add_argument(
        "--profile", action="store_true", help="Print seconds spent per phase at the end."
    )
    p.add_argument("--no-progress", action="store_true", help="Hide the progress bars.")
    p.add_argument(
        "--no-deterministic", action="store_true", help="Allow faster nondeterministic ops."
    )
    p.add_argument(
        "--executor",
        default="local",
        choices=("local", "ray"),
        help="local: units one after another here; ray: every unit a Ray task "
        '(pip install "painzoo[ray]").',
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="Units side by side, each in a fresh worker process (default: one per CPU "
        "core, one on a GPU machine; 0: one after another in this process).",
    )
    p.add_argument(
        "--address",
        default=None,
        help="Ray cluster: auto (started with `ray start` here) or HOST:PORT of the head.",
    )
    p.add_argument("--gpus-per-unit", type=float, default=None, help="GPUs per unit (Ray).")
    p.add_argument("--cpus-per-unit", type=float, default=None, help="CPUs per unit (Ray).")
    p.add_argument(
        "--max-retries", type=int, default=None, help="Reruns of a unit whose worker died (Ray)."
    )


def _run_benchmark(args) -> int:
    import signal

    # Before the heavy imports: from here on SIGINT and SIGTERM only set a flag, so a
    # signal during start-up is honoured; a second Ctrl-C raises KeyboardInterrupt.
    from painzoo._signals import handle_signals

    with handle_signals() as stop:
        try:
            return _benchmark(args)
        except KeyboardInterrupt:  # stopped during start-up, or a second Ctrl-C
            print("Interrupted: rerun the same command to finish the remaining units.")
            return 128 + int(stop.signum or signal.SIGINT)  # 130 Ctrl-C, 143 SIGTERM


def _benchmark(args) -> int:
    from painzoo import benchmark
    from painzoo._signals import check_stop

    check_stop()
    config = benchmark.load_config(args.config)
    check_stop()
    overrides = {
        "out": args.out,
        "models": args.models,
        "protocols": args.protocols,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "image_size": args.image_size,
        "seed": args.seed,
        "deterministic": False if args.no_deterministic else None,
    }
    config = benchmark.apply_overrides(config, **overrides)
    _check_benchmark_out(config)
    ray_options = {
        "address": args.address,
        "gpus_per_unit": args.gpus_per_unit,
        "cpus_per_unit": args.cpus_per_unit,
        "max_retries": args.max_retries,
    }
    from painzoo.utils.numbers import check_number

    for flag, value in (
        ("--gpus-per-unit", args.gpus_per_unit),
        ("--cpus-per-unit", args.cpus_per_unit),
    ):
        check_number(value, flag, low=0, low_open=flag == "--cpus-per-unit", none=True)
    check_number(args.max_retries, "--max-retries", low=0, integer=True, none=True)
    if args.executor != "ray" and any(v is not None for v in ray_options.values()):
        raise ValueError(
            "--address, --gpus-per-unit, --cpus-per-unit and --max-retries need --executor ray."
        )
    if args.executor == "ray" and args.jobs is not None:
        raise ValueError("--jobs applies to --executor local; Ray places units itself.")
    if args.jobs is not None and args.jobs < 0:
        raise ValueError(f"--jobs must be >= 0 (0: in this process); received {args.jobs}.")
    local_options = {"jobs": "auto" if args.jobs is None else args.jobs}
    from painzoo.benchmark.executors import get_executor

    try:
        options = ray_options if args.executor == "ray" else local_options
        executor = get_executor(args.executor, **options)
    except ImportError as err:
        raise ValueError(str(err)) from err
    check_stop()
    result = benchmark.run(
        config, progress=not args.no_progress, profile=args.profile, executor=executor
    )
    print(f"Report: {result.report_path}")
    if result.interrupted or result.stop_signal:
        import signal

        print("Interrupted: rerun the same command to finish the remaining units.")
        return 128 + int(result.stop_signal or signal.SIGINT)  # 130 Ctrl-C, 143 SIGTERM
    return 0 if not result.failed else 1


def _check_benchmark_out(config) -> None:
    """Refuse a local output folder that is, or lies inside, a data folder of the config."""
    from pathlib import Path

    from painzoo.utils.files import check_outputs

    if "://" in config.out:  # a remote folder cannot clash with local data
        return
    base = Path(config.config_dir or ".")
    inputs = []
    for part in (p for entry in config.data.values() for p in entry.parts()):
        if isinstance(part.get("manifest"), str):
            inputs.append(("data manifest", base / part["manifest"]))
        if "loader" in part:
            for value in (part.get("args") or {}).values():
                if isinstance(value, str) and (base / value).exists():
                    inputs.append(("data folder", base / value))
    if config.config_file and Path(config.config_file).is_file():
        inputs.append(("config", config.config_file))
    check_outputs(
        {"--out": config.out},
        inputs,
        command="painzoo benchmark",
        fix="Pass --out (or set out: in the config) to a new folder outside the data, e.g. "
        "painzoo-results.",
    )


# -- preprocess -------------------------------------------------------------------
def _add_preprocess(sub):
    p = sub.add_parser("preprocess", help="Crop faces from a folder; write crops + manifest.")
    p.add_argument("src", help="Image folder (or a manifest CSV).")
    p.add_argument("dst", help="Output folder for crops and manifest.csv.")
    p.add_argument("--detector", default="mtcnn", help="mtcnn, haar or none.")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--margin", type=float, default=0.2)
    p.add_argument("--background", default=None, help="grabcut or an ONNX model path.")
    p.add_argument("--on-no-face", default="center", choices=("center", "skip", "error"))
    p.add_argument(
        "--on-error",
        default="error",
        choices=("error", "skip"),
        help="An image that cannot be decoded: stop (error) or drop and count it (skip).",
    )
    p.add_argument(
        "--layout",
        default="subject/label",
        help="Folder layout of SRC: subject/label, label, or mintpain (MInt PAIN's named "
        "folders; participant names are replaced by Sub<NN>).",
    )
    p.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")


def _run_preprocess(args) -> int:
    from painzoo import preprocess

    ds = preprocess.preprocess_folder(
        args.src,
        args.dst,
        detector=args.detector,
        size=args.size,
        margin=args.margin,
        background=args.background,
        on_no_face=args.on_no_face,
        layout=args.layout,
        on_error=args.on_error,
        progress=not args.no_progress,
    )
    print(f"Wrote {len(ds)} crops and a manifest to {args.dst}")
    return 0


# -- explain ----------------------------------------------------------------------
def _add_explain(sub):
    p = sub.add_parser("explain", help="Explain a saved model's predictions on images.")
    p.add_argument("model", help="Folder written by painzoo train (or its model.keras).")
    p.add_argument("images", nargs="+", help="Image files.")
    p.add_argument(
        "--face-crop",
        default="card",
        help="card (as trained: the crop in model.json), none, haar or mtcnn.",
    )
    p.add_argument("--method", default="lime", choices=("lime", "gradcam", "attention"))
    p.add_argument("--out", default="painzoo-explanations")
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")


def _run_explain(args) -> int:
    from painzoo import explain

    paths = explain.explain_files(
        args.model,
        args.images,
        method=args.method,
        out=args.out,
        num_samples=args.num_samples,
        face_crop=args.face_crop,
        progress=not args.no_progress,
    )
    for path in paths:
        print(path)
    return 0


# -- agreement --------------------------------------------------------------------
def _add_agreement(sub):
    p = sub.add_parser("agreement", help="Inter-rater agreement (ICC) of a ratings CSV.")
    p.add_argument(
        "ratings",
        help="CSV: one row per target, one column per rater; or a rating sheet of painzoo frames.",
    )
    p.add_argument("--form", default="2,k", help="ICC form: 1,1 1,k 2,1 2,k 3,1 3,k.")


def _run_agreement(args) -> int:
    from painzoo import annotation

    print(annotation.agreement_report(args.ratings, form=args.form))
    return 0


# -- train ------------------------------------------------------------------------
def _add_train(sub):
    p = sub.add_parser("train", help="Train one model on all images of a data set; save it.")
    p.add_argument("--config", default="quick", help="Bundled config name or a YAML file.")
    p.add_argument("--model", required=True, help="A model of the config (label) or zoo name.")
    p.add_argument("--data", default=None, help="Data name of the config (default: first).")
    p.add_argument("--out", required=True, help="Folder for model.keras and model.json.")
    p.add_argument(
        "--results", default=None, help="A benchmark output folder: its metrics go in the card."
    )
    p.add_argument("--epochs", type=int, default=None, help="Override the recipe's epochs.")
    _add_image_size(p)
    p.add_argument("--seed", type=int, default=None, help="Training seed.")
    p.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")


def _run_train(args) -> int:
    from painzoo.benchmark.final import train_from_config

    model = train_from_config(
        args.config,
        model=args.model,
        data=args.data,
        out=args.out,
        results=args.results,
        epochs=args.epochs,
        image_size=args.image_size,
        seed=args.seed,
        progress=not args.no_progress,
    )
    data = model.card["training_data"]
    print(
        f"Trained {model.card['model']['name']} on {data['images']} images of "
        f"{data['subjects']} subjects ({data['name']}); wrote {args.out}/model.keras "
        "and model.json"
    )
    return 0


# -- predict ----------------------------------------------------------------------
def _add_predict(sub):
    p = sub.add_parser("predict", help="Score images, folders, manifests and videos.")
    p.add_argument("model", help="Folder written by painzoo train (or its model.keras).")
    p.add_argument("inputs", nargs="+", help="Images, folders, CSV manifests, videos.")
    p.add_argument("--out", default="predictions.csv", help="CSV of the rows.")
    p.add_argument("--fps", type=float, default=5.0, help="Video samples per second.")
    p.add_argument("--face-crop", default="card", help="card (as trained), none, haar or mtcnn.")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threshold", type=float, default=None, help="Default: the card's.")
    p.add_argument("--no-timelines", action="store_true", help="Write no timeline PNGs.")
    p.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")


def _run_predict(args) -> int:
    from painzoo.inference.predict import predict

    rows = predict(
        args.model,
        args.inputs,
        out=args.out,
        face_crop=args.face_crop,
        fps=args.fps,
        batch_size=args.batch_size,
        threshold=args.threshold,
        timelines=not args.no_timelines,
        progress=not args.no_progress,
    )
    summary = rows.attrs.get("summary")
    print(f"Wrote {len(rows)} row(s) to {args.out}")
    if summary is not None and len(summary):
        stem = args.out[:-4] if args.out.endswith(".csv") else args.out
        print(f"Per video: {stem}_summary.csv and {stem}_timelines/")
    return 0


# -- frames -----------------------------------------------------------------------
def _add_frames(sub):
    p = sub.add_parser(
        "frames", help="Candidate frames of videos for blinded rating + a rating sheet."
    )
    p.add_argument("videos", nargs="+", help="Video files.")
    p.add_argument(
        "--out",
        required=True,
        help="A new folder: for_raters/ (crops + rating_sheet.csv) and rating_key.csv.",
    )
    p.add_argument("--every", type=float, default=1.0, help="Seconds between sampled frames.")
    p.add_argument("--max", type=int, default=None, help="At most N frames per video.")
    p.add_argument("--scale", default="rgs", choices=("rgs", "pspi"))
    p.add_argument("--raters", type=int, default=5, help="Rater columns in the sheet.")
    p.add_argument("--face-crop", default="haar", help="haar, mtcnn or none.")
    p.add_argument("--size", type=int, default=224, help="Side of the saved crops.")
    p.add_argument("--seed", type=int, default=None, help="Seed of the random ids and row order.")
    p.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")


def _run_frames(args) -> int:
    from painzoo.inference.frames import extract_frames

    result = extract_frames(
        args.videos,
        args.out,
        every=args.every,
        max_frames=args.max,
        scale=args.scale,
        raters=args.raters,
        face_crop=args.face_crop,
        size=args.size,
        seed=args.seed,
        progress=not args.no_progress,
    )
    n = len(result.counts)
    for i, c in enumerate(result.counts.values(), 1):  # by position: file names may be names
        print(
            f"video {i} of {n}: {c['sampled']} sampled, {c['no_face']} without a face, "
            f"{c['blurred']} blurred, {c['duplicates']} near-duplicates, kept {c['kept']}"
        )
    print(f"For the raters (give them this folder only): {result.sheet_path.parent}")
    print(f"Key (keep it from the raters): {result.key_path}")
    return 0


# -- plumbing ---------------------------------------------------------------------
_COMMANDS = {
    "models": (_add_models, _run_models),
    "benchmark": (_add_benchmark, _run_benchmark),
    "preprocess": (_add_preprocess, _run_preprocess),
    "explain": (_add_explain, _run_explain),
    "agreement": (_add_agreement, _run_agreement),
    "train": (_add_train, _run_train),
    "predict": (_add_predict, _run_predict),
    "frames": (_add_frames, _run_frames),
}


def _print_table(header, rows) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))


_VERBOSE_HELP = "Show the backend's log lines and warnings (hidden by default)."


def build_parser() -> argparse.ArgumentParser:
    """The ``painzoo`` argument parser with every sub-command."""
    from painzoo._version import __version__

    parser = argparse.ArgumentParser(
        prog="painzoo", description="Pain recognition from face images: models, evaluation, data."
    )
    parser.add_argument("--version", action="version", version=f"painzoo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=_VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in _COMMANDS.values():
        add(sub)
    for p in sub.choices.values():  # every sub-command, also ones added later
        if "--verbose" not in p._option_string_actions:
            # SUPPRESS: `painzoo -v CMD` must not be reset to False by CMD's default.
            p.add_argument(
                "-v",
                "--verbose",
                action="store_true",
                default=argparse.SUPPRESS,
                help=_VERBOSE_HELP,
            )
    return parser


def main(argv=None) -> int:
    """Entry point of the ``painzoo`` command."""
    args = build_parser().parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    quiet_backend(verbose)
    try:
        with command_warnings(args.command, verbose):
            return _COMMANDS[args.command][1](args)
    except (ValueError, OSError, KeyError) as err:  # OSError: also a locked or full --out
        message, prefix = str(err), f"painzoo {args.command}: "
        if message.startswith(prefix):  # the library named the command already
            message = message[len(prefix) :]
        print(f"{prefix}error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
