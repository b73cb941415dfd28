"""Training behaviour: PCD learns bars-and-stripes, schedules, reproducibility, bad input."""

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from deepbelief import RBM
from deepbelief._core.cd import momentum_schedule

ALL_9 = np.array(list(itertools.product([0, 1], repeat=9)), dtype=float)  # every 3x3 image


def bars_and_stripes(n=3):
    """The 2^n + 2^n - 2 = 14 distinct images of all-vertical or all-horizontal bars."""
    patterns = set()
    for bits in itertools.product([0, 1], repeat=n):
        row = np.array(bits)
        patterns.add(tuple(np.repeat(row[:, None], n, 1).ravel()))
        patterns.add(tuple(np.repeat(row[None, :], n, 0).ravel()))
    return np.array(sorted(patterns), dtype=float)


def kl_to_uniform_data(rbm, patterns):
    """Exact KL(data || model) in nats, with log Z summed over all 512 visible states."""
    fe = rbm.free_energy(ALL_9)
    log_p = -fe - logsumexp(-fe)
    index = (patterns @ (2 ** np.arange(9)[::-1])).astype(int)
    return float(np.mean(-np.log(len(patterns)) - log_p[index]))


def test_pcd_learns_bars_and_stripes():
    patterns = bars_and_stripes()
    assert len(patterns) == 14
    rbm = RBM(
        16, method="pcd", k=10, learning_rate=0.1, learning_rate_decay=0.998, n_iter=1500,
        batch_size=14, momentum=0.5, random_state=0, device="cpu",
    ).fit(np.tile(patterns, (4, 1)))
    untrained = RBM(16, n_iter=1, learning_rate=1e-9, random_state=0).fit(patterns)
    # An untrained RBM is close to uniform over 512 states: KL = log(512 / 14) = 3.6 nats.
    assert kl_to_uniform_data(untrained, patterns) > 3.5
    assert kl_to_uniform_data(rbm, patterns) < 0.35


def test_same_random_state_gives_same_model_on_cpu():
    X = np.random.RandomState(0).rand(120, 20)
    a = RBM(7, n_iter=3, random_state=42, device="cpu").fit(X)
    b = RBM(7, n_iter=3, random_state=42, device="cpu").fit(X)
    c = RBM(7, n_iter=3, random_state=43, device="cpu").fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.intercept_hidden_, b.intercept_hidden_)
    assert not np.array_equal(a.components_, c.components_)


def test_fit_and_partial_fit_return_self_and_count_epochs():
    X = np.random.RandomState(0).rand(50, 10)
    rbm = RBM(4, n_iter=3, random_state=0)
    assert rbm.fit(X) is rbm
    assert rbm.n_iter_ == 3 and rbm.history_["epoch"] == [1, 2, 3]
    assert rbm.partial_fit(X) is rbm
    assert rbm.n_iter_ == 4 and len(rbm.history_["reconstruction_error"]) == 4
    assert len(rbm.history_["batch_reconstruction_error"][0]) == 1  # 50 rows, batch 100


def test_reconstruction_error_falls_during_training():
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    rbm = RBM(64, n_iter=10, learning_rate=0.05, batch_size=20, random_state=0).fit(X)
    errors = rbm.history_["reconstruction_error"]
    assert errors[-1] < 0.75 * errors[0]
    assert len(rbm.history_["batch_reconstruction_error"][0]) == int(np.ceil(len(X) / 20))


def test_momentum_schedule_ramps_linearly():
    assert momentum_schedule(0.5, 3) == [0.5, 0.5, 0.5]
    np.testing.assert_allclose(momentum_schedule((0.5, 0.9), 5), [0.5, 0.6, 0.7, 0.8, 0.9])
    X = np.random.RandomState(0).rand(30, 5)
    rbm = RBM(3, n_iter=5, momentum=(0.5, 0.9), learning_rate_decay=0.5, random_state=0).fit(X)
    np.testing.assert_allclose(rbm.history_["momentum"], [0.5, 0.6, 0.7, 0.8, 0.9])
    np.testing.assert_allclose(rbm.history_["learning_rate"], [0.1 * 0.5**e for e in range(5)])


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_weight_decay_shrinks_weights(penalty):
    from sklearn.datasets import load_digits

    X = load_digits().data[:500] / 16.0
    plain = RBM(16, n_iter=10, batch_size=20, random_state=0).fit(X)
    decayed = RBM(16, n_iter=10, batch_size=20, weight_decay=0.05, penalty=penalty, random_state=0).fit(X)
    assert np.abs(decayed.components_).sum() < 0.8 * np.abs(plain.components_).sum()


def test_divergence_stops_with_a_message_naming_the_setting():
    X = np.random.RandomState(0).randn(200, 10) * 50
    rbm = RBM(8, visible="gaussian", hidden="gaussian", learning_rate=5.0, n_iter=50, random_state=0)
    with pytest.raises(FloatingPointError, match="lower learning_rate"):
        rbm.fit(X)


def test_a_diverging_partial_fit_leaves_the_fitted_weights_alone():
    X = np.random.RandomState(0).randn(200, 10)
    rbm = RBM(8, visible="gaussian", learning_rate=0.001, n_iter=2, random_state=0).fit(X)
    before = rbm.components_.copy()
    rbm.set_params(learning_rate=1e4, hidden="gaussian")
    with pytest.raises(FloatingPointError):
        rbm.partial_fit(X * 100)
    np.testing.assert_array_equal(rbm.components_, before)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((5, 4), 2.0), r"Values above 1.*values in \[2, 2\].*need values in \[0, 1\].*MinMaxScaler"),
        (np.array([[0.1, np.nan], [0.2, 0.3]]), "NaN"),
        (np.array([[0.1, np.inf], [0.2, 0.3]]), "infinity"),
        (np.zeros(5), "Expected 2D array"),
    ],
)
def test_bad_training_data_is_rejected_clearly(X, match):
    with pytest.raises(ValueError, match=match):
        RBM(3).fit(X)


def test_wrong_width_at_transform_is_rejected():
    rbm = RBM(3, n_iter=1).fit(np.random.rand(10, 6))
    with pytest.raises(ValueError, match="6 features"):
        rbm.transform(np.random.rand(4, 5))
    with pytest.raises(ValueError, match="n_components=3"):
        rbm.inverse_transform(np.random.rand(4, 5))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"momentum": (0.5, 1.5)}, "momentum"),
        ({"momentum": (0.1, 0.2, 0.3)}, "momentum"),
        ({"visible": "poisson"}, "visible"),
        ({"method": "cd2"}, "method"),
        ({"learning_rate": -1}, "learning_rate"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters_are_rejected_in_fit(params, match):
    rbm = RBM(3, **params)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        rbm.fit(np.random.rand(10, 4))


def test_gaussian_visible_units_accept_real_valued_data():
    X = np.random.RandomState(0).randn(100, 8)
    rbm = RBM(4, visible="gaussian", learning_rate=0.01, n_iter=3, random_state=0).fit(X)
    assert rbm.reconstruct(X).shape == X.shape
    assert not hasattr(rbm, "score_samples")  # pseudo-likelihood is for binary visibles


def test_sample_returns_probabilities_and_optional_chain():
    X = (np.random.RandomState(0).rand(60, 9) > 0.5).astype(float)
    rbm = RBM(5, n_iter=2, random_state=0).fit(X)
    samples, chain = rbm.sample(4, burn_in=7, return_chain=True)
    assert samples.shape == (4, 9) and chain.shape == (7, 4, 9)
    assert samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_allclose(chain[-1], samples, rtol=1e-6)


def test_verbose_prints_a_line_per_epoch(capsys):
    RBM(3, n_iter=2, verbose=2, random_state=0).fit(np.random.rand(20, 4))
    err = capsys.readouterr().err
    assert "epoch 1" in err and "epoch 2" in err
    RBM(3, n_iter=2, verbose=0, random_state=0).fit(np.random.rand(20, 4))
    assert capsys.readouterr().err == ""


def test_callback_sees_every_epoch():
    seen = []
    RBM(3, n_iter=4, random_state=0).fit(np.random.rand(20, 4), callback=lambda m, e: seen.append(e))
    assert seen == [0, 1, 2, 3]


def test_warm_start_resumes_an_interrupted_fit_exactly(tmp_path):
    from deepbelief import load

    X = np.random.RandomState(1).rand(90, 8)
    params = dict(n_iter=5, momentum=(0.5, 0.9), batch_size=20, random_state=0, device="cpu")
    whole = RBM(4, **params).fit(X)

    def interrupt_after_two(rbm, epoch):
        rbm.save(tmp_path / "checkpoint.safetensors")
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        RBM(4, **params).fit(X, callback=interrupt_after_two)
    resumed = load(tmp_path / "checkpoint.safetensors")
    assert resumed.n_iter_ == 2
    resumed.set_params(warm_start=True).fit(X)
    assert resumed.n_iter_ == 5
    np.testing.assert_allclose(resumed.history_["momentum"], whole.history_["momentum"])
    np.testing.assert_array_equal(resumed.components_, whole.components_)


def test_partial_fit_ramps_momentum_over_n_iter_calls():
    X = np.random.RandomState(0).rand(30, 5)
    rbm = RBM(3, n_iter=3, momentum=(0.5, 0.9), random_state=0)
    for _ in range(5):
        rbm.partial_fit(X)
    np.testing.assert_allclose(rbm.history_["momentum"], [0.5, 0.7, 0.9, 0.9, 0.9])


def test_visible_biases_start_at_the_data_mean():
    from scipy.special import expit

    X = np.random.RandomState(0).rand(300, 6) * np.array([0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
    rbm = RBM(3, n_iter=1, learning_rate=1e-9, momentum=0.0, random_state=0).fit(X)
    np.testing.assert_allclose(expit(rbm.intercept_visible_), np.clip(X.mean(0), 0.01, 0.99), atol=1e-4)
    gaussian = RBM(3, visible="gaussian", n_iter=1, learning_rate=1e-9, momentum=0.0).fit(X * 4 - 1)
    np.testing.assert_allclose(gaussian.intercept_visible_, (X * 4 - 1).mean(0), atol=1e-4)


def test_linear_learning_rate_decay_is_the_epoch_by_epoch_schedule():
    """"linear": epoch e uses learning_rate * (1 - e / n_iter); the same as refitting one epoch at
    a time with that learning rate (the per-epoch random streams make the two paths identical)."""
    X = (np.random.RandomState(0).rand(200, 12) > 0.5).astype(float)
    params = dict(method="pcd", momentum=0.0, batch_size=20, random_state=0, device="cpu")
    one = RBM(6, learning_rate=0.05, learning_rate_decay="linear", n_iter=4, **params).fit(X)
    assert one.history_["learning_rate"] == pytest.approx([0.05, 0.0375, 0.025, 0.0125])
    step = RBM(6, warm_start=True, **params)
    for epoch in range(4):
        step.set_params(learning_rate=0.05 * (1 - epoch / 4), n_iter=epoch + 1).fit(X)
    np.testing.assert_array_equal(one.components_, step.components_)
