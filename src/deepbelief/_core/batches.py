"""Mini-batches of training rows: from a tensor in memory, or read on demand from a NumPy memmap
or a scipy.sparse matrix.

A memmap (``np.memmap``, e.g. ``np.load(path, mmap_mode="r")`` or ``read_idx(path, mmap=True)``)
is never read whole: its checks, its column mean and its batches go through it in slices, so
training holds one batch, one chunk of ``CHUNK_BYTES`` and the epoch's shuffled index (8 bytes per
row) besides the model. Batches take the rows of the same shuffled index as in memory, so the
model is the same bit for bit; the rows are read in that random order, which is fast when the
file sits in the page cache and slower (a disk seek per row) from a cold disk.

A memmap must hold floats (in [0, 1] for bernoulli visible units), as in-memory data must:
uint8 images are refused with the recipe for a scaled float32 copy rather than divided by a
guessed 255 (``read_idx(path, mmap=True)`` of MNIST gives such a uint8 memmap). A DBN's upper RBMs read ``LiftedRows``:
the batch carried up through the fitted RBMs below.

A scipy.sparse matrix or array (``SparseRows``, CSR inside) is streamed the same way: each batch
and chunk is densified on its own, its checks read the stored values only, and the model equals
the one trained on the same rows as a dense array, bit for bit.
"""

import numpy as np
import scipy.sparse as sp
import torch

from . import rbm_math as m
from .backend import data_values_error, summed, to_tensor
from .cd_int8 import quantize_units
from .units import get_unit

# Rows per chunk for the streamed checks and column means: this many bytes of float64.
CHUNK_BYTES = 4 * 2**20


class RowStream:
    """Rows read on demand (the interface of streamed data).

    ``shape`` is (n_samples, n_features); ``rows(index, device)`` returns those rows as a
    float32 tensor, in the order of ``index``; ``chunks()`` yields consecutive slices as NumPy
    arrays of at most about ``CHUNK_BYTES``, in the data's own float dtype.
    """

    shape = (0, 0)

    def chunk_rows(self):
        return max(1, CHUNK_BYTES // (8 * max(1, self.shape[1])))


class ArrayRows(RowStream):
    """The rows of a 2-D float array, read when asked for: from the file for a memmap."""

    def __init__(self, X):
        self.X = X
        self.shape = X.shape

    def rows(self, index, device):
        index = index.cpu().numpy() if isinstance(index, torch.Tensor) else index
        return torch.from_numpy(np.asarray(self.X[index], dtype=np.float32)).to(device)

    def chunks(self):
        step = self.chunk_rows()
        for start in range(0, self.shape[0], step):
            yield np.asarray(self.X[start : start + step])


class SparseRows(RowStream):
    """The rows of a scipy.sparse matrix or array (CSR; other formats are converted once),
    densified a batch or a chunk at a time."""

    def __init__(self, X):
        self.X = summed(X).tocsr()
        self.shape = X.shape

    def rows(self, index, device):
        index = index.cpu().numpy() if isinstance(index, torch.Tensor) else index
        return torch.from_numpy(self.X[index].toarray().astype(np.float32, copy=False)).to(device)

    def chunks(self, max_rows=None):
        step = self.chunk_rows() if max_rows is None else min(max_rows, self.chunk_rows())
        for start in range(0, self.shape[0], step):
            yield self.X[start : start + step].toarray()

    def stored_values(self):
        """The explicitly stored values, and whether implicit zeros lie between them."""
        return self.X.data, self.X.nnz < self.shape[0] * self.shape[1]


def dense_blocks(X, max_rows=None):
    """``X`` as consecutive dense blocks of at most ``max_rows`` rows (default: a dense X whole);
    sparse X in blocks of at most about ``CHUNK_BYTES`` of float64 rows too, each densified in
    X's own dtype when it is reached (for inference on sparse data)."""
    if sp.issparse(X):
        yield from SparseRows(X).chunks(max_rows)
    elif max_rows is None:
        yield X
    else:
        for start in range(0, X.shape[0], max_rows):
            yield X[start : start + max_rows]


class LiftedRows(RowStream):
    """The hidden means E[h | v] of one fitted RBM applied to the rows of ``below``, per batch.

    This is how a DBN trains its upper RBMs from a memmap: no layer's activations are stored,
    each batch is carried up through the RBMs below when it is drawn.
    """

    def __init__(self, below, W, c, hidden):
        self.below = below
        self.W = torch.as_tensor(np.asarray(W, dtype=np.float32))
        self.c = torch.as_tensor(np.asarray(c, dtype=np.float32))
        self.hidden = hidden
        self.shape = (below.shape[0], self.W.shape[0])

    def chunk_rows(self):
        # A chunk here reads that many rows of the data below, so the widest layer sets it.
        return min(super().chunk_rows(), self.below.chunk_rows())

    def rows(self, index, device):
        v = self.below.rows(index, device)
        return m.mean_hiddens(v, self.W.to(device), self.c.to(device), self.hidden)

    def chunks(self):
        step = self.chunk_rows()
        with torch.inference_mode():
            for start in range(0, self.shape[0], step):
                index = np.arange(start, min(start + step, self.shape[0]))
                yield self.rows(index, "cpu").numpy()


def is_streamed(X):
    """True for data ``fit`` reads in slices instead of loading: a memmap, a scipy.sparse
    matrix or array, or a ``RowStream``."""
    return isinstance(X, (np.memmap, RowStream)) or sp.issparse(X)


def as_stream(X, what="X"):
    """A memmap as a ``ArrayRows``, sparse data as ``SparseRows`` (a ``RowStream`` as itself),
    after checking shape and dtype (sparse data: checked by ``validate_data`` already)."""
    if isinstance(X, RowStream):
        return X
    if sp.issparse(X):
        return SparseRows(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D memmap for {what}, got shape {X.shape}: reshape it to "
            "(n_samples, n_features), e.g. X.reshape(len(X), -1)."
        )
    if X.dtype.kind != "f":
        raise ValueError(
            f"{what} is a memmap of {X.dtype}, but training streams float rows from a memmap "
            "(values in [0, 1] for bernoulli visible units): write a float32 copy, e.g. "
            "out = np.lib.format.open_memmap(path, 'w+', np.float32, X.shape), then "
            "out[i:j] = X[i:j] / 255 chunk by chunk, and pass np.load(path, mmap_mode='r')."
        )
    return ArrayRows(X)


def check_stream(stream, kind, what="X"):
    """Finite values (and in [0, 1] for bernoulli units), checked chunk by chunk."""
    low, high = np.inf, -np.inf
    units = get_unit(kind, "visible")
    if isinstance(stream, SparseRows):  # the stored values, and the zeros between them
        values, zeros = stream.stored_values()
        chunks = [values] if values.size else []
        low, high = (0.0, 0.0) if zeros else (low, high)
    else:
        chunks = stream.chunks()
    for chunk in chunks:
        if not np.isfinite(chunk).all():
            raise ValueError(
                f"Input {what} contains NaN or infinity: remove or impute those values first."
            )
        if units.data_values is not None and not np.isin(chunk, units.data_values).all():
            raise data_values_error(units, what)
        low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
    if units.data_values is not None:
        if isinstance(stream, SparseRows) and zeros and 0.0 not in units.data_values:
            raise data_values_error(units, what)  # the zeros a sparse matrix does not store
        return
    if not units.accepts(low, high):  # only Bernoulli units are bounded so far
        found = "Negative values in data" if low < 0.0 else "Values above 1 in data"
        raise ValueError(
            f"{found}: {what} has values in [{low:g}, {high:g}] but bernoulli visible units need "
            "values in [0, 1]. Scale the data to [0, 1] (e.g. 8-bit pixels / 255; sparse counts: "
            "sklearn.preprocessing.MaxAbsScaler, or X.sign() for presence / absence)."
        )


def column_mean(stream):
    """Mean of every column in float64, equal bit for bit to ``X.astype(float64).mean(axis=0)``.

    ``stream`` is a ``RowStream``, an array or scipy.sparse data. NumPy sums along axis 0 row
    after row, so carrying the running total in as the first row of each chunk keeps exactly
    that order, without the float64 copy of the whole array (twice the size of float32 data).
    """
    if not isinstance(stream, RowStream):
        stream = SparseRows(stream) if sp.issparse(stream) else ArrayRows(stream)
    n_samples, n_features = stream.shape
    buffer = np.empty((stream.chunk_rows() + 1, n_features))
    total = np.zeros(n_features)
    for chunk in stream.chunks():
        buffer[0] = total
        buffer[1 : len(chunk) + 1] = chunk
        total = buffer[: len(chunk) + 1].sum(axis=0)
    return total / n_samples


def batch_source(X, device, dtype):
    """``take(index, out)``: the rows of ``X`` at ``index`` (a slice of the shuffled order),
    written into ``out`` (a tensor of ``dtype`` with one row per index), which it returns.

    In-memory data goes to the device once; a memmap or ``RowStream`` is read per batch.
    """
    if is_streamed(X):
        stream = as_stream(X)
        if dtype == torch.int8:
            return lambda index, out: quantize_units(stream.rows(index, device), out)
        return lambda index, out: out.copy_(stream.rows(index, device))
    data = to_tensor(X, device)
    if dtype == torch.int8:  # unit values as round(127 x), see cd_int8.py
        data = quantize_units(data, torch.empty_like(data, dtype=torch.int8))
    else:
        data = data.to(dtype)
    # index_select gathers a batch of 100 MNIST rows in 12 us where data[index] takes 52.
    return lambda index, out: torch.index_select(data, 0, index, out=out)
