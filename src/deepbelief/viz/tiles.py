"""Pictures without matplotlib: images tiled into one grid and written as PNG."""

import io
import math

import numpy as np
from PIL import Image

from .._core.files import atomic_write_bytes


def tile_images(images, image_shape, n_cols=None, pad=1, normalize="each"):
    """Arrange flat images into one 2-D grid, e.g. an RBM's filters.

    Parameters
    ----------
    images : ndarray of shape (n_images, height * width)
    image_shape : (int, int)
    n_cols : int, default=None
        Images per row; about the square root of ``n_images`` when None.
    pad : int, default=1
        Pixels of background between tiles.
    normalize : {"each", "all", None}, default="each"
        Stretch each image (filters: the pattern, not the scale, matters), all of them
        together, or nothing (values already in [0, 1]).

    Returns
    -------
    grid : ndarray of shape (rows * (height + pad) - pad, n_cols * (width + pad) - pad)
        Values in [0, 1].
    """
    images = np.asarray(images, dtype=float)
    height, width = image_shape
    if images.ndim != 2 or images.shape[1] != height * width:
        raise ValueError(
            f"images must have shape (n_images, {height * width}) for image_shape={image_shape}, "
            f"got {images.shape}."
        )
    if normalize == "each":
        low = images.min(axis=1, keepdims=True)
        span = images.max(axis=1, keepdims=True) - low
        images = (images - low) / np.where(span > 0, span, 1)
    elif normalize == "all":
        span = images.max() - images.min()
        images = (images - images.min()) / (span if span > 0 else 1)
    else:
        images = np.clip(images, 0, 1)
    n = len(images)
    n_cols = n_cols or max(1, math.ceil(math.sqrt(n)))
    n_rows = max(1, math.ceil(n / n_cols))
    grid = np.zeros((n_rows * (height + pad) - pad, n_cols * (width + pad) - pad))
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        top, left = r * (height + pad), c * (width + pad)
        grid[top : top + height, left : left + width] = image.reshape(height, width)
    return grid


def save_png(grid, path, scale=1):
    """Write a [0, 1] grayscale array as an 8-bit PNG, enlarged ``scale`` times, atomically."""
    pixels = (np.clip(grid, 0, 1) * 255).round().astype(np.uint8)
    image = Image.fromarray(pixels, mode="L")
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue())
