"""The RBM's maths against full enumeration of a tiny RBM (6 visible x 4 hidden)."""

import itertools

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.special import logsumexp

from deepbelief import RBM
from deepbelief._core.backend import RandomSource

N_VIS, N_HID = 6, 4
BINARY_V = np.array(list(itertools.product([0, 1], repeat=N_VIS)), dtype=float)  # (64, 6)
BINARY_H = np.array(list(itertools.product([0, 1], repeat=N_HID)), dtype=float)  # (16, 4)


def tiny_rbm(visible="bernoulli", hidden="bernoulli", seed=0, scale=0.7, **params):
    """An RBM with given random parameters, fitted attributes set directly."""
    rng = np.random.RandomState(seed)
    X = rng.rand(4, N_VIS) if visible == "bernoulli" else rng.randn(4, N_VIS)
    rbm = RBM(N_HID, visible=visible, hidden=hidden, n_iter=1, random_state=seed, device="cpu", **params)
    rbm.fit(X)
    rbm.components_ = (scale * rng.randn(N_HID, N_VIS)).astype(np.float32)
    rbm.intercept_visible_ = (0.5 * rng.randn(N_VIS)).astype(np.float32)
    rbm.intercept_hidden_ = (0.5 * rng.randn(N_HID)).astype(np.float32)
    return rbm


def params64(rbm):
    return (
        rbm.components_.astype(float),
        rbm.intercept_visible_.astype(float),
        rbm.intercept_hidden_.astype(float),
    )


def energy_bb(v, h, W, b, c):
    """E(v, h) for every pair: v (n, V), h (m, H) -> (n, m)."""
    return -(v @ b)[:, None] - (h @ c)[None, :] - v @ W.T @ h.T


def energy_gb(v, h, W, b, c):
    return 0.5 * ((v - b) ** 2).sum(1)[:, None] - (h @ c)[None, :] - v @ W.T @ h.T


def exact_model_stats_bb(W, b, c):
    """p(v) over all 64 binary v, and the model expectation <h v^T> (exact)."""
    log_joint = -energy_bb(BINARY_V, BINARY_H, W, b, c)  # (64, 16)
    log_z = logsumexp(log_joint)
    p_joint = np.exp(log_joint - log_z)
    p_v = p_joint.sum(1)
    hv = BINARY_H.T @ p_joint.T @ BINARY_V  # (H, V)
    return p_v, hv, p_joint


def test_free_energy_bernoulli_matches_enumeration():
    rbm = tiny_rbm()
    W, b, c = params64(rbm)
    expected = -logsumexp(-energy_bb(BINARY_V, BINARY_H, W, b, c), axis=1)
    np.testing.assert_allclose(rbm.free_energy(BINARY_V), expected, rtol=1e-5, atol=1e-5)


def test_free_energy_gaussian_visible_matches_enumeration():
    rbm = tiny_rbm(visible="gaussian")
    W, b, c = params64(rbm)
    v = np.random.RandomState(1).randn(20, N_VIS)
    expected = -logsumexp(-energy_gb(v, BINARY_H, W, b, c), axis=1)
    np.testing.assert_allclose(rbm.free_energy(v), expected, rtol=1e-5, atol=1e-4)


def test_free_energy_gaussian_hidden_matches_numerical_integral():
    rbm = tiny_rbm(hidden="gaussian", scale=0.4)
    W, b, c = params64(rbm)
    v = BINARY_V[[0, 5, 17, 42, 63]]
    expected = []
    for row in v:
        x = W @ row
        log_terms = [
            np.log(integrate.quad(lambda h, xj=xj, cj=cj: np.exp(-0.5 * (h - cj) ** 2 + h * xj), -40, 40)[0])
            for xj, cj in zip(x, c)
        ]
        expected.append(-(b @ row) - sum(log_terms))
    np.testing.assert_allclose(rbm.free_energy(v), expected, rtol=1e-5, atol=1e-4)


def test_conditionals_bernoulli_match_enumeration():
    rbm = tiny_rbm()
    W, b, c = params64(rbm)
    log_joint = -energy_bb(BINARY_V, BINARY_H, W, b, c)
    p_h_given_v = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))  # (64, 16)
    np.testing.assert_allclose(rbm.transform(BINARY_V), p_h_given_v @ BINARY_H, atol=1e-5)
    p_v_given_h = np.exp(log_joint - logsumexp(log_joint, axis=0, keepdims=True)).T  # (16, 64)
    np.testing.assert_allclose(rbm.inverse_transform(BINARY_H), p_v_given_h @ BINARY_V, atol=1e-5)


def test_conditionals_gaussian_visible():
    rbm = tiny_rbm(visible="gaussian")
    W, b, c = params64(rbm)
    v = np.random.RandomState(2).randn(10, N_VIS)
    log_joint = -energy_gb(v, BINARY_H, W, b, c)
    p_h_given_v = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    np.testing.assert_allclose(rbm.transform(v), p_h_given_v @ BINARY_H, atol=1e-5)
    # p(v | h) is a unit-variance Gaussian: its mean is where -E(., h) has zero gradient.
    means = rbm.inverse_transform(BINARY_H)
    grad = -(means - b) + BINARY_H @ W
    np.testing.assert_allclose(grad, 0, atol=1e-5)


def test_conditional_gaussian_hidden_mean_is_numerical_integral():
    rbm = tiny_rbm(hidden="gaussian", scale=0.4)
    W, _, c = params64(rbm)
    row = BINARY_V[37]
    x = W @ row
    expected = [
        integrate.quad(lambda h, a=a, cj=cj: h * np.exp(-0.5 * (h - cj) ** 2 + h * a), -40, 40)[0]
        / integrate.quad(lambda h, a=a, cj=cj: np.exp(-0.5 * (h - cj) ** 2 + h * a), -40, 40)[0]
        for a, cj in zip(x, c)
    ]
    np.testing.assert_allclose(rbm.transform(row[None])[0], expected, atol=1e-4)


def cd_gradient(rbm, data, k, n_copies, seed=0):
    """The estimator's own CD-k gradient on ``n_copies`` chains per data row."""
    rbm.set_params(k=k)
    v0 = torch.tensor(np.repeat(data, n_copies, axis=0), dtype=torch.float32)
    params = [torch.tensor(p) for p in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)]
    generator = RandomSource(seed, "cpu")
    with torch.inference_mode():
        grads, _, _ = rbm._gradient(v0, params, None, generator)
    return [g.numpy().astype(float) for g in grads]


DATA = BINARY_V[[3, 12, 33, 50, 61]]


def test_cd_with_large_k_approaches_exact_gradient_bernoulli():
    rbm = tiny_rbm()
    W, b, c = params64(rbm)
    p_v, hv_model, p_joint = exact_model_stats_bb(W, b, c)
    h_data = 1 / (1 + np.exp(-(DATA @ W.T + c)))
    exact_W = h_data.T @ DATA / len(DATA) - hv_model
    exact_b = DATA.mean(0) - p_v @ BINARY_V
    exact_c = h_data.mean(0) - p_joint.sum(0) @ BINARY_H
    grad_W, grad_b, grad_c = cd_gradient(rbm, DATA, k=100, n_copies=8000)
    np.testing.assert_allclose(grad_W, exact_W, atol=0.02)
    np.testing.assert_allclose(grad_b, exact_b, atol=0.02)
    np.testing.assert_allclose(grad_c, exact_c, atol=0.02)
    # CD-1 is biased: it is measurably further from the exact gradient than CD-100.
    cd1_W = cd_gradient(rbm, DATA, k=1, n_copies=8000)[0]
    assert np.abs(cd1_W - exact_W).max() > 3 * np.abs(grad_W - exact_W).max()


def test_cd_with_large_k_approaches_exact_gradient_gaussian_visible():
    rbm = tiny_rbm(visible="gaussian", scale=0.3)
    W, b, c = params64(rbm)
    # p(h) is proportional to exp(c.h + b.W^T h + |W^T h|^2 / 2); v | h ~ N(b + W^T h, I).
    mean_v = b + BINARY_H @ W  # (16, V)
    log_p_h = BINARY_H @ c + (mean_v**2).sum(1) / 2
    p_h = np.exp(log_p_h - logsumexp(log_p_h))
    data = np.random.RandomState(3).randn(5, N_VIS)
    h_data = 1 / (1 + np.exp(-(data @ W.T + c)))
    exact_W = h_data.T @ data / len(data) - (p_h[:, None] * BINARY_H).T @ mean_v
    exact_b = data.mean(0) - p_h @ mean_v
    grad_W, grad_b, _ = cd_gradient(rbm, data, k=100, n_copies=8000)
    np.testing.assert_allclose(grad_W, exact_W, atol=0.03)
    np.testing.assert_allclose(grad_b, exact_b, atol=0.03)


def test_gibbs_samples_follow_the_exact_distribution():
    rbm = tiny_rbm(seed=4)
    W, b, c = params64(rbm)
    p_v, _, _ = exact_model_stats_bb(W, b, c)
    samples = rbm.gibbs(np.repeat(BINARY_V[:1], 20000, axis=0), n_steps=50)
    index = samples @ (2 ** np.arange(N_VIS)[::-1])
    empirical = np.bincount(index.astype(int), minlength=64) / len(samples)
    total_variation = 0.5 * np.abs(empirical - p_v).sum()
    assert total_variation < 0.04


def exact_pseudo_log_likelihood(rbm, states, flip):
    """sum_i log p(v_i | v_-i) of every row of ``states`` (all visible states of ``rbm``), from
    the free energies of each state and of it with unit i flipped (``flip`` maps a value)."""
    fe = rbm.free_energy(states)
    index = {tuple(v): i for i, v in enumerate(states)}
    expected = []
    for v in states:
        total = 0.0
        for i in range(len(v)):
            flipped = v.copy()
            flipped[i] = flip(flipped[i])
            f_v, f_flip = fe[index[tuple(v)]], fe[index[tuple(flipped)]]
            total += -f_v - np.logaddexp(-f_v, -f_flip)
        expected.append(total)
    return np.array(expected)


@pytest.mark.parametrize("hidden", ["bernoulli", "gaussian"])
def test_pseudo_log_likelihood_is_exact(hidden):
    rbm = tiny_rbm(hidden=hidden, scale=0.4)
    expected = exact_pseudo_log_likelihood(rbm, BINARY_V, lambda x: 1 - x)
    np.testing.assert_allclose(rbm.score_samples(BINARY_V), expected, rtol=1e-4, atol=1e-4)
