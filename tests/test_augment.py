"""Nudges, rotations and crops move pixels exactly where they should."""

import numpy as np
import pytest

from deepbelief.datasets.augment import augment, center_crop, nudge, random_crops, rotate, shift


def one_pixel(row, col, shape=(5, 5)):
    image = np.zeros(shape, dtype=np.float32)
    image[row, col] = 1.0
    return image.reshape(1, -1)


@pytest.mark.parametrize("dy, dx, expected", [(-1, 0, (1, 2)), (1, 0, (3, 2)), (0, -1, (2, 1)), (0, 1, (2, 3))])
def test_shift_moves_a_pixel_one_step(dy, dx, expected):
    moved = shift(one_pixel(2, 2), (5, 5), dy, dx).reshape(5, 5)
    assert moved[expected] == 1.0 and moved.sum() == 1.0


def test_shift_drops_what_leaves_the_frame():
    assert shift(one_pixel(0, 0), (5, 5), -1, 0).sum() == 0


def test_nudge_makes_four_shifted_copies_with_labels():
    X = np.vstack([one_pixel(2, 2), one_pixel(1, 3)])
    Xn, yn = nudge(X, np.array([7, 9]), image_shape=(5, 5))
    assert Xn.shape == (8, 25) and list(yn) == [7, 9] * 4
    np.testing.assert_array_equal(Xn[0], shift(X, (5, 5), -1, 0)[0])
    np.testing.assert_array_equal(Xn[7], shift(X, (5, 5), 0, 1)[1])


def test_rotation_by_90_degrees_turns_the_image():
    image = np.zeros((9, 9), dtype=np.float32)
    image[1:4, 4] = 1.0  # a bar above the centre
    turned = rotate(image.reshape(1, -1), (9, 9), 90.0).reshape(9, 9)
    # counter-clockwise: the bar ends up left of the centre
    assert turned[4, 1:4].min() > 0.9 and turned[1:4, 4].max() < 0.1
    np.testing.assert_allclose(rotate(image.reshape(1, -1), (9, 9), 0.0).reshape(9, 9), image, atol=1e-6)


def test_augment_keeps_the_originals_and_adds_small_distortions():
    rng = np.random.RandomState(0)
    X = (rng.rand(20, 784) > 0.7).astype(np.float32)
    y = np.arange(20)
    Xa, ya = augment(X, y, n_copies=2, random_state=0)
    assert Xa.shape == (60, 784) and list(ya) == list(y) * 3
    np.testing.assert_array_equal(Xa[:20], X)
    assert not np.array_equal(Xa[20:40], X)
    assert Xa.min() >= 0 and Xa.max() <= 1 + 1e-6
    Xb, _ = augment(X, y, n_copies=2, random_state=0)
    np.testing.assert_array_equal(Xa, Xb)


def test_crops():
    X = np.arange(2 * 36, dtype=np.float32).reshape(2, 36)
    centre = center_crop(X, (6, 6), (4, 4))
    np.testing.assert_array_equal(centre[0].reshape(4, 4), X[0].reshape(6, 6)[1:5, 1:5])
    crops, labels = random_crops(X, np.array([3, 4]), (6, 6), (4, 4), n_crops=3, random_state=0)
    assert crops.shape == (6, 16) and list(labels) == [3, 4] * 3
    for crop, source in zip(crops, np.tile(X, (3, 1))):
        image = source.reshape(6, 6)
        windows = [image[t : t + 4, s : s + 4].ravel() for t in range(3) for s in range(3)]
        assert any(np.array_equal(crop, w) for w in windows)


def test_wrong_shape_is_explained():
    with pytest.raises(ValueError, match=r"shape \(n_samples, 784\)"):
        nudge(np.zeros((3, 64)))
    with pytest.raises(ValueError, match="larger than image_shape"):
        random_crops(np.zeros((1, 16)), [0], (4, 4), (5, 5))
