import os

import numpy as np
import pytest

from deepbelief.datasets.mnist import load_mnist
from deepbelief.datasets.sample import load_mnist_sample

# Digits per class among MNIST's 60,000 training images (checked in test_mnist_download).
TRAIN_COUNTS = np.array([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])


def test_shapes_dtypes_and_range():
    sample = load_mnist_sample()
    assert sample.X.shape == (5000, 784) and sample.X.dtype == np.float32
    assert sample.y.shape == (5000,) and sample.y.dtype == np.int64
    assert sample.image_shape == (28, 28)
    assert sample.X.min() == 0.0 and sample.X.max() == 1.0
    raw = load_mnist_sample(scale=False)
    assert raw.X.dtype == np.uint8 and raw.X.max() == 255
    np.testing.assert_array_equal(raw.X.astype(np.float32) / np.float32(255), sample.X)
    np.testing.assert_array_equal(raw.y, sample.y)


def test_classes_in_their_training_set_proportions():
    counts = np.bincount(load_mnist_sample().y, minlength=10)
    expected = 5000 * TRAIN_COUNTS / TRAIN_COUNTS.sum()
    assert np.all(np.abs(counts - expected) <= 1), (counts, expected)


def test_train_index_is_sorted_distinct_rows_of_the_training_set():
    index = load_mnist_sample().train_index
    assert np.all(np.diff(index) > 0) and index[0] >= 0 and index[-1] < 60000


def test_digits_look_like_mnist():
    # MNIST digits are centred in a 20x20 box inside 28x28: the 4-pixel border is almost empty.
    images = load_mnist_sample().X.reshape(-1, 28, 28)
    border = np.ones((28, 28), bool)
    border[4:24, 4:24] = False
    assert images[:, border].mean() < 0.01 < images[:, ~border].mean()


@pytest.mark.mnist
@pytest.mark.skipif(not os.environ.get("DEEPBELIEF_DATA"),
                    reason="set DEEPBELIEF_DATA to a folder with the MNIST files")
def test_rows_are_the_real_training_images():
    mnist = load_mnist(download=False, verbose=0, scale=False)
    sample = load_mnist_sample(scale=False)
    np.testing.assert_array_equal(sample.X, mnist.X_train[sample.train_index])
    np.testing.assert_array_equal(sample.y, mnist.y_train[sample.train_index])
