"""``sample_quality``: the shipped digit classifier loads without pickle and reads digits right."""

import os
from importlib import resources

import numpy as np
import pytest

from deepbelief.datasets import load_mnist_sample
from deepbelief.models import sample_quality
from deepbelief.models.sample_quality import SCORER_FILE, _inception_score, digit_probabilities


@pytest.fixture(scope="module")
def digits():
    return load_mnist_sample()


def test_the_shipped_scorer_is_plain_arrays_read_without_pickle():
    path = resources.files("deepbelief.models").joinpath(SCORER_FILE)
    with path.open("rb") as f, np.load(f, allow_pickle=False) as stored:
        arrays = {k: stored[k] for k in stored.files}
    assert all(a.dtype.kind == "f" for a in arrays.values())  # no object arrays
    assert arrays["hidden_weight"].shape == (256, 784) and arrays["output_weight"].shape == (11, 256)
    assert 0.97 < float(arrays["test_accuracy"]) < 1.0


def test_real_digits_score_high_and_noise_scores_low(digits):
    real = sample_quality(digits.X[:200])
    assert real.mean_confidence > 0.95 and real.n_classes == 10 and real.inception_score > 8
    assert real.n_samples == 200 and sum(real.class_counts) == round(200 * real.confident_fraction)
    rng = np.random.RandomState(0)
    for noise in (rng.rand(100, 784), rng.rand(100, 784) < 0.13, np.tile(digits.X.mean(0), (100, 1))):
        q = sample_quality(noise)
        assert q.mean_confidence < 0.05 and q.n_classes == 0 and q.inception_score < 1.1


@pytest.mark.mnist
def test_real_test_digits_the_scorer_never_saw_score_high():
    if not os.environ.get("DEEPBELIEF_DATA"):
        pytest.skip("set DEEPBELIEF_DATA to a folder with the MNIST files")
    from deepbelief.datasets import load_mnist

    test = load_mnist(download=False, verbose=0)
    p = digit_probabilities(test.X_test)
    assert np.mean(p[:, :10].argmax(1) == test.y_test) > 0.97
    q = sample_quality(test.X_test[:100])
    assert q.mean_confidence > 0.95 and q.n_classes == 10


def test_class_count_of_a_constructed_set(digits):
    p = digit_probabilities(digits.X)
    sure = (p[:, :10].argmax(1) == digits.y) & (p[:, :10].max(1) > 0.99)
    picked = np.concatenate([np.flatnonzero(sure & (digits.y == d))[:10] for d in range(8)])
    noise = np.random.RandomState(0).rand(20, 784)
    q = sample_quality(np.vstack([digits.X[picked], noise]))
    assert q.n_classes == 8 and q.class_counts == (10,) * 8 + (0, 0)
    assert q.confident_fraction == pytest.approx(80 / 100)
    # One confident 9 among 162 samples is below 1% of them (1.62): present only with a lower bar.
    nine = np.flatnonzero(sure & (digits.y == 9))[:1]
    mixed = np.vstack([digits.X[picked], noise, noise, noise, noise, noise[:1], digits.X[nine]])
    assert len(mixed) == 162 and sample_quality(mixed).n_classes == 8
    assert sample_quality(mixed, min_fraction=0.0).n_classes == 9
    # Images as (n, 28, 28) and several samples per chain as (k, n, 784) are the same set.
    assert sample_quality(digits.X[picked].reshape(-1, 28, 28)) == sample_quality(digits.X[picked])
    assert sample_quality(digits.X[picked].reshape(2, 40, 784)).class_counts == (10,) * 8 + (0, 0)


def test_inception_score_is_the_exponential_of_the_mean_kl():
    one_hot = np.eye(11)[[0, 0, 1, 1]]
    assert _inception_score(one_hot) == pytest.approx(2.0, rel=1e-6)  # two classes, sure of each
    assert _inception_score(np.full((5, 11), 1 / 11)) == pytest.approx(1.0)
    p = np.random.RandomState(0).dirichlet(np.ones(11), size=30)
    marginal = p.mean(0)
    expected = np.exp(np.mean([np.sum(row * np.log(row / marginal)) for row in p]))
    assert _inception_score(p) == pytest.approx(expected)


@pytest.mark.parametrize("samples, match", [
    (np.zeros((5, 64)), r"28x28 MNIST-like digits.*got shape \(5, 64\)"),
    (np.zeros(784), r"got shape \(784,\)"),
    (np.zeros((0, 784)), "empty"),
    (np.full((2, 784), 2.0), r"values in \[2, 2\]; divide 8-bit pixels by 255"),
    (np.full((2, 784), np.nan), "NaN"),
    (np.array([["a"] * 784]), "numbers"),
])
def test_wrong_input_is_refused_with_a_clear_error(samples, match):
    with pytest.raises(ValueError, match=match):
        sample_quality(samples)
