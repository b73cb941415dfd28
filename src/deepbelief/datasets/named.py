"""One way to name data on the command line: ``auto``, ``mnist``, ``mnist-sample``, ``digits`` or a
CSV file."""

import math
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from .digits import load_digits
from .mnist import load_mnist, mnist_home
from .sample import load_mnist_sample
from .tabular import load_csv

FALLBACK = "mnist-sample"  # what "auto" uses when MNIST cannot be had
FALLBACK_TEXT = "the 5,000 real MNIST digits that ship with deepbelief (3,000 train / 2,000 test)"
SAMPLE_TEST_SIZE = 2000  # seed 000's split of its 5,000-digit sample


def load_dataset(spec, data_home=None, download=True, test_size=0.2, random_state=0, verbose=1,
                 say=None):
    """Load ``"auto"``, ``"mnist"``, ``"mnist-sample"``, ``"digits"`` or a labelled CSV file as a
    train/test split.

    MNIST keeps its standard 60,000 / 10,000 split; the 5,000-digit sample that ships with the
    package is split 3,000 / 2,000 (stratified, as seed 000 did); digits and CSV files are split
    ``test_size`` at random (stratified). ``"auto"`` is MNIST when it is cached or can be
    downloaded, else the data that ships with the package, with one line through ``say``
    (a callable taking a string) saying why.

    Returns
    -------
    data : Bunch
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` (pixels float32 in [0, 1]),
        ``image_shape`` and ``name``.
    """
    if spec == "auto":
        try:
            return load_dataset("mnist", data_home, download, test_size, random_state, verbose)
        except (OSError, ValueError) as exc:
            why = "is damaged" if isinstance(exc, ValueError) else "could not be downloaded"
            if say is not None:
                say(f"MNIST is not in {mnist_home(data_home)} and {why}, so this uses "
                    f"{FALLBACK_TEXT}; put the four MNIST files there or set DEEPBELIEF_DATA "
                    "to use MNIST.")
            return load_dataset(FALLBACK, test_size=test_size, random_state=random_state)
    if spec == "mnist":
        d = load_mnist(data_home=data_home, download=download, verbose=verbose)
        return Bunch(X_train=d.X_train, y_train=d.y_train, X_test=d.X_test, y_test=d.y_test,
                     image_shape=(28, 28), name="mnist")
    if spec == "mnist-sample":
        d = load_mnist_sample()
        X, y, shape, name = d.X, d.y, d.image_shape, "mnist-sample"
        test_size = SAMPLE_TEST_SIZE
    elif spec == "digits":
        d = load_digits()
        X, y, shape, name = d.X, d.y, d.image_shape, "digits"
    else:
        path = Path(spec)
        if path.suffix.lower() != ".csv" and not path.exists():
            raise ValueError(
                f"unknown data {spec!r}: use 'auto', 'mnist', 'mnist-sample', 'digits' or the path "
                "of a CSV file."
            )
        X, y = load_csv(path)
        if y is None:
            raise ValueError(f"{path} has no label column; training needs labels in the first column.")
        side = math.isqrt(X.shape[1])
        shape = (side, side) if side * side == X.shape[1] else (1, X.shape[1])
        name = path.name
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=_stratify(y)
    )
    return Bunch(X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
                 image_shape=tuple(shape), name=name)


def _stratify(y):
    counts = np.unique(y, return_counts=True)[1]
    return y if counts.min() >= 2 else None
