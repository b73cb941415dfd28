"""Whole jobs behind the command line: train an RBM into a run folder; the demo.

Each is a plain function, so what the CLI does can be done from Python too.
"""

import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ..datasets import load_dataset
from ..datasets.mnist import mnist_home
from ..io import load, write_json
from ..rbm import RBM
from ..viz import save_png, tile_images

MODEL, CHECKPOINT, METRICS = "model.safetensors", "checkpoint.safetensors", "metrics.json"


def save_rbm_pictures(rbm, X, image_shape, out_dir, n_filters=100, n_examples=10):
    """Write ``filters.png`` (weights as tiles) and ``reconstructions.png`` (data over v->h->v)."""
    out_dir = Path(out_dir)
    filters = tile_images(rbm.components_[:n_filters], image_shape, pad=1)
    examples = X[:n_examples]
    pairs = tile_images(
        np.vstack([examples, rbm.reconstruct(examples)]), image_shape, n_cols=len(examples),
        normalize=None,
    )
    scale = 3 if image_shape[0] >= 20 else 6
    return {
        "filters": str(save_png(filters, out_dir / "filters.png", scale=scale)),
        "reconstructions": str(save_png(pairs, out_dir / "reconstructions.png", scale=scale)),
    }


def train_rbm(
    data="mnist", out_dir="runs/rbm", *, n_components=500, epochs=10, learning_rate=0.1,
    batch_size=100, momentum=0.5, method="cd", k=1, weight_decay=0.0, max_samples=None,
    seed=0, device="auto", verbose=1, resume=False, overwrite=False, data_home=None,
):
    """Train an RBM on named data and write a run folder.

    The folder gets ``model.safetensors``, ``filters.png``, ``reconstructions.png`` and
    ``metrics.json``. A checkpoint is saved after every epoch; ``resume=True`` continues an
    interrupted run from it. Returns the metrics written to ``metrics.json``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; give a folder for the run.")
    if (out / MODEL).exists() and not (resume or overwrite):
        raise FileExistsError(
            f"{out / MODEL} already exists: pass --overwrite to replace it, or choose another --out."
        )
    ds = load_dataset(data, data_home=data_home, verbose=verbose)
    X_train = ds.X_train[:max_samples] if max_samples else ds.X_train
    if resume:
        rbm = _checkpoint_to_resume(out)
        rbm.set_params(warm_start=True, n_iter=epochs, verbose=verbose, device=device)
    else:
        rbm = RBM(
            n_components, method=method, k=k, learning_rate=learning_rate, batch_size=batch_size,
            n_iter=epochs, momentum=momentum, weight_decay=weight_decay, random_state=seed,
            device=device, verbose=verbose,
        )
    start = time.perf_counter()
    rbm.fit(X_train, callback=lambda model, epoch: model.save(out / CHECKPOINT))
    seconds = time.perf_counter() - start
    rbm.save(out / MODEL)
    pictures = save_rbm_pictures(rbm, ds.X_test, ds.image_shape, out)
    test_error = float(np.mean((ds.X_test - rbm.reconstruct(ds.X_test)) ** 2))
    metrics = {
        "data": ds.name,
        "n_train": int(len(X_train)),
        "n_test": int(len(ds.X_test)),
        "params": {k: v for k, v in rbm.get_params().items() if k != "verbose"},
        "epochs_trained": rbm.n_iter_,
        "train_seconds": round(seconds, 3),
        "reconstruction_error_per_epoch": rbm.history_["reconstruction_error"],
        "seconds_per_epoch": rbm.history_["time"],
        "test_reconstruction_error": test_error,
        "model": str(out / MODEL),
        "pictures": pictures,
    }
    write_json(out / METRICS, metrics)
    (out / CHECKPOINT).unlink(missing_ok=True)
    return metrics


def _checkpoint_to_resume(out):
    for name in (CHECKPOINT, MODEL):
        if (out / name).exists():
            return load(out / name)
    raise FileNotFoundError(f"nothing to resume in {out}: no {CHECKPOINT} or {MODEL} there.")


def run_demo(out_dir="deepbelief-demo", data="auto", seed=0, device="auto", verbose=1,
             data_home=None, say=print):
    """RBM + logistic regression next to logistic regression on raw pixels.

    Uses 10,000 MNIST training images when MNIST is cached or can be downloaded, else
    scikit-learn's embedded 8x8 digits, saying why through ``say``. Returns the metrics.
    """
    if data == "auto":
        try:
            ds = load_dataset("mnist", data_home=data_home, verbose=verbose)
        except (OSError, ValueError) as exc:
            where = mnist_home(data_home)
            why = "is damaged" if isinstance(exc, ValueError) else "could not be downloaded"
            say(f"MNIST is not in {where} and {why}, so the demo uses scikit-learn's embedded 8x8 "
                "digits; put the four MNIST files there or set DEEPBELIEF_DATA to use MNIST.")
            ds = load_dataset("digits")
    else:
        ds = load_dataset(data, data_home=data_home, verbose=verbose)
    if ds.name == "mnist":
        X_train, y_train = ds.X_train[:10000], ds.y_train[:10000]
        rbm = RBM(256, n_iter=10, learning_rate=0.05, batch_size=50, momentum=(0.5, 0.9),
                  random_state=seed, device=device, verbose=verbose)
    else:
        X_train, y_train = ds.X_train, ds.y_train
        rbm = RBM(256, n_iter=30, learning_rate=0.02, batch_size=10, momentum=(0.5, 0.9),
                  random_state=seed, device=device, verbose=verbose)
    start = time.perf_counter()
    pipe = Pipeline([("rbm", rbm), ("logistic", LogisticRegression(max_iter=2000, C=100.0))])
    pipe.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    raw = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    out = Path(out_dir)
    rbm.save(out / MODEL)
    metrics = {
        "data": ds.name,
        "n_train": int(len(X_train)),
        "n_test": int(len(ds.X_test)),
        "rbm_logistic_accuracy": float(pipe.score(ds.X_test, ds.y_test)),
        "raw_pixels_logistic_accuracy": float(raw.score(ds.X_test, ds.y_test)),
        "train_seconds": round(seconds, 2),
        "pictures": save_rbm_pictures(rbm, ds.X_test, ds.image_shape, out),
        "model": str(out / MODEL),
    }
    write_json(out / METRICS, metrics)
    return metrics
