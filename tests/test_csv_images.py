"""load_csv, load_images and load_digits on tiny files written in tmp_path."""

import numpy as np
import pytest
from PIL import Image

from deepbelief.datasets import load_csv, load_digits, load_images

# ---------------------------------------------------------------- load_csv
# 2x2 "images": 4 pixel columns, or 5 with a label column first.

ROWS = [[3, 0, 255, 128, 64], [7, 255, 0, 0, 51]]
PIXELS = np.array([r[1:] for r in ROWS], dtype=np.float32) / 255


def write_csv(tmp_path, text, name="digits.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def csv_text(rows, header=None):
    lines = [header] if header else []
    return "\n".join(lines + [",".join(str(v) for v in row) for row in rows]) + "\n"


def test_csv_header_and_labels(tmp_path):
    X, y = load_csv(write_csv(tmp_path, csv_text(ROWS, "label,pixel0,pixel1,pixel2,pixel3")))
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X, PIXELS, rtol=1e-6)
    np.testing.assert_array_equal(y, [3, 7])


def test_csv_labels_without_header(tmp_path):
    X, y = load_csv(write_csv(tmp_path, csv_text(ROWS)))
    np.testing.assert_allclose(X, PIXELS, rtol=1e-6)
    np.testing.assert_array_equal(y, [3, 7])


def test_csv_header_without_labels(tmp_path):
    """Kaggle's test.csv: 28*28 pixel columns, no label."""
    rows = [r[1:] for r in ROWS]
    X, y = load_csv(write_csv(tmp_path, csv_text(rows, "pixel0,pixel1,pixel2,pixel3")))
    assert y is None
    np.testing.assert_allclose(X, PIXELS, rtol=1e-6)


def test_csv_no_header_no_labels_single_row(tmp_path):
    X, y = load_csv(write_csv(tmp_path, "0,255,0,255\n"))
    assert y is None and X.shape == (1, 4)
    np.testing.assert_array_equal(X, [[0, 1, 0, 1]])


def test_csv_label_header_wins_over_column_count(tmp_path):
    X, y = load_csv(write_csv(tmp_path, "label,a,b\n1,0,255\n2,255,0\n"))
    np.testing.assert_array_equal(y, [1, 2])
    np.testing.assert_array_equal(X, [[0, 1], [1, 0]])


def test_csv_has_labels_can_be_forced(tmp_path):
    X, y = load_csv(write_csv(tmp_path, csv_text(ROWS)), has_labels=False)
    assert y is None and X.shape == (2, 5)


def test_csv_values_already_in_unit_range_are_kept(tmp_path):
    X, _ = load_csv(write_csv(tmp_path, "0,0.5,1,0.25\n"))
    np.testing.assert_array_equal(X, [[0, 0.5, 1, 0.25]])


def test_csv_windows_line_endings_and_bom(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes(b"\xef\xbb\xbflabel,p0,p1,p2,p3\r\n3,0,255,128,64\r\n7,255,0,0,51\r\n")
    X, y = load_csv(path)
    np.testing.assert_array_equal(y, [3, 7])
    np.testing.assert_allclose(X, PIXELS, rtol=1e-6)


def test_csv_ambiguous_column_count(tmp_path):
    with pytest.raises(ValueError, match=r"first of its 3 columns .* pass has_labels=True or has_labels=False"):
        load_csv(write_csv(tmp_path, "1,2,3\n"))


def test_csv_ragged_row_names_line(tmp_path):
    path = write_csv(tmp_path, "label,p0,p1,p2,p3\n3,0,255,128,64\n7,255,0,0\n")
    with pytest.raises(ValueError, match=r"digits\.csv, line 3: 4 values, but line 1 has 5; every row"):
        load_csv(path)


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    path = write_csv(tmp_path, "3,0,255,128,64\n7,255,abc,0,51\n")
    with pytest.raises(ValueError, match=r"line 2, column 3: 'abc' is not a number"):
        load_csv(path)


def test_csv_empty_cell(tmp_path):
    with pytest.raises(ValueError, match=r"line 1, column 2: '' is not a number"):
        load_csv(write_csv(tmp_path, "3,,255,128,64\n"))


def test_csv_nan(tmp_path):
    path = write_csv(tmp_path, "3,0,255,128,64\n7,255,0,nan,51\n")
    with pytest.raises(ValueError, match=r"line 2, column 4: nan is not allowed; fill in or drop"):
        load_csv(path)


@pytest.mark.parametrize("value", ["256", "-1"])
def test_csv_pixel_out_of_range(tmp_path, value):
    path = write_csv(tmp_path, f"3,0,255,128,64\n7,255,0,{value},51\n")
    with pytest.raises(ValueError, match=rf"line 2, column 4: pixel value {value} is outside \[0, 255\]"):
        load_csv(path)


def test_csv_label_must_be_integer(tmp_path):
    with pytest.raises(ValueError, match=r"line 1, column 1: label 2.5 is not an integer"):
        load_csv(write_csv(tmp_path, "2.5,0,255,128,64\n"))


def test_csv_empty_file(tmp_path):
    with pytest.raises(ValueError, match=r"empty\.csv: the file is empty"):
        load_csv(write_csv(tmp_path, "", name="empty.csv"))


def test_csv_header_only(tmp_path):
    with pytest.raises(ValueError, match="header line but no data rows"):
        load_csv(write_csv(tmp_path, "label,p0,p1,p2,p3\n"))


def test_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CSV file not found: .*nope\.csv"):
        load_csv(tmp_path / "nope.csv")


# ------------------------------------------------------------- load_images

def digit(light_on_dark=True, size=28):
    """(size, size) uint8: a bright bar on black, or its negative."""
    pixels = np.zeros((size, size), dtype=np.uint8)
    pixels[size // 4 : 3 * size // 4, size // 2 - size // 8 : size // 2 + size // 8] = 255
    return pixels if light_on_dark else 255 - pixels


def save(tmp_path, name, pixels, mode=None):
    path = tmp_path / name
    Image.fromarray(pixels, mode=mode).save(path)
    return path


def test_light_on_dark_is_kept(tmp_path):
    X = load_images(save(tmp_path, "light.png", digit()))
    assert X.shape == (1, 784) and X.dtype == np.float32
    np.testing.assert_array_equal(X[0], digit().ravel() / 255)


def test_dark_on_light_is_inverted(tmp_path):
    X = load_images([save(tmp_path, "dark.png", digit(light_on_dark=False))])
    np.testing.assert_array_equal(X[0], digit().ravel() / 255)


def test_invert_can_be_forced(tmp_path):
    path = save(tmp_path, "light.png", digit())
    np.testing.assert_array_equal(load_images(path, invert=True)[0], 1 - digit().ravel() / 255)
    dark = save(tmp_path, "dark.png", digit(light_on_dark=False))
    np.testing.assert_array_equal(load_images(dark, invert=False)[0], digit(False).ravel() / 255)


def test_several_files_keep_their_order(tmp_path):
    paths = [save(tmp_path, "a.png", digit()), save(tmp_path, "b.png", np.zeros((28, 28), np.uint8))]
    X = load_images(paths)
    assert X.shape == (2, 784) and X[0].max() == 1 and X[1].max() == 0


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((28, 28, 4), dtype=np.uint8)  # black, fully transparent: white paper
    rgba[..., 3] = digit()  # opaque black ink where the bar is
    X = load_images(save(tmp_path, "ink.png", rgba, mode="RGBA"))
    np.testing.assert_array_equal(X[0], digit().ravel() / 255)


def test_rgb_jpeg(tmp_path):
    rgb = np.stack([digit(light_on_dark=False)] * 3, axis=-1)
    path = tmp_path / "photo.jpg"
    Image.fromarray(rgb).save(path, quality=95)
    X = load_images(path)
    np.testing.assert_allclose(X[0], digit().ravel() / 255, atol=0.15)  # lossy


def test_wrong_size_without_resize_names_file_and_sizes(tmp_path):
    path = save(tmp_path, "big.png", digit(size=56))
    with pytest.raises(ValueError, match=r"big\.png: image is 56x56 .* expects 28x28; pass resize=True"):
        load_images(path, resize=False)


def test_wrong_size_is_resized(tmp_path):
    X = load_images(save(tmp_path, "big.png", digit(light_on_dark=False, size=56)))
    assert X.shape == (1, 784) and 0 <= X.min() and X.max() <= 1
    assert X[0].reshape(28, 28)[0].max() < 0.05  # background ends up dark after inversion
    assert X[0].reshape(28, 28)[14, 14] > 0.9  # the bar stays bright


def test_other_output_shape(tmp_path):
    assert load_images(save(tmp_path, "d.png", digit()), shape=(8, 8)).shape == (1, 64)


def test_non_image_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    with pytest.raises(ValueError, match=r"notes\.png: not an image Pillow can read"):
        load_images(path)


def test_truncated_image(tmp_path):
    path = save(tmp_path, "cut.png", digit())
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(ValueError, match=r"cut\.png: cannot read the image .* truncated or corrupt"):
        load_images(path)


def test_missing_image(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"image file not found: .*ghost\.png"):
        load_images([tmp_path / "ghost.png"])


def test_directory_instead_of_image(tmp_path):
    with pytest.raises(ValueError, match=r"is a directory, not an image"):
        load_images(tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"invert": "yes"}, r'invert must be "auto", True or False'),
        ({"shape": (28,)}, r"shape must be \(rows, columns\) of positive ints"),
        ({"shape": (0, 28)}, r"shape must be \(rows, columns\) of positive ints"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_images(save(tmp_path, "d.png", digit()), **kwargs)


def test_no_paths():
    with pytest.raises(ValueError, match="no image paths given"):
        load_images([])


# ------------------------------------------------------------- load_digits

def test_load_digits():
    digits = load_digits()
    assert digits.X.shape == (1797, 64) and digits.X.dtype == np.float32
    assert digits.X.min() == 0 and digits.X.max() == 1
    assert digits.y.dtype == np.int64 and set(digits.y.tolist()) == set(range(10))
    assert digits.image_shape == (8, 8)
