"""Data sets for deepbelief: MNIST (downloaded once, then cached), a 5,000-digit MNIST sample that
ships with the package, CSV files, images, scikit-learn's 8x8 digits, augmentation.

Every loader returns NumPy arrays with pixels as float32 in [0, 1], one
flattened image per row.
"""

from .augment import NUDGES, augment, center_crop, nudge, random_crops, rotate, shift
from .digits import load_digits
from .idx import read_idx
from .images import load_images
from .mnist import MNIST_FILES, DownloadError, download_file, load_mnist, mnist_home
from .named import load_dataset
from .sample import load_mnist_sample
from .tabular import load_csv

__all__ = [
    # loaders
    "load_dataset", "load_mnist", "load_mnist_sample", "load_csv", "load_images", "load_digits",
    "read_idx", "mnist_home", "download_file", "MNIST_FILES", "DownloadError",
    # augmentation
    "nudge", "shift", "rotate", "augment", "center_crop", "random_crops", "NUDGES",
]
