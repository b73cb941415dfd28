"""Digit images stored one per CSV row, as in Kaggle's "Digit Recognizer" files."""

import csv
import math
import warnings
from pathlib import Path

import numpy as np

_ENCODING = "utf-8-sig"  # plain UTF-8, also when a spreadsheet added a byte-order mark


def load_csv(path, has_labels=None):
    """Load digit images stored one per row in a CSV file.

    Made for Kaggle's Digit Recognizer ``train.csv`` (a ``label`` column, then
    784 pixel columns) and ``test.csv`` (784 pixel columns only). A header
    line is detected (the first line is a header when most of its cells are
    not numbers) and skipped.

    Parameters
    ----------
    path : str or path-like
        The CSV file (comma-separated).
    has_labels : bool or None, default=None
        Whether the first column holds the labels. None infers it: a header
        whose first name is ``label``, or a column count equal to a perfect
        square plus one (``1 + 28 * 28``), means labels; a perfect square
        (``28 * 28``) means no labels.

    Returns
    -------
    X : ndarray of shape (n_samples, n_pixels), float32
        Pixels in [0, 1]: divided by 255 when the file holds values above 1.
    y : ndarray of shape (n_samples,), int64, or None
        The labels, or None when the file has none.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is empty, has rows of different lengths, a cell that is not
        a number, NaN or infinity, a pixel outside [0, 255], or a label that is
        not an integer. The message gives the line and column.

    Examples
    --------
    >>> from deepbelief.datasets import load_csv
    >>> X, y = load_csv("train.csv")  # doctest: +SKIP
    >>> X.shape, y[:3]  # doctest: +SKIP
    ((42000, 784), array([1, 0, 1]))
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CSV file not found: {path}; check the path and file name")
    first = _first_row(path)
    header = _is_header(first)
    if has_labels is None:
        has_labels = _infer_has_labels(first, header, path)
    values = _parse(path, header, len(first), has_labels)
    if has_labels:
        return _scale(values[:, 1:]), values[:, 0].astype(np.int64)
    return _scale(values), None


def _first_row(path):
    """The cells of the file's first line; ValueError if the file is empty."""
    with open(path, newline="", encoding=_ENCODING) as f:
        row = next(csv.reader(f), [])
    if not row:
        raise ValueError(
            f"{path}: the file is empty (or its first line is blank); "
            "expected comma-separated rows of pixel values"
        )
    return row


def _is_header(row):
    """A header has mostly non-numeric cells; a data row with one bad cell is not a header."""
    return sum(not _is_number(cell) for cell in row) > len(row) / 2


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_square(n):
    return n >= 1 and math.isqrt(n) ** 2 == n


def _infer_has_labels(first, header, path):
    """Guess whether column 0 holds labels, from the header or the column count."""
    if header and first[0].strip().strip('"').lower() == "label":
        return True
    if _is_square(len(first) - 1):
        return True
    if _is_square(len(first)):
        return False
    raise ValueError(
        f"{path}: cannot tell whether the first of its {len(first)} columns holds "
        "labels (neither a perfect square of pixels, nor a perfect square plus a "
        "label column); pass has_labels=True or has_labels=False"
    )


def _parse(path, header, n_cols, has_labels):
    """Read all data rows as float32 ``(n_rows, n_cols)``; on bad content, say where it is."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": checked below
            values = np.loadtxt(
                path, delimiter=",", skiprows=int(header), dtype=np.float32,
                comments=None, encoding=_ENCODING, ndmin=2,
            )
    except ValueError as exc:
        _find_problem(path, header, n_cols, has_labels)
        raise ValueError(f"{path}: cannot parse the file as numbers ({exc})") from exc
    if values.shape[0] == 0:
        raise ValueError(f"{path}: there is a header line but no data rows")
    if values.shape[1] != n_cols or not _values_ok(values, has_labels):
        _find_problem(path, header, n_cols, has_labels)
        raise ValueError(f"{path}: unexpected content (has_labels={has_labels})")
    return values


def _values_ok(values, has_labels):
    """Fast whole-array check: finite, pixels in [0, 255], integer labels."""
    pixels = values[:, 1:] if has_labels else values
    if not np.isfinite(values).all():
        return False
    if pixels.size and (pixels.min() < 0 or pixels.max() > 255):
        return False
    return not has_labels or bool((values[:, 0] == np.round(values[:, 0])).all())


def _find_problem(path, header, n_cols, has_labels):
    """Scan the file line by line and raise a ValueError at the first bad cell.

    Slow, so only run once the fast parse has failed.
    """
    with open(path, newline="", encoding=_ENCODING) as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if (header and line == 1) or not row:
                continue
            if len(row) != n_cols:
                raise ValueError(
                    f"{path}, line {line}: {len(row)} values, but line 1 has {n_cols}; "
                    "every row must have the same number of columns"
                )
            for column, cell in enumerate(row, start=1):
                _check_cell(cell, path, line, column, is_label=has_labels and column == 1)


def _check_cell(cell, path, line, column, is_label):
    """Raise ValueError, naming the place, unless ``cell`` is a valid pixel or label."""
    where = f"{path}, line {line}, column {column}"
    if not _is_number(cell):
        raise ValueError(f"{where}: {cell!r} is not a number; pixels and labels must be numeric")
    value = float(cell)
    if not math.isfinite(value):
        raise ValueError(f"{where}: {cell.strip()} is not allowed; fill in or drop rows with missing values")
    if is_label and value != round(value):
        raise ValueError(f"{where}: label {cell.strip()} is not an integer")
    if not is_label and not 0 <= value <= 255:
        raise ValueError(
            f"{where}: pixel value {cell.strip()} is outside [0, 255]; "
            "pixels must be 0-255 intensities (or already scaled to [0, 1])"
        )


def _scale(pixels):
    """Pixels -> [0, 1] float32: divided by 255 unless already at most 1."""
    if pixels.size and pixels.max() > 1:
        pixels = pixels / np.float32(255)
    return np.ascontiguousarray(pixels, dtype=np.float32)
