"""Data sets for deepbelief: MNIST (downloaded once, then cached), CSV files, images.

Every loader returns NumPy arrays with pixels as float32 in [0, 1], one
flattened image per row.
"""

from .digits import load_digits
from .idx import read_idx
from .images import load_images
from .mnist import MNIST_FILES, load_mnist
from .named import load_dataset
from .tabular import load_csv

__all__ = ["load_dataset", "load_mnist", "load_csv", "load_images", "load_digits", "read_idx", "MNIST_FILES"]
