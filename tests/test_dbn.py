"""DBN: greedy stacking, per-layer settings, the up and down passes, callbacks, model files."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from deepbelief import load
from deepbelief.datasets import load_digits
from deepbelief.models.dbn import DBN

FAST = dict(n_iter=2, batch_size=20, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def X():
    return load_digits().X[:400]


@pytest.fixture(scope="module")
def dbn(X):
    return DBN([64, 32, 16, 8], **FAST).fit(X)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@parametrize_with_checks(
    [DBN((None, 4, 3), visible="gaussian", learning_rate=0.01, n_iter=2, batch_size=10,
         random_state=0, device="cpu")]
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_layers_chain(dbn):
    sizes = [64, 32, 16, 8]
    assert dbn.layer_sizes_ == sizes
    assert [r.components_.shape for r in dbn.rbms_] == [(32, 64), (16, 32), (8, 16)]
    assert [r.n_features_in_ for r in dbn.rbms_] == sizes[:-1]


def test_up_and_down_passes_are_the_rbm_formulas(dbn, X):
    """An independent NumPy reference for transform and reconstruct through two layers."""
    (W1, W2) = (dbn.rbms_[i].components_.astype(float) for i in range(2))
    c1, c2 = (dbn.rbms_[i].intercept_hidden_ for i in range(2))
    b1, b2 = (dbn.rbms_[i].intercept_visible_ for i in range(2))
    h2 = sigmoid(sigmoid(X @ W1.T + c1) @ W2.T + c2)
    back = sigmoid(sigmoid(h2 @ W2 + b2) @ W1 + b1)
    np.testing.assert_allclose(dbn.layer_activations(X, n_layers=2)[-1], h2, atol=1e-5)
    np.testing.assert_allclose(dbn.reconstruct(X, n_layers=2), back, atol=1e-5)


def test_transform_and_layer_activations(dbn, X):
    activations = dbn.layer_activations(X)
    assert [a.shape for a in activations] == [(400, 32), (400, 16), (400, 8)]
    np.testing.assert_array_equal(dbn.transform(X), activations[-1])
    assert dbn.inverse_transform(activations[-1]).shape == X.shape


@pytest.mark.parametrize("n_layers", [1, 2, 3, None])
def test_reconstruct_through_n_layers_has_the_input_shape(dbn, X, n_layers):
    assert dbn.reconstruct(X, n_layers=n_layers).shape == X.shape


@pytest.mark.parametrize("n_layers", [0, 4])
def test_reconstruct_rejects_a_wrong_number_of_layers(dbn, X, n_layers):
    with pytest.raises(ValueError, match="n_layers must be an integer from 1 to 3"):
        dbn.reconstruct(X, n_layers=n_layers)


def test_reconstruction_through_one_layer_beats_three(dbn, X):
    errors = [np.mean((dbn.reconstruct(X, n) - X) ** 2) for n in (1, 3)]
    assert errors[0] < errors[1]


def test_history_is_per_layer(X):
    dbn = DBN([64, 16, 8, 4], **{**FAST, "n_iter": [3, 2, 1]}).fit(X)
    assert [len(h["epoch"]) for h in dbn.history_] == [3, 2, 1]
    assert dbn.history_[0] is dbn.rbms_[0].history_


def test_callback_gets_the_dbn_layer_and_epoch(X):
    calls = []

    def callback(dbn, layer, epoch):
        calls.append((layer, epoch, len(dbn.rbms_)))
        assert dbn.transform(X[:5]).shape == (5, dbn.rbms_[-1].n_components)

    DBN([64, 16, 8], **{**FAST, "n_iter": [2, 3]}).fit(X, callback=callback)
    assert calls == [(0, 0, 1), (0, 1, 1), (1, 0, 2), (1, 1, 2), (1, 2, 2)]


def test_single_values_apply_to_every_layer(X):
    dbn = DBN([64, 16, 8], learning_rate=0.05, momentum=(0.5, 0.9), weight_decay=1e-4,
              **FAST).fit(X)
    for rbm in dbn.rbms_:
        assert (rbm.learning_rate, rbm.momentum, rbm.weight_decay) == (0.05, (0.5, 0.9), 1e-4)
        assert rbm.history_["momentum"] == [0.5, 0.9]


def test_lists_give_one_value_per_layer(X):
    dbn = DBN([64, 16, 8], hidden=["bernoulli", "gaussian"], learning_rate=[0.1, 0.002],
              momentum=[0.5, (0.5, 0.9)], weight_decay=[0.0, 1e-4],
              **{**FAST, "n_iter": [1, 2]}).fit(X)
    first, second = dbn.rbms_
    assert (first.visible, first.hidden, second.visible, second.hidden) == (
        "bernoulli", "bernoulli", "bernoulli", "gaussian")
    assert (first.learning_rate, second.learning_rate) == (0.1, 0.002)
    assert (first.momentum, second.momentum) == (0.5, (0.5, 0.9))
    assert (first.weight_decay, second.weight_decay) == (0.0, 1e-4)
    assert (first.n_iter, second.n_iter) == (1, 2)


def test_auto_learning_rate_is_small_for_gaussian_units(X):
    dbn = DBN([64, 16, 8], hidden=["bernoulli", "gaussian"], **FAST).fit(X)
    assert [r.learning_rate for r in dbn.rbms_] == [0.1, 0.001]


@pytest.mark.parametrize(
    "setting, value, match",
    [
        ("learning_rate", [0.1, 0.1], "learning_rate has 2 entries but the network has 3 RBMs"),
        ("n_iter", [1, 2, 3, 4], "n_iter has 4 entries but the network has 3 RBMs"),
        ("momentum", [0.5, 0.9], r"for a momentum ramp pass a tuple, e.g. \(0.5, 0.9\)"),
        ("hidden", ["bernoulli"], "hidden has 1 entries but the network has 3 RBMs"),
    ],
)
def test_a_per_layer_list_of_the_wrong_length_says_how_to_fix_it(X, setting, value, match):
    with pytest.raises(ValueError, match=match):
        DBN([64, 32, 16, 8], **{**FAST, setting: value}).fit(X)


def test_first_layer_must_match_the_data(X):
    msg = r"layers\[0\]=784 but X has 64 features; set layers\[0\] to 64"
    with pytest.raises(ValueError, match=msg):
        DBN([784, 500], **FAST).fit(X)


def test_none_first_layer_takes_the_data_width(X):
    assert DBN((None, 8), **FAST).fit(X).layer_sizes_ == [64, 8]


def test_bernoulli_input_outside_unit_range_is_refused(X):
    with pytest.raises(ValueError, match=r"need values in \[0, 1\]"):
        DBN([64, 8], **FAST).fit(X * 16)


def test_divergence_names_the_setting_to_lower(X):
    with pytest.raises(FloatingPointError, match="lower learning_rate"):
        DBN([64, 16, 8], hidden=["bernoulli", "gaussian"], learning_rate=[0.1, 1e6],
            momentum=0.9, **FAST).fit(X)


def test_constructor_arguments_are_kept_unchanged(X):
    layers, rates = [64, 16, 8], [0.1, 0.05]
    dbn = DBN(layers, learning_rate=rates, **FAST)
    dbn.fit(X)
    assert dbn.layers is layers and dbn.layers == [64, 16, 8]
    assert dbn.learning_rate is rates
    assert clone(dbn).get_params() == dbn.get_params()


def test_same_seed_same_model_and_no_global_torch_state(X):
    rng_state, dtype = torch.random.get_rng_state(), torch.get_default_dtype()
    a = DBN([64, 16, 8], **FAST).fit(X)
    b = DBN([64, 16, 8], **FAST).fit(X)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    assert torch.get_default_dtype() == dtype
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_sample_runs_gibbs_on_top_then_goes_down(dbn):
    samples = dbn.sample(n_samples=5, burn_in=3)
    assert samples.shape == (5, 64)
    assert samples.min() >= 0 and samples.max() <= 1
    last, chain = dbn.sample(n_samples=5, burn_in=3, return_chain=True)
    assert last.shape == (5, 64) and chain.shape == (3, 5, 64)
    np.testing.assert_allclose(chain[-1], last, atol=1e-6)


def test_save_load_round_trip_is_exact(dbn, X, tmp_path):
    path = dbn.save(tmp_path / "dbn.safetensors")
    loaded = load(path)
    assert isinstance(loaded, DBN)
    assert loaded.get_params() == dbn.get_params()
    np.testing.assert_array_equal(loaded.transform(X), dbn.transform(X))
    np.testing.assert_array_equal(loaded.reconstruct(X, 2), dbn.reconstruct(X, 2))
    assert loaded.history_ == dbn.history_
