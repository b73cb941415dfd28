"""Small distortions of digit images: 1-pixel nudges, small rotations, crops.

The seeds of this project saw RBM features lose several points of accuracy when the test digits
were shifted by a single pixel, and got them back by training on shifted and rotated copies
(or on random crops). These functions make such copies. Images are flat rows, as everywhere in
deepbelief; ``image_shape`` says how to fold them.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state

#: The (dy, dx) of the four one-pixel nudges made by :func:`nudge`: up, down, left, right.
NUDGES = ((-1, 0), (1, 0), (0, -1), (0, 1))


def _as_images(X, image_shape):
    X = np.asarray(X)
    height, width = image_shape
    if X.ndim != 2 or X.shape[1] != height * width:
        raise ValueError(
            f"X must have shape (n_samples, {height * width}) for image_shape={tuple(image_shape)}, "
            f"got {X.shape}; pass the image_shape your rows were flattened from."
        )
    return X.reshape(-1, height, width)


def shift(X, image_shape, dy, dx):
    """Move every image ``dy`` pixels down and ``dx`` right (negative: up / left), filling with 0.

    Returns
    -------
    X_shifted : ndarray of the shape and dtype of ``X``
    """
    images = _as_images(X, image_shape)
    out = np.zeros_like(images)
    height, width = image_shape
    src_y = slice(max(0, -dy), height - max(0, dy))
    dst_y = slice(max(0, dy), height - max(0, -dy))
    src_x = slice(max(0, -dx), width - max(0, dx))
    dst_x = slice(max(0, dx), width - max(0, -dx))
    out[:, dst_y, dst_x] = images[:, src_y, src_x]
    return out.reshape(len(images), -1)


def nudge(X, y=None, image_shape=(28, 28)):
    """Four copies of the data, shifted one pixel up, down, left and right.

    Returns
    -------
    X_nudged : ndarray of shape (4 * n_samples, n_features)
    y_nudged : ndarray of shape (4 * n_samples,), only when ``y`` is given
    """
    X_nudged = np.vstack([shift(X, image_shape, dy, dx) for dy, dx in NUDGES])
    if y is None:
        return X_nudged
    return X_nudged, np.tile(np.asarray(y), len(NUDGES))


def rotate(X, image_shape, degrees):
    """Rotate each image about its centre by its own angle (bilinear, zero fill).

    ``degrees`` is one number or one per image (positive: counter-clockwise).
    """
    images = torch.as_tensor(_as_images(X, image_shape), dtype=torch.float32)[:, None]  # (N,1,H,W)
    angles = torch.as_tensor(np.broadcast_to(np.asarray(degrees, dtype=np.float32), (len(images),)).copy())
    theta = torch.deg2rad(angles)
    cos, sin = torch.cos(theta), torch.sin(theta)
    zeros = torch.zeros_like(cos)
    # affine_grid maps output to input coordinates (x right, y down); this sampling matrix
    # turns the picture counter-clockwise as seen on screen.
    matrix = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    grid = F.affine_grid(matrix, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.reshape(len(images), -1).numpy().astype(np.asarray(X).dtype, copy=False)


def augment(X, y, image_shape=(28, 28), n_copies=1, max_shift=1, max_rotation=10.0,
            random_state=None):
    """The data plus ``n_copies`` distorted copies: random shifts and small rotations.

    Each copy of each image is rotated by a uniform angle in [-max_rotation, max_rotation]
    degrees and shifted by whole pixels in [-max_shift, max_shift] along each axis.

    Returns
    -------
    X_aug : ndarray of shape ((1 + n_copies) * n_samples, n_features)
    y_aug : ndarray of shape ((1 + n_copies) * n_samples,)
    """
    rng = check_random_state(random_state)
    X = np.asarray(X)
    parts, labels = [X], [np.asarray(y)]
    for _ in range(n_copies):
        copy = rotate(X, image_shape, rng.uniform(-max_rotation, max_rotation, len(X)))
        dy = rng.randint(-max_shift, max_shift + 1, len(X))
        dx = rng.randint(-max_shift, max_shift + 1, len(X))
        for sy in range(-max_shift, max_shift + 1):
            for sx in range(-max_shift, max_shift + 1):
                rows = (dy == sy) & (dx == sx)
                if rows.any() and (sy or sx):
                    copy[rows] = shift(copy[rows], image_shape, sy, sx)
        parts.append(copy)
        labels.append(np.asarray(y))
    return np.vstack(parts), np.concatenate(labels)


def center_crop(X, image_shape, crop_shape=(24, 24)):
    """The central ``crop_shape`` window of every image, flattened."""
    images = _as_images(X, image_shape)
    top, left = (image_shape[0] - crop_shape[0]) // 2, (image_shape[1] - crop_shape[1]) // 2
    return images[:, top : top + crop_shape[0], left : left + crop_shape[1]].reshape(len(images), -1)


def random_crops(X, y, image_shape, crop_shape=(24, 24), n_crops=1, random_state=None):
    """``n_crops`` random ``crop_shape`` windows of every image (with their labels).

    Train on random crops and test on :func:`center_crop` so that small shifts of the digit
    inside the frame are seen during training.
    """
    rng = check_random_state(random_state)
    images = _as_images(X, image_shape)
    if crop_shape[0] > image_shape[0] or crop_shape[1] > image_shape[1]:
        raise ValueError(f"crop_shape {tuple(crop_shape)} is larger than image_shape {tuple(image_shape)}.")
    n = len(images)
    crops, labels = [], []
    rows = np.arange(n)[:, None, None]
    for _ in range(n_crops):
        top = rng.randint(0, image_shape[0] - crop_shape[0] + 1, n)
        left = rng.randint(0, image_shape[1] - crop_shape[1] + 1, n)
        yy = top[:, None, None] + np.arange(crop_shape[0])[None, :, None]
        xx = left[:, None, None] + np.arange(crop_shape[1])[None, None, :]
        crops.append(images[rows, yy, xx].reshape(n, -1))
        labels.append(np.asarray(y))
    return np.vstack(crops), np.concatenate(labels)
