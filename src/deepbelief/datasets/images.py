"""Your own digit pictures (PNG, JPEG, anything Pillow reads) as MNIST-like rows."""

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

_LANCZOS = getattr(Image, "Resampling", Image).LANCZOS  # Pillow < 9.1 has no Resampling


def load_images(paths, shape=(28, 28), invert="auto", resize=True):
    """Load image files as grayscale rows of pixels in [0, 1], light digit on dark.

    Each image is converted to grayscale (transparent parts count as white
    paper), resized to ``shape`` if needed, scaled to [0, 1], and inverted
    when it is dark ink on light paper, so it looks like MNIST.

    Parameters
    ----------
    paths : str, path-like, or sequence of them
        The image files; a single path loads one image.
    shape : tuple of (int, int), default=(28, 28)
        ``(rows, columns)`` of the output images.
    invert : {"auto", True, False}, default="auto"
        ``"auto"`` inverts an image whose border pixels average above 0.5
        (a light background); True or False inverts every image or none.
    resize : bool, default=True
        Resize images of another size to ``shape`` (antialiased; the aspect
        ratio is not kept). False raises ValueError for such images.

    Returns
    -------
    X : ndarray of shape (n_images, rows * columns), float32
        One flattened image per row, in the order of ``paths``; values in
        [0, 1], 0 is background.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If a file is not a readable image, has the wrong size with
        ``resize=False``, or an argument is invalid. The message names the file.

    Examples
    --------
    >>> from pathlib import Path
    >>> from deepbelief.datasets import load_images
    >>> X = load_images(sorted(Path("my_digits").glob("*.png")))  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (10, 784)
    """
    paths = _path_list(paths)
    shape = _check_shape(shape)
    auto = isinstance(invert, str) and invert == "auto"
    if not auto and not isinstance(invert, (bool, np.bool_)):
        raise ValueError(f'invert must be "auto", True or False, got {invert!r}')
    X = np.empty((len(paths), shape[0] * shape[1]), dtype=np.float32)
    for i, path in enumerate(paths):
        image = _read_gray(path)
        image = _fit(image, shape, resize, path)
        pixels = np.asarray(image, dtype=np.float32) / np.float32(255)  # (rows, columns)
        if _light_background(pixels) if auto else invert:
            pixels = 1 - pixels
        X[i] = pixels.ravel()
    return X


def _path_list(paths):
    """A list of paths from one path or a sequence; ValueError if it is empty."""
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    paths = list(paths)
    if not paths:
        raise ValueError("no image paths given; check the glob pattern or list you passed")
    return paths


def _check_shape(shape):
    """``shape`` as a tuple of two positive ints, else ValueError."""
    try:
        rows, columns = (int(s) for s in shape)
    except (TypeError, ValueError):
        rows = columns = 0
    if rows < 1 or columns < 1:
        raise ValueError(f"shape must be (rows, columns) of positive ints, e.g. (28, 28); got {shape!r}")
    return rows, columns


def _read_gray(path):
    """Open ``path`` as an 8-bit grayscale image, transparency composited on white."""
    try:
        with Image.open(path) as image:
            image.load()
            return _to_gray(image)
    except FileNotFoundError:
        raise FileNotFoundError(f"image file not found: {path}; check the path") from None
    except IsADirectoryError:
        raise ValueError(
            f"{path} is a directory, not an image; pass the files in it, "
            "e.g. sorted(Path(directory).glob('*.png'))"
        ) from None
    except PermissionError:
        raise
    except UnidentifiedImageError:
        raise ValueError(
            f"{path}: not an image Pillow can read; pass PNG or JPEG files"
        ) from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the image ({exc}); the file may be truncated or corrupt") from exc


def _to_gray(image):
    """Mode "L" copy of ``image``; transparent pixels become white paper."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return image.convert("L")


def _fit(image, shape, resize, path):
    """Return ``image`` at ``shape`` (rows, columns), resizing if allowed."""
    rows, columns = shape
    if (image.height, image.width) == (rows, columns):
        return image
    if not resize:
        raise ValueError(
            f"{path}: image is {image.height}x{image.width} (rows x columns) but "
            f"shape={shape} expects {rows}x{columns}; pass resize=True or resize the file"
        )
    return image.resize((columns, rows), _LANCZOS)


def _light_background(pixels):
    """True when the border of ``pixels`` (rows, columns) in [0, 1] averages above 0.5."""
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return border.mean() > 0.5
