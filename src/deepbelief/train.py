"""``deepbelief train``: any model from a config (TOML/JSON file and/or flags) into a run folder.

A config is a flat table plus a ``[params]`` table of estimator parameters::

    model = "classifier"          # rbm | dbn | classifier | autoencoder
    data = "mnist"                # mnist | digits | a labelled CSV file
    max_samples = 10000           # optional: the first N training images
    seed = 0
    [params]
    hidden_layer_sizes = [500, 500]
    epochs = 10
"""

import json
import time
from pathlib import Path

import numpy as np

from .autoencoder import DeepAutoencoder
from .classifier import DBNClassifier
from .datasets import load_dataset
from .dbn import DBN
from .io import write_json
from .pictures import model_pictures
from .rbm import RBM
from .report import write_report
from .rundir import staged_dir

MODELS = {"rbm": RBM, "dbn": DBN, "classifier": DBNClassifier, "autoencoder": DeepAutoencoder}
TOP_LEVEL = {"model", "data", "data_home", "max_samples", "seed", "device", "params"}


def read_config(path):
    """A config dict from a ``.toml`` or ``.json`` file, with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            config = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            config = tomllib.loads(text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ValueError(f"{path} is not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {exc}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a table of settings, got {type(config).__name__}.")
    return config


def _normalise(value):
    """TOML/JSON lists become tuples where estimators expect tuples (layer sizes, momentum)."""
    return tuple(value) if isinstance(value, list) else value


def build_model(config, verbose=1):
    """The estimator a config describes, with every parameter checked by name."""
    unknown = set(config) - TOP_LEVEL
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; allowed: {sorted(TOP_LEVEL)}.")
    kind = config.get("model", "rbm")
    if kind not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {kind!r}.")
    cls = MODELS[kind]
    params = {k: _normalise(v) for k, v in (config.get("params") or {}).items()}
    valid = cls().get_params()
    bad = sorted(set(params) - set(valid))
    if bad:
        raise ValueError(f"unknown parameter(s) {bad} for model {kind!r}; valid: {sorted(valid)}.")
    params.setdefault("random_state", config.get("seed", 0))
    params.setdefault("device", config.get("device", "auto"))
    params["verbose"] = verbose
    return cls(**params)


def _log_lines(model):
    history = model.history_
    layers = history if isinstance(history, list) else [history]
    lines = []
    for i, h in enumerate(layers):
        keys = [k for k, v in h.items() if isinstance(v, list) and v and not isinstance(v[0], list)]
        for row in zip(*(h[k] for k in keys)):
            prefix = f"layer {i + 1} " if len(layers) > 1 else ""
            lines.append(prefix + ", ".join(f"{k}={_fmt(v)}" for k, v in zip(keys, row)))
    return lines


def _fmt(value):
    return f"{value:.5g}" if isinstance(value, float) else str(value)


def train_model(config, out_dir, overwrite=False, verbose=1):
    """Train what ``config`` describes; write model, metrics, config, log, pictures, report.

    The run folder appears only when everything in it is written. Returns the metrics.
    """
    model = build_model(config, verbose=verbose)
    kind = config.get("model", "rbm")
    ds = load_dataset(config.get("data", "mnist"), data_home=config.get("data_home"), verbose=verbose)
    n = config.get("max_samples")
    X, y = (ds.X_train[:n], ds.y_train[:n]) if n else (ds.X_train, ds.y_train)
    with staged_dir(out_dir, overwrite=overwrite) as tmp:
        start = time.perf_counter()
        model.fit(X, y) if kind == "classifier" else model.fit(X)
        seconds = time.perf_counter() - start
        metrics = {"model": kind, "data": ds.name, "n_train": int(len(X)),
                   "n_test": int(len(ds.X_test)), "train_seconds": round(seconds, 2)}
        if kind == "classifier":
            metrics["test_accuracy"] = float(model.score(ds.X_test, ds.y_test))
        elif kind == "autoencoder":
            metrics["test_reconstruction_error_per_image"] = float(model.reconstruction_error(ds.X_test))
        else:
            recon = model.reconstruct(ds.X_test)
            metrics["test_reconstruction_error_per_pixel"] = float(np.mean((recon - ds.X_test) ** 2))
        model.save(tmp / "model.safetensors")
        write_json(tmp / "config.json", config)
        write_json(tmp / "metrics.json", metrics)
        log = _log_lines(model)
        (tmp / "training.log").write_text("\n".join(log) + "\n", encoding="utf-8")
        pictures = model_pictures(model, tmp, ds.X_test[:2000], ds.y_test[:2000], ds.image_shape)
        write_report(tmp / "report.html", f"deepbelief {kind} on {ds.name}", config, metrics,
                     [(c, p) for c, p in pictures], log_lines=log)
    return metrics
