"""MNIST: find the four IDX files locally, or download them once and cache them."""

import gzip
import hashlib
import http.client
import os
import re
import stat
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._core.progress import progress
from .idx import read_idx

# Base URLs tried in order; each serves ``<name>.gz`` for every name in MNIST_FILES.
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

#: File name -> SHA-256 of its *uncompressed* IDX content, for the four MNIST files.
#: Hashing the content rather than the .gz keeps the check valid whatever gzip settings a
#: mirror used: the same data gzipped twice rarely gives the same bytes.
MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Seconds a socket may wait for the server before the mirror counts as failed.
TIMEOUT = 20

_CHUNK = 1 << 16
_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Errors that mean "this mirror did not deliver a good file; try the next one".
_MIRROR_ERRORS = (OSError, http.client.HTTPException, ValueError, EOFError, zlib.error)


class DownloadError(OSError):
    """No mirror delivered an MNIST file. ``summary`` says so in one line, with the fix; the
    message adds every mirror tried and why it failed."""

    def __init__(self, summary, details=""):
        super().__init__(summary + details)
        self.summary = summary


def load_mnist(data_home=None, download=True, verbose=1, scale=True):
    """Load the MNIST handwritten digits, downloading them on first use.

    The four standard files (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each gzipped or not) are looked for in one
    directory and its ``mnist/`` subfolder. That directory is ``data_home``
    if given, else the environment variable ``DEEPBELIEF_DATA`` if set, else
    ``$XDG_CACHE_HOME/deepbelief/mnist`` (``~/.cache/deepbelief/mnist`` when
    ``XDG_CACHE_HOME`` is unset). Missing files are downloaded into it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Directory holding (or to receive) the files.
    download : bool, default=True
        Download missing files from the mirrors in ``MNIST_MIRRORS``. Each
        download is checked against ``MNIST_FILES`` before it is kept.
    verbose : int, default=1
        Show a progress bar while downloading; 0 is silent.
    scale : bool, default=True
        Return float32 pixels in [0, 1] (pixel / 255). False returns the raw
        uint8 pixels in [0, 255].

    Returns
    -------
    data : sklearn.utils.Bunch
        X_train : ndarray of shape (60000, 784), float32 (uint8 if ``scale=False``)
        y_train : ndarray of shape (60000,), int64, digits 0 to 9
        X_test : ndarray of shape (10000, 784)
        y_test : ndarray of shape (10000,), int64
        image_shape : tuple ``(28, 28)``; ``X[i].reshape(image_shape)`` is an image
        data_home : pathlib.Path, the directory searched (and downloaded into)

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download=False``.
    DownloadError
        An ``OSError``: a missing file could not be downloaded from any mirror.
    ValueError
        If a local file is corrupt or truncated (the message names it), or
        images and labels disagree.

    Examples
    --------
    >>> from deepbelief.datasets import load_mnist
    >>> mnist = load_mnist()  # doctest: +SKIP
    >>> mnist.X_train.shape, mnist.y_train[:5]  # doctest: +SKIP
    ((60000, 784), array([5, 0, 4, 1, 9]))
    """
    home = mnist_home(data_home)
    paths = _find_files(home)
    missing = [name for name in MNIST_FILES if name not in paths]
    if missing and not download:
        raise FileNotFoundError(_missing_message(missing, home))
    for name in missing:
        paths[name] = download_file(name, home, verbose=verbose)
    data = Bunch(data_home=home)
    for split, (images_name, labels_name) in _SPLITS.items():
        images, labels = _read_split(paths[images_name], paths[labels_name])
        data[f"X_{split}"] = _flatten(images, scale)
        data[f"y_{split}"] = labels
        data.image_shape = images.shape[1:]
    return data


def mnist_home(data_home=None):
    """Return the MNIST directory: ``data_home``, else ``$DEEPBELIEF_DATA``, else the cache.

    Parameters
    ----------
    data_home : str or path-like, default=None
        An explicit directory; wins over everything else.

    Returns
    -------
    pathlib.Path
        The directory (not created here). The user cache is
        ``$XDG_CACHE_HOME/deepbelief/mnist``, or ``~/.cache/deepbelief/mnist``.
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    if os.environ.get("DEEPBELIEF_DATA"):
        return Path(os.environ["DEEPBELIEF_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "deepbelief" / "mnist"


def download_file(name, directory, verbose=1):
    """Download ``<name>.gz`` into ``directory``, trying each mirror until one verifies.

    The file is written under a temporary name in ``directory``, its
    uncompressed content checked against ``MNIST_FILES[name]``, and only then
    renamed to ``<name>.gz``, so an interrupted or corrupt download never
    leaves a file that looks complete.

    Parameters
    ----------
    name : str
        A key of ``MNIST_FILES``, e.g. ``"train-images-idx3-ubyte"``.
    directory : str or path-like
        Destination directory, created if needed.
    verbose : int, default=1
        Show a progress bar; 0 is silent.

    Returns
    -------
    pathlib.Path
        Path of the verified ``<name>.gz``.

    Raises
    ------
    DownloadError
        An ``OSError``: no mirror delivered a file with the right checksum. Its
        ``summary`` is one line; the message lists every mirror tried and why it failed.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    filename = f"{name}.gz"
    failures = []
    for mirror in MNIST_MIRRORS:
        url = mirror.rstrip("/") + "/" + filename
        # Written and checked through the descriptor mkstemp made, never reopened by name, and
        # renamed only while the name is still that file: a symlink or file swapped in at the
        # temporary name is neither written, trusted nor moved into the cache.
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=directory)
        tmp = Path(tmp)
        try:
            with os.fdopen(fd, "w+b") as file:
                reason = _fetch_verified(url, file, MNIST_FILES[name], verbose)
                if reason is None and not _is_file(tmp, file):
                    reason = f"its temporary file {tmp} was replaced while downloading"
                if reason is None:
                    os.replace(tmp, directory / filename)
                    return directory / filename
            failures.append((url, reason))
        finally:
            if _is_file(tmp, None):
                tmp.unlink(missing_ok=True)  # no-op after a successful rename
    raise _download_failed(filename, directory, failures)


def _is_file(path, file):
    """Whether ``path`` is still the regular file open as ``file`` (any regular file if None)."""
    try:
        seen = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(seen.st_mode):
        return False
    if file is None:
        return True
    held = os.fstat(file.fileno())
    return (seen.st_dev, seen.st_ino) == (held.st_dev, held.st_ino)


def _fetch_verified(url, out, sha256, verbose):
    """Download ``url`` into the open file ``out``; return None if its content hashes to
    ``sha256``, else why not."""
    try:
        out.seek(0)
        out.truncate()
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            with progress(
                total=response.length, desc=url.rsplit("/", 1)[-1], unit="B",
                verbose=verbose, unit_scale=True,
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
        out.flush()
        os.fsync(out.fileno())
        out.seek(0)
        digest = _stream_sha256(out)
    except _MIRROR_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"
    if digest != sha256:
        return f"checksum mismatch: content sha256 is {digest}, expected {sha256}"
    return None


def _stream_sha256(raw):
    """sha256 hex digest of an open binary file from where it stands, decompressed first if
    it is gzipped."""
    start = raw.tell()
    gzipped = raw.read(2) == b"\x1f\x8b"
    raw.seek(start)
    stream = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def _find_files(home):
    """Map each MNIST name to its path in ``home`` or ``home/mnist`` (plain before .gz)."""
    found = {}
    for name in MNIST_FILES:
        for candidate in _candidates(home, name):
            if candidate.is_file():
                found[name] = candidate
                break
    return found


def _candidates(home, name):
    """Where ``name`` may be, in the order looked at."""
    return [d / f for d in (home, home / "mnist") for f in (name, f"{name}.gz")]


def _read_split(images_path, labels_path):
    """Read and cross-check one split: ``(images (n, rows, cols) uint8, labels (n,) int64)``."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (n, rows, cols), got "
            f"{images.dtype} of shape {images.shape}; is this an MNIST image file?"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected labels of shape (n,), got shape {labels.shape}; "
            "is this an MNIST label file?"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; one of them is from another data set, replace it"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(
            f"{labels_path}: labels must be digits 0 to 9, found values from "
            f"{labels.min()} to {labels.max()}; is this an MNIST label file?"
        )
    return images, labels.astype(np.int64)


def _flatten(images, scale):
    """(n, rows, cols) uint8 -> (n, rows * cols), float32 in [0, 1] if ``scale``."""
    flat = images.reshape(len(images), -1)
    if not scale:
        return flat
    return flat.astype(np.float32) / np.float32(255)


def _missing_message(missing, home):
    """The FileNotFoundError text: what is missing, where we looked, how to fix it."""
    names = ", ".join(f"{name}[.gz]" for name in missing)
    looked = ", ".join(str(d) for d in (home, home / "mnist"))
    return (
        f"MNIST files not found: {names}. Looked in: {looked}. "
        f"Put the files (gzipped or not) in {home}, set DEEPBELIEF_DATA to the "
        "directory that holds them, or pass download=True."
    )


def _download_failed(filename, directory, failures):
    """The DownloadError when every mirror failed for ``filename``: short first, details after."""
    if failures:
        first = re.sub(r"<urlopen error (.*)>", r"\1", failures[0][1])
        first = re.sub(r"^checksum mismatch: .*", "checksum mismatch", first)  # the sums are below
        why = f"{filename}: {first}; {len(failures)} {'mirror' if len(failures) == 1 else 'mirrors'} tried"
    else:
        why = f"no mirror configured for {filename}"
    summary = (
        f"MNIST is not in {directory} and could not be downloaded ({why}). Put the four MNIST "
        "files there or set DEEPBELIEF_DATA to a folder that holds them."
    )
    details = "".join(f"\n  {url}: {reason}" for url, reason in failures)
    return DownloadError(summary, "\nMirrors tried:" + details if details else "")
