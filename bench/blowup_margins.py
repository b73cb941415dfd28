"""How far real training stays from the blow-up checks, and where bad learning rates trip them.

``_core/blowup.py`` stops a Bernoulli RBM once, after an epoch, its largest weight exceeds
``WEIGHT_LIMIT`` (10) AND its reconstruction error exceeds the mean-image error (the mean
column variance). For every setting this fits an RBM with the check on and records, per epoch,
the largest |weight| and the error over the mean-image error: real settings must finish with a
margin on the weights; huge learning rates must stop in epoch 1. Every setting runs on the 8x8
digits and on the 3,000 training digits of the shipped MNIST sample.

The other loops have the same two signs (``_core/blowup.py``): a DBM's mean-field reconstruction
error against the mean image, a classifier's training loss against log(n_classes), an
autoencoder's against always predicting the mean image. ``nets`` fits each with its defaults and
with a huge learning rate and records the largest final weight and the worst epoch's error over
its baseline.

    python bench/blowup_margins.py --threads 1                 # 8x8 digits and the sample
    DEEPBELIEF_DATA=/path/to/mnist python bench/blowup_margins.py --mnist --threads 1
"""

import argparse
import math
import time

import numpy as np

from _common import set_threads, write_result
from deepbelief import DBM, DBN, RBM, DBMClassifier, DBNClassifier, DeepAutoencoder
from deepbelief._core.blowup import WEIGHT_LIMIT, mean_image_error, mean_image_loss
from deepbelief.datasets import load_dataset
from deepbelief.models.stack import rbm_stack

REAL = {  # settings a user may pick, fitted to n_iter="auto" unless they say otherwise
    "defaults": {},
    "pcd, linear decay": {"method": "pcd", "learning_rate_decay": "linear"},
    "pcd, learning_rate 0.5": {"method": "pcd", "learning_rate": 0.5},
    "cd-5": {"k": 5},
    "l1 decay 1e-4": {"weight_decay": 1e-4, "penalty": "l1"},
    "gaussian hiddens, learning_rate 0.01": {"hidden": "gaussian", "learning_rate": 0.01},
    "learning_rate 0.5, momentum 0.5 to 0.9": {"learning_rate": 0.5, "momentum": (0.5, 0.9)},
    "the demo's (batch 10, momentum 0.5 to 0.9)": {"n_components": 256, "learning_rate": 0.02,
                                                   "batch_size": 10, "n_iter": 30,
                                                   "momentum": (0.5, 0.9)},
}
BAD = {f"learning_rate {lr:g}": {"learning_rate": lr} for lr in (10.0, 100.0, 1e6)}


def fit_watched(X, params, seed, quick):
    base = mean_image_error(X)
    epochs = []

    def watch(rbm, epoch):
        epochs.append((float(np.abs(rbm.components_).max()),
                       rbm.history_["reconstruction_error"][-1] / base))

    params = dict(params)
    if quick:
        params["n_iter"] = 2
    start = time.perf_counter()
    stopped = None
    try:
        RBM(random_state=seed, verbose=0, **params).fit(X, callback=watch)
    except FloatingPointError as exc:
        stopped = str(exc)
    return {
        "epochs": len(epochs), "stopped": stopped, "seconds": round(time.perf_counter() - start, 1),
        "largest_weight": round(max((w for w, _ in epochs), default=0.0), 3),
        "largest_error_over_mean_image": round(max((r for _, r in epochs), default=0.0), 3),
        "final_error_over_mean_image": round(epochs[-1][1], 3) if epochs else None,
    }


def stacks(X, y, seed, quick):
    """A DBN and a classifier's pretraining with their defaults: finished, or stopped."""
    rows = {}
    n_iter = {"n_iter": 2} if quick else {}
    for name, model in (("DBN() defaults", DBN(random_state=seed, verbose=0, **n_iter)),
                        ("DBNClassifier() pretraining",
                         DBNClassifier(random_state=seed, verbose=0,
                                       **({"n_iter": 2, "pretrain_n_iter": 2} if quick else {})))):
        start = time.perf_counter()
        try:
            model.fit(X, y) if isinstance(model, DBNClassifier) else model.fit(X)
            stopped = None
            largest = [round(float(np.abs(r.components_).max()), 3) for r in rbm_stack(model)]
        except FloatingPointError as exc:
            stopped, largest = str(exc), None
        rows[name] = {"stopped": stopped, "largest_weight_per_layer": largest,
                      "seconds": round(time.perf_counter() - start, 1)}
    return rows


NETS = {  # name: (the fitted estimator's settings, a huge learning rate for it)
    "DBM((None, 128, 64))": (
        lambda **kw: DBM((None, 128, 64), **kw), {"learning_rate": 1e4}),
    "DBMClassifier((128, 64))": (
        lambda **kw: DBMClassifier((128, 64), **kw), {"learning_rate": 1e3}),
    "DBNClassifier((256,))": (
        lambda **kw: DBNClassifier((256,), **kw), {"learning_rate": 1e3}),
    "DBNClassifier((256,)), adam learning_rate 0.01, 100 epochs": (
        lambda **kw: DBNClassifier((256,), **{"learning_rate": 0.01, "n_iter": 100, **kw}),
        {"learning_rate": 1e3}),
    "DBNClassifier((256,)), the test's SGD recipe (dropout 0.5, 50 epochs)": (
        lambda **kw: DBNClassifier((256,), **{
            "pretrain_n_iter": 20, "n_iter": 50, "solver": "sgd", "learning_rate": 0.1,
            "learning_rate_decay": 0.97, "dropout": 0.5, "batch_size": 20, **kw}),
        {"learning_rate": 1e3}),
    "DeepAutoencoder((None, 256, 64, 8))": (
        lambda **kw: DeepAutoencoder((None, 256, 64, 8), **kw), {"learning_rate": 1e3}),
    "DeepAutoencoder((None, 32, 16, 2)), the test's recipe": (
        lambda **kw: DeepAutoencoder((None, 32, 16, 2), **{
            "pretrain_n_iter": 10, "n_iter": 30, "learning_rate": 0.003, "batch_size": 20, **kw}),
        {"learning_rate": 1e3}),
}


def net_margins(model, X, y):
    """(largest watched weight, worst epoch's error over the check's baseline) of a fitted net."""
    if isinstance(model, DBM):
        errors = model.history_["reconstruction_error"]
        return [float(np.abs(W).max()) for W in model.weights_], max(errors) / mean_image_error(X)
    losses = model.history_["loss"]
    if isinstance(model, DeepAutoencoder):
        baseline = mean_image_loss(X, model.visible)
    else:
        baseline = math.log(len(np.unique(y)))
    return [float(np.abs(W).max()) for W in model.coefs_], max(losses) / baseline


def nets(X, y, seed, quick):
    """The DBM and the fine-tuned nets with their defaults, and with a huge learning rate."""
    rows = {}
    short = {"n_iter": 2, "pretrain_n_iter": 2} if quick else {}
    for name, (make, bad) in NETS.items():
        for label, params in ((name, {}), (f"{name}, {bad}", bad)):
            model = make(random_state=seed, verbose=0, **short, **params)
            if quick and "dbm_n_iter" in model.get_params():
                model.set_params(dbm_n_iter=2)
            start = time.perf_counter()
            try:
                model.fit(X) if isinstance(model, (DBM, DeepAutoencoder)) else model.fit(X, y)
                stopped = None
                largest, ratio = net_margins(model, X, y)
            except FloatingPointError as exc:
                stopped, largest, ratio = str(exc), None, None
            rows[label] = {"stopped": stopped, "epochs": int(getattr(model, "n_iter_", 0)),
                           "largest_weight_per_layer": largest and [round(w, 3) for w in largest],
                           "largest_error_over_baseline": ratio and round(ratio, 3),
                           "seconds": round(time.perf_counter() - start, 1)}
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two epochs of each, digits only")
    parser.add_argument("--mnist", action="store_true",
                        help="also RBM() on all 60,000 MNIST images, the DBN and classifier "
                        "defaults on the first 10,000")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    set_threads(args)
    sets = {"digits": load_dataset("digits")}
    if not args.quick:
        sets["mnist-sample"] = load_dataset("mnist-sample")
    result = {"benchmark": "blowup_margins", "weight_limit": WEIGHT_LIMIT, "quick": args.quick,
              "rows": {}}

    def add(name, row):
        result["rows"][name] = row
        if args.verbose:
            print(f"{name}: {row}", flush=True)

    for data_name, ds in sets.items():
        for name, params in {**REAL, **BAD}.items():
            add(f"{data_name}: {name}", fit_watched(ds.X_train, params, args.seed, args.quick))
        for name, row in stacks(ds.X_train, ds.y_train, args.seed, args.quick).items():
            add(f"{data_name}: {name}", row)
        for name, row in nets(ds.X_train, ds.y_train, args.seed, args.quick).items():
            add(f"{data_name}: {name}", row)
    if args.mnist:  # the defaults at full size: RBM() on all 60,000, the stacks on 10,000
        mnist = load_dataset("mnist")
        add("mnist 60k: RBM() defaults", fit_watched(mnist.X_train, {}, args.seed, args.quick))
        for name, row in stacks(mnist.X_train[:10000], mnist.y_train[:10000], args.seed,
                                args.quick).items():
            add(f"mnist 10k: {name}", row)
    write_result(args, result)
    return result


if __name__ == "__main__":
    main()
