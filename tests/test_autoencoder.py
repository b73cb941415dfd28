"""DeepAutoencoder: unrolling, what fine-tuning buys, 2-D codes against PCA, the contract, files."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from deepbelief import load
from deepbelief.datasets import load_digits
from deepbelief.models.autoencoder import DeepAutoencoder

FAST = dict(pretrain_n_iter=2, n_iter=2, batch_size=20, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return train_test_split(d.X, d.y, test_size=0.3, random_state=0, stratify=d.y)


@pytest.fixture(scope="module")
def code_2d(digits):
    """A 64-32-16-2 autoencoder, pretrained and fine-tuned, shared by the slower tests."""
    X_train = digits[0]
    return DeepAutoencoder([64, 32, 16, 2], pretrain_n_iter=10, n_iter=30, learning_rate=0.003,
                           batch_size=20, random_state=0, device="cpu").fit(X_train)


def squared_error(X, X_rec):
    return float(np.mean(np.sum((X - X_rec) ** 2, axis=1)))


@parametrize_with_checks(
    [DeepAutoencoder((None, 4, 2), visible="gaussian", **{**FAST, "batch_size": 10})]
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_fine_tuning_beats_the_unrolled_pretrained_stack(code_2d, digits):
    X_test = digits[1]
    pretrained = squared_error(X_test, code_2d.dbn_.reconstruct(X_test))
    assert code_2d.reconstruction_error(X_test) < 0.8 * pretrained


def test_2d_codes_separate_digits_better_than_pca(code_2d, digits):
    X_train, X_test, y_train, y_test = digits

    def knn_accuracy(Z_train, Z_test):
        return KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)

    pca = PCA(2).fit(X_train)
    pca_accuracy = knn_accuracy(pca.transform(X_train), pca.transform(X_test))
    code_accuracy = knn_accuracy(code_2d.transform(X_train), code_2d.transform(X_test))
    assert code_accuracy > pca_accuracy + 0.03


def test_before_fine_tuning_it_reconstructs_like_the_dbn(digits):
    X = digits[0][:200]
    ae = DeepAutoencoder([64, 16, 4], **{**FAST, "n_iter": 0}).fit(X)
    np.testing.assert_allclose(ae.reconstruct(X), ae.dbn_.reconstruct(X), atol=1e-5)
    np.testing.assert_allclose(ae.transform(X), ae.dbn_.transform(X), atol=1e-5)
    assert ae.dbn_.rbms_[-1].hidden == "gaussian"
    assert [r.learning_rate for r in ae.dbn_.rbms_] == [0.1, 0.001]


def test_shapes_score_and_error(code_2d, digits):
    X = digits[1]
    codes = code_2d.transform(X)
    assert codes.shape == (len(X), 2)
    assert code_2d.inverse_transform(codes).shape == X.shape
    np.testing.assert_allclose(code_2d.inverse_transform(codes), code_2d.reconstruct(X), atol=1e-5)
    error = code_2d.reconstruction_error(X)
    assert error == pytest.approx(squared_error(X, code_2d.reconstruct(X)), rel=1e-5)
    assert code_2d.score(X) == -error
    assert [W.shape for W in code_2d.coefs_] == [(64, 32), (32, 16), (16, 2), (2, 16), (16, 32),
                                                 (32, 64)]


def test_history_and_validation(digits):
    X = digits[0][:300]
    ae = DeepAutoencoder([64, 16, 4], validation_fraction=0.2, **{**FAST, "n_iter": 3}).fit(X)
    h = ae.history_
    assert len(h["epoch"]) == len(h["validation_error"]) == len(h["reconstruction_error"]) == 3


def test_gaussian_inputs_and_logistic_codes(digits):
    X = digits[0][:300]
    X = (X - X.mean(0)) / (X.std(0) + 1e-3)
    ae = DeepAutoencoder([64, 16, 4], visible="gaussian", code="bernoulli", **FAST).fit(X)
    codes = ae.transform(X)
    assert codes.min() >= 0 and codes.max() <= 1
    assert np.isfinite(ae.reconstruction_error(X))


def test_without_pretraining_there_is_no_dbn(digits):
    ae = DeepAutoencoder([64, 16, 4], pretrain=False, **FAST).fit(digits[0][:200])
    assert ae.dbn_ is None and ae.transform(digits[0][:5]).shape == (5, 4)


def test_save_load_round_trip_is_exact(code_2d, digits, tmp_path):
    X = digits[1]
    loaded = load(code_2d.save(tmp_path / "ae.safetensors"))
    assert isinstance(loaded, DeepAutoencoder)
    assert loaded.get_params() == code_2d.get_params()
    np.testing.assert_array_equal(loaded.transform(X), code_2d.transform(X))
    np.testing.assert_array_equal(loaded.reconstruct(X), code_2d.reconstruct(X))
    np.testing.assert_array_equal(loaded.dbn_.reconstruct(X), code_2d.dbn_.reconstruct(X))


def test_clone_keeps_the_layer_list():
    ae = DeepAutoencoder([64, 24, 3], pretrain_learning_rate=[0.05, 0.002])
    copy = clone(ae)
    assert copy.layers == [64, 24, 3] and copy.pretrain_learning_rate == [0.05, 0.002]


def test_first_layer_must_match_the_data(digits):
    msg = r"layers\[0\]=784 but X has 64 features; set layers\[0\] to 64"
    with pytest.raises(ValueError, match=msg):
        DeepAutoencoder([784, 1000, 30], **FAST).fit(digits[0])


def test_codes_of_the_wrong_width_are_refused(code_2d):
    with pytest.raises(ValueError, match="codes have 3 columns but the code layer has 2 units"):
        code_2d.inverse_transform(np.zeros((4, 3)))


def test_divergence_names_the_setting_to_lower(digits):
    X = digits[0][:200] * 50  # wildly unscaled Gaussian inputs
    with pytest.raises(FloatingPointError, match="lower learning_rate"):
        DeepAutoencoder([64, 16, 4], visible="gaussian", pretrain=False, solver="sgd",
                        learning_rate=1.0, **FAST).fit(X)


def test_pretraining_divergence_names_the_pretraining_setting(digits):
    with pytest.raises(FloatingPointError, match="pretraining failed: .* pretrain_learning_rate"):
        DeepAutoencoder([64, 16, 4], pretrain_learning_rate=[0.1, 1e6], pretrain_momentum=0.9,
                        **FAST).fit(digits[0][:200])


def test_callback_sees_pretraining_and_fine_tuning(digits):
    X = digits[0][:200]
    calls, errors = [], []

    def callback(ae, stage, epoch):
        calls.append((stage, epoch))
        if stage == "network":
            errors.append(ae.reconstruction_error(X))

    ae = DeepAutoencoder([64, 16, 4], **{**FAST, "n_iter": 3}).fit(X, callback=callback)
    assert calls == [(0, 0), (0, 1), (1, 0), (1, 1), ("network", 0), ("network", 1),
                     ("network", 2)]
    assert errors[-1] == ae.reconstruction_error(X)
