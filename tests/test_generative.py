"""RBM.log_partition / log_likelihood and DBN.log_likelihood against exact enumeration."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from deepbelief import DBN, RBM
from deepbelief._core import ais

X = (load_digits().data / 16 > 0.5).astype(np.float64)[:600]


def exact_log_likelihood(rbm, data):
    W, b, c = (torch.as_tensor(a, dtype=torch.float64)
               for a in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))
    log_z = float(ais.exact_log_partition(W, b, c, "bernoulli", "bernoulli"))
    return float(ais.log_likelihood(torch.as_tensor(data), W, b, c, "bernoulli", "bernoulli", log_z))


def test_rbm_log_likelihood_is_the_exact_one_within_the_ais_error():
    rbm = RBM(10, n_iter=5, random_state=0).fit(X)
    log_z = rbm.log_partition(X, n_betas=2000, n_runs=50, random_state=0)
    assert log_z.log_z_low <= log_z.log_z + 0 <= log_z.log_z_high
    exact = exact_log_likelihood(rbm, X)
    assert rbm.log_likelihood(X, log_z) == pytest.approx(exact, abs=0.1)
    assert rbm.log_likelihood(X, n_betas=2000, n_runs=50, random_state=0) == pytest.approx(exact, abs=0.1)


def test_dbn_log_likelihood_is_a_finite_bound():
    dbn = DBN([64, 10, 8], n_iter=5, random_state=0).fit(X)
    bound = dbn.log_likelihood(X, n_betas=1000, n_runs=50, random_state=0)
    assert np.isfinite(bound) and bound < 0


def test_log_likelihood_needs_binary_data():
    rbm = RBM(4, n_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="binarize"):
        rbm.log_likelihood(X * 0.5, n_betas=100, n_runs=5)


def test_gaussian_visible_rbm_log_likelihood_is_the_exact_density():
    data = (X - X.mean(0))[:200]
    rbm = RBM(8, visible="gaussian", n_iter=2, learning_rate=0.001, random_state=0).fit(data)
    W, b, c = (torch.as_tensor(a, dtype=torch.float64)
               for a in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))
    log_z = float(ais.exact_log_partition(W, b, c, "gaussian", "bernoulli"))
    exact = float(ais.log_likelihood(torch.as_tensor(data), W, b, c, "gaussian", "bernoulli", log_z))
    estimate = rbm.log_likelihood(data, n_betas=2000, n_runs=50, random_state=0)
    assert estimate == pytest.approx(exact, abs=0.1)
