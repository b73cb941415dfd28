"""Parallel tempering (``sample(method="pt")``, ``_core/tempering``) against exact enumeration.

A 6-2 Bernoulli RBM with weights of 8 has two modes, 111000 and 000111, each of probability
0.499: a plain Gibbs chain leaves one for the other about once in e^12 steps, so chains that
all start in one mode stay there. Parallel tempering must find the other mode as well.
"""

import itertools

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from deepbelief import RBM
from deepbelief._core import tempering
from deepbelief._core.backend import RandomSource
from deepbelief._core.sampling import run_chains
from deepbelief.models import _sampling

V = np.array(list(itertools.product([0, 1], repeat=6)), dtype=float)  # (64, 6)
H2 = np.array(list(itertools.product([0, 1], repeat=2)), dtype=float)  # (4, 2)
H4 = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)  # (16, 4)
MODE_A = np.array([1, 1, 1, 0, 0, 0], dtype=float)


def fitted(n_hidden, W, b, c, seed=0, kind="bernoulli"):
    """An RBM with the given parameters, fitted attributes set directly."""
    X = (np.random.RandomState(seed).rand(4, W.shape[1]) > 0.5).astype(float)
    X = 2 * X - 1 if kind == "spin" else X
    rbm = RBM(n_hidden, visible=kind, hidden=kind, n_iter=1, random_state=seed, device="cpu",
              n_jobs=1).fit(X)
    rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_ = (
        np.asarray(a, dtype=np.float32) for a in (W, b, c))
    return rbm


def bimodal_rbm(scale=8.0, seed=0):
    """Two hidden units, one per mode: 111000 and 000111 (p = 0.499 each)."""
    w = np.array([1, 1, 1, -1, -1, -1.0])
    return fitted(2, scale * np.stack([w, -w]), np.zeros(6), np.full(2, -1.5 * scale), seed)


def exact_p_v(W, b, c, H, beta=1.0, states=V):
    """p_beta(v) over ``states``, exp(-beta E(v, h)) summed over every h in ``H``."""
    log_joint = beta * ((states @ b)[:, None] + (H @ c)[None, :] + states @ W.T @ H.T)
    log_p = logsumexp(log_joint, axis=1)
    return np.exp(log_p - logsumexp(log_p))


def params(rbm):
    return (a.astype(float) for a in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))


def kl_to_exact(samples, p):
    """KL(empirical || exact) over the 64 visible states, in nats."""
    codes = (samples.reshape(-1, 6) @ (2 ** np.arange(6)[::-1])).astype(int)
    q = np.bincount(codes, minlength=64) / len(codes)
    seen = q > 0
    return float((q[seen] * np.log(q[seen] / p[seen])).sum())


def test_pt_chains_sample_the_exact_distribution_where_gibbs_stays_in_one_mode():
    rbm = bimodal_rbm()
    p = exact_p_v(*params(rbm), H2)
    assert np.sort(p)[-2:].min() > 0.49  # two modes, half the mass each
    init = np.tile(MODE_A, (500, 1))  # every chain starts in one mode
    pt = rbm.sample(init=init, burn_in=100, thin=10, samples_per_chain=20, output="state",
                    method="pt")  # 10 replicas: 290 steps cost 2,900 sweeps per chain
    gibbs = rbm.sample(init=init, burn_in=1000, thin=100, samples_per_chain=20, output="state")
    # 10,000 draws: sampling noise alone gives a KL of about 1e-3 here.
    assert kl_to_exact(pt, p) < 0.02
    # Gibbs with ten times the sweeps (the same cost): most chains never left mode A.
    assert kl_to_exact(gibbs, p) > 0.3


@pytest.mark.parametrize("kind", ["bernoulli", "spin"])
def test_pt_chains_of_a_random_rbm_sample_the_exact_distribution(kind):
    rng = np.random.RandomState(1)
    W, b, c = 1.5 * rng.randn(4, 6), rng.randn(6), rng.randn(4)
    states, H = (V, H4) if kind == "bernoulli" else (2 * V - 1, 2 * H4 - 1)
    p = exact_p_v(W, b, c, H, states=states)
    rbm = fitted(4, W, b, c, kind=kind)
    X = rbm.sample(1000, burn_in=50, thin=5, samples_per_chain=10, output="state", method="pt",
                   n_temperatures=4)
    X = (X + 1) / 2 if kind == "spin" else X
    assert kl_to_exact(X, p) < 0.02  # 10,000 draws over 64 states: noise alone about 0.003


@pytest.mark.parametrize("kind", ["bernoulli", "spin"])
def test_swap_ratio_is_the_ratio_of_exact_probabilities_and_obeys_detailed_balance(kind):
    rng = np.random.RandomState(3)
    W, b, c = 1.5 * rng.randn(4, 6), rng.randn(6), rng.randn(4)
    states, H = (V, H4) if kind == "bernoulli" else (2 * V - 1, 2 * H4 - 1)
    beta_i, beta_j = 0.35, 0.8
    p_i = exact_p_v(W, b, c, H, beta_i, states)  # (64,)
    p_j = exact_p_v(W, b, c, H, beta_j, states)
    # every pair (v_i, v_j) of states: replica i holds v_i, replica j holds v_j
    v_i = torch.tensor(np.repeat(states, 64, axis=0))  # (4096, 6)
    v_j = torch.tensor(np.tile(states, (64, 1)))
    Wt, bt, ct = (torch.tensor(a) for a in (W, b, c))
    x = lambda v: torch.addmm(ct, v, Wt.T)  # noqa: E731
    beta = lambda value: torch.tensor(value, dtype=torch.float64).reshape(1, 1)  # noqa: E731
    log_r = tempering.swap_log_ratio(v_i[None], x(v_i)[None], v_j[None], x(v_j)[None],
                                     beta(beta_i), beta(beta_j), bt, kind, kind)[0].numpy()
    unswapped = np.outer(p_i, p_j).ravel()  # pi(v_i at beta_i, v_j at beta_j)
    swapped = np.outer(p_j, p_i).ravel()  # p_i(v_j) p_j(v_i), same order
    np.testing.assert_allclose(log_r, np.log(swapped) - np.log(unswapped), rtol=1e-9, atol=1e-9)
    accept = np.minimum(1, np.exp(log_r))
    accept_back = np.minimum(1, np.exp(-log_r))  # the swap back: log r changes sign
    np.testing.assert_allclose(unswapped * accept, swapped * accept_back, rtol=1e-9, atol=1e-15)


def test_default_ladder_increases_from_above_zero_to_one():
    for K in (2, 5, 10):
        betas = tempering.default_betas(K)
        assert len(betas) == K and betas[0] > 0 and betas[-1] == 1
        assert np.all(np.diff(betas) > 0)
    np.testing.assert_allclose(tempering.check_ladder(), np.arange(1, 11) / 10)
    np.testing.assert_array_equal(tempering.check_ladder(betas=[0.2, 0.5, 1]), [0.2, 0.5, 1])


@pytest.mark.parametrize("betas", [[0.5, 0.9], [0, 0.5, 1], [0.5, 0.4, 1], [1], [[0.5, 1]]])
def test_a_bad_ladder_is_refused(betas):
    with pytest.raises(ValueError, match="betas"):
        tempering.check_ladder(betas=betas)


def test_sample_pt_reports_swap_rates_and_shapes():
    rbm = bimodal_rbm(scale=3.0)
    X, chain = rbm.sample(7, burn_in=5, thin=2, samples_per_chain=3, method="pt",
                          n_temperatures=4, return_chain=True)
    assert X.shape == (3, 7, 6) and chain.shape == (9, 7, 6)
    np.testing.assert_array_equal(chain[-1], X[-1])
    rates = rbm.pt_swap_rates_
    assert rates.shape == (3,) and np.all((rates >= 0) & (rates <= 1))
    rbm.sample(4, burn_in=3, method="pt", betas=[0.2, 0.6, 1.0])
    assert rbm.pt_swap_rates_.shape == (2,)


def test_sample_pt_is_reproducible_with_a_fixed_random_state():
    runs = []
    for _ in range(2):
        rbm = bimodal_rbm(scale=3.0, seed=5)
        runs.append((rbm.sample(10, burn_in=20, method="pt", output="state"), rbm.pt_swap_rates_))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_method_gibbs_is_the_plain_chain_bit_for_bit():
    rbm = bimodal_rbm(scale=2.0)
    draws = {}
    for name, kwargs in (("default", {}), ("gibbs", {"method": "gibbs"})):
        rbm.random_state_ = np.random.RandomState(7)
        draws[name] = rbm.sample(9, burn_in=12, thin=3, samples_per_chain=2, init="noise", **kwargs)
    # the chain exactly as sample() ran it before parallel tempering existed
    source = RandomSource(np.random.RandomState(7), "cpu")
    W, b, c = (torch.as_tensor(a) for a in rbm._param_arrays())
    with torch.inference_mode():
        h = _sampling._start(rbm, "noise", 9, W, b, c, source)
        before = run_chains(h, W, b, c, "bernoulli", "bernoulli", source, 12, 3, 2).numpy()
    np.testing.assert_array_equal(draws["default"], before)
    np.testing.assert_array_equal(draws["gibbs"], before)
    assert not hasattr(rbm, "pt_swap_rates_")


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "metropolis"}, "method must be"),
    ({"betas": [0.5, 1.0]}, "method='pt'"),
    ({"n_temperatures": 4}, "method='pt'"),
    ({"method": "pt", "n_temperatures": 1}, "n_temperatures"),
    ({"method": "pt", "n_temperatures": 3, "betas": [0.5, 1.0]}, "agree"),
])
def test_sample_refuses_bad_sampler_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bimodal_rbm(scale=1.0).sample(2, burn_in=1, **kwargs)


def test_pt_refuses_gaussian_units():
    rbm = RBM(3, visible="gaussian", n_iter=1, random_state=0, device="cpu", n_jobs=1)
    rbm.fit(np.random.RandomState(0).randn(10, 4))
    with pytest.raises(ValueError, match="visible='gaussian'"):
        rbm.sample(2, burn_in=1, method="pt")
