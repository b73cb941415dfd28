"""read_idx: round trips on tiny hand-made IDX files, and every kind of damage."""

import gzip

import numpy as np
import pytest

from deepbelief.datasets import read_idx

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array):
    """The IDX encoding of ``array``, written independently of the parser."""
    array = np.asarray(array)
    header = bytes([0, 0, CODES[array.dtype.type], array.ndim])
    dims = b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.fixture
def ds_images():
    return np.arange(12, dtype=np.uint8).reshape(3, 2, 2) * 20  # 3 images of 2x2


def test_plain_file_round_trip(tmp_path, ds_images):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(idx_bytes(ds_images))
    result = read_idx(path)
    assert result.dtype == np.uint8
    assert result.shape == (3, 2, 2)
    np.testing.assert_array_equal(result, ds_images)


def test_gzip_file_round_trip(tmp_path, ds_images):
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(ds_images)))
    np.testing.assert_array_equal(read_idx(path), ds_images)
    np.testing.assert_array_equal(read_idx(str(path)), ds_images)


def test_gzip_is_detected_from_content_not_name(tmp_path, ds_images):
    path = tmp_path / "no-extension"
    path.write_bytes(gzip.compress(idx_bytes(ds_images)))
    np.testing.assert_array_equal(read_idx(path), ds_images)


def test_bytes_input_and_labels():
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(idx_bytes(labels)), labels)
    np.testing.assert_array_equal(read_idx(gzip.compress(idx_bytes(labels))), labels)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_multibyte_types_come_back_in_native_order(dtype):
    values = np.array([[-3, 2], [1, 100]], dtype=dtype)
    result = read_idx(idx_bytes(values))
    assert result.dtype == np.dtype(dtype)  # native byte order, not big-endian
    np.testing.assert_array_equal(result, values)


def test_result_is_writable(ds_images):
    result = read_idx(idx_bytes(ds_images))
    result[0, 0, 0] = 7
    assert result[0, 0, 0] == 7


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bad_magic_names_file(tmp_path, ds_images):
    path = write(tmp_path, "bad-magic.idx", b"\x01\x02" + idx_bytes(ds_images)[2:])
    with pytest.raises(ValueError, match=r"bad-magic\.idx: bad magic number"):
        read_idx(path)


def test_unknown_type_code(tmp_path, ds_images):
    data = bytearray(idx_bytes(ds_images))
    data[2] = 0x07
    path = write(tmp_path, "bad-type.idx", bytes(data))
    with pytest.raises(ValueError, match=r"bad-type\.idx: unknown IDX data type code 0x07"):
        read_idx(path)


def test_truncated_data(tmp_path, ds_images):
    path = write(tmp_path, "short.idx", idx_bytes(ds_images)[:-3])
    with pytest.raises(ValueError, match=r"short\.idx: truncated data: shape \(3, 2, 2\) needs 12 bytes"):
        read_idx(path)


def test_trailing_bytes(tmp_path, ds_images):
    path = write(tmp_path, "long.idx", idx_bytes(ds_images) + b"\x00\x00")
    with pytest.raises(ValueError, match=r"long\.idx: 2 trailing bytes"):
        read_idx(path)


def test_dims_that_disagree_with_data(tmp_path, ds_images):
    data = bytearray(idx_bytes(ds_images))
    data[4:8] = (4).to_bytes(4, "big")  # header claims 4 images, data holds 3
    path = write(tmp_path, "wrong-dims.idx", bytes(data))
    with pytest.raises(ValueError, match=r"wrong-dims\.idx: truncated data: shape \(4, 2, 2\)"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = write(tmp_path, "header.idx", bytes([0, 0, 0x08, 3, 0, 0, 0, 3]))
    with pytest.raises(ValueError, match=r"header\.idx: truncated header: 3 dimensions need 16"):
        read_idx(path)


def test_too_short_and_zero_dims(tmp_path):
    with pytest.raises(ValueError, match=r"tiny\.idx: too short"):
        read_idx(write(tmp_path, "tiny.idx", b"\x00\x00"))
    with pytest.raises(ValueError, match=r"scalar\.idx: header declares 0 dimensions"):
        read_idx(write(tmp_path, "scalar.idx", bytes([0, 0, 0x08, 0])))


def test_truncated_gzip_stream(tmp_path, ds_images):
    packed = gzip.compress(idx_bytes(ds_images))
    path = write(tmp_path, "cut.idx.gz", packed[: len(packed) // 2])
    with pytest.raises(ValueError, match=r"cut\.idx\.gz: corrupt or truncated gzip data"):
        read_idx(path)


def test_corrupt_gzip_stream(tmp_path, ds_images):
    packed = bytearray(gzip.compress(idx_bytes(ds_images)))
    packed[12:20] = b"\xff" * 8
    path = write(tmp_path, "garbled.gz", bytes(packed))
    with pytest.raises(ValueError, match=r"garbled\.gz: corrupt or truncated gzip data"):
        read_idx(path)


def test_bytes_errors_say_bytes(ds_images):
    with pytest.raises(ValueError, match=r"<bytes>: truncated data"):
        read_idx(idx_bytes(ds_images)[:-1])


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here")


def test_wrong_argument_type():
    with pytest.raises(TypeError, match="expects a file path or bytes, got int"):
        read_idx(3)


# mmap=True: a read-only view of an uncompressed file, checked like a read.


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float64])
def test_mmap_gives_the_values_of_the_read(tmp_path, dtype):
    values = (np.arange(60).reshape(5, 3, 4) - 7).astype(dtype)
    path = write(tmp_path, "values-idx3", idx_bytes(values))
    mapped = read_idx(path, mmap=True)
    assert isinstance(mapped, np.memmap) and mapped.shape == (5, 3, 4)
    assert mapped.dtype == np.dtype(dtype).newbyteorder(">")  # the file's own byte order
    np.testing.assert_array_equal(mapped, read_idx(path))
    np.testing.assert_array_equal(mapped[2:4], values[2:4])
    assert not mapped.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        mapped[0, 0, 0] = 1


def test_mmap_accepts_a_string_path_and_mnist_like_files(tmp_path, ds_images):
    path = write(tmp_path, "train-images-idx3-ubyte", idx_bytes(ds_images))
    np.testing.assert_array_equal(read_idx(str(path), mmap=True), ds_images)


def test_mmap_of_a_gzipped_file_says_how_to_decompress_it(tmp_path, ds_images):
    path = write(tmp_path, "images-idx3-ubyte.gz", gzip.compress(idx_bytes(ds_images)))
    with pytest.raises(ValueError, match=r"images-idx3-ubyte\.gz: gzip-compressed.*"
                                         r"decompress it first: gunzip -k .*images-idx3-ubyte\.gz"):
        read_idx(path, mmap=True)
    other = write(tmp_path, "packed", gzip.compress(idx_bytes(ds_images)))
    with pytest.raises(ValueError, match=r"gunzip -c .*packed > .*packed\.idx"):
        read_idx(other, mmap=True)


@pytest.mark.parametrize("damage, message", [
    (lambda d: d[:-3], r"short\.idx: truncated data: shape \(3, 2, 2\) needs 12 bytes"),
    (lambda d: d + b"\x00\x00", r"short\.idx: 2 trailing bytes"),
    (lambda d: d[:10], r"short\.idx: truncated header: 3 dimensions need 16 header bytes but the "
                       r"file has 10"),
    (lambda d: d[:2], r"short\.idx: too short"),
    (lambda d: b"\x01\x02" + d[2:], r"short\.idx: bad magic number"),
])
def test_mmap_of_a_damaged_file_is_the_same_clear_error(tmp_path, ds_images, damage, message):
    path = write(tmp_path, "short.idx", damage(idx_bytes(ds_images)))
    with pytest.raises(ValueError, match=message):
        read_idx(path, mmap=True)


def test_mmap_needs_a_path(ds_images):
    with pytest.raises(TypeError, match="mmap=True.*needs a file path, got bytes"):
        read_idx(idx_bytes(ds_images), mmap=True)
