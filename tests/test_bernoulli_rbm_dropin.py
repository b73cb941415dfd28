"""RBM as a drop-in for scikit-learn's BernoulliRBM: the same weights copied into a BernoulliRBM
give the same transform, free energy, pseudo-likelihood (in expectation), Gibbs distribution,
feature names and pandas output; dtypes, h_samples_, partial_fit and verbose as documented."""

import itertools
import json
import re

import numpy as np
import pytest
import torch
from safetensors.numpy import save as safetensors_bytes
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM

from deepbelief import RBM, load
from deepbelief._core.backend import RandomSource
from deepbelief.models import modelfile

DIGITS = (load_digits().data / 16 > 0.5).astype(np.float64)[:300]


def as_bernoulli_rbm(rbm):
    """A BernoulliRBM holding ``rbm``'s weights (float64, as BernoulliRBM keeps them)."""
    theirs = BernoulliRBM(n_components=rbm.n_components, batch_size=rbm.batch_size)
    theirs.components_ = rbm.components_.astype(np.float64)
    theirs.intercept_hidden_ = rbm.intercept_hidden_.astype(np.float64)
    theirs.intercept_visible_ = rbm.intercept_visible_.astype(np.float64)
    theirs.h_samples_ = rbm.h_samples_.astype(np.float64)
    theirs.n_features_in_ = rbm.n_features_in_
    theirs._n_features_out = rbm.n_components
    return theirs


@pytest.fixture(scope="module")
def fitted():
    return RBM(12, n_iter=5, batch_size=20, random_state=0, device="cpu").fit(DIGITS)


def test_transform_and_free_energy_equal_bernoulli_rbms_on_the_same_weights(fitted):
    theirs = as_bernoulli_rbm(fitted)
    np.testing.assert_allclose(fitted.transform(DIGITS), theirs.transform(DIGITS), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fitted.free_energy(DIGITS), theirs._free_energy(DIGITS), rtol=1e-5)


def test_score_samples_is_the_expectation_of_bernoulli_rbms_estimate(fitted):
    # BernoulliRBM flips one random pixel per row and scales by n_features; averaged over many
    # seeds that converges to the exact sum over every pixel, which is what score_samples gives.
    X = DIGITS[:5]
    ours = fitted.score_samples(X)
    theirs = as_bernoulli_rbm(fitted)
    draws = []
    for seed in range(3000):
        theirs.random_state = seed
        draws.append(theirs.score_samples(X))
    draws = np.array(draws)
    sem = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - ours) < 4 * sem + 1e-3), (draws.mean(axis=0), ours, sem)
    # ... and exactly the sum of BernoulliRBM's own per-pixel terms, pixel by pixel.
    exact = np.zeros(len(X))
    for i in range(X.shape[1]):
        flipped = X.copy()
        flipped[:, i] = 1 - flipped[:, i]
        exact += -np.logaddexp(0, -(theirs._free_energy(flipped) - theirs._free_energy(X)))
    np.testing.assert_allclose(ours, exact, rtol=1e-5)


def test_gibbs_step_has_the_exact_one_step_distribution():
    # 3 visible, 2 hidden units: P(v' | v) = sum_h p(h | v) p(v' | h) is a sum over 4 states.
    rng = np.random.RandomState(0)
    rbm = RBM(2, n_iter=0, random_state=1, device="cpu").fit(np.ones((1, 3)) * 0.5)
    rbm.components_ = rng.normal(0, 1.5, (2, 3)).astype(np.float32)
    rbm.intercept_hidden_ = rng.normal(0, 1, 2).astype(np.float32)
    rbm.intercept_visible_ = rng.normal(0, 1, 3).astype(np.float32)
    W, b, c = (a.astype(np.float64) for a in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    v = np.array([1.0, 0.0, 1.0])
    exact = {}
    for v_new in itertools.product([0, 1], repeat=3):
        total = 0.0
        for h in itertools.product([0, 1], repeat=2):
            h = np.array(h)
            p_h = np.prod(np.where(h, sigmoid(W @ v + c), 1 - sigmoid(W @ v + c)))
            p_v = np.prod(np.where(v_new, sigmoid(h @ W + b), 1 - sigmoid(h @ W + b)))
            total += p_h * p_v
        exact[v_new] = total
    n = 20000
    samples = rbm.gibbs(np.tile(v, (n, 1)))
    theirs = as_bernoulli_rbm(rbm).gibbs(np.tile(v, (n, 1)))
    for state, p in exact.items():
        ours_freq = np.mean(np.all(samples == state, axis=1))
        theirs_freq = np.mean(np.all(theirs == state, axis=1))
        bound = 5 * np.sqrt(p * (1 - p) / n)
        assert abs(ours_freq - p) < bound and abs(theirs_freq - p) < bound, (state, p, ours_freq, theirs_freq)


def test_gibbs_returns_fresh_samples_in_the_input_dtype(fitted):
    a, b = fitted.gibbs(DIGITS), fitted.gibbs(DIGITS)
    assert a.dtype == np.float64 and set(np.unique(a)) <= {0.0, 1.0}
    assert np.any(a != b)  # each call draws new numbers, as BernoulliRBM's
    assert fitted.gibbs(DIGITS.astype(np.float32)).dtype == np.float32
    assert fitted.gibbs(DIGITS.astype(int)).dtype == np.float64


@pytest.mark.parametrize("dtype_in, dtype_out", [(np.float32, np.float32), (np.float64, np.float64), (int, np.float64)])
def test_transform_dtype_follows_bernoulli_rbm(dtype_in, dtype_out):
    X = DIGITS[:60].astype(dtype_in)
    ours = RBM(8, n_iter=2, random_state=0).fit_transform(X)
    theirs = BernoulliRBM(8, n_iter=2, random_state=0).fit_transform(X)
    assert ours.dtype == theirs.dtype == dtype_out


def test_int_data_trains_as_float64_the_same_model():
    a = RBM(6, n_iter=2, random_state=0).fit(DIGITS.astype(np.int64))
    b = RBM(6, n_iter=2, random_state=0).fit(DIGITS)
    np.testing.assert_array_equal(a.components_, b.components_)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_feature_names_out_follow_the_class_name(method):
    rbm = getattr(RBM(5, n_iter=1, random_state=0), method)(DIGITS)
    assert list(rbm.get_feature_names_out()) == [f"rbm{i}" for i in range(5)]
    theirs = BernoulliRBM(5, n_iter=1, random_state=0)
    getattr(theirs, method)(DIGITS)  # (its partial_fit returns None)
    assert list(theirs.get_feature_names_out()) == [f"bernoullirbm{i}" for i in range(5)]


def test_set_output_pandas_gives_a_named_data_frame():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(DIGITS, columns=[f"pixel{i}" for i in range(DIGITS.shape[1])])
    rbm = RBM(4, n_iter=1, random_state=0).set_output(transform="pandas").fit(frame)
    out = rbm.transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["rbm0", "rbm1", "rbm2", "rbm3"]
    np.testing.assert_array_equal(out.to_numpy(), rbm.set_output(transform="default").transform(frame))
    assert list(rbm.feature_names_in_) == list(frame.columns)


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_h_samples_are_the_chains_and_survive_a_model_file(method, tmp_path):
    rbm = RBM(7, method=method, n_iter=2, batch_size=32, random_state=0, device="cpu").fit(DIGITS)
    last_batch = len(DIGITS) % 32  # 300 rows: the last batch of an epoch has 12
    assert rbm.h_samples_.shape == ((32 if method == "pcd" else last_batch), 7)
    assert set(np.unique(rbm.h_samples_)) <= {0.0, 1.0}
    if method == "pcd":
        assert rbm.h_samples_ is rbm._persistent
    again = load(rbm.save(tmp_path / "rbm.safetensors"))
    np.testing.assert_array_equal(again.h_samples_, rbm.h_samples_)


def test_cd_h_samples_do_not_change_the_model_or_the_random_stream():
    # Drawn from the epoch's own stream after its last batch: the weights and every later
    # epoch are those of an RBM that keeps no h_samples_ (a warm start epoch by epoch).
    whole = RBM(5, n_iter=3, batch_size=50, random_state=0, device="cpu").fit(DIGITS)
    step = RBM(5, n_iter=1, batch_size=50, random_state=0, device="cpu", warm_start=True)
    for n in (1, 2, 3):
        step.set_params(n_iter=n).fit(DIGITS)
        step.h_samples_ = None  # what it held plays no part in CD training
    np.testing.assert_array_equal(whole.components_, step.components_)


def test_n_iter_zero_initialises_without_training_like_bernoulli_rbm():
    rbm = RBM(6, n_iter=0, batch_size=10, random_state=0).fit(DIGITS)
    assert rbm.n_iter_ == 0 and rbm.history_["epoch"] == []
    np.testing.assert_array_equal(rbm.h_samples_, np.zeros((10, 6)))
    assert rbm.transform(DIGITS).shape == (300, 6)


def test_old_cd_model_files_without_h_samples_still_load(tmp_path):
    rbm = RBM(4, n_iter=1, batch_size=25, random_state=0, device="cpu").fit(DIGITS)
    arrays, state = rbm._get_state()
    del arrays["h_samples_"]  # the layout deepbelief 0.1.0 wrote
    description = json.dumps({
        "format": "deepbelief", "format_version": 1, "class": "RBM", "library_version": "0.1.0",
        "params": modelfile._encode(rbm.get_params(deep=False)), "state": modelfile._encode(state),
    }, sort_keys=True)
    metadata = {"deepbelief": description, "sha256": modelfile._digest(description, arrays)}
    path = tmp_path / "old.safetensors"
    path.write_bytes(safetensors_bytes(arrays, metadata=metadata))
    old = load(path)
    np.testing.assert_array_equal(old.components_, rbm.components_)
    np.testing.assert_array_equal(old.h_samples_, np.zeros((25, 4)))


def test_partial_fit_on_at_most_a_batch_is_one_cd_update_on_that_batch():
    # BernoulliRBM's partial_fit is one update with X as the mini-batch; RBM's is one epoch
    # over X, which for len(X) <= batch_size is that single update. Redo it by hand with the
    # same random stream: shuffle, h0 ~ p(h | v0), v1 ~ p(v | h0), then the CD-1 gradient.
    X = DIGITS[:40]
    rbm = RBM(6, batch_size=40, learning_rate=0.1, momentum=0.5, random_state=0, device="cpu")
    rbm.partial_fit(X[:1])  # initialise; the next call starts from these weights
    W, b, c = (torch.tensor(a) for a in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))
    velocity = [torch.tensor(v) for v in rbm._velocity]
    source = RandomSource(_copy(rbm.random_state_), "cpu")  # the stream the next epoch draws
    v0 = torch.tensor(X, dtype=torch.float32)[source.permutation(len(X))]
    h0_mean = torch.sigmoid(v0 @ W.T + c)
    h0 = source.bernoulli(h0_mean)
    v1 = source.bernoulli(torch.sigmoid(h0 @ W + b))
    h1_mean = torch.sigmoid(v1 @ W.T + c)
    grad_W = (h0_mean.T @ v0 - h1_mean.T @ v1) / len(X)
    expected_W = W + 0.5 * velocity[0] + 0.1 * grad_W
    assert rbm.partial_fit(X) is rbm
    assert len(rbm.history_["batch_reconstruction_error"][-1]) == 1
    np.testing.assert_allclose(rbm.components_, expected_W.numpy(), rtol=1e-5, atol=1e-7)
    rbm.partial_fit(DIGITS[:100])  # more rows than batch_size: one epoch of updates
    assert len(rbm.history_["batch_reconstruction_error"][-1]) == 3


def _copy(random_state):
    copy = np.random.RandomState()
    copy.set_state(random_state.get_state())
    return copy


def test_verbose_2_prints_bernoulli_rbms_pseudo_likelihood_per_epoch(capsys):
    rbm = RBM(6, n_iter=2, random_state=0, verbose=2).fit(DIGITS)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[RBM]")]
    assert len(lines) == 2
    pattern = r"\[RBM\] epoch (\d+): reconstruction error [\d.]+, pseudo-likelihood (-[\d.]+), [\d.]+s"
    found = [re.fullmatch(pattern, line) for line in lines]
    assert all(found), lines
    # Under 1,000 rows it is the mean score_samples of the whole training set.
    assert float(found[-1].group(2)) == pytest.approx(rbm.score_samples(DIGITS).mean(), abs=0.006)
    RBM(6, n_iter=1, random_state=0, verbose=2, visible="gaussian", learning_rate=0.001).fit(DIGITS - 0.5)
    assert "pseudo-likelihood" not in capsys.readouterr().err


def test_learns_digits_as_well_as_bernoulli_rbm_by_its_own_measure():
    # scikit-learn's test_fit: 64 hidden units, batch 10, 7 epochs on the digits in [0, 1]
    # reach a pseudo-likelihood of about -21. BernoulliRBM's algorithm (PCD-1, no momentum).
    X = load_digits().data / 16
    rbm = RBM(64, method="pcd", momentum=0.0, learning_rate=0.1, batch_size=10, n_iter=7, random_state=9, n_jobs=1)
    rbm.fit(X)
    theirs = BernoulliRBM(64, learning_rate=0.1, batch_size=10, n_iter=7, random_state=9).fit(X)
    binary = (X > 0.5).astype(float)
    theirs_scores = []
    for seed in range(20):  # its estimate, averaged over seeds, on the data binarised as ours
        theirs.random_state = seed
        theirs_scores.append(theirs.score_samples(binary).mean())
    assert rbm.score_samples(X).mean() == pytest.approx(np.mean(theirs_scores), abs=1.5)


def test_score_samples_stays_finite_on_extreme_input(fitted):
    assert np.isfinite(fitted.score_samples(np.arange(64.0)[None] * 100)).all()
