"""Read IDX files, the format MNIST is distributed in.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then
``ndim`` big-endian uint32 dimension sizes, then the data in C order, big-endian.
See http://yann.lecun.com/exdb/mnist/ (section "The IDX file format").
"""

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

# IDX type code -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path_or_bytes, mmap=False):
    """Read an IDX file (plain or gzip-compressed) into a NumPy array.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike, bytes, bytearray or memoryview
        Path of the file, or its content. Gzip compression is detected from
        the content (the ``1f 8b`` magic bytes), not from the file name.
    mmap : bool, default=False
        Map the data of an uncompressed file instead of reading it: the
        result is a read-only ``np.memmap`` whose pages are read from disk
        when touched, so a file larger than memory can be used. Needs a path;
        a gzip-compressed file must be decompressed first.

    Returns
    -------
    ndarray of the shape declared in the header
        Native byte order, writable; ``uint8`` for MNIST images and labels,
        e.g. shape ``(60000, 28, 28)`` for ``train-images-idx3-ubyte``.
        With ``mmap=True`` a read-only ``np.memmap`` of the file's own dtype
        (big-endian for multi-byte types, which NumPy reads correctly).

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    ValueError
        If the content is not a valid IDX file: bad magic number, unknown type
        code, truncated header or data, trailing bytes, or a broken gzip
        stream; or ``mmap=True`` with a gzip-compressed file. The message
        names the file.
    TypeError
        ``mmap=True`` with bytes instead of a path.

    Examples
    --------
    >>> import numpy as np
    >>> raw = bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])
    >>> read_idx(raw)
    array([7, 8, 9], dtype=uint8)
    """
    if mmap:
        return _map_idx(path_or_bytes)
    name, data = _read_source(path_or_bytes)
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, name)
    dtype, shape, offset = _parse_header(data, name)
    _check_length(len(data) - offset, dtype, shape, name)
    array = np.frombuffer(data, dtype=dtype, count=_product(shape), offset=offset)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def _map_idx(path):
    """A read-only memmap of the data of the uncompressed IDX file at ``path``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            "read_idx(..., mmap=True) maps a file, so it needs a file path, got "
            f"{type(path).__name__}; pass the path of an uncompressed IDX file"
        )
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(4)
        if head[:2] == _GZIP_MAGIC:
            raise ValueError(
                f"{path}: gzip-compressed, and a compressed file cannot be memory-mapped; "
                f"decompress it first: {_gunzip_command(path)}, and map the result"
            )
        head += f.read(4 * head[3] if len(head) == 4 else 0)
    dtype, shape, offset = _parse_header(head, str(path))
    _check_length(path.stat().st_size - offset, dtype, shape, str(path))
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def _gunzip_command(path):
    if path.suffix == ".gz":
        return f"gunzip -k {path}"
    return f"gunzip -c {path} > {path}.idx"


def _read_source(path_or_bytes):
    """Return ``(name for messages, raw bytes)`` for a path or a bytes-like object."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return "<bytes>", bytes(path_or_bytes)
    if isinstance(path_or_bytes, (str, os.PathLike)):
        path = Path(path_or_bytes)
        return str(path), path.read_bytes()
    raise TypeError(
        "read_idx expects a file path or bytes, got "
        f"{type(path_or_bytes).__name__}; pass e.g. 'train-images-idx3-ubyte.gz'"
    )


def _gunzip(data, name):
    """Decompress gzip ``data``; a broken stream becomes a ValueError naming ``name``."""
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(
            f"{name}: corrupt or truncated gzip data ({exc}); "
            "delete the file and download it again"
        ) from exc


def _parse_header(data, name):
    """Return ``(dtype, shape, data offset)`` from the IDX header of ``data``."""
    if len(data) < 4:
        raise ValueError(
            f"{name}: too short for an IDX file ({len(data)} bytes, the header "
            "alone needs at least 4); the file is truncated or not IDX"
        )
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{name}: bad magic number {data[:4].hex()} (an IDX file starts with "
            "two zero bytes); the file is not IDX, or is compressed in a format "
            "other than gzip"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(
            f"{name}: unknown IDX data type code 0x{code:02X} (known: {known}); "
            "the file is corrupt or not IDX"
        )
    if ndim == 0:
        raise ValueError(f"{name}: header declares 0 dimensions; the file is corrupt")
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise ValueError(
            f"{name}: truncated header: {ndim} dimensions need {offset} header "
            f"bytes but the file has {len(data)}"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return IDX_DTYPES[code], shape, offset


def _check_length(actual, dtype, shape, name):
    """Raise ValueError unless the ``actual`` bytes after the header are the declared amount."""
    expected = _product(shape) * dtype.itemsize
    if actual < expected:
        raise ValueError(
            f"{name}: truncated data: shape {shape} needs {expected} bytes after "
            f"the header but only {actual} are present; delete the file and "
            "download it again"
        )
    if actual > expected:
        raise ValueError(
            f"{name}: {actual - expected} trailing bytes after the {expected} bytes "
            f"of data declared by shape {shape}; the file is corrupt or its "
            "header is wrong"
        )


def _product(shape):
    """Number of elements in ``shape`` (a Python int, so it cannot overflow)."""
    n = 1
    for size in shape:
        n *= size
    return n
