"""Model files: tensors in safetensors plus a JSON description. Loading never runs code.

A file holds the constructor parameters, the fitted arrays and the training state (momentum
buffers, persistent chains, the random generator), so a loaded model predicts exactly as the saved
one did and training can resume where it stopped. A SHA-256 over the description and every tensor
catches files that were edited or damaged after saving. It proves nothing more (anyone can write
a file with a valid digest), so loading also checks every field against the arrays
(``_file_checks``) and refuses a file that contradicts itself with one ValueError naming the field.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as _safetensors_bytes

from .._core.files import atomic_write_bytes
from .._version import __version__
from ._file_checks import Saved, build

FORMAT = "deepbelief"
FORMAT_VERSION = 1
_CLASSES = {}


def register(cls):
    """Class decorator: make ``cls`` loadable by name from a model file."""
    _CLASSES[cls.__name__] = cls
    return cls


class SaveLoadMixin:
    """Adds ``save(path)``; the class provides ``_get_state`` and ``_set_state``."""

    def save(self, path):
        """Write the model to ``path`` atomically (a crash never leaves half a file).

        Returns
        -------
        path : pathlib.Path
        """
        return save(self, path)


def _encode(value):
    """JSON-able form of a parameter value; tuples are tagged so they come back as tuples."""
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, np.ndarray) and value.ndim == 1:  # layer sizes: back as a list
        return [_encode(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.random.RandomState):
        return None  # the generator's state is saved separately as training state
    raise TypeError(f"cannot store parameter value {value!r} of type {type(value).__name__}")


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _digest(description, arrays):
    h = hashlib.sha256(description.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(estimator, path):
    """Save a fitted deepbelief estimator to ``path`` (conventionally ``*.safetensors``)."""
    if type(estimator).__name__ not in _CLASSES:
        raise TypeError(f"{type(estimator).__name__} is not a deepbelief model; cannot save it.")
    arrays, state = estimator._get_state()
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    description = json.dumps(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "class": type(estimator).__name__,
            "library_version": __version__,
            "params": _encode(estimator.get_params(deep=False)),
            "state": _encode(state),
        },
        sort_keys=True,
    )
    metadata = {"deepbelief": description, "sha256": _digest(description, arrays)}
    return atomic_write_bytes(path, _safetensors_bytes(arrays, metadata=metadata))


def load(path):
    """Load a model saved by ``save``. Only tensors and JSON are read; no code runs.

    Every field of the description is checked against the arrays (shapes, dtypes, finite
    values, JSON types, the constructor parameters), so a file that contradicts itself is
    refused here rather than giving NaN or wrong results later.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not a deepbelief model, is damaged, was edited after saving, or holds a
        field that disagrees with the model's arrays (the message names the field).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            arrays = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(
            f"{path} is not a readable deepbelief model file (damaged, truncated or another "
            f"format): {exc}"
        ) from None
    if "deepbelief" not in metadata or "sha256" not in metadata:
        raise ValueError(f"{path} is a safetensors file but not a deepbelief model (no description).")
    description = metadata["deepbelief"]
    if _digest(description, arrays) != metadata["sha256"]:
        raise ValueError(
            f"{path} failed its integrity check: the file was modified or damaged after it was "
            "saved. Re-train or restore the model from a good copy."
        )
    cls, info = _read_description(path, description)
    advice = (f"The file was edited, or written in a layout this deepbelief cannot read: re-train "
              f"the model or use the version that wrote it (the file says deepbelief "
              f"{info.get('library_version', '?')}).")
    try:
        saved = Saved(arrays, _decode(info.get("state")))
        estimator = build(cls, _decode(info.get("params")), saved)
        saved.check_all_read()
    except ValueError as exc:
        raise ValueError(f"{path}: {exc} {advice}") from None
    except Exception as exc:  # what the checks missed is still the file's fault, not a crash
        raise ValueError(f"{path}: the {cls.__name__} in it could not be rebuilt "
                         f"({type(exc).__name__}: {exc}). {advice}") from None
    return estimator


def _read_description(path, description):
    """The model class and the description of a model file, the format checked."""
    try:
        info = json.loads(description)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise ValueError(f"{path}: its description is not a JSON object; the file was not "
                         "written by deepbelief.")
    version = info.get("format_version")
    if (info.get("format") != FORMAT or isinstance(version, bool) or not isinstance(version, int)
            or version < 1):
        raise ValueError(
            f"{path} has format {info.get('format')!r} version {version!r}; this deepbelief reads "
            f"format {FORMAT!r} with an integer version from 1 to {FORMAT_VERSION}."
        )
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has format {FORMAT!r} version {version}; this deepbelief reads versions up "
            f"to {FORMAT_VERSION}: upgrade deepbelief."
        )
    name = info.get("class")
    cls = _CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"{path} holds an unknown model class {name!r}.")
    return cls, info


def random_state_to_saved(rng):
    """A NumPy RandomState as (array, JSON) so resumed training draws the same numbers."""
    kind, keys, pos, has_gauss, cached = rng.get_state()
    return keys, {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)}
