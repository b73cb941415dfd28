"""DBNClassifier against MLPClassifier (attributes, predict_log_proba, partial_fit, warm_start), and
DBN / DeepAutoencoder against scikit-learn's transformer conventions (feature names, pandas)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from deepbelief import DBN, DBNClassifier, DeepAutoencoder, load

MLP_ATTRIBUTES = ["classes_", "coefs_", "intercepts_", "loss_", "loss_curve_", "best_loss_",
                  "validation_scores_", "best_validation_score_", "t_", "n_iter_", "n_layers_",
                  "n_outputs_", "out_activation_", "n_features_in_"]
FAST = dict(pretrain_n_iter=2, batch_size=50, random_state=0, device="cpu", n_jobs=1)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


def mlp(X, y, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier((16,), batch_size=50, random_state=0, **settings).fit(X, y)


def test_fitted_attributes_are_mlp_classifiers(digits):
    X, y = digits
    ours = DBNClassifier((16,), n_iter=4, **FAST).fit(X, y)
    theirs = mlp(X, y, max_iter=4)
    for name in MLP_ATTRIBUTES:
        assert hasattr(theirs, name) and hasattr(ours, name), name
    assert ours.n_layers_ == theirs.n_layers_ == 3 and ours.out_activation_ == theirs.out_activation_ == "softmax"
    assert ours.n_outputs_ == theirs.n_outputs_ == 10
    assert [W.shape for W in ours.coefs_] == [W.shape for W in theirs.coefs_] == [(64, 16), (16, 10)]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert len(ours.loss_curve_) == ours.n_iter_ == 4 and ours.loss_ == ours.loss_curve_[-1]
    assert ours.best_loss_ == min(ours.loss_curve_)
    assert ours.validation_scores_ is None is theirs.validation_scores_
    assert ours.t_ == 4 * len(X) and theirs.t_ == theirs.n_iter_ * len(X)
    np.testing.assert_allclose(ours.predict_log_proba(X), np.log(ours.predict_proba(X)), rtol=1e-6)


def test_validation_scores_are_accuracies_as_with_early_stopping(digits):
    X, y = digits
    ours = DBNClassifier((16,), n_iter=4, validation_fraction=0.2, output_n_iter=2, **FAST).fit(X, y)
    theirs = mlp(X, y, max_iter=4, early_stopping=True, validation_fraction=0.2)
    assert ours.best_loss_ is None is theirs.best_loss_
    network = [e for e, phase in zip(ours.history_["validation_error"], ours.history_["phase"]) if phase == "network"]
    assert ours.validation_scores_ == pytest.approx([1 - e for e in network])
    assert len(ours.validation_scores_) == len(ours.loss_curve_) == ours.n_iter_  # the output phase is left out
    assert ours.best_validation_score_ == max(ours.validation_scores_)
    assert 0 < theirs.best_validation_score_ <= 1 and 0 < ours.best_validation_score_ <= 1
    assert ours.t_ == 4 * 320  # the 80% that trains


def test_partial_fit_needs_classes_first_then_runs_one_epoch_a_call(digits):
    X, y = digits
    with pytest.raises(ValueError, match="classes"):
        DBNClassifier((16,), **FAST).partial_fit(X, y)
    with pytest.raises(ValueError, match="classes"):
        MLPClassifier((16,)).partial_fit(X, y)
    clf = DBNClassifier((16,), learning_rate=0.01, **FAST)
    first = y < 5  # the first piece holds half of the labels only
    assert clf.partial_fit(X[first], y[first], classes=np.arange(10)) is clf
    assert list(clf.classes_) == list(range(10)) and clf.n_iter_ == 1 and clf.t_ == first.sum()
    clf.partial_fit(X[~first], y[~first])
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 3 and clf.t_ == first.sum() + (~first).sum() + len(X)
    # Adam's state goes on across calls: its step count is every update so far.
    n_updates = sum(-(-n // 50) for n in (first.sum(), (~first).sum(), len(X)))
    assert int(clf._optimizer_state["state"][0]["step"]) == n_updates
    clf.partial_fit(X, y)  # the same data again: a lower loss
    assert len(clf.loss_curve_) == 4 and clf.loss_curve_[3] < clf.loss_curve_[2]
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X[:5], np.full(5, 11))
    with pytest.raises(ValueError, match="differ"):
        clf.partial_fit(X, y, classes=np.arange(3))


def test_warm_start_goes_on_from_the_fitted_weights(digits, tmp_path):
    X, y = digits
    clf = DBNClassifier((16,), n_iter=2, **FAST).fit(X, y)
    dbn, before = clf.dbn_, [W.copy() for W in clf.coefs_]
    # Other data and a step of almost nothing: a warm start stays where it was (a cold fit
    # would pretrain anew on this data), no pretraining runs, and the counts go on.
    clf.set_params(warm_start=True, n_iter=3, learning_rate=1e-12).fit(X[::-1][:200], y[::-1][:200])
    assert clf.dbn_ is dbn and clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    for W, W0 in zip(clf.coefs_, before):
        np.testing.assert_allclose(W, W0, atol=1e-6)
    again = load(clf.save(tmp_path / "clf.safetensors"))
    assert again.t_ == clf.t_ and again.loss_curve_ == clf.loss_curve_ and again.warm_start


def test_dbn_and_autoencoder_name_their_features_and_output_pandas(digits):
    pd = pytest.importorskip("pandas")
    X, _ = digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    dbn = DBN([64, 16, 8], n_iter=2, random_state=0, device="cpu").set_output(transform="pandas").fit(frame)
    out = dbn.transform(frame)
    assert list(out.columns) == [f"dbn{i}" for i in range(8)] and out.shape == (400, 8)
    ae = DeepAutoencoder([64, 16, 2], pretrain_n_iter=2, n_iter=2, random_state=0, device="cpu")
    codes = ae.set_output(transform="pandas").fit(frame).transform(frame)
    assert list(codes.columns) == ["deepautoencoder0", "deepautoencoder1"]
    np.testing.assert_allclose(codes.to_numpy(), ae.set_output(transform="default").transform(frame))
    assert list(ae.get_feature_names_out()) == ["deepautoencoder0", "deepautoencoder1"]


@pytest.mark.parametrize("dtype_in, dtype_out", [(np.float32, np.float32), (np.float64, np.float64), (int, np.float64)])
def test_transformers_keep_float_dtypes_and_take_ints_as_float64(dtype_in, dtype_out):
    X = (load_digits().data[:100] / 16 > 0.5).astype(dtype_in)
    assert DBN([64, 8], n_iter=1, random_state=0).fit_transform(X).dtype == dtype_out
    ae = DeepAutoencoder([64, 8, 2], pretrain_n_iter=1, n_iter=1, random_state=0).fit(X)
    assert ae.transform(X).dtype == dtype_out
