"""How far real training stays from the blow-up check, and where bad learning rates trip it.

``_core/blowup.py`` stops a Bernoulli RBM once, after an epoch, its largest weight exceeds
``WEIGHT_LIMIT`` (10) AND its reconstruction error exceeds the mean-image error (the mean
column variance). For every setting this fits an RBM with the check on and records, per epoch,
the largest |weight| and the error over the mean-image error: real settings must finish with a
margin on the weights; huge learning rates must stop in epoch 1. Every setting runs on the 8x8
digits and on the 3,000 training digits of the shipped MNIST sample.

    python bench/blowup_margins.py --threads 1                 # 8x8 digits and the sample
    DEEPBELIEF_DATA=/path/to/mnist python bench/blowup_margins.py --mnist --threads 1
"""

import argparse
import time

import numpy as np

from _common import set_threads, write_result
from deepbelief import DBN, RBM, DBNClassifier
from deepbelief._core.blowup import WEIGHT_LIMIT, mean_image_error
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
