"""Figures with matplotlib: image grids, rows of images, a pair of images; the shared drawing helpers.

Every function takes NumPy arrays, writes one PNG atomically and returns its path. Figures are
drawn on matplotlib's Agg canvas without pyplot, so no global backend or figure list changes
and nothing is left open. matplotlib is optional: ``pip install 'deepbelief[plot]'``.
"""

import io
import math

import numpy as np

from .._core.files import atomic_write_bytes
from .tiles import tile_images

DPI = 110
PAD_COLOR = "#b8c0cc"  # between tiles, so black-background digits stay apart
GRID_WIDTH = 8.0  # inches


def new_figure(width, height):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "deepbelief's plots need matplotlib, which is not installed: "
            "pip install 'deepbelief[plot]'"
        ) from exc
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(fig, path):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", bbox_inches="tight",
                pad_inches=0.15)  # no empty margins around image grids
    fig.clear()
    return atomic_write_bytes(path, buffer.getvalue())


def _gray_with_pad():
    from matplotlib import colormaps

    return colormaps["gray"].with_extremes(bad=PAD_COLOR)


def as_images(images, image_shape, name="images"):
    images = np.asarray(images, dtype=float)
    if images.ndim == 1:
        images = images[None, :]
    height, width = image_shape
    if images.ndim != 2 or images.shape[1] != height * width:
        raise ValueError(
            f"{name} must have shape (n_images, {height * width}) for image_shape="
            f"{tuple(image_shape)}, got {images.shape}."
        )
    return images


def tiles(images, image_shape, n_cols, normalize):
    """Tiled grid with padding and empty slots masked (drawn in PAD_COLOR), and its row count."""
    grid = tile_images(images, image_shape, n_cols=n_cols, normalize=normalize)
    filled = tile_images(np.ones_like(images), image_shape, n_cols=n_cols, normalize=None)
    n_rows = math.ceil(len(images) / (n_cols or max(1, math.ceil(math.sqrt(len(images))))))
    return np.ma.masked_where(filled == 0, grid), n_rows


def _row_centers(n_rows, height, pad=1):
    return [r * (height + pad) + (height - 1) / 2 for r in range(n_rows)]


def show_grid(ax, grid, image_shape, row_labels):
    ax.imshow(grid, cmap=_gray_with_pad(), vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks(_row_centers(len(row_labels), image_shape[0]) if row_labels else [])
    if row_labels:
        ax.set_yticklabels(row_labels, fontsize=11)
        ax.tick_params(axis="y", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _grid_figure(grid, image_shape, row_labels, title, path):
    height = GRID_WIDTH * grid.shape[0] / grid.shape[1] + 0.6
    fig = new_figure(GRID_WIDTH, min(max(height, 1.5), 14))
    ax = fig.subplots()
    show_grid(ax, grid, image_shape, row_labels)
    if title:
        ax.set_title(title, fontsize=13)
    return save_figure(fig, path)


def plot_image_grid(images, image_shape, path, title=None, n_cols=None, row_labels=None,
                    normalize="each"):
    """Draw images in one grid: RBM filters, samples, unit probes.

    Parameters
    ----------
    images : ndarray of shape (n_images, height * width)
    image_shape : (int, int)
    path : str or Path
        Where to write the PNG.
    title : str, default=None
    n_cols : int, default=None
        Images per row; about the square root of ``n_images`` when None.
    row_labels : list of str, default=None
        One label per row of the grid, written on the left.
    normalize : {"each", "all", None}, default="each"
        "each" stretches every image to full contrast (filters and probes: the pattern
        matters), "all" stretches them together, None shows values in [0, 1] as they are
        (samples, reconstructions).

    Returns
    -------
    path : pathlib.Path
    """
    images = as_images(images, image_shape)
    grid, n_rows = tiles(images, image_shape, n_cols, normalize)
    if row_labels is not None and len(row_labels) != n_rows:
        raise ValueError(f"row_labels has {len(row_labels)} labels but the grid has {n_rows} "
                         "rows; give one label per row.")
    labels = list(row_labels) if row_labels is not None else None
    return _grid_figure(grid, image_shape, labels, title, path)


def plot_image_rows(rows, image_shape, path, title=None, normalize=None):
    """Labelled rows of images, e.g. originals above their reconstructions through 1 and 2 layers.

    Parameters
    ----------
    rows : dict of str to ndarray of shape (n_images, height * width)
        Row label to images, top row first: ``{"original": X, "1 layer": R1, "2 layers": R2}``
        or ``{"damaged": D, "repaired": R}``. Rows may hold different numbers of images.
    image_shape : (int, int)
    path : str or Path
    title : str, default=None
    normalize : {"each", "all", None}, default=None
        As in :func:`plot_image_grid`, applied row by row.

    Returns
    -------
    path : pathlib.Path
    """
    if not rows:
        raise ValueError("rows must hold at least one labelled row of images.")
    arrays = {label: as_images(images, image_shape, f"rows[{label!r}]")
              for label, images in rows.items()}
    n_cols = max(len(images) for images in arrays.values())
    parts = []
    for images in arrays.values():
        row, _ = tiles(images, image_shape, n_cols, normalize)  # shorter rows end in padding
        # A masked separator row; its data are zeros, not masked_all's uninitialised memory.
        parts += [row, np.ma.masked_array(np.zeros((1, row.shape[1])), mask=True)]
    return _grid_figure(np.ma.concatenate(parts[:-1], axis=0), image_shape, list(arrays), title,
                        path)


def plot_pair(a, b, image_shape, path, titles=("reconstruction from biases", "mean digit"),
              title=None):
    """Two images side by side on one grey scale, e.g. the bias-only reconstruction and the mean.

    Parameters
    ----------
    a, b : ndarray of shape (height * width,)
    image_shape : (int, int)
    path : str or Path
    titles : (str, str), default=("reconstruction from biases", "mean digit")
    title : str, default=None
        Above both.

    Returns
    -------
    path : pathlib.Path
    """
    a = as_images(a, image_shape, "a")[0].reshape(image_shape)
    b = as_images(b, image_shape, "b")[0].reshape(image_shape)
    low, high = min(a.min(), b.min(), 0.0), max(a.max(), b.max(), 1.0)
    fig = new_figure(6.4, 3.6)
    axes = fig.subplots(1, 2)
    for ax, image, name in zip(axes, (a, b), titles):
        shown = ax.imshow(image, cmap="gray", vmin=low, vmax=high, interpolation="nearest")
        ax.set_title(name, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=list(axes), shrink=0.8, label="pixel value")
    if title:
        fig.suptitle(title, fontsize=13)
    return save_figure(fig, path)
