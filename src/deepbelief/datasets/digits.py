"""scikit-learn's small 8x8 digits, shipped inside scikit-learn (no download)."""

import numpy as np
from sklearn import datasets as _sk_datasets
from sklearn.utils import Bunch


def load_digits():
    """Load the 1,797 8x8 handwritten digits bundled with scikit-learn.

    Handy for quick experiments and tests: no download, loads in milliseconds.

    Returns
    -------
    data : sklearn.utils.Bunch
        X : ndarray of shape (1797, 64), float32
            Pixels in [0, 1] (the original 0-16 intensities divided by 16).
        y : ndarray of shape (1797,), int64
            The digit, 0 to 9.
        image_shape : tuple ``(8, 8)``
            ``X[i].reshape(image_shape)`` is an image.

    Examples
    --------
    >>> from deepbelief.datasets import load_digits
    >>> digits = load_digits()
    >>> digits.X.shape, digits.X.dtype, digits.image_shape
    ((1797, 64), dtype('float32'), (8, 8))
    """
    digits = _sk_datasets.load_digits()
    X = digits.data.astype(np.float32) / np.float32(16)
    return Bunch(X=X, y=digits.target.astype(np.int64), image_shape=(8, 8))
