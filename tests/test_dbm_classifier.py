"""DBMClassifier: the net the DBM initialises, accuracy, a DBM passed to fit, model files."""

import copy

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split

from deepbelief import DBM, DBMClassifier, load
from deepbelief.datasets import load_digits

FAST = dict(pretrain_n_iter=3, dbm_n_iter=3, n_iter=3, batch_size=20, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return train_test_split(d.X, d.y, test_size=0.3, random_state=0, stratify=d.y)


@pytest.fixture(scope="module")
def dbm(digits):
    X_train = digits[0]
    return DBM((None, 48, 32), pretrain_n_iter=20, n_iter=20, learning_rate=0.01, batch_size=20,
               random_state=0, device="cpu").fit(X_train)


def test_the_net_starts_as_the_dbm_and_its_first_layer_is_a_mean_field_step(digits, dbm):
    X_train, _, y_train, _ = digits
    clf = DBMClassifier((48, 32), n_iter=0, output_n_iter=1, random_state=0, device="cpu")
    clf.fit(X_train, y_train, dbm=dbm)
    assert clf.dbm_ is dbm
    W, b = dbm.weights_, dbm.biases_
    assert [c.shape for c in clf.coefs_] == [(64 + 32, 48), (48, 32), (32, 10)]
    np.testing.assert_array_equal(clf.coefs_[0], np.vstack([W[0].T, W[1]]))
    np.testing.assert_array_equal(clf.coefs_[1], W[1].T)
    np.testing.assert_array_equal(clf.intercepts_[0], b[1])
    # Input [x, q(h2 | x)] through [W1^T; W2] is the mean-field update of h1: at the fixed
    # point the first hidden layer reproduces q(h1 | x).
    converged = copy.deepcopy(dbm).set_params(n_mean_field=200)
    q1, q2 = converged.layer_activations(X_train)
    z = torch.as_tensor(np.hstack([X_train, q2]), dtype=torch.float32)
    weights = [torch.as_tensor(c) for c in clf.coefs_]
    biases = [torch.as_tensor(c) for c in clf.intercepts_]
    h1 = torch.sigmoid(z @ weights[0] + biases[0]).numpy()
    assert np.abs(h1 - q1).max() < 1e-4
    top = clf._hidden(z, weights, biases, 64).numpy()
    np.testing.assert_allclose(top, torch.sigmoid(torch.as_tensor(h1) @ weights[1] + biases[1]),
                               atol=1e-6)


def test_fine_tuning_improves_on_the_dbm_features(digits, dbm):
    X_train, X_test, y_train, y_test = digits
    common = dict(solver="sgd", learning_rate=0.1, batch_size=20, random_state=0, device="cpu")
    features_only = DBMClassifier((48, 32), n_iter=0, output_n_iter=40, **common)
    baseline = features_only.fit(X_train, y_train, dbm=dbm).score(X_test, y_test)
    clf = DBMClassifier((48, 32), n_iter=40, **common).fit(X_train, y_train, dbm=dbm)
    accuracy = clf.score(X_test, y_test)
    assert accuracy > max(baseline, 0.96), (accuracy, baseline)
    assert clf.history_["loss"][-1] < clf.history_["loss"][0]


def test_trains_its_own_dbm_or_none(digits):
    X_train, _, y_train, _ = digits
    clf = DBMClassifier((16, 8, 8), validation_fraction=0.2, **FAST).fit(X_train[:300], y_train[:300])
    assert clf.dbm_.layer_sizes_ == [64, 16, 8, 8] and clf.dbm_.n_iter_ == 3
    assert [c.shape for c in clf.coefs_] == [(64 + 8, 16), (16 + 8, 8), (8, 8), (8, 10)]
    assert len(clf.history_["validation_error"]) == 3
    plain = DBMClassifier((16, 8), pretrain=False, **FAST).fit(X_train[:300], y_train[:300])
    assert plain.dbm_ is None and [c.shape for c in plain.coefs_] == [(64, 16), (16, 8), (8, 10)]
    assert plain.predict(X_train[:5]).shape == (5,)


def test_predict_and_predict_log_proba_come_from_predict_proba_as_in_mlp_classifier(digits, dbm):
    X_train, X_test, y_train, _ = digits
    labels = np.array(list("abcdefghij"))[y_train]  # string classes, as MLPClassifier takes
    clf = DBMClassifier((48, 32), n_iter=2, random_state=0, device="cpu").fit(X_train, labels, dbm=dbm)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10) and np.allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(clf.predict_log_proba(X_test), np.log(proba))
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(1)])
    assert set(clf.predict(X_test)) <= set("abcdefghij")


def test_bad_input_and_a_mismatched_dbm_get_clear_errors(digits, dbm):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="at least two hidden layers"):
        DBMClassifier((16,), **FAST).fit(X_train, y_train)
    with pytest.raises(ValueError, match=r"layers \[64, 48, 16\]"):
        DBMClassifier((48, 16), **FAST).fit(X_train, y_train, dbm=dbm)
    with pytest.raises(TypeError, match="fitted DBM"):
        DBMClassifier((48, 32), **FAST).fit(X_train, y_train, dbm="dbm.safetensors")
    with pytest.raises(ValueError, match="only one class"):
        DBMClassifier((16, 8), **FAST).fit(X_train[:20], np.zeros(20))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DBMClassifier((16, 8), **FAST).fit(X_train * 16, y_train)


def test_model_file_keeps_the_dbm_and_predicts_the_same(digits, dbm, tmp_path):
    X_train, X_test, y_train, _ = digits
    clf = DBMClassifier((48, 32), n_iter=2, random_state=0, device="cpu").fit(
        X_train, y_train.astype(str), dbm=dbm)
    again = load(clf.save(tmp_path / "clf.safetensors"))
    np.testing.assert_array_equal(again.predict_proba(X_test), clf.predict_proba(X_test))
    assert again.predict(X_test[:3]).dtype == clf.classes_.dtype
    np.testing.assert_array_equal(again.dbm_.weights_[1], dbm.weights_[1])
    plain = DBMClassifier((8, 8), pretrain=False, **FAST).fit(X_train, y_train)
    assert load(plain.save(tmp_path / "plain.safetensors")).dbm_ is None
