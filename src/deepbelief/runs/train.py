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

The folder's files appear only when everything is written, and only the run's own files are ever
replaced (``rundir.py``). An RBM saves a checkpoint in the folder after every epoch, so
``resume=True`` finishes an interrupted run exactly: to the same model as an uninterrupted run.
"""

import json
import time
from pathlib import Path

import numpy as np

from .._core import distributed
from .._core.files import atomic_write_bytes, write_json
from ..datasets import load_dataset
from ..models import DBM, DBN, RBM, DBMClassifier, DBNClassifier, DeepAutoencoder, likelihood, load
from ..models.sample_quality import sample_quality
from ..models.stack import generative_part, rbm_stack
from ..viz.figures import plot_image_grid
from ..viz.gallery import basic_pictures, model_pictures
from .jobs import sample_caption
from .report import write_report
from .rundir import run_folder

MODELS = {"rbm": RBM, "dbn": DBN, "dbm": DBM, "classifier": DBNClassifier,
          "dbm-classifier": DBMClassifier, "autoencoder": DeepAutoencoder}
CLASSIFIERS = ("classifier", "dbm-classifier")
TOP_LEVEL = {"model", "data", "data_home", "max_samples", "seed", "device", "params", "log_likelihood"}
MODEL_FILE, CHECKPOINT = "model.safetensors", "checkpoint.safetensors"
REPORT_BURN_IN = 1000  # Gibbs steps of the report's samples


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


def _start(config, out, resume, verbose):
    """The model to train: new from ``config``, or an RBM checkpoint (or model) to finish."""
    if not resume:
        return build_model(config, verbose=verbose)
    if config.get("model", "rbm") != "rbm":
        raise ValueError("only RBM runs can be resumed (they save a checkpoint every epoch); "
                         "train the other models again without --resume.")
    for name in (CHECKPOINT, MODEL_FILE):
        if (out / name).exists():
            model = load(out / name)
            if not isinstance(model, RBM):
                raise TypeError(f"{out / name} holds a {type(model).__name__}, not an RBM; only "
                                "RBM runs can be resumed.")
            n_iter = (config.get("params") or {}).get("n_iter", model.n_iter)
            model.set_params(n_iter=n_iter, verbose=verbose)
            if config.get("device"):
                model.set_params(device=config["device"])
            return model
    raise FileNotFoundError(f"nothing to resume in {out}: no {CHECKPOINT} or {MODEL_FILE} there.")


def _resume_fit(model, X, checkpoint):
    """Train ``model`` on from where it stopped, to ``n_iter`` epochs in all.

    ``warm_start`` is on only for this call, in the checkpoints too: the model saved is the
    one an uninterrupted run saves, with the user's ``warm_start``.
    """
    own = model.warm_start

    def save(rbm, epoch):
        rbm.set_params(warm_start=own)
        try:
            checkpoint(rbm, epoch)
        finally:
            rbm.set_params(warm_start=True)

    model.set_params(warm_start=True)
    try:
        model.fit(X, callback=save)
    finally:
        model.set_params(warm_start=own)


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
    ``reconstructions.png`` (Pillow only). The folder is written as ``rundir.run_folder``
    describes: locked for the run, files replaced only when the run succeeds, and anything in
    it that deepbelief did not write (notes, a ``plots/`` folder) kept as it is.

    Parameters
    ----------
    config : dict
        As ``merge_config`` or ``read_config`` returns it.
    out_dir : str or Path
        The run folder. It must be missing or empty (or hold only an interrupted run's
        checkpoint, which a new run replaces), unless ``overwrite`` or ``resume``.
    overwrite : bool, default=False
        Replace the run in ``out_dir``, once the new one is complete.
    resume : bool, default=False
        RBM only: continue the run in ``out_dir`` from its checkpoint (saved after every
        epoch), or a finished run from its model, to ``n_iter`` epochs in all. The model
        saved equals the one an uninterrupted run saves, bit for bit.
    report : bool, default=True
    verbose : int, default=1

    Under ``torchrun --nproc-per-node N`` (or in a process group of N ranks) an RBM trains
    data-parallel: every rank trains the one model on its shard of the rows, and rank 0 alone
    writes the folder (and takes its lock); the other ranks return None. Other models refuse
    to train on several ranks.

    Returns
    -------
    metrics : dict or None
        What ``metrics.json`` holds; None on the ranks other than 0 of a data-parallel run.

    Raises
    ------
    FileExistsError
        ``out_dir`` holds files and neither ``overwrite`` nor ``resume`` is given; or a
        symlink or a folder is where deepbelief writes its own files (the lock file beside
        ``out_dir``, its manifest, the checkpoint), which is left as it is.
    BlockingIOError
        Another process is writing ``out_dir``.
    FloatingPointError
        The training diverged or blew up; nothing is saved.
    OSError
        The disk is full; ``out_dir`` is as it was (or not there, for a new run), but for an
        RBM's last checkpoint written whole, kept for ``resume=True``.
    """
    out = Path(out_dir)
    kind = config.get("model", "rbm")
    mode = "replace" if overwrite or resume else "new"
    with distributed.process_group_from_env():
        if distributed.world_size() > 1:
            if kind != "rbm":
                raise ValueError(f"only RBM training is data-parallel so far; train model {kind!r} "
                                 "in one process (without torchrun).")
            if not distributed.is_main_process():
                return _train_other_rank(config, out, resume)
        return _train_into(config, out, mode, resume, report, verbose)


def _load_data(config, verbose):
    """The training rows the config asks for, and the data set (rank 0 downloads first)."""
    with distributed.main_process_first():
        ds = load_dataset(config.get("data", "mnist"), data_home=config.get("data_home"),
                          verbose=verbose)
    n = config.get("max_samples")
    X, y = (ds.X_train[:n], ds.y_train[:n]) if n else (ds.X_train, ds.y_train)
    return ds, X, y


def _train_other_rank(config, out, resume):
    """A rank other than 0 of a data-parallel RBM run: train alongside rank 0, write nothing."""
    model = _start(config, out, resume, verbose=0)
    _, X, _ = _load_data(config, verbose=0)
    if resume:
        _resume_fit(model, X, lambda rbm, epoch: None)
    else:
        model.fit(X)


def _train_into(config, out, mode, resume, report, verbose):
    kind = config.get("model", "rbm")
    with run_folder(out, mode=mode, replaceable=(CHECKPOINT,)) as run:
        model = _start(config, out, resume, verbose)
        ds, X, y = _load_data(config, verbose)
        start = time.perf_counter()
        if kind in CLASSIFIERS:
            model.fit(X, y)
        elif kind == "rbm":
            checkpoint = lambda rbm, epoch: run.write_in_place(CHECKPOINT, rbm.save)  # noqa: E731
            if resume:
                _resume_fit(model, X, checkpoint)
            else:
                model.fit(X, callback=checkpoint)
        else:
            model.fit(X)
        seconds = time.perf_counter() - start
        metrics = _metrics(model, kind, ds, X, seconds, config)
        _write_run(run.staging, out, model, kind, config, metrics, ds, report)
    return metrics


def _metrics(model, kind, ds, X, seconds, config):
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
    return metrics


def _samples_picture(model, folder, image_shape, metrics, n_samples=100):
    """100 samples of the model's default chains as a picture, with their score in the caption
    and in ``metrics["sample_quality"]`` when they are 28x28 digits."""
    samples = generative_part(model).sample(n_samples, REPORT_BURN_IN)
    caption = sample_caption(model, "auto", n_samples, REPORT_BURN_IN)
    if tuple(image_shape) == (28, 28):
        quality = sample_quality(samples)
        metrics["sample_quality"] = quality.as_dict()
        caption += (f"; shipped MNIST classifier: mean confidence {quality.mean_confidence:.2f}, "
                    f"{quality.n_classes} classes, inception score {quality.inception_score:.2f}")
    path = plot_image_grid(samples, image_shape, folder / "samples.png", "Samples", normalize=None)
    return f"Samples: {caption}", path


def _write_run(tmp, out, model, kind, config, metrics, ds, report):
    model.save(tmp / MODEL_FILE)
    metrics["model_file"] = str(out / MODEL_FILE)
    if report:
        log = _log_lines(model)
        pictures = model_pictures(model, tmp, ds.X_test[:2000], ds.y_test[:2000], ds.image_shape)
        if kind in ("rbm", "dbn", "dbm", "dbm-classifier"):
            pictures.append(_samples_picture(model, tmp, ds.image_shape, metrics))
        metrics["pictures"] = {p.stem: str(out / p.name) for _, p in pictures}
        write_json(tmp / "config.json", config)
        atomic_write_bytes(tmp / "training.log", ("\n".join(log) + "\n").encode("utf-8"))
        write_json(tmp / "metrics.json", metrics)
        write_report(tmp / "report.html", f"deepbelief {kind} on {ds.name}", config, metrics,
                     pictures, log_lines=log)
    else:
        pictures = basic_pictures(model, ds.X_test, ds.image_shape, tmp)
        metrics["pictures"] = {name: str(out / Path(p).name) for name, p in pictures.items()}
        write_json(tmp / "metrics.json", metrics)
