"""``sample``'s starts, burn-in, thinning and outputs, against exact Markov chains on toy models.

A 6-4 RBM has 64 visible states: the Gibbs kernel K(v' | v) = sum_h p(h | v) p(v' | h) is a
64 x 64 matrix, so the distribution of a chain after any number of steps from any start is
exact, and 20,000 chains must match it within sampling noise (total variation about 0.01-0.02).
"""

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import expit, logsumexp

from deepbelief import DBN, RBM

V = np.array(list(itertools.product([0, 1], repeat=6)), dtype=float)  # (64, 6)
H = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)  # (16, 4)
N_CHAINS = 20_000


def factorial(states, p):
    """P(state) for each of ``states`` (S, n) under independent units with P(1) = p (B, n)."""
    return np.prod(np.where(states[None] == 1, p[:, None], 1 - p[:, None]), axis=2)  # (B, S)


def params(rbm):
    return (a.astype(float) for a in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))


def kernel(rbm):
    """K[v, v'] = p(v' | v) of one Gibbs step, and p(v | h) as a (16, 64) matrix."""
    W, b, c = params(rbm)
    h_given_v = factorial(H, expit(V @ W.T + c))  # (64, 16)
    v_given_h = factorial(V, expit(H @ W + b))  # (16, 64)
    return h_given_v @ v_given_h, v_given_h


def index(states):
    return (states @ (2 ** np.arange(6)[::-1])).astype(int)


def total_variation(states, p):
    return 0.5 * np.abs(np.bincount(index(states), minlength=64) / len(states) - p).sum()


@pytest.fixture(scope="module")
def rbm():
    rng = np.random.RandomState(0)
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=bool)
    X = (protos[rng.randint(2, size=600)] ^ (rng.rand(600, 6) < 0.1)).astype(float)
    # n_jobs=1: a toy this small runs 25x slower on two threads when the machine is busy.
    return RBM(4, method="pcd", learning_rate=0.05, learning_rate_decay="linear", batch_size=20,
               n_iter=100, momentum=0.5, random_state=0, device="cpu", n_jobs=1).fit(X)


def test_a_state_after_burn_in_from_data_rows_follows_the_exact_kernel(rbm):
    K, _ = kernel(rbm)
    start = np.array([[1, 1, 1, 0, 0, 0]], dtype=float)
    for burn_in in (1, 3):
        states = rbm.sample(init=np.repeat(start, N_CHAINS, axis=0), burn_in=burn_in, output="state")
        # h_0 ~ p(h | v_0), v_1 ~ p(v | h_0): the state of step t is v_{t+1} ~ K^(t+1)(. | v_0).
        exact = np.linalg.matrix_power(K, burn_in + 1)[index(start)[0]]
        assert np.isin(states, (0.0, 1.0)).all()
        assert total_variation(states, exact) < 0.03


def test_biases_and_noise_starts_are_the_exact_start_distributions(rbm):
    K, _ = kernel(rbm)
    _, b, _ = params(rbm)
    for init, start in (("biases", factorial(V, expit(b)[None])[0]), ("noise", np.full(64, 1 / 64))):
        states = rbm.sample(N_CHAINS, burn_in=1, init=init, output="state")
        assert total_variation(states, start @ K @ K) < 0.03, init


def test_persistent_chains_start_at_the_kept_hidden_states(rbm):
    K, v_given_h = kernel(rbm)
    kept = rbm._persistent
    assert kept.shape == (20, 4) and np.isin(kept, (0.0, 1.0)).all()
    # v_1 ~ p(v | h_0) for each kept chain in turn; the state of step 1 is v_2.
    start = v_given_h[index4(kept)].mean(axis=0)
    states = rbm.sample(N_CHAINS, burn_in=1, init="persistent", output="state")
    assert total_variation(states, start @ K) < 0.03


def index4(h):
    return (h @ (2 ** np.arange(4)[::-1])).astype(int)


def exact_p_v(rbm):
    W, b, c = params(rbm)
    log_joint = (V @ b)[:, None] + (H @ c)[None, :] + V @ W.T @ H.T
    log_p = logsumexp(log_joint, axis=1)
    return np.exp(log_p - logsumexp(log_p))


def test_the_default_start_of_a_pcd_model_is_its_persistent_chains(rbm):
    saved = rbm.random_state_
    try:
        draws = {}
        for init in ("auto", "persistent", "noise"):
            rbm.random_state_ = np.random.RandomState(5)  # the same random stream for each
            draws[init] = rbm.sample(8, burn_in=2, init=init)
    finally:
        rbm.random_state_ = saved
    np.testing.assert_array_equal(draws["auto"], draws["persistent"])
    assert not np.array_equal(draws["auto"], draws["noise"])


def test_kept_samples_are_the_chain_at_burn_in_plus_multiples_of_thin(rbm):
    samples, chain = rbm.sample(5, burn_in=4, thin=3, samples_per_chain=3, return_chain=True)
    assert samples.shape == (3, 5, 6) and chain.shape == (4 + 2 * 3, 5, 6)
    np.testing.assert_array_equal(samples, chain[[3, 6, 9]])
    # Thinned states of the chain follow the model's distribution once it has mixed.
    states = rbm.sample(4000, burn_in=50, thin=5, samples_per_chain=5, output="state")
    assert states.shape == (5, 4000, 6)
    assert total_variation(states.reshape(-1, 6), exact_p_v(rbm)) < 0.03


def test_mean_output_is_the_probability_of_the_next_state(rbm):
    means, chain = rbm.sample(3, burn_in=2, return_chain=True)
    assert ((means > 0) & (means < 1)).all()
    states = rbm.sample(3, burn_in=2, output="state")
    assert np.isin(states, (0.0, 1.0)).all()


def test_bad_sampling_settings_say_what_to_pass(rbm):
    cd = RBM(4, n_iter=2, random_state=0, n_jobs=1).fit(V)
    with pytest.raises(ValueError, match="init='persistent'.*method='cd'.*use init='noise'"):
        cd.sample(init="persistent")
    with pytest.raises(ValueError, match="init must be one of"):
        rbm.sample(init="data")
    with pytest.raises(ValueError, match="init has 3 rows but n_samples=5"):
        rbm.sample(5, init=V[:3])
    with pytest.raises(ValueError, match="expecting 6 features"):
        rbm.sample(init=np.zeros((2, 5)))
    for kwargs, match in (({"burn_in": 0}, "burn_in must be an integer >= 1"),
                          ({"thin": 0}, "thin must be"), ({"samples_per_chain": 1.5}, "samples_per"),
                          ({"output": "binary"}, "output must be 'mean'"),
                          ({"n_samples": 0}, "n_samples must be a positive integer")):
        with pytest.raises(ValueError, match=match):
            rbm.sample(**kwargs)


def test_n_steps_still_works_with_a_deprecation_warning(rbm):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert rbm.sample(2, n_steps=3, return_chain=True)[1].shape == (3, 2, 6)
    assert any(issubclass(w.category, FutureWarning) and "burn_in" in str(w.message) for w in caught)


def test_dbn_state_samples_are_ancestral_draws_of_the_network():
    """DBN 6-4-3: p(v) = sum_h1 p_top(h1) p(v | h1), with p_top the top RBM's visible marginal."""
    rng = np.random.RandomState(0)
    X = (rng.rand(300, 6) < np.where(rng.rand(300, 1) < 0.5, 0.85, 0.15)).astype(float)
    dbn = DBN([6, 4, 3], method="pcd", n_iter=30, batch_size=20, random_state=0, device="cpu",
              n_jobs=1).fit(X)
    bottom, top = dbn.rbms_
    Wt, bt, ct = params(top)
    H1 = H  # the 16 states of the 4 middle units
    H2 = np.array(list(itertools.product([0, 1], repeat=3)), dtype=float)
    log_top = logsumexp((H1 @ bt)[:, None] + (H2 @ ct)[None] + H1 @ Wt.T @ H2.T, axis=1)
    p_h1 = np.exp(log_top - logsumexp(log_top))
    W, b, _ = params(bottom)
    exact = p_h1 @ factorial(V, expit(H1 @ W + b))
    for init in ("persistent", "noise"):
        states = dbn.sample(N_CHAINS, burn_in=200, init=init, output="state")
        assert total_variation(states, exact) < 0.03, init
    # Data rows start the top chains at the rows carried up; means come down as E[v | h].
    means, chain = dbn.sample(init=X[:7], burn_in=3, return_chain=True)
    assert means.shape == (7, 6) and chain.shape == (3, 7, 6)
    np.testing.assert_allclose(chain[-1], means)
    kept = dbn.sample(4, burn_in=2, thin=2, samples_per_chain=3)
    assert kept.shape == (3, 4, 6)
