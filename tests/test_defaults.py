"""Defaults against the tools deepbelief replaces, measured in the same run (issue: out of the box).

Only sizes and random_state are given to deepbelief; the references use their own defaults.
The MNIST-sized comparisons are in bench/defaults.py (numbers in BENCHMARKS.md).
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import BernoulliRBM, MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from deepbelief import RBM, DBNClassifier, DeepAutoencoder
from deepbelief._core.budget import auto_epochs
from deepbelief.datasets import load_mnist_sample


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits, pixels / 16, the 70/30 split of the issue."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


def test_auto_epochs_count_updates():
    assert auto_epochs(1257, 100) == 200  # the digits: 13 batches an epoch
    assert auto_epochs(3000, 100) == 100
    assert auto_epochs(10000, 100) == 30
    assert auto_epochs(60000, 100) == 10  # 6,000 updates: never fewer than 10 epochs
    assert auto_epochs(50, 100) == 200  # one batch an epoch


def test_default_classifier_matches_mlp_on_the_digits(digits):
    """Measured: DBN 97.96%, MLPClassifier((128, 128)) 97.41% (the old defaults gave 61.5%)."""
    X_tr, X_te, y_tr, y_te = digits
    dbn = DBNClassifier((128, 128), random_state=0).fit(X_tr, y_tr).score(X_te, y_te)
    mlp = MLPClassifier((128, 128), random_state=0).fit(X_tr, y_tr).score(X_te, y_te)
    assert dbn >= mlp, (dbn, mlp)


def test_default_autoencoder_codes_beat_pca_on_the_digits(digits):
    """Measured: 5-NN on the 2-D codes 83.7%, on PCA-2 60.6% (the old defaults gave 37.8%)."""
    X_tr, X_te, y_tr, y_te = digits
    ae = DeepAutoencoder([64, 128, 64, 2], random_state=0).fit(X_tr)
    pca = PCA(2).fit(X_tr)

    def knn(codes_tr, codes_te):
        return KNeighborsClassifier(5).fit(codes_tr, y_tr).score(codes_te, y_te)

    ours, theirs = knn(ae.transform(X_tr), ae.transform(X_te)), knn(pca.transform(X_tr), pca.transform(X_te))
    assert ours > theirs + 0.1, (ours, theirs)


def test_seed_000_pipeline_with_a_plain_min_max_scaler_runs_and_matches_scikit_learn():
    """Seed 000's pipeline on the shipped sample (0-255 pixels, 3,000 train / 2,000 test).

    A plain MinMaxScaler maps unseen digits outside [0, 1] and passes pixels that were constant
    in training through unscaled (values up to 255): this crashed at score before.
    """
    sample = load_mnist_sample(scale=False)
    X = sample.X.astype(np.float64)
    X_tr, X_te, y_tr, y_te = train_test_split(X, sample.y, test_size=2000, random_state=0,
                                              stratify=sample.y)
    settings = dict(n_components=256, learning_rate=0.1, batch_size=10, n_iter=10, random_state=0)
    scores = {}
    for name, rbm in (("deepbelief", RBM(**settings)), ("scikit-learn", BernoulliRBM(**settings))):
        pipe = Pipeline([("scale", MinMaxScaler()), ("rbm", rbm),
                         ("lr", LogisticRegression(max_iter=1000))])
        scores[name] = pipe.fit(X_tr, y_tr).score(X_te, y_te)
    assert MinMaxScaler().fit(X_tr).transform(X_te).max() > 1  # the case that crashed
    assert scores["deepbelief"] >= scores["scikit-learn"] - 0.01, scores
