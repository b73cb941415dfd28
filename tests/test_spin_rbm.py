"""RBMs with spin (+-1) units against full enumeration of a tiny model (4 visible x 3 hidden),
and a spin RBM trained on +-1 data."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.special import logsumexp

from deepbelief import DBN, RBM
from deepbelief._core import ais
from deepbelief._core.backend import RandomSource
from deepbelief.models.modelfile import load
from test_rbm_exact import exact_pseudo_log_likelihood

N_VIS, N_HID = 4, 3
BITS_V = np.array(list(itertools.product([0, 1], repeat=N_VIS)), dtype=float)  # (16, 4)
BITS_H = np.array(list(itertools.product([0, 1], repeat=N_HID)), dtype=float)  # (8, 3)
SPIN_V, SPIN_H = 2 * BITS_V - 1, 2 * BITS_H - 1


def hidden_states(hidden):
    return SPIN_H if hidden == "spin" else BITS_H


def tiny_rbm(hidden="spin", visible="spin", seed=0, scale=0.7, zero_biases=False):
    """A fitted RBM whose parameters are then set to random values."""
    rng = np.random.RandomState(seed)
    X = SPIN_V[rng.randint(0, 16, 8)] if visible == "spin" else BITS_V[rng.randint(0, 16, 8)]
    rbm = RBM(N_HID, visible=visible, hidden=hidden, n_iter=1, random_state=seed, device="cpu")
    rbm.fit(X)
    rbm.components_ = (scale * rng.randn(N_HID, N_VIS)).astype(np.float32)
    biases = 0.0 if zero_biases else 0.5
    rbm.intercept_visible_ = (biases * rng.randn(N_VIS)).astype(np.float32)
    rbm.intercept_hidden_ = (biases * rng.randn(N_HID)).astype(np.float32)
    return rbm


def params64(rbm):
    return (rbm.components_.astype(float), rbm.intercept_visible_.astype(float),
            rbm.intercept_hidden_.astype(float))


def log_joint(rbm):
    """-E(v, h) for every visible state (rows) and hidden state (columns), written out."""
    W, b, c = params64(rbm)
    V = SPIN_V if rbm.visible == "spin" else BITS_V
    H = hidden_states(rbm.hidden)
    return (V @ b)[:, None] + (H @ c)[None, :] + V @ W.T @ H.T, V, H


@pytest.mark.parametrize("visible, hidden", [("spin", "spin"), ("spin", "bernoulli"),
                                             ("bernoulli", "spin")])
def test_free_energy_and_log_partition_match_enumeration(visible, hidden):
    rbm = tiny_rbm(hidden, visible)
    lj, V, _ = log_joint(rbm)
    np.testing.assert_allclose(rbm.free_energy(V), -logsumexp(lj, axis=1), rtol=1e-5, atol=1e-5)
    exact = logsumexp(lj)
    W, b, c = (torch.tensor(p) for p in params64(rbm))
    assert float(ais.exact_log_partition(W, b, c, visible, hidden)) == pytest.approx(exact, abs=1e-9)
    estimate = rbm.log_partition(base_data=V, n_betas=2000, n_runs=200, random_state=0)
    assert abs(estimate.log_z - exact) < 0.05


def test_conditionals_match_enumeration():
    rbm = tiny_rbm(seed=1)
    lj, V, H = log_joint(rbm)
    p_h_given_v = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))  # (16, 8)
    np.testing.assert_allclose(rbm.transform(V), p_h_given_v @ H, atol=1e-5)
    p_v_given_h = np.exp(lj - logsumexp(lj, axis=0, keepdims=True))  # (16, 8)
    np.testing.assert_allclose(rbm.inverse_transform(H), p_v_given_h.T @ V, atol=1e-5)


def test_score_samples_is_the_exact_pseudo_log_likelihood():
    rbm = tiny_rbm(seed=2)
    expected = exact_pseudo_log_likelihood(rbm, SPIN_V, lambda x: -x)
    np.testing.assert_allclose(rbm.score_samples(SPIN_V), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("hidden", ["spin", "bernoulli"])
def test_cd_with_large_k_approaches_exact_gradient(hidden):
    rbm = tiny_rbm(hidden, seed=3)
    lj, V, H = log_joint(rbm)
    W, b, c = params64(rbm)
    p_joint = np.exp(lj - logsumexp(lj))  # (16, 8)
    data = SPIN_V[[1, 6, 9, 14]]
    x = data @ W.T + c
    h_data = np.tanh(x) if hidden == "spin" else 1 / (1 + np.exp(-x))
    exact_W = h_data.T @ data / len(data) - H.T @ p_joint.T @ V
    exact_b = data.mean(0) - p_joint.sum(1) @ V
    exact_c = h_data.mean(0) - p_joint.sum(0) @ H
    rbm.set_params(k=50)
    v0 = torch.tensor(np.repeat(data, 5000, axis=0), dtype=torch.float32)
    params = [torch.tensor(p) for p in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)]
    with torch.inference_mode():
        grads, _, _ = rbm._gradient(v0, params, None, RandomSource(0, "cpu"))
    grad_W, grad_b, grad_c = (g.numpy().astype(float) for g in grads)
    np.testing.assert_allclose(grad_W, exact_W, atol=0.04)
    np.testing.assert_allclose(grad_b, exact_b, atol=0.04)
    np.testing.assert_allclose(grad_c, exact_c, atol=0.04)


def test_gibbs_samples_follow_the_exact_distribution():
    rbm = tiny_rbm(seed=4)
    lj, V, _ = log_joint(rbm)
    p_v = np.exp(logsumexp(lj, axis=1) - logsumexp(lj))
    samples = rbm.gibbs(np.repeat(V[:1], 20000, axis=0), n_steps=30)
    assert set(np.unique(samples)) == {-1.0, 1.0}
    index = ((samples + 1) / 2) @ (2 ** np.arange(N_VIS)[::-1])  # row order of BITS_V
    empirical = np.bincount(index.astype(int), minlength=16) / len(samples)
    kl = np.sum(empirical * np.log(np.where(empirical > 0, empirical, 1.0) / p_v))
    assert kl < 0.005
    drawn = rbm.sample(2000, burn_in=30, init="noise", output="state")
    assert set(np.unique(drawn)) == {-1.0, 1.0}


def test_spin_symmetry_with_zero_biases():
    rbm = tiny_rbm(seed=5, zero_biases=True)
    np.testing.assert_allclose(rbm.free_energy(-SPIN_V), rbm.free_energy(SPIN_V), atol=1e-6)
    np.testing.assert_allclose(rbm.transform(-SPIN_V), -rbm.transform(SPIN_V), atol=1e-7)


# ------------------------------------------------------------------------ training on +-1 data
def bars_and_stripes(side=3):
    """Every bars-and-stripes image of side x side pixels, as +-1 rows (14 for side 3)."""
    rows = set()
    for bits in itertools.product([0, 1], repeat=side):
        bars = np.repeat(np.array(bits)[:, None], side, axis=1)
        rows.add(tuple(bars.ravel()))
        rows.add(tuple(bars.T.ravel()))
    return 2 * np.array(sorted(rows), dtype=float) - 1


def exact_log_likelihood(rbm, X):
    states = 2 * np.array(list(itertools.product([0, 1], repeat=X.shape[1])), dtype=float) - 1
    return float(np.mean(-rbm.free_energy(X)) - logsumexp(-rbm.free_energy(states)))


@pytest.mark.parametrize("hidden, method, learning_rate", [
    ("spin", "cd", 0.1),  # the default learning rate
    # PCD needs a smaller one: +-1 states make W's products 4 times those of 0/1 states
    # (lr 0.05 diverges to -60 nats here, where Bernoulli PCD at 0.05 still learns)
    ("bernoulli", "pcd", 0.01),
])
def test_spin_rbm_learns_bars_and_stripes_beyond_independent_sites(hidden, method, learning_rate):
    X = np.tile(bars_and_stripes(), (30, 1))  # (420, 9)
    rbm = RBM(16, visible="spin", hidden=hidden, method=method, learning_rate=learning_rate,
              n_iter=100, batch_size=20, random_state=0, device="cpu").fit(X)
    # independent sites: each pixel is +1 half the time; the 14 images alone: log 14 = -2.64
    independent = -X.shape[1] * np.log(2)
    exact = exact_log_likelihood(rbm, X)
    assert exact > independent + 2.0, (exact, independent)
    # AIS agrees with the exact figure
    estimate = rbm.log_likelihood(X, n_betas=2000, n_runs=100, random_state=0)
    assert estimate == pytest.approx(exact, abs=0.1)


def test_visible_biases_start_at_the_data_means():
    X = np.array([[1, 1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1]], dtype=float)
    rbm = RBM(2, visible="spin", n_iter=0, random_state=0).fit(X)
    np.testing.assert_allclose(np.tanh(rbm.intercept_visible_), [0.5, 0.5, -0.98], atol=1e-6)


# ----------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_training_data_with_a_zero_is_refused(container):
    X = np.where(np.random.RandomState(0).rand(10, 4) > 0.5, 1.0, -1.0)
    X[3, 2] = 0.0
    with pytest.raises(ValueError, match=r"only -1 and 1 to train spin visible units.*2 \* X - 1"):
        RBM(2, visible="spin", n_iter=1).fit(container(X))


def test_a_streamed_memmap_is_checked_too(tmp_path):
    X = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(16, 4))
    X[:] = SPIN_V
    X.flush()
    RBM(2, visible="spin", n_iter=1, random_state=0).fit(np.load(tmp_path / "x.npy", mmap_mode="r"))
    X[5, 1] = 0.0
    X.flush()
    with pytest.raises(ValueError, match="only -1 and 1 to train spin"):
        RBM(2, visible="spin", n_iter=1).fit(np.load(tmp_path / "x.npy", mmap_mode="r"))


def test_zero_one_data_is_refused_by_log_likelihood():
    rbm = tiny_rbm()
    with pytest.raises(ValueError, match="only -1 and 1 for a log-likelihood under spin"):
        rbm.log_likelihood(BITS_V, log_z=0.0)


def test_new_data_is_clipped_to_the_spin_range():
    rbm = tiny_rbm()
    np.testing.assert_allclose(rbm.transform(3 * SPIN_V), rbm.transform(SPIN_V))


def test_int8_and_stacked_models_refuse_spins():
    X = SPIN_V
    with pytest.raises(ValueError, match="int8"):
        RBM(2, visible="spin", precision="int8", n_iter=1).fit(X)
    with pytest.raises(ValueError, match="visible"):
        DBN([2], visible="spin").fit(X)


def test_save_and_load_round_trip(tmp_path):
    rbm = RBM(3, visible="spin", hidden="spin", method="pcd", n_iter=2, batch_size=4,
              random_state=0, device="cpu").fit(SPIN_V)
    again = load(rbm.save(tmp_path / "spin.safetensors"))
    assert again.visible == again.hidden == "spin"
    np.testing.assert_array_equal(again.free_energy(SPIN_V), rbm.free_energy(SPIN_V))
    np.testing.assert_array_equal(again.transform(SPIN_V), rbm.transform(SPIN_V))
    assert set(np.unique(again.sample(4, burn_in=2, output="state"))) <= {-1.0, 1.0}
