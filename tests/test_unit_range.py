"""Bernoulli visible units: training data must lie in [0, 1]; new data outside it is clipped."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepbelief import DBN, RBM, DBNClassifier, DeepAutoencoder

X, y = load_digits(return_X_y=True)
X = (X / 16.0)[:300]
y = y[:300]
FAST = dict(batch_size=50, random_state=0, device="cpu")
MODELS = {
    "rbm": lambda: RBM(16, n_iter=2, **FAST).fit(X),
    "dbn": lambda: DBN([64, 16, 8], n_iter=2, **FAST).fit(X),
    "classifier": lambda: DBNClassifier((16,), pretrain_n_iter=1, n_iter=2, **FAST).fit(X, y),
    "autoencoder": lambda: DeepAutoencoder([64, 16, 4], pretrain_n_iter=1, n_iter=2, **FAST).fit(X),
}
OUTPUTS = {
    "rbm": ["transform", "reconstruct", "free_energy", "score_samples"],
    "dbn": ["transform", "reconstruct"],
    "classifier": ["predict_proba", "predict"],
    "autoencoder": ["transform", "reconstruct"],
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request):
    return request.param, MODELS[request.param]()


def test_values_outside_0_1_at_prediction_are_clipped(fitted):
    kind, model = fitted
    rng = np.random.RandomState(0)
    outside = X[:40] + rng.uniform(-0.3, 0.3, X[:40].shape)  # finite, some below 0, some above 1
    outside[0, 0], outside[1, 5] = 241.0, -3.0  # a pixel MinMaxScaler passed through unscaled
    assert outside.min() < 0 and outside.max() > 1
    for method in OUTPUTS[kind]:
        got = getattr(model, method)(outside)
        expected = getattr(model, method)(np.clip(outside, 0, 1))
        np.testing.assert_array_equal(got, expected, err_msg=f"{kind}.{method}")
    if kind == "autoencoder":
        assert model.score(outside) == model.score(np.clip(outside, 0, 1))
    if kind == "classifier":
        assert 0 <= model.score(outside, y[:40]) <= 1


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_are_still_a_clear_error(fitted, bad):
    kind, model = fitted
    data = X[:5].copy()
    data[2, 3] = bad
    method = OUTPUTS[kind][0]
    with pytest.raises(ValueError, match="NaN|infinity"):
        getattr(model, method)(data)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_fit_still_refuses_unscaled_pixels(kind):
    raw = X * 255  # the 0-255 mistake
    estimator = {"rbm": RBM(8, n_iter=1, **FAST), "dbn": DBN([64, 8], n_iter=1, **FAST),
                 "classifier": DBNClassifier((8,), n_iter=1, **FAST),
                 "autoencoder": DeepAutoencoder([64, 8], n_iter=1, **FAST)}[kind]
    with pytest.raises(ValueError, match=r"Values above 1 in data.*divide 8-bit pixels by 255"):
        estimator.fit(raw, y) if kind == "classifier" else estimator.fit(raw)


def test_clipping_does_not_touch_the_callers_array():
    rbm = MODELS["rbm"]()
    data = X[:3] * 1.5
    before = data.copy()
    rbm.transform(data)
    np.testing.assert_array_equal(data, before)
