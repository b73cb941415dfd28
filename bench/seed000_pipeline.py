"""Seed 000's pipeline as a scikit-learn user writes it, deepbelief's RBM against BernoulliRBM.

``MinMaxScaler() -> RBM -> LogisticRegression(max_iter=1000)`` on the shipped MNIST sample (0-255
pixels, a stratified 3,000 / 2,000 split with seed 0). Both RBMs get seed 000's settings (256
components, learning rate 0.1, batch 10, 10 epochs, random_state 0); deepbelief is also run with
its defaults, and logistic regression on the scaled raw pixels is the floor. A plain
MinMaxScaler maps unseen digits outside [0, 1], the case that crashed at ``score`` before.
``tests/test_defaults.py`` asserts the first comparison.

    python bench/seed000_pipeline.py [--out result.json]
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from _common import write_result
from deepbelief import RBM
from deepbelief.datasets import load_mnist_sample

SETTINGS = dict(n_components=256, learning_rate=0.1, batch_size=10, n_iter=10, random_state=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the result as JSON here")
    args = parser.parse_args(argv)
    sample = load_mnist_sample(scale=False)
    X_tr, X_te, y_tr, y_te = train_test_split(sample.X.astype(np.float64), sample.y, test_size=2000,
                                              random_state=0, stratify=sample.y)
    result = {"benchmark": "seed000_pipeline", "load_average_1min_at_start": round(os.getloadavg()[0], 2)}
    steps = {
        "deepbelief": [("rbm", RBM(**SETTINGS))],
        "scikit-learn BernoulliRBM": [("rbm", BernoulliRBM(**SETTINGS))],
        "deepbelief defaults": [("rbm", RBM(random_state=0))],
        "raw pixels": [],
    }
    for name, middle in steps.items():
        pipe = Pipeline([("scale", MinMaxScaler()), *middle, ("lr", LogisticRegression(max_iter=1000))])
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result[name] = pipe.fit(X_tr, y_tr).score(X_te, y_te)
        print(f"{name}: test accuracy {result[name]:.4f} ({time.perf_counter() - start:.1f} s)", flush=True)
    return write_result(args, result)


if __name__ == "__main__":
    main()
