"""Training that blew up stops with advice, in every loop; real training never trips the checks."""

import re

import numpy as np
import pytest
import scipy.sparse
import torch

from deepbelief import DBM, DBN, RBM, DBMClassifier, DBNClassifier, DeepAutoencoder
from deepbelief._core import blowup
from deepbelief._core.batches import ArrayRows
from deepbelief._core.blowup import WEIGHT_LIMIT, mean_image_error, mean_image_loss, reconstruction_check
from deepbelief.cli import main
from deepbelief.datasets import load_dataset


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").X_train


def test_mean_image_error_is_the_mean_column_variance(digits, tmp_path):
    digits = digits.astype(np.float32)
    expected = digits.astype(np.float64).var(axis=0).mean()
    memmap = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, digits.shape)
    memmap[:] = digits
    for X in (digits, memmap, ArrayRows(memmap), scipy.sparse.csr_matrix(digits)):
        assert mean_image_error(X) == pytest.approx(expected, rel=1e-6)
    # predicting the column means makes exactly that error
    assert np.mean((digits - digits.mean(axis=0)) ** 2) == pytest.approx(expected, rel=1e-5)


def test_both_signs_are_needed(digits):
    W = torch.full((3, 64), 0.5)
    check = reconstruction_check([W], digits)
    mean_error = mean_image_error(digits)
    fix = "lower learning_rate (now 0.1) or momentum (now 0.5)"
    check(3 * mean_error, "RBM training blew up in epoch 1", fix)  # a young model: error jumps
    W.fill_(2 * WEIGHT_LIMIT)  # the loop updates the watched weights in place
    check(0.5 * mean_error, "RBM training blew up in epoch 1", fix)  # large weights, good error
    reconstruction_check([], digits)(3 * mean_error, "unwatched", fix)  # Gaussian visible units
    with pytest.raises(FloatingPointError, match=r"^RBM training blew up in epoch 1: weights reach "
                       r"20 .* lower learning_rate \(now 0.1\) or momentum \(now 0.5\)\.$"):
        check(1.01 * mean_error, "RBM training blew up in epoch 1", fix)


def test_the_baselines_are_what_predicting_the_mean_image_costs(digits):
    p = digits.astype(np.float64).mean(axis=0)
    draws = (np.random.default_rng(0).uniform(size=(200, *digits.shape)) < digits).astype(np.float64)
    # against 0/1 draws of grey data the mean image does worse than against the data itself
    assert mean_image_error(digits, sampled=True) == pytest.approx(np.mean((draws - p) ** 2), rel=1e-2)
    assert mean_image_error(digits, sampled=True) > 1.2 * mean_image_error(digits)
    binary = (digits > 0.5).astype(np.float32)
    assert mean_image_error(binary, sampled=True) == pytest.approx(mean_image_error(binary))
    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    cross_entropy = -(digits * np.log(clipped) + (1 - digits) * np.log(1 - clipped)).sum(axis=1)
    for X in (digits, scipy.sparse.csr_matrix(digits)):
        assert mean_image_loss(X, "bernoulli") == pytest.approx(cross_entropy.mean(), rel=1e-6)
        assert mean_image_loss(X, "gaussian") == pytest.approx(((digits - p) ** 2).sum(axis=1).mean())


@pytest.mark.parametrize("learning_rate", [1e6, 100.0])
def test_a_huge_learning_rate_stops_in_the_first_epoch_with_advice(digits, learning_rate):
    rbm = RBM(16, learning_rate=learning_rate, n_iter=5, random_state=0)
    with pytest.raises(FloatingPointError, match=rf"blew up in epoch 1: .*worse than always "
                       rf"predicting the mean image .*learning_rate \(now {re.escape(f'{learning_rate:g}')};"):
        rbm.fit(digits)
    assert rbm.n_iter_ == 0 and rbm.history_["epoch"] == []  # nothing of the blown-up epoch kept
    fitted = RBM(16, n_iter=2, random_state=0).fit(digits)
    weights = fitted.components_.copy()
    with pytest.raises(FloatingPointError, match="blew up"):
        fitted.set_params(learning_rate=learning_rate).partial_fit(digits)
    np.testing.assert_array_equal(fitted.components_, weights)  # the fitted model untouched


def test_a_dbn_stops_too(digits):
    with pytest.raises(FloatingPointError, match="blew up"):
        DBN((64, 16), learning_rate=1e6, n_iter=2, random_state=0, verbose=0).fit(digits)


@pytest.mark.parametrize("params", [
    {},
    {"method": "pcd", "learning_rate": 0.5},
    {"k": 5},
    {"weight_decay": 1e-3, "penalty": "l1"},
    {"hidden": "gaussian", "learning_rate": 0.01},
    {"learning_rate": 0.5, "momentum": (0.5, 0.9)},
])
def test_real_training_never_trips_it(digits, params):
    """Checked after every epoch (longer runs and MNIST: docs/benchmarks.md)."""
    largest = []
    rbm = RBM(64, n_iter=10, random_state=0, **params)
    rbm.fit(digits, callback=lambda r, e: largest.append(np.abs(r.components_).max()))
    assert rbm.n_iter_ == 10 and max(largest) < WEIGHT_LIMIT


def test_tiny_noisy_data_whose_error_jumps_above_the_mean_image_is_not_stopped():
    X = np.random.default_rng(0).uniform(size=(30, 5))
    errors = RBM(n_iter=10, random_state=0).fit(X).history_["reconstruction_error"]
    assert max(errors) > 2 * mean_image_error(X)  # the error alone would have stopped it


# ------------------------------------------------ DBM, fine-tuned nets, the command line
TINY = dict(pretrain_n_iter=2, n_iter=3, batch_size=50, random_state=0, device="cpu")
BLOWN_UP = [  # (estimator, the parameter its message must name)
    (lambda: DBM((None, 16, 8), learning_rate=1e4, **TINY), "learning_rate (now 10000)"),
    (lambda: DBM((None, 16, 8), pretrain=False, learning_rate=1e4, **TINY),
     "learning_rate (now 10000)"),
    (lambda: DBM((None, 16, 8), learning_rate=1e4, sample_input=True, **TINY),
     "learning_rate (now 10000)"),
    (lambda: DBNClassifier((16,), solver="adam", learning_rate=1e3, **TINY),
     "learning_rate (now 1000)."),
    (lambda: DBNClassifier((16,), solver="sgd", learning_rate=1e3, **TINY),
     "learning_rate (now 1000) or momentum (now 0.9)."),
    (lambda: DBNClassifier((16,), learning_rate=1e3, output_n_iter=2, **TINY),
     "learning_rate (now 1000)."),
    (lambda: DBNClassifier((16,), pretrain=False, solver="sgd", learning_rate=1e3, momentum=0.0,
                           **TINY), "learning_rate (now 1000)."),
    (lambda: DBMClassifier((16, 8), learning_rate=1e3, dbm_n_iter=2, **TINY),
     "learning_rate (now 1000)."),
    (lambda: DBMClassifier((16, 8), dbm_learning_rate=1e4, dbm_n_iter=2, **TINY),
     "dbm_learning_rate"),
    (lambda: DeepAutoencoder((None, 16, 4), learning_rate=1e3, **TINY), "learning_rate (now 1000)."),
    (lambda: DeepAutoencoder((None, 16, 4), solver="sgd", learning_rate=10.0, **TINY),
     "learning_rate (now 10) or momentum (now 0.9)."),
]


@pytest.fixture(scope="module")
def labelled():
    ds = load_dataset("digits")
    return ds.X_train[:500], ds.y_train[:500]


def fit(model, X, y):
    return model.fit(X) if isinstance(model, (DBM, DeepAutoencoder)) else model.fit(X, y)


@pytest.mark.parametrize(("make", "named"), BLOWN_UP)
def test_every_loop_stops_a_blow_up_with_advice(labelled, make, named):
    model = make()
    with pytest.raises(FloatingPointError, match=r"blew up in epoch 1: weights reach") as raised:
        fit(model, *labelled)
    assert named in str(raised.value)


def test_a_gaussian_autoencoder_stops_too(labelled):
    X = labelled[0]
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 0.1)
    with pytest.raises(FloatingPointError, match=r"DeepAutoencoder blew up in epoch 1: .*mean "
                       r"image .*lower learning_rate \(now 1000\)"):
        DeepAutoencoder((None, 16, 4), visible="gaussian", learning_rate=1e3, **TINY).fit(X)


def watched_weights(model):
    if isinstance(model, DBM):
        return model.weights_
    if isinstance(model, DeepAutoencoder) and model.visible == "gaussian":
        return model.coefs_[1:-1]
    return model.coefs_


@pytest.mark.parametrize("make", [
    lambda: DBM((None, 16, 8), **TINY),
    lambda: DBM((None, 16, 8), sample_input=True, **TINY),
    lambda: DBNClassifier((16,), **TINY),
    lambda: DBNClassifier((16,), solver="sgd", learning_rate=0.1, output_n_iter=2, dropout=0.5,
                          **TINY),
    lambda: DBMClassifier((16, 8), dbm_n_iter=2, **TINY),
    lambda: DeepAutoencoder((None, 16, 4), **TINY),
    lambda: DeepAutoencoder((None, 16, 4), solver="sgd", learning_rate=0.1, **TINY),
])
def test_default_training_is_untouched_by_the_checks(labelled, make, monkeypatch):
    """Real settings stay inside the limit, and the checks only read: the same fit without them
    is equal bit for bit (longer runs: docs/benchmarks.md)."""
    model = fit(make(), *labelled)
    assert blowup.largest_weight([torch.as_tensor(W) for W in watched_weights(model)]) < WEIGHT_LIMIT
    monkeypatch.setattr(blowup, "WEIGHT_LIMIT", float("inf"))
    unchecked = fit(make(), *labelled)
    for a, b in zip(watched_weights(model), watched_weights(unchecked)):
        np.testing.assert_array_equal(a, b)


def test_a_blown_up_dbm_run_exits_with_one_line_and_saves_nothing(tmp_path, capsys):
    train = ["train", "--model", "dbm", "--data", "digits", "--layers", "64,16,8", "--epochs", "2",
             "--set", "pretrain_n_iter=1", "--max-samples", "300", "--quiet"]
    new = tmp_path / "new"
    assert main([*train, "--learning-rate", "1e4", "--out", str(new)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("deepbelief train: error: DBM training blew up in epoch 1")
    assert "lower learning_rate (now 10000)" in err
    assert not new.exists()
    old = tmp_path / "old"
    assert main([*train, "--out", str(old)]) == 0
    before = {p.name: p.read_bytes() for p in old.iterdir() if p.is_file()}
    capsys.readouterr()
    assert main([*train, "--learning-rate", "1e4", "--out", str(old), "--overwrite"]) == 1
    assert "blew up" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in old.iterdir() if p.is_file()} == before
