"""What a DBN's upper RBMs learn from (``propagate``), growing a DBN (``warm_start``) and
per-layer training methods; ``SampledRows``, the states drawn afresh on every read."""

import itertools

import numpy as np
import pytest
import torch
from scipy.special import expit

from deepbelief._core.batches import LiftedRows
from deepbelief._core.sampled_rows import SampledRows
from deepbelief.datasets import load_digits
from deepbelief.models.dbn import DBN

FAST = dict(n_iter=3, batch_size=20, random_state=0, device="cpu", n_jobs=1)


@pytest.fixture(scope="module")
def X():
    return load_digits().X[:300]


def test_sampled_rows_are_fresh_binary_draws_of_the_means():
    P = np.random.RandomState(0).rand(50, 7).astype(np.float32)
    rows = SampledRows(P, "bernoulli", random_state=0)
    index = torch.arange(50)
    draws = torch.stack([rows.rows(index, "cpu") for _ in range(4000)]).numpy()  # (4000, 50, 7)
    assert np.isin(draws, (0.0, 1.0)).all()
    assert not np.array_equal(draws[0], draws[1])  # a new draw on every read
    np.testing.assert_allclose(draws.mean(axis=0), P, atol=0.03)  # 4 sigma at 4,000 draws
    np.testing.assert_array_equal(np.vstack(list(rows.chunks())), P)  # checks see the means
    again = SampledRows(P, "bernoulli", random_state=0)
    np.testing.assert_array_equal(again.rows(index, "cpu").numpy(), draws[0])  # seeded


def test_states_of_two_layers_up_are_drawn_through_the_layer_between():
    """h2 ~ q(h2 | h1) with h1 ~ q(h1 | v): P(h2 = 1) = sum_h1 q(h1 | v) sigmoid(W2 h1 + c2)."""
    rng = np.random.RandomState(1)
    P1 = rng.rand(4, 3).astype(np.float32)  # q(h1_j = 1 | v) of 4 rows, 3 units
    W2, c2 = rng.randn(2, 3).astype(np.float32) * 2, rng.randn(2).astype(np.float32)
    h1 = np.array(list(itertools.product([0, 1], repeat=3)), dtype=float)  # (8, 3)
    q = np.prod(np.where(h1[None] == 1, P1[:, None], 1 - P1[:, None]), axis=2)  # (4, 8)
    exact = q @ expit(h1 @ W2.T + c2)  # (4, 2)
    states = SampledRows(LiftedRows(SampledRows(P1, "bernoulli", 0), W2, c2, "bernoulli"),
                         "bernoulli", 1)
    draws = torch.stack([states.rows(torch.arange(4), "cpu") for _ in range(8000)]).numpy()
    np.testing.assert_allclose(draws.mean(axis=0), exact, atol=0.025)
    # The means of h2 given the means of h1 are another distribution: the test can tell them apart.
    assert np.abs(expit(P1 @ W2.T + c2) - exact).max() > 0.05


def test_propagate_sample_trains_the_upper_rbm_on_states(X):
    means = DBN([64, 16, 8], **FAST).fit(X)
    states = DBN([64, 16, 8], propagate="sample", **FAST).fit(X)
    np.testing.assert_array_equal(means.rbms_[0].components_, states.rbms_[0].components_)
    assert not np.allclose(means.rbms_[1].components_, states.rbms_[1].components_)
    again = DBN([64, 16, 8], propagate="sample", **FAST).fit(X)
    np.testing.assert_array_equal(states.rbms_[1].components_, again.rbms_[1].components_)
    assert states.get_params()["propagate"] == "sample"
    with pytest.raises(ValueError, match="propagate"):
        DBN([64, 8], propagate="binary", **FAST).fit(X)


def test_warm_start_keeps_the_bottom_and_trains_the_new_layers(X):
    small = DBN([64, 16], **FAST).fit(X)
    bottom = small.rbms_[0]
    weights = bottom.components_.copy()
    grown = small.set_params(layers=[64, 16, 8], warm_start=True).fit(X)
    assert grown is small and grown.rbms_[0] is bottom and len(grown.rbms_) == 2
    np.testing.assert_array_equal(bottom.components_, weights)  # not trained again
    fresh = DBN([64, 16, 8], **FAST).fit(X)  # the same seeds: the same network
    for a, b in zip(grown.rbms_, fresh.rbms_):
        np.testing.assert_array_equal(a.components_, b.components_)
    assert [len(h["epoch"]) for h in grown.history_] == [3, 3]
    # A bottom of another size is trained anew.
    regrown = small.set_params(layers=[64, 12, 8]).fit(X)
    assert regrown.rbms_[0] is not bottom and regrown.rbms_[0].n_components == 12


def test_method_k_and_learning_rate_decay_can_differ_per_layer(X):
    dbn = DBN([64, 16, 8], method=["cd", "pcd"], k=[1, 3], learning_rate_decay=[1.0, "linear"],
              **FAST).fit(X)
    assert [(r.method, r.k, r.learning_rate_decay) for r in dbn.rbms_] == [
        ("cd", 1, 1.0), ("pcd", 3, "linear")]
    assert dbn.rbms_[0]._persistent is None and dbn.rbms_[1]._persistent.shape == (20, 8)
    with pytest.raises(ValueError, match="method has 3 entries but the network has 2 RBMs"):
        DBN([64, 16, 8], method=["cd", "pcd", "pcd"], **FAST).fit(X)


def _layers(dbn):
    return [(*(torch.as_tensor(a, dtype=torch.float64) for a in (
        r.components_, r.intercept_visible_, r.intercept_hidden_)), r.visible, r.hidden)
        for r in dbn.rbms_]


@pytest.mark.parametrize("top, atol", [(6, 1e-4), (9, 0.05)])
def test_a_top_rbm_started_turned_over_makes_the_bound_the_bottom_rbms_likelihood(top, atol):
    """At the start p_top(h1) = p_RBM(h1), so the exact bound is the RBM's exact log p(v); units
    beyond the 6 turned over have weights N(0, 0.01^2): nearly constant factors."""
    from deepbelief._core import ais
    from test_ais import exact_dbn  # the enumerated DBN bound (tests/test_ais.py)

    rng = np.random.RandomState(0)
    X = (rng.rand(200, 6) < np.where(rng.rand(200, 1) < 0.5, 0.8, 0.2)).astype(float)
    settings = dict(method="pcd", learning_rate=[0.1, 1e-9], n_iter=[30, 1], batch_size=20,
                    random_state=0, device="cpu", n_jobs=1)
    dbn = DBN([6, 4, top], upper_init="transpose", **settings).fit(X)
    bottom, upper = dbn.rbms_
    np.testing.assert_allclose(upper.components_[:6], bottom.components_.T, atol=1e-6)
    np.testing.assert_allclose(upper.intercept_visible_, bottom.intercept_hidden_, atol=1e-6)
    assert np.abs(upper.components_[6:]).max(initial=0) < 0.05 and not upper.warm_start
    v = torch.as_tensor(X[:20])
    W, b, c = _layers(dbn)[0][:3]
    log_p = -ais.free_energy(v, W, b, c, "bernoulli", "bernoulli") - ais.exact_log_partition(
        W, b, c, "bernoulli", "bernoulli")
    torch.testing.assert_close(exact_dbn(v, _layers(dbn))[1], log_p, rtol=0, atol=atol)
    # A random start is not: the check can tell the two apart.
    random = DBN([6, 4, top], **settings).fit(X)
    assert (exact_dbn(v, _layers(random))[1] - log_p).abs().max() > 0.3


def test_a_top_rbm_too_narrow_to_turn_over_is_refused(X):
    with pytest.raises(ValueError, match="at least as many hidden units as the RBM below has visible"):
        DBN([64, 16, 32], upper_init="transpose", **FAST).fit(X)
