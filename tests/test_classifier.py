"""DBNClassifier: accuracy against a baseline, the scikit-learn contract, labels, model files."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from deepbelief import load
from deepbelief._core import backprop as ft
from deepbelief.datasets import load_digits
from deepbelief.models.classifier import DBNClassifier

# The mechanics tests use the SGD recipe they were written for; the defaults have their own tests.
FAST = dict(pretrain_n_iter=2, n_iter=3, solver="sgd", learning_rate=0.1, batch_size=20, random_state=0,
            device="cpu")


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return train_test_split(d.X, d.y, test_size=0.3, random_state=0, stratify=d.y)


@pytest.fixture(scope="module")
def small(digits):
    X_train, _, y_train, _ = digits
    return X_train[:300], y_train[:300]


@pytest.fixture(scope="module")
def fitted(small):
    X, y = small
    return DBNClassifier((32, 16), output_n_iter=2, **FAST).fit(X, y)


@parametrize_with_checks(
    [DBNClassifier((8,), visible="gaussian", pretrain_n_iter=1, n_iter=10, batch_size=10,
                   learning_rate=0.3, random_state=0, device="cpu")]
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_pretrained_and_fine_tuned_beats_logistic_regression(digits):
    X_train, X_test, y_train, y_test = digits
    baseline = LogisticRegression(max_iter=2000).fit(X_train, y_train).score(X_test, y_test)
    clf = DBNClassifier((256,), pretrain_n_iter=20, n_iter=50, solver="sgd", learning_rate=0.1,
                        learning_rate_decay=0.97,
                        dropout=0.5, batch_size=20, random_state=0, device="cpu")
    accuracy = clf.fit(X_train, y_train).score(X_test, y_test)
    assert accuracy >= 0.975
    assert accuracy > baseline


def test_history_records_both_phases(fitted):
    h = fitted.history_
    assert h["phase"] == ["output"] * 2 + ["network"] * 3
    assert h["epoch"] == [1, 2, 3, 4, 5]
    assert set(h) == {"epoch", "phase", "loss", "train_error", "learning_rate", "time"}
    assert h["loss"][-1] < h["loss"][0]
    assert fitted.n_iter_ == 3


def test_fine_tuning_starts_from_the_pretrained_stack(fitted):
    assert [W.shape for W in fitted.coefs_] == [(64, 32), (32, 16), (16, 10)]
    assert [r.components_.shape for r in fitted.dbn_.rbms_] == [(32, 64), (16, 32)]
    assert not np.array_equal(fitted.coefs_[0], fitted.dbn_.rbms_[0].components_.T)


def test_epochs_zero_trains_only_the_softmax_layer(small):
    X, y = small
    clf = DBNClassifier((16,), **{**FAST, "n_iter": 0}, output_n_iter=2).fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], clf.dbn_.rbms_[0].components_.T)
    assert clf.n_iter_ == 0 and clf.history_["phase"] == ["output", "output"]


def test_without_pretraining_there_is_no_dbn(small):
    X, y = small
    clf = DBNClassifier((16,), pretrain=False, **FAST).fit(X, y)
    assert clf.dbn_ is None and clf.score(X, y) > 0.5


def test_random_initialisation_uses_glorots_sigmoid_bound():
    W, b = ft.glorot(np.random.RandomState(0), 300, 100, logistic=True)
    bound = 4 * np.sqrt(6 / 400)  # Glorot & Bengio 2010 for logistic units
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
    assert W.std() == pytest.approx(bound / np.sqrt(3), rel=0.02) and not b.any()
    W_soft, _ = ft.glorot(np.random.RandomState(0), 300, 100, logistic=False)
    assert np.abs(W_soft).max() <= np.sqrt(6 / 400)


def test_adam_weight_decay_is_decoupled():
    # With a zero data gradient Adam's own step is 0, so only the decay moves the weights:
    # exactly W * (1 - lr * decay), and the biases stay put. (L2 inside Adam would instead
    # move every weight by about lr, whatever its size.)
    W = torch.full((3, 2), 0.5, requires_grad=True)
    b = torch.full((2,), 0.5, requires_grad=True)
    settings = ft.Settings(solver="adam", learning_rate=0.01, weight_decay=0.1)
    optimizer = ft.make_optimizer(settings, [W], [b])
    (0.0 * (W.sum() + b.sum())).backward()
    optimizer.step()
    np.testing.assert_allclose(W.detach().numpy(), 0.5 * (1 - 0.01 * 0.1), rtol=1e-6)
    np.testing.assert_array_equal(b.detach().numpy(), 0.5)


def test_deep_sigmoid_net_learns_from_random_weights(digits):
    # Three sigmoid layers from random weights, plain SGD: 0.65 test accuracy after 20 epochs.
    # scikit-learn's 7x smaller logistic bound left the same net at chance (0.10).
    X_train, X_test, y_train, y_test = digits
    clf = DBNClassifier((64, 64, 64), pretrain=False, n_iter=20, solver="sgd", learning_rate=0.1,
                        batch_size=20, random_state=0, device="cpu").fit(X_train / 16, y_train)
    assert clf.score(X_test / 16, y_test) > 0.5


def test_validation_and_early_stopping(small):
    X, y = small
    clf = DBNClassifier((16,), validation_fraction=0.2, n_iter_no_change=2,
                        **{**FAST, "n_iter": 30, "learning_rate": 2.0}).fit(X, y)
    h = clf.history_
    assert len(h["validation_error"]) == len(h["epoch"]) == clf.n_iter_
    assert clf.n_iter_ < 30  # stopped early


def test_dropout_changes_training(small):
    X, y = small
    plain = DBNClassifier((16,), **FAST).fit(X, y)
    dropped = DBNClassifier((16,), dropout=0.5, input_dropout=0.2, **FAST).fit(X, y)
    assert not np.array_equal(plain.coefs_[0], dropped.coefs_[0])


def test_string_labels(small):
    X, y = small
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    clf = DBNClassifier((16,), **FAST).fit(X, names[y])
    assert set(clf.classes_) == set(names)
    assert clf.predict(X[:5]).dtype.kind == "U"
    assert clf.predict_proba(X).shape == (len(X), 10)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, rtol=1e-6)


def test_same_seed_same_model_and_no_global_torch_state(small):
    X, y = small
    rng_state, dtype = torch.random.get_rng_state(), torch.get_default_dtype()
    a = DBNClassifier((16,), dropout=0.5, **FAST).fit(X, y)
    b = DBNClassifier((16,), dropout=0.5, **FAST).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    assert torch.get_default_dtype() == dtype
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_clone_and_grid_search_keep_the_layer_list(small):
    X, y = small
    clf = DBNClassifier([24, 12], pretrain_momentum=(0.5, 0.9),
                        **{**FAST, "pretrain_n_iter": [2, 1]})
    assert clone(clf).get_params() == clf.get_params()
    grid = GridSearchCV(clf, {"hidden_layer_sizes": [[24, 12], [16, 8]]}, cv=2).fit(X, y)
    assert grid.best_estimator_.hidden_layer_sizes in ([24, 12], [16, 8])
    assert grid.best_estimator_.pretrain_n_iter == [2, 1]
    assert [W.shape[1] for W in grid.best_estimator_.coefs_] == [
        *grid.best_estimator_.hidden_layer_sizes, 10]


@pytest.mark.parametrize("labels", ["ints", "strings"])
def test_save_load_round_trip_is_exact(small, tmp_path, labels, fitted):
    X, y = small
    clf = fitted if labels == "ints" else DBNClassifier((16,), **FAST).fit(X, np.array(
        ["a", "bb", "ccc", "d", "e", "f", "g", "h", "i", "j"])[y])
    loaded = load(clf.save(tmp_path / "clf.safetensors"))
    assert isinstance(loaded, DBNClassifier)
    assert loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.dbn_.transform(X), clf.dbn_.transform(X))
    assert loaded.history_ == clf.history_


def test_labels_of_the_wrong_length(small):
    X, y = small
    with pytest.raises(ValueError, match="y has 299 labels but X has 300 rows; pass one label"):
        DBNClassifier((8,), **FAST).fit(X, y[:-1])


def test_a_single_class_is_refused(small):
    X, _ = small
    with pytest.raises(ValueError, match="only one class .* pass labels from two or more"):
        DBNClassifier((8,), **FAST).fit(X, np.zeros(len(X)))


def test_inputs_outside_unit_range_are_refused(small):
    X, y = small
    with pytest.raises(ValueError, match=r"need values in \[0, 1\].*visible='gaussian'"):
        DBNClassifier((8,), **FAST).fit(X * 16, y)


def test_a_nolearn_style_layer_list_warns(small):
    X, y = small
    with pytest.warns(UserWarning, match=r"Use hidden_layer_sizes=\(20,\)"):
        DBNClassifier([64, 20, 10], **FAST).fit(X, y)


def test_a_wrong_length_per_layer_list_names_the_parameter(small):
    X, y = small
    with pytest.raises(ValueError, match="pretrain_learning_rate has 3 entries but the network "
                                         "has 2 RBMs"):
        DBNClassifier((16, 8), pretrain_learning_rate=[0.1, 0.1, 0.1], **FAST).fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_divergence_names_the_setting_to_lower(small, solver):
    X, y = small
    msg = r"diverged in epoch 1 .* lower learning_rate \(now 1e\+38\)"
    with pytest.raises(FloatingPointError, match=msg):
        DBNClassifier((8,), pretrain=False, **{**FAST, "solver": solver, "learning_rate": 1e38}).fit(X, y)


def test_callback_sees_every_stage_and_epoch(small):
    X, y = small
    calls, accuracies = [], []

    def callback(clf, stage, epoch):
        calls.append((stage, epoch))
        if isinstance(stage, str):
            accuracies.append(clf.score(X, y))
        else:
            assert clf.dbn_.rbms_[stage].n_iter_ == epoch + 1

    clf = DBNClassifier((16, 8), output_n_iter=1, **FAST).fit(X, y, callback=callback)
    assert calls == [(0, 0), (0, 1), (1, 0), (1, 1), ("output", 0),
                     ("network", 0), ("network", 1), ("network", 2)]
    assert accuracies[-1] == clf.score(X, y)
