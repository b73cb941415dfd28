"""A Bernoulli RBM whose training blew up stops with advice; real training never trips the check."""

import re

import numpy as np
import pytest
import scipy.sparse
import torch

from deepbelief import DBN, RBM
from deepbelief._core.batches import ArrayRows
from deepbelief._core.blowup import WEIGHT_LIMIT, BlowUpCheck, mean_image_error
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
    check = BlowUpCheck(digits, "bernoulli")
    mean_error = mean_image_error(digits)
    big, small = torch.full((3, 64), 2 * WEIGHT_LIMIT), torch.full((3, 64), 0.5)
    check(small, 3 * mean_error, 0, 0.1, 0.5)  # a young model on small data: error jumps about
    check(big, 0.5 * mean_error, 0, 0.1, 0.5)  # large weights that reconstruct well
    BlowUpCheck(digits, "gaussian")(big, 3 * mean_error, 0, 0.1, 0.5)  # weights scale with data
    with pytest.raises(FloatingPointError, match=r"epoch 1: weights reach 20 .* lower "
                       r"learning_rate \(now 0.1; .*\) or momentum \(now 0.5\)"):
        check(big, 1.01 * mean_error, 0, 0.1, 0.5)


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
