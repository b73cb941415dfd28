"""What ``evaluate`` (accuracy, log-likelihood), ``predict``, ``sample``, ``reconstruct`` and ``plot``
do, as functions.

Each takes a model file, or a run folder (its ``model.safetensors``); for a model in a run folder
the data defaults to the run's own (``data`` in its ``config.json``).
"""

import csv
import io
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import classification_report

from .._core.files import atomic_write_bytes, write_json
from ..datasets import load_csv, load_dataset, load_images
from ..datasets.augment import nudge
from ..models import DBM, likelihood
from ..models._sampling import resolve_init
from ..models.modelfile import load
from ..models.sample_quality import sample_quality
from ..models.stack import generative_part, rbm_stack
from ..viz.charts import plot_confusion_matrix
from ..viz.figures import plot_image_grid, plot_image_rows
from ..viz.gallery import guess_image_shape, model_pictures
from ..viz.tiles import tile_images
from .rundir import run_folder

MODEL_FILE = "model.safetensors"  # a run folder's model
NAMED_DATA = ("mnist", "mnist-sample", "digits")


def model_file(path):
    """The model file ``path`` names: itself, or ``model.safetensors`` when it is a run folder."""
    path = Path(path)
    if not path.is_dir():
        return path
    if not (path / MODEL_FILE).is_file():
        raise FileNotFoundError(f"{path} is a folder without a {MODEL_FILE}: pass a model file, "
                                "or a run folder that deepbelief train wrote.")
    return path / MODEL_FILE


def run_data(model_path):
    """``(data, data_home)`` a model was trained on, when it is (in) a run folder that says so.

    Read from the folder's ``config.json`` (``deepbelief train``), else the data set's name in its
    ``metrics.json`` (``deepbelief train-rbm``); ``(None, None)`` when neither tells.
    """
    folder = Path(model_path)
    folder = folder if folder.is_dir() else folder.parent
    config, metrics = (_json(folder / name) for name in ("config.json", "metrics.json"))
    data = config.get("data")
    if not isinstance(data, str) or data == "auto":
        data = metrics.get("data") if metrics.get("data") in NAMED_DATA else None
    home = config.get("data_home")
    return data, home if isinstance(home, str) else None


def _json(path):
    try:
        found = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _data(model_path, data, data_home, default):
    """``data`` and ``data_home`` as given, else the run's, else ``default`` and None."""
    run, run_home = run_data(model_path)
    if data is None:
        data = run or default
    return data, data_home if data_home is not None else run_home


def _load(model_path, device=None, seed=None):
    """A model file (or a run folder's), moved to ``device`` and with its sampling reseeded by
    ``seed`` if given."""
    from sklearn.utils import check_random_state

    model = load(model_file(model_path))
    for part in [model, generative_part(model), *rbm_stack(model)]:
        if part is None:
            continue
        if device:
            part.set_params(device=device)
        if seed is not None and hasattr(part, "random_state_"):
            part.random_state_ = check_random_state(seed)
    return model


def _classifier(model, path):
    if not hasattr(model, "predict"):
        raise TypeError(f"{path}: {type(model).__name__} models do not classify; "
                        "evaluate and predict need a model trained with --model classifier.")
    return model


def _check_width(model, X, what):
    if X.shape[1] != model.n_features_in_:
        raise ValueError(f"{what} has {X.shape[1]} pixels per image but the model expects "
                         f"{model.n_features_in_}; use data of the size the model was trained on.")


def evaluate(model_path, data=None, out_dir=None, nudged=False, data_home=None, verbose=1,
             device=None):
    """Accuracy, classification report and confusion matrix of a classifier on test data.

    ``data`` None is the run's data for a model in a run folder, else ``"mnist"``.
    ``nudged=True`` adds the test set shifted one pixel up, down, left and right.
    Returns a dict; with ``out_dir`` also writes ``evaluation.json`` and confusion-matrix PNGs
    there (added once all are written, replacing same-named files, touching nothing else).
    """
    model = _classifier(_load(model_path, device), model_path)
    data, data_home = _data(model_path, data, data_home, "mnist")
    ds = load_dataset(data, data_home=data_home, verbose=verbose)
    _check_width(model, ds.X_test, f"data {data!r}")
    sets = {"test": (ds.X_test, ds.y_test)}
    if nudged:
        sets["nudged test"] = nudge(ds.X_test, ds.y_test, ds.image_shape)
    result = {"model": str(model_path), "data": ds.name}
    predictions = {name: model.predict(X) for name, (X, _) in sets.items()}
    for name, (_, y) in sets.items():
        pred = predictions[name]
        result[name] = {"n": int(len(y)), "accuracy": float(np.mean(pred == y)),
                        "report": classification_report(y, pred, digits=4, zero_division=0)}
    if out_dir:
        with run_folder(out_dir, mode="add") as run:
            for name, (_, y) in sets.items():
                png = f"confusion_{name.replace(' ', '_')}.png"
                plot_confusion_matrix(y, predictions[name], run.staging / png,
                                      f"Confusion matrix: {name}")
                result[name]["confusion_matrix"] = str(Path(out_dir) / png)
            write_json(run.staging / "evaluation.json", result)
    return result


def log_likelihood(model_path, data=None, binarize="sample", n_betas=None, n_runs=100,
                   max_samples=None, seed=0, data_home=None, verbose=1, device=None):
    """Test log-likelihood per image in nats, by AIS: exact for an RBM up to AIS's error, a
    variational lower bound for a DBN or DBM (or the pretrained model of a fine-tuned net).

    Bernoulli models are scored on the test images binarized (``"sample"``: pixel on with
    probability its grey level, seeded; ``"threshold"``: above 0.5). ``data`` None is the run's
    data for a model in a run folder, else ``"mnist"``. Returns a dict.
    """
    model = _load(model_path, device)
    stack = _generative(model, model_path)
    data, data_home = _data(model_path, data, data_home, "mnist")
    ds = load_dataset(data, data_home=data_home, verbose=verbose)
    _check_width(model, ds.X_test, f"data {data!r}")
    X = ds.X_test[:max_samples] if max_samples else ds.X_test
    if isinstance(stack, DBM):
        return _dbm_log_likelihood(stack, X, binarize, n_betas, n_runs, seed, model_path, ds.name)
    rbms = rbm_stack(stack)
    if rbms[0].visible == "bernoulli":
        X = likelihood.binarize(X, binarize, random_state=seed)
    top = rbms[-1]
    base = X
    for rbm in rbms[:-1]:
        base = rbm.transform(base)
    log_z = likelihood.rbm_log_partition(top, base, n_betas=n_betas, n_runs=n_runs,
                                         random_state=seed, verbose=verbose)
    if len(rbms) == 1:
        value, kind = likelihood.rbm_log_likelihood(top, X, log_z), "AIS estimate"
    else:
        value = likelihood.dbn_log_likelihood_bound(stack, X, log_z, random_state=seed)
        kind = "lower bound (AIS for the top RBM)"
    return {"model": str(model_path), "data": ds.name, "n": int(len(X)), "kind": kind,
            "binarized": binarize if rbms[0].visible == "bernoulli" else None,
            "log_likelihood": float(value), "log_z": float(log_z), "log_z_low": log_z.log_z_low,
            "log_z_high": log_z.log_z_high, "n_betas": log_z.n_betas, "n_runs": log_z.n_runs}


def _dbm_log_likelihood(dbm, X, binarize, n_betas, n_runs, seed, model_path, data_name):
    """The mean-field bound of a DBM on binarized X, log Z by AIS from the training means."""
    X = likelihood.binarize(X, binarize, random_state=seed)
    log_z = dbm.log_partition(n_betas=n_betas, n_runs=n_runs, random_state=seed)
    return {"model": str(model_path), "data": data_name, "n": int(len(X)),
            "kind": "lower bound (mean field, AIS for log Z)", "binarized": binarize,
            "log_likelihood": dbm.log_likelihood(X, log_z), "log_z": float(log_z),
            "log_z_low": log_z.log_z_low, "log_z_high": log_z.log_z_high,
            "n_betas": log_z.n_betas, "n_runs": log_z.n_runs}


def predict(model_path, inputs, out_path=None, resize=False, device=None):
    """Labels for a CSV (Kaggle test file: writes an ``ImageId,Label`` submission) or images.

    Returns the labels; with ``out_path`` writes them as a CSV (atomically).
    """
    model = _classifier(_load(model_path, device), model_path)
    inputs = [Path(p) for p in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]
    if len(inputs) == 1 and inputs[0].suffix.lower() == ".csv":
        X, _ = load_csv(inputs[0], has_labels=None)
        names = [str(i + 1) for i in range(len(X))]
        header = ("ImageId", "Label")
    else:
        shape = guess_image_shape(model.n_features_in_)
        X = load_images(inputs, shape=shape, resize=resize)
        names = [p.name for p in inputs]
        header = ("Image", "Label")
    _check_width(model, X, "input")
    labels = model.predict(X)
    if out_path:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(zip(names, labels.tolist()))
        atomic_write_bytes(out_path, buffer.getvalue().encode())
    return list(zip(names, labels.tolist()))


def _generative(model, path):
    stack = generative_part(model)
    if stack is None:
        raise TypeError(f"{path}: this {type(model).__name__} model has no generative part "
                        "(it was trained without pretraining).")
    return stack


def sample(model_path, out_path, n_samples=25, burn_in=1000, thin=100, samples_per_chain=1,
           init="auto", data=None, data_home=None, chain_path=None, n_frames=20, device=None,
           seed=None):
    """A grid of samples from Gibbs chains, scored when they are 28x28 digits; optionally the
    chains over time (a GIF).

    ``init`` is where the chains start (see ``RBM.sample``), or ``"data"``: the first
    ``n_samples`` test images of ``data`` (``mnist``, ``mnist-sample``, ``digits``, a CSV file;
    None: the run's data for a model in a run folder, else ``mnist-sample``).
    With ``samples_per_chain > 1`` each row of the grid is one chain, ``thin`` steps apart.

    Returns
    -------
    dict
        ``written`` (the files), ``quality`` (a ``SampleQuality`` of the samples, or None when
        they are not 28x28 images) and ``caption`` (what the grid shows).
    """
    model = _generative(_load(model_path, device, seed), model_path)
    shape = guess_image_shape(model.n_features_in_)
    if init == "data":
        data, data_home = _data(model_path, data, data_home, "mnist-sample")
        ds = load_dataset(data, data_home=data_home, verbose=0)
        _check_width(model, ds.X_test, f"data {data!r}")
        init, n_samples = ds.X_test[:n_samples], None
    images = model.sample(n_samples, burn_in, thin=thin, samples_per_chain=samples_per_chain,
                          init=init, return_chain=bool(chain_path))
    images, chain = images if chain_path else (images, None)
    if samples_per_chain > 1:  # (samples_per_chain, n_chains, n_features): a row per chain
        images = images.transpose(1, 0, 2)
    n_chains = images.shape[0]
    grid = images.reshape(-1, images.shape[-1])
    caption = sample_caption(model, init, n_chains, burn_in, thin, samples_per_chain)
    written = [plot_image_grid(grid, shape, out_path, caption, normalize=None,
                               n_cols=samples_per_chain if samples_per_chain > 1 else None)]
    if chain_path:
        from ..viz.animation import make_animation

        steps = np.unique(np.linspace(0, len(chain) - 1, n_frames).astype(int))
        frames = [chain[s] for s in steps]
        written += make_animation([tile_images(f, shape, normalize=None) for f in frames], chain_path,
                                  fps=5, scale=4)
    quality = sample_quality(grid) if shape == (28, 28) else None
    return {"written": written, "quality": quality, "caption": caption}


STARTS = {"persistent": "the persistent chains kept from training", "noise": "random states",
          "biases": "the visible biases alone"}


def sample_caption(model, init, n_chains, burn_in, thin=100, samples_per_chain=1):
    """What a grid of ``model.sample(...)`` shows, in words."""
    part = generative_part(model)
    start = part._resolve_init(init) if isinstance(part, DBM) else resolve_init(rbm_stack(part)[-1], init)
    where = STARTS.get(start, "data rows") if isinstance(start, str) else "data rows"
    kept = f"after {burn_in:,} Gibbs steps"
    if samples_per_chain > 1:
        kept += f", then every {thin:,} steps (a row per chain)"
    return f"{n_chains} chains from {where}, {kept}"

def reconstruct(model_path, images, out_path, n_steps=1, resize=False, device=None):
    """Damaged or noisy digit images next to their reconstructions, side by side in a PNG."""
    from ..viz.probes import repair

    model = _load(model_path, device)
    shape = guess_image_shape(model.n_features_in_)
    X = load_images(images, shape=shape, resize=resize)
    _check_width(model, X, "images")
    if hasattr(model, "reconstruction_error"):  # a deep autoencoder reconstructs directly
        repaired = model.reconstruct(X)
    elif isinstance(generative_part(model), DBM):  # mean field, not the up-down of its layers
        repaired = X
        for _ in range(n_steps):
            repaired = generative_part(model).reconstruct(repaired)
    else:
        repaired = repair(_generative(model, model_path), X, n_steps=n_steps)
    return plot_image_rows({"input": X, "reconstruction": repaired}, shape, out_path,
                           "Input and reconstruction")


def plot(model_path, out_dir, data=None, data_home=None, verbose=1, device=None):
    """Every picture of a model (see ``pictures.model_pictures``); data adds test examples
    (``run_data`` tells a run's own).

    The pictures are added to ``out_dir`` (made if missing) once all are drawn, replacing
    same-named files; nothing else there is touched. Returns (caption, path) pairs.
    """
    model = _load(model_path, device)
    X = y = shape = None
    if data:
        ds = load_dataset(data, data_home=data_home, verbose=verbose)
        _check_width(model, ds.X_test, f"data {data!r}")
        X, y, shape = ds.X_test[:2000], ds.y_test[:2000], ds.image_shape
    with run_folder(out_dir, mode="add") as run:
        pictures = model_pictures(model, run.staging, X, y, shape)
    return [(caption, Path(out_dir) / Path(path).name) for caption, path in pictures]
