"""``deepbelief demo``: seed 000's story in half a minute. Logistic regression on raw pixels,
the same on RBM features (clearly better), and both on the test digits nudged by one pixel."""

import time
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from .._core.files import write_json
from ..datasets import load_dataset
from ..datasets.augment import nudge
from ..models import RBM
from ..viz.gallery import basic_pictures
from .rundir import run_folder

MNIST_TRAIN = 10000  # of the 60,000, so the demo stays within about half a minute


def run_demo(out_dir="deepbelief-demo", data="auto", seed=0, device="auto", verbose=1,
             data_home=None, say=print):
    """RBM + logistic regression next to logistic regression on raw pixels, and on nudged digits.

    ``data="auto"`` uses 10,000 MNIST training images (and the 10,000 test images) when MNIST is
    cached or can be downloaded, else the 5,000 real MNIST digits that ship with the package
    (3,000 train / 2,000 test), saying which through ``say``. The nudged test set is every test
    digit shifted one pixel up, down, left and right. Returns the metrics, also written to
    ``out_dir/metrics.json`` beside the model and pictures. A demo run replaces the earlier
    demo's files in ``out_dir`` (only once it is complete) and keeps everything else there.
    """
    out = Path(out_dir)
    # A demo replaces its own earlier run in out_dir without asking; other files there stay.
    with run_folder(out, mode="replace") as run:
        metrics = _run(run.staging, out, data, seed, device, verbose, data_home, say)
    return metrics


def _run(tmp, out, data, seed, device, verbose, data_home, say):
    ds = load_dataset(data, data_home=data_home, verbose=verbose, say=say)
    X_train, y_train = ds.X_train[:MNIST_TRAIN], ds.y_train[:MNIST_TRAIN]
    if ds.image_shape == (28, 28):  # MNIST or the sample: 93.4% against 88.7% on the sample
        rbm = RBM(500, learning_rate=0.05, batch_size=50, n_iter=10, momentum=(0.5, 0.9),
                  random_state=seed, device=device, verbose=verbose)
        logistic = LogisticRegression(max_iter=1000)
    else:  # 8x8 digits: small images need smaller steps and more of them
        rbm = RBM(256, learning_rate=0.02, batch_size=10, n_iter=30, momentum=(0.5, 0.9),
                  random_state=seed, device=device, verbose=verbose)
        logistic = LogisticRegression(max_iter=2000, C=100.0)
    start = time.perf_counter()
    pipe = Pipeline([("rbm", rbm), ("logistic", logistic)])
    pipe.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    raw = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    X_nudged, y_nudged = nudge(ds.X_test, ds.y_test, ds.image_shape)
    rbm.save(tmp / "model.safetensors")
    pictures = basic_pictures(rbm, ds.X_test, ds.image_shape, tmp)
    metrics = {
        "data": ds.name,
        "n_train": int(len(X_train)),
        "n_test": int(len(ds.X_test)),
        "rbm_logistic_accuracy": float(pipe.score(ds.X_test, ds.y_test)),
        "raw_pixels_logistic_accuracy": float(raw.score(ds.X_test, ds.y_test)),
        "rbm_logistic_nudged_accuracy": float(pipe.score(X_nudged, y_nudged)),
        "raw_pixels_logistic_nudged_accuracy": float(raw.score(X_nudged, y_nudged)),
        "train_seconds": round(seconds, 2),
        "pictures": {name: str(out / Path(path).name) for name, path in pictures.items()},
        "model": str(out / "model.safetensors"),
    }
    write_json(tmp / "metrics.json", metrics)
    return metrics
