"""``deepbelief demo``: RBM features + logistic regression next to logistic regression on pixels."""

import time
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from .._core.files import write_json
from ..datasets import load_dataset
from ..models import RBM
from ..viz.gallery import basic_pictures


def run_demo(out_dir="deepbelief-demo", data="auto", seed=0, device="auto", verbose=1,
             data_home=None, say=print):
    """RBM + logistic regression next to logistic regression on raw pixels.

    ``data="auto"`` uses 10,000 MNIST training images when MNIST is cached or can be
    downloaded, else the data that ships with the package, saying why through ``say``.
    Returns the metrics, also written to ``out_dir/metrics.json`` with the model and pictures.
    """
    ds = load_dataset(data, data_home=data_home, verbose=verbose, say=say)
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
    rbm.save(out / "model.safetensors")
    metrics = {
        "data": ds.name,
        "n_train": int(len(X_train)),
        "n_test": int(len(ds.X_test)),
        "rbm_logistic_accuracy": float(pipe.score(ds.X_test, ds.y_test)),
        "raw_pixels_logistic_accuracy": float(raw.score(ds.X_test, ds.y_test)),
        "train_seconds": round(seconds, 2),
        "pictures": basic_pictures(rbm, ds.X_test, ds.image_shape, out),
        "model": str(out / "model.safetensors"),
    }
    write_json(out / "metrics.json", metrics)
    return metrics
