"""Data sets for deepbelief: MNIST (downloaded once, then cached), a 5,000-digit MNIST sample that
ships with the package, CSV files, images, scikit-learn's 8x8 digits, augmentation.

Every loader returns NumPy arrays with pixels as float32 in [0, 1], one
flattened image per row.
"""

from .digits import load_digits
from .idx import read_idx
from .images import load_images
from .mnist import MNIST_FILES, load_mnist
from .named import load_dataset
from .sample import load_mnist_sample
from .tabular import load_csv

__all__ = ["load_dataset", "load_mnist", "load_mnist_sample", "load_csv", "load_images", "load_digits", "read_idx",
           "MNIST_FILES"]
