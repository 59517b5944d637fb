"""Load painzoo weights or torchvision/timm ResNet-18 checkpoints into a Keras model.

painzoo's ResNet-18 names its layers after torchvision's state-dict keys with ``_`` for ``.`` and
pads like PyTorch, so the conversion is a re-layout (kernels OIHW → HWIO, BatchNorm
``weight``/``bias``/``running_*``); the ``fc`` head loads only when its shape matches. It serves
every model built on :func:`painzoo.models.resnet_backbone.resnet18_features`.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

from painzoo.models._common import load_weights_file
from painzoo.models.resnet_backbone import resnet18_features
from painzoo.utils.files import atomic_write_bytes

__all__ = [
    "load_weights",
    "read_state_dict",
    "load_imagenet_resnet18",
    "imagenet_resnet18_files",
    "RESNET18_IMAGENET_URL",
    "RESNET18_URL_ENV",
    "TORCH_SUFFIXES",
]

TORCH_SUFFIXES = (".pth", ".pt", ".bin")
_IGNORED_SUFFIXES = ("num_batches_tracked",)
_HEAD = "fc"
_MAX_LISTED = 8
# torchvision's ImageNet ResNet-18 (resnet18-f37072fd.pth) in timm's safetensors form.
RESNET18_IMAGENET_URL = (
    "https://huggingface.co/timm/resnet18.tv_in1k/resolve/main/model.safetensors"
)
RESNET18_URL_ENV = "PAINZOO_RESNET18_URL"
_SOURCE_FILE = "resnet18.tv_in1k.safetensors"
_CONVERTED_FILE = "painzoo_resnet18.tv_in1k.keras.npz"
_IMAGENET_CLASSES = 1000


def _listing(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:_MAX_LISTED])
    return shown + (f", … ({len(keys) - _MAX_LISTED} more)" if len(keys) > _MAX_LISTED else "")


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read the PyTorch state dict at ``path`` (``.pth``/``.pt``/``.bin``, ``.safetensors``) as NumPy.

    ``.pth`` files are read with ``torch.load(weights_only=True)``; a ``"state_dict"``/``"model"``
    wrapper and a ``"module."`` prefix are removed.

    Raises:
        FileNotFoundError: If the file does not exist.
        ImportError: For a ``.pth`` file when PyTorch is not installed.
        ValueError: For another suffix or a file that holds no state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors.numpy import load_file

        state = dict(load_file(str(path)))
    elif suffix in TORCH_SUFFIXES:
        try:
            import torch
        except ImportError as err:
            raise ImportError(
                f"Reading {path} needs PyTorch, which is not installed. Install it with "
                "`pip install torch` (or `pip install painzoo[torch]`), or convert the "
                "checkpoint to .safetensors, which painzoo reads without PyTorch."
            ) from err
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
        for wrapper in ("state_dict", "model"):
            if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
        if not isinstance(obj, dict):
            raise ValueError(
                f"{path} holds a {type(obj).__name__}, not a state dict; save the model with "
                "torch.save(model.state_dict(), path)."
            )
        state = {k: v.detach().cpu().numpy() for k, v in obj.items() if hasattr(v, "detach")}
    else:
        raise ValueError(
            f"Cannot read weights from {path}: expected a '.weights.h5' saved by painzoo, a "
            f"PyTorch state dict ({', '.join(TORCH_SUFFIXES)}) or a '.safetensors' file."
        )
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _weighted_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _weighted_layers(layer)
        elif layer.weights:
            yield layer


def _plan(model, state):
    """Pair every variable with its array; collect missing keys and shape errors."""
    assignments, missing, shape_errors, used = [], [], [], set()

    def take(variable, key, transform=None):
        if key not in state:
            missing.append(key)
            return
        used.add(key)
        value = np.asarray(state[key])
        if transform is not None:
            value = transform(value)
        if tuple(value.shape) != tuple(variable.shape):
            shape_errors.append(
                f"{key}: expected {tuple(variable.shape)} after conversion, "
                f"received {tuple(value.shape)}"
            )
            return
        assignments.append((variable, value))

    head = None
    for layer in _weighted_layers(model):
        key = layer.name.replace("_", ".")
        if isinstance(layer, keras.layers.Conv2D):
            # PyTorch stores conv kernels as (out, in, h, w); Keras as (h, w, in, out).
            take(layer.kernel, f"{key}.weight", lambda w: np.transpose(w, (2, 3, 1, 0)))
            if layer.use_bias:
                take(layer.bias, f"{key}.bias")
        elif isinstance(layer, keras.layers.BatchNormalization):
            take(layer.gamma, f"{key}.weight")
            take(layer.beta, f"{key}.bias")
            take(layer.moving_mean, f"{key}.running_mean")
            take(layer.moving_variance, f"{key}.running_var")
        elif isinstance(layer, keras.layers.Dense) and layer.name == _HEAD:
            head = layer
    return assignments, missing, shape_errors, used, head


def _plan_head(head, state, num_classes, assignments, used, path) -> list[str]:
    """Pair the head with ``fc.*`` when shapes match; return notices for the user."""
    keys = (f"{_HEAD}.weight", f"{_HEAD}.bias")
    present = [k for k in keys if k in state]
    used.update(present)
    if not present:
        if head is None:
            return []
        return [
            f"{path} has no '{_HEAD}.*' weights; the classification head keeps its random "
            "initialisation."
        ]
    if len(present) != 2:
        raise ValueError(
            f"{path} holds {present[0]} but not its partner; expected both {keys[0]} and {keys[1]}."
        )
    kernel = np.transpose(np.asarray(state[keys[0]]))
    bias = np.asarray(state[keys[1]])
    if head is None:
        return [
            f"{path} has a '{_HEAD}' classifier but the model has no Dense layer named "
            f"'{_HEAD}'; the checkpoint's classifier is not loaded."
        ]
    if tuple(kernel.shape) != tuple(head.kernel.shape) or bias.shape != tuple(head.bias.shape):
        return [
            f"Skipping the checkpoint's classifier {_HEAD}.weight {tuple(kernel.shape[::-1])}: "
            f"the model has num_classes={num_classes} and a head of shape "
            f"{tuple(head.kernel.shape)} (Keras layout); the head keeps its random "
            f"initialisation. Pass num_classes={kernel.shape[-1]} to load it."
        ]
    assignments.append((head.kernel, kernel))
    assignments.append((head.bias, bias))
    return []


def load_weights(model: keras.Model, path: str | os.PathLike, *, num_classes: int) -> keras.Model:
    """Load ``path`` into ``model``, a network on :func:`~painzoo.models.resnet_backbone.resnet18_features`, in place.

    ``path`` is a ``.weights.h5`` file saved by painzoo, or a torchvision-layout state dict
    (``.pth``/``.pt``/``.bin``, needs PyTorch, or ``.safetensors``); its ``fc`` loads only when
    ``num_classes`` matches.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: For an unsupported file type, or a checkpoint whose keys or shapes do not match
            the model (listing the missing and unexpected keys); nothing is assigned then.
        ImportError: For a PyTorch file when PyTorch is not installed.

    Reference:
        torchvision.models.resnet18 state-dict layout; He et al., CVPR 2016.
    """
    if isinstance(path, str) and not os.path.splitext(path)[1]:
        raise ValueError(
            f"weights={path!r} is not a file path and no pretrained weights of that name "
            "ship with painzoo (nothing is downloaded). Pass a '.weights.h5', '.pth' or "
            "'.safetensors' file, or weights=None."
        )
    path = Path(path)
    if path.name.endswith(".weights.h5"):
        return load_weights_file(model, path)
    state = read_state_dict(path)
    assignments, missing, shape_errors, used, head = _plan(model, state)
    notices = _plan_head(head, state, num_classes, assignments, used, path)
    unexpected = [k for k in state if k not in used and not k.endswith(_IGNORED_SUFFIXES)]
    if missing or unexpected or shape_errors:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {_listing(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_listing(unexpected)}")
        if shape_errors:
            parts.append(f"{len(shape_errors)} shape mismatch(es): {'; '.join(shape_errors[:4])}")
        raise ValueError(
            f"{path} does not match model {model.name!r} (torchvision ResNet-18 layout "
            f"expected): {' | '.join(parts)}. Nothing was loaded."
        )
    for variable, value in assignments:
        variable.assign(value.astype(variable.dtype))
    for notice in notices:
        warnings.warn(notice, stacklevel=2)
    return model


# -- ImageNet weights ------------------------------------------------------------------
def imagenet_resnet18_files() -> tuple[Path, Path]:
    """``(source, converted)``: the ImageNet ResNet-18 checkpoint and its converted arrays in Keras' cache."""
    from painzoo.models.applications import _keras_cache_dir

    folder = _keras_cache_dir() / "models"
    return folder / _SOURCE_FILE, folder / _CONVERTED_FILE


def _fetch_failed(url: str, source: Path, reason: str) -> RuntimeError:
    return RuntimeError(
        f"Could not get the ImageNet ResNet-18 weights from {url}: {reason}. Offline, download "
        f"that file on a machine with internet access and put it at {source} (Keras' cache: "
        f"$KERAS_HOME/models or ~/.keras/models), set {RESNET18_URL_ENV} to a mirror or a "
        "file:// path, or pass weights='/path/to/resnet18.safetensors' (any torchvision-layout "
        "ResNet-18 checkpoint, .safetensors or .pth); weights=None starts from random weights."
    )


def _reference_backbone() -> keras.Model:
    """ResNet-18's convolutional part, to check checkpoints against (``fc`` is checked by shape)."""
    inputs = keras.Input(shape=(64, 64, 3))
    return keras.Model(inputs, resnet18_features(inputs))


def _convert_checkpoint(path: Path, url: str, source: Path) -> dict[str, np.ndarray]:
    """Keras arrays (keyed by variable path) of a ResNet-18 ImageNet checkpoint.

    Raises:
        RuntimeError: If the file is unreadable or a tensor is missing, unexpected or misshapen.
    """
    try:
        state = read_state_dict(path)
    except Exception as err:  # a truncated or non-safetensors file
        raise _fetch_failed(url, source, f"the file is not a readable checkpoint ({err})") from err
    reference = _reference_backbone()
    assignments, missing, shape_errors, used, _ = _plan(reference, state)
    head_shapes = {"fc.weight": (_IMAGENET_CLASSES, 512), "fc.bias": (_IMAGENET_CLASSES,)}
    for key, shape in head_shapes.items():
        if key not in state:
            missing.append(key)
        elif tuple(np.shape(state[key])) != shape:
            shape_errors.append(f"{key}: expected {shape}, received {np.shape(state[key])}")
        used.add(key)
    unexpected = [k for k in state if k not in used and not k.endswith(_IGNORED_SUFFIXES)]
    if missing or unexpected or shape_errors:
        detail = "; ".join(
            part
            for part in (
                missing and f"missing {_listing(missing)}",
                unexpected and f"unexpected {_listing(unexpected)}",
                shape_errors and f"wrong shapes {'; '.join(shape_errors[:4])}",
            )
            if part
        )
        raise _fetch_failed(url, source, f"the file is not torchvision's ResNet-18 ({detail})")
    return {variable.path: value.astype(np.float32) for variable, value in assignments}


def _download(url: str, source: Path) -> None:
    """Download ``url`` to ``source`` through a private folder, so no partial file is left."""
    source.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".painzoo-download-", dir=source.parent))
    try:
        try:
            fetched = keras.utils.get_file(
                source.name, url, cache_dir=str(staging), cache_subdir="."
            )
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt):
                raise
            raise _fetch_failed(url, source, f"the download failed ({err})") from err
        _convert_checkpoint(Path(fetched), url, source)  # check before it enters the cache
        os.replace(fetched, source)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read_converted(converted: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(converted) as data:
            return {k: data[k] for k in data.files}
    except Exception:  # unreadable: rebuild it from the checkpoint
        converted.unlink(missing_ok=True)
        return None


def load_imagenet_resnet18(model: keras.Model, *, url: str | None = None) -> keras.Model:
    """Load torchvision's ImageNet ResNet-18 backbone into a ResNet-18-based painzoo model, in place.

    The first call downloads the checkpoint (``url``: an ``https://`` mirror or ``file://`` path,
    else ``$PAINZOO_RESNET18_URL``, else :data:`RESNET18_IMAGENET_URL`), checks it and caches the
    converted arrays (:func:`imagenet_resnet18_files`). The head stays random.

    Raises:
        RuntimeError: Offline, on a failed or corrupt download: the message names the URL, the
            cache path where the file may be put by hand, and ``weights="/path/to/file"``.
        ValueError: If ``model`` lacks a ResNet-18 backbone layer.
    """
    source, converted = imagenet_resnet18_files()
    arrays = _read_converted(converted) if converted.is_file() else None
    if arrays is None:
        origin = url or os.environ.get(RESNET18_URL_ENV) or RESNET18_IMAGENET_URL
        if source.is_file():
            try:
                arrays = _convert_checkpoint(source, origin, source)
            except RuntimeError:
                source.unlink(missing_ok=True)  # a corrupt file placed by hand: do not keep it
                raise
        else:
            _download(origin, source)
            arrays = _convert_checkpoint(source, origin, source)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(converted, buf.getvalue())
    targets = {}
    for layer in _weighted_layers(model):
        for variable in layer.weights:
            targets[variable.path] = variable
    missing = sorted(set(arrays) - set(targets))
    if missing:
        raise ValueError(
            f"Model {model.name!r} has no ResNet-18 backbone variable(s) {_listing(missing)}; "
            "weights='imagenet' needs a model built on resnet18_features (resnet18, "
            "painseeker, painseeker_no_prsc)."
        )
    for key, value in arrays.items():
        variable = targets[key]
        if tuple(variable.shape) != tuple(value.shape):
            raise ValueError(
                f"{key}: the model's variable has shape {tuple(variable.shape)}, the ImageNet "
                f"ResNet-18 has {tuple(value.shape)}."
            )
        variable.assign(value.astype(variable.dtype))
    return model
