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
