"""5,000 real MNIST digits shipped inside the package, for demos and tests without a download."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

SAMPLE_FILE = "data/mnist_sample.npz"


def load_mnist_sample(scale=True):
    """Load 5,000 real MNIST training digits that ship with deepbelief (no download).

    The digits are a stratified random draw (seed 0, each digit in its share of the 60,000)
    from the MNIST training set, made by ``bench/make_mnist_sample.py``; ``train_index``
    gives each one's row in that set. MNIST is by Yann LeCun, Corinna Cortes and Christopher
    J.C. Burges (http://yann.lecun.com/exdb/mnist/) and is distributed under the Creative
    Commons Attribution-Share Alike 3.0 licence (CC BY-SA 3.0); this sample is too.

    Parameters
    ----------
    scale : bool, default=True
        Return float32 pixels in [0, 1] (pixel / 255). False returns the raw uint8 pixels
        in [0, 255].

    Returns
    -------
    data : sklearn.utils.Bunch
        With the keys:

        - ``X``: ndarray of shape (5000, 784), float32 (uint8 if ``scale=False``).
        - ``y``: ndarray of shape (5000,), int64; the digit, 0 to 9 (about 500 of each).
        - ``image_shape``: the tuple ``(28, 28)``; ``X[i].reshape(image_shape)`` is an image.
        - ``train_index``: ndarray of shape (5000,), int64; the row of each digit in MNIST's
          60,000 training images (``load_mnist().X_train``), in increasing order.

    Examples
    --------
    >>> from deepbelief.datasets.sample import load_mnist_sample
    >>> sample = load_mnist_sample()
    >>> sample.X.shape, sample.X.dtype, sample.image_shape
    ((5000, 784), dtype('float32'), (28, 28))
    """
    path = resources.files(__package__).joinpath(SAMPLE_FILE)
    with path.open("rb") as f, np.load(f) as stored:
        images, labels, index = stored["images"], stored["labels"], stored["train_index"]
    X = images.reshape(len(images), -1)
    if scale:
        X = X.astype(np.float32) / np.float32(255)
    return Bunch(X=X, y=labels.astype(np.int64), image_shape=tuple(images.shape[1:]),
                 train_index=index.astype(np.int64))
