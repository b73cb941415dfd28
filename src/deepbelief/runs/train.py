"""Train any model into a run folder: the one path behind ``deepbelief train`` and ``train-rbm``.

A config is a flat table plus a ``[params]`` table of estimator parameters::

    model = "classifier"          # rbm | dbn | dbm | classifier | dbm-classifier | autoencoder
    data = "mnist"                # mnist | digits | mnist-sample | a labelled CSV file
    max_samples = 10000           # optional: the first N training images
    seed = 0
    log_likelihood = true         # optional, RBM, DBN, DBM: test log-likelihood by AIS in the report
    [params]
    hidden_layer_sizes = [500, 500]
    n_iter = 10

The folder appears only when everything in it is written. An RBM saves a checkpoint in the
folder after every epoch, so ``resume=True`` finishes an interrupted run exactly.
"""

import json
import time
from pathlib import Path

import numpy as np

from .._core.files import write_json
from ..datasets import load_dataset
from ..models import DBM, DBN, RBM, DBMClassifier, DBNClassifier, DeepAutoencoder, likelihood, load
from ..models.stack import rbm_stack
from ..viz.gallery import basic_pictures, model_pictures
from .report import write_report
from .rundir import staged_dir

MODELS = {"rbm": RBM, "dbn": DBN, "dbm": DBM, "classifier": DBNClassifier,
          "dbm-classifier": DBMClassifier, "autoencoder": DeepAutoencoder}
CLASSIFIERS = ("classifier", "dbm-classifier")
TOP_LEVEL = {"model", "data", "data_home", "max_samples", "seed", "device", "params", "log_likelihood"}
MODEL_FILE, CHECKPOINT = "model.safetensors", "checkpoint.safetensors"


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


def merge_config(config=None, *, model=None, data=None, data_home=None, max_samples=None, seed=None,
                 device=None, layers=None, params=None, log_likelihood=None):
    """``config`` (from a file, or empty) overridden by the values given (None: keep the file's).

    ``layers`` are the sizes the user typed: an RBM's ``n_components`` (one number), a
    classifier's ``hidden_layer_sizes``, or the whole stack of a DBN or autoencoder.
    ``params`` are estimator parameters by name; they override the file's ``[params]``.
    """
    config = dict(config or {})
    merged_params = dict(config.get("params") or {})
    for key, value in (("model", model), ("data", data), ("data_home", data_home),
                       ("max_samples", max_samples), ("seed", seed), ("device", device),
                       ("log_likelihood", log_likelihood)):
        if value is not None:
            config[key] = value
    config.setdefault("model", "rbm")
    config.setdefault("data", "mnist")
    config.setdefault("seed", 0)
    if layers:
        layers = tuple(layers)
        key = {"rbm": "n_components", "classifier": "hidden_layer_sizes",
               "dbm-classifier": "hidden_layer_sizes"}.get(config["model"], "layers")
        merged_params[key] = layers[0] if key == "n_components" else layers
    merged_params.update({k.replace("-", "_"): v for k, v in (params or {}).items()})
    config["params"] = merged_params
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


def _start(config, out, resume, overwrite, verbose):
    """The model to train: new from ``config``, or an RBM checkpoint (or model) to finish."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; give a folder for the run.")
    if (out / MODEL_FILE).exists() and not (resume or overwrite):
        raise FileExistsError(
            f"{out / MODEL_FILE} already exists: pass --overwrite to replace it, or choose another --out."
        )
    if out.is_dir() and not (resume or overwrite) and {p.name for p in out.iterdir()} - {CHECKPOINT}:
        raise FileExistsError(f"{out} already exists and is not empty: pass --overwrite or choose another --out.")
    if not resume:
        return build_model(config, verbose=verbose)
    if config.get("model", "rbm") != "rbm":
        raise ValueError("only RBM runs can be resumed (they save a checkpoint every epoch); "
                         "train the other models again without --resume.")
    for name in (CHECKPOINT, MODEL_FILE):
        if (out / name).exists():
            model = load(out / name)
            n_iter = (config.get("params") or {}).get("n_iter", model.n_iter)
            model.set_params(warm_start=True, n_iter=n_iter, verbose=verbose)
            if config.get("device"):
                model.set_params(device=config["device"])
            return model
    raise FileNotFoundError(f"nothing to resume in {out}: no {CHECKPOINT} or {MODEL_FILE} there.")


def _test_metrics(model, kind, ds):
    if kind in CLASSIFIERS:
        return {"test_accuracy": float(model.score(ds.X_test, ds.y_test))}
    if kind == "autoencoder":
        return {"test_reconstruction_error_per_image": float(model.reconstruction_error(ds.X_test))}
    recon = model.reconstruct(ds.X_test)
    return {"test_reconstruction_error_per_pixel": float(np.mean((recon - ds.X_test) ** 2))}


def _log_likelihood_metrics(model, kind, ds, config):
    """The test log-likelihood by AIS when the config asks (``log_likelihood = true``, or a number
    of AIS betas): an estimate for an RBM, a variational bound for a DBN or DBM; binarized test
    set."""
    asked = config.get("log_likelihood")
    if not asked or kind not in ("rbm", "dbn", "dbm"):
        return {}
    n_betas = None if asked is True else int(asked)
    if kind == "dbm":
        X = likelihood.binarize(ds.X_test, "sample", random_state=config.get("seed", 0))
        log_z = model.log_partition(n_betas=n_betas, random_state=config.get("seed", 0))
        value, what = model.log_likelihood(X, log_z), "lower bound (mean field, AIS for log Z)"
        return {"test_log_likelihood": float(value), "test_log_likelihood_kind": what,
                "log_z": float(log_z), "log_z_3_sigma": [log_z.log_z_low, log_z.log_z_high],
                "ais_betas": log_z.n_betas, "ais_runs": log_z.n_runs}
    rbms = rbm_stack(model)
    X = ds.X_test
    if rbms[0].visible == "bernoulli":
        X = likelihood.binarize(X, "sample", random_state=config.get("seed", 0))
    top_data = X
    for rbm in rbms[:-1]:
        top_data = rbm.transform(top_data)
    log_z = likelihood.rbm_log_partition(rbms[-1], top_data, n_betas=n_betas,
                                         random_state=config.get("seed", 0))
    if kind == "rbm":
        value, what = likelihood.rbm_log_likelihood(model, X, log_z), "AIS estimate"
    else:
        value = likelihood.dbn_log_likelihood_bound(model, X, log_z, random_state=config.get("seed", 0))
        what = "lower bound (AIS for the top RBM)"
    return {"test_log_likelihood": float(value), "test_log_likelihood_kind": what,
            "log_z": float(log_z), "log_z_3_sigma": [log_z.log_z_low, log_z.log_z_high],
            "ais_betas": log_z.n_betas, "ais_runs": log_z.n_runs}


def train_model(config, out_dir, overwrite=False, resume=False, report=True, verbose=1):
    """Train what ``config`` describes and write its run folder. Returns the metrics.

    With ``report=True`` the folder holds ``model.safetensors``, ``metrics.json``,
    ``config.json``, ``training.log``, every picture of the model and ``report.html`` (needs
    matplotlib). With ``report=False`` it holds the model, ``metrics.json``, ``filters.png`` and
    ``reconstructions.png`` (Pillow only).
    """
    out = Path(out_dir)
    kind = config.get("model", "rbm")
    model = _start(config, out, resume, overwrite, verbose)
    ds = load_dataset(config.get("data", "mnist"), data_home=config.get("data_home"), verbose=verbose)
    n = config.get("max_samples")
    X, y = (ds.X_train[:n], ds.y_train[:n]) if n else (ds.X_train, ds.y_train)
    start = time.perf_counter()
    if kind in CLASSIFIERS:
        model.fit(X, y)
    elif kind == "rbm":
        model.fit(X, callback=lambda rbm, epoch: rbm.save(out / CHECKPOINT))
    else:
        model.fit(X)
    seconds = time.perf_counter() - start
    metrics = {"model": kind, "data": ds.name, "n_train": int(len(X)), "n_test": int(len(ds.X_test)),
               "train_seconds": round(seconds, 2),
               "params": {k: v for k, v in model.get_params().items() if k != "verbose"}}
    if kind != "dbn":  # a DBN counts epochs per layer, in its history_
        metrics["epochs_trained"] = int(model.n_iter_)
    if kind in (*CLASSIFIERS, "autoencoder"):
        metrics["training_stopped"] = model.stopping_
    if kind == "rbm":
        metrics["reconstruction_error_per_epoch"] = model.history_["reconstruction_error"]
        metrics["seconds_per_epoch"] = model.history_["time"]
    metrics.update(_test_metrics(model, kind, ds))
    metrics.update(_log_likelihood_metrics(model, kind, ds, config))
    # An unfinished run's folder holds only its checkpoint, which the finished folder replaces;
    # if writing the folder fails, the checkpoint goes too: a failed run leaves nothing behind.
    leftover = out.is_dir() and {p.name for p in out.iterdir()} <= {CHECKPOINT}
    try:
        with staged_dir(out, overwrite=overwrite or resume or leftover) as tmp:
            _write_run(tmp, out, model, kind, config, metrics, ds, report)
    except BaseException:
        if leftover or not out.exists():
            (out / CHECKPOINT).unlink(missing_ok=True)
            if out.is_dir() and not any(out.iterdir()):
                out.rmdir()
        raise
    return metrics


def _write_run(tmp, out, model, kind, config, metrics, ds, report):
    model.save(tmp / MODEL_FILE)
    metrics["model_file"] = str(out / MODEL_FILE)
    if report:
        log = _log_lines(model)
        pictures = model_pictures(model, tmp, ds.X_test[:2000], ds.y_test[:2000], ds.image_shape)
        metrics["pictures"] = {p.stem: str(out / p.name) for _, p in pictures}
        write_json(tmp / "config.json", config)
        (tmp / "training.log").write_text("\n".join(log) + "\n", encoding="utf-8")
        write_json(tmp / "metrics.json", metrics)
        write_report(tmp / "report.html", f"deepbelief {kind} on {ds.name}", config, metrics,
                     pictures, log_lines=log)
    else:
        pictures = basic_pictures(model, ds.X_test, ds.image_shape, tmp)
        metrics["pictures"] = {name: str(out / Path(p).name) for name, p in pictures.items()}
        write_json(tmp / "metrics.json", metrics)
