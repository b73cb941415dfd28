"""Where torch meets the NumPy-facing API: devices, generators, input checks."""

import math
import re

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from .units import get_unit

DEVICES = ("auto", "cpu", "cuda")


def is_device(device):
    """True for "auto", "cpu", "cuda" and "cuda:N"."""
    return isinstance(device, str) and (device in DEVICES or re.fullmatch(r"cuda:\d+", device) is not None)


class _DeviceOptions(StrOptions):
    """scikit-learn parameter constraint for ``device``: the names, or "cuda:N"."""

    def __init__(self):
        super().__init__(set(DEVICES))

    def is_satisfied_by(self, val):
        return is_device(val)

    def __str__(self):
        return "a str among 'auto', 'cpu', 'cuda' or 'cuda:N'"


DEVICE_CONSTRAINT = [_DeviceOptions()]


def resolve_device(device):
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N"`` into a ``torch.device``; "auto" prefers CUDA."""
    if not is_device(device):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was asked for but torch sees no CUDA GPU; use device='cpu' or 'auto'."
        )
    return torch.device(device)


def make_generator(random_state, device):
    """A torch generator on ``device`` seeded from a NumPy ``RandomState`` (or int / None).

    Global torch seeding is never touched, so library calls do not disturb the user's RNG.
    """
    generator = torch.Generator(device=device)
    generator.manual_seed(int(check_random_state(random_state).randint(np.iinfo(np.int32).max)))
    return generator


class RandomSource:
    """Uniform, Gaussian and Bernoulli draws for sampling, seeded from ``random_state``.

    On CPU the numbers come from NumPy's SFC64 generator, which fills float32 buffers about
    twice as fast as torch's CPU Mersenne Twister (and Bernoulli draws are a compare against
    them, three times faster than ``torch.bernoulli``); on CUDA from a torch generator on the
    device. Either way the same seed gives the same stream on that device and dtype.
    """

    def __init__(self, random_state, device):
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        self.device = torch.device(device)
        if self.device.type == "cpu":
            self._numpy = np.random.Generator(np.random.SFC64(seed))
            self._scratch = {}
        else:
            self._torch = torch.Generator(device=self.device)
            self._torch.manual_seed(seed)

    def uniform(self, shape, dtype=torch.float32):
        if self.device.type == "cpu":
            if dtype == torch.float64:
                return torch.from_numpy(self._numpy.random(shape))
            # float32 (bfloat16 is drawn as float32 and rounded).
            return torch.from_numpy(self._uniform_float32(shape)).to(dtype)
        return torch.rand(shape, generator=self._torch, device=self.device, dtype=dtype)

    def _raw(self, n, dtype):
        """``n`` random integers of ``dtype`` (uint32 or uint16) cut from raw 64-bit words."""
        per_word = 8 // np.dtype(dtype).itemsize
        return self._numpy.bit_generator.random_raw(-(-n // per_word)).view(dtype)[:n]

    def _uniform_float32(self, shape, out=None):
        """NumPy's own float32 uniforms, ``(k >> 8) / 2^24`` for 32-bit ``k``, bit for bit.

        Made here from raw words because NumPy's loop takes a function call per number: 126
        against 162 us for a 100 x 784 draw. The streams are identical whenever every draw has
        an even size (NumPy would keep the spare half-word of an odd one for the next draw).
        """
        k = self._raw(math.prod(shape), np.uint32).reshape(shape)
        k >>= 8
        return np.multiply(k, np.float32(2.0**-24), out=out, dtype=np.float32)

    def _scratch_float32(self, shape, slot=0):
        """A float32 buffer of ``shape`` for numbers used at once, as a NumPy array and a tensor
        on the same memory, kept across draws: a fresh batch-sized buffer per draw costs the
        allocator's time and, for new memory, page faults."""
        key = (tuple(shape), slot)
        if key not in self._scratch:
            array = np.empty(key[0], dtype=np.float32)
            self._scratch[key] = (array, torch.from_numpy(array))
        return self._scratch[key]

    def normal(self, shape, dtype=torch.float32):
        if self.device.type == "cpu":
            np_dtype = np.float64 if dtype == torch.float64 else np.float32
            return torch.from_numpy(self._numpy.standard_normal(shape, dtype=np_dtype)).to(dtype)
        return torch.randn(shape, generator=self._torch, device=self.device, dtype=dtype)

    def bernoulli(self, p, out=None):
        """0/1 states with P(1) = ``p``, in p's dtype: into ``out`` if given, else a new tensor."""
        if self.device.type != "cpu" or p.dtype == torch.float64:
            u = self.uniform(p.shape, p.dtype)
            return torch.lt(u, p, out=u if out is None else out)
        if out is None:
            out = torch.empty_like(p)
        if p.dtype in (torch.bfloat16, torch.float16):
            return self.bernoulli_16bit(p, out)
        array, u = self._scratch_float32(p.shape)
        self._uniform_float32(p.shape, out=array)
        return torch.lt(u, p, out=out)

    def bernoulli_16bit(self, p, out):
        """Bernoulli draws from 16-bit uniforms, four per raw word (CPU), into ``out``.

        What ``bernoulli`` uses for 16-bit probabilities; int8 training uses it for float32
        ones, whose P(1) it rounds to 2^-16 as well.

        ``u = (k + 1/2) / 2^16`` for a uniform 16-bit ``k`` is exact in float32, and the
        comparison with ``p`` runs in float32, so P(1) is ``p`` rounded to the nearest multiple
        of 2^-16: finer than bfloat16 resolves ``p`` itself (2^-9 relative). It draws a quarter
        of the random words of float32 uniforms and skips their rounding to bfloat16: 73 + 104
        against 178 + 209 us for the 100 x 500 and 100 x 784 draws of a CD-1 step (2 threads).
        """
        array, u = self._scratch_float32(p.shape)
        array[...] = self._raw(p.numel(), np.uint16).reshape(array.shape)
        array += np.float32(0.5)
        array *= np.float32(2.0**-16)
        if p.dtype != torch.float32:
            p = self._scratch_float32(p.shape, slot=1)[1].copy_(p)
        return torch.lt(u, p, out=out)

    def permutation(self, n):
        if self.device.type == "cpu":
            return torch.from_numpy(self._numpy.permutation(n))
        return torch.randperm(n, generator=self._torch, device=self.device)


def to_tensor(X, device, dtype=torch.float32):
    """A NumPy array as a tensor on ``device`` (zero-copy on CPU when the dtype matches)."""
    array = np.ascontiguousarray(X, dtype=np.float32 if dtype == torch.float32 else np.float64)
    if not array.flags.writeable:  # e.g. a read-only memmap: torch wants memory it may write
        array = array.copy()
    return torch.from_numpy(array).to(device)


def to_numpy(tensor):
    return tensor.detach().cpu().numpy()


def summed(X):
    """scipy.sparse ``X`` as CSR or CSC whose stored values are the matrix's values.

    A CSR matrix built by hand may store one position twice (0.6 and 0.6 make 1.2 when
    densified): such duplicates are summed here, in a copy, so checks that read the stored
    values see what the model will get.
    """
    X = X if X.format in ("csr", "csc") else X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def value_range(X):
    """(min, max) of a dense array, or of a scipy.sparse one (its stored values and its zeros)."""
    if not sp.issparse(X):
        return float(np.min(X)), float(np.max(X))
    X = summed(X)
    lows, highs = [], []
    if X.data.size:
        lows.append(X.data.min())
        highs.append(X.data.max())
    if X.nnz < X.shape[0] * X.shape[1]:  # zeros that are not stored
        lows.append(0.0)
        highs.append(0.0)
    return float(min(lows)), float(max(highs))


def is_binary(X, block=10_000):
    """Whether every value of ``X`` is 0 or 1: a dense array (read ``block`` rows at a time, so
    a memmap is never loaded whole; grey data stops at its first block) or scipy.sparse."""
    if sp.issparse(X):
        return bool(np.isin(summed(X).data, (0.0, 1.0)).all())
    return all(np.isin(X[start : start + block], (0.0, 1.0)).all()
               for start in range(0, X.shape[0], block))


def check_unit_range(X, kind, what="X"):
    """Refuse values outside the range of ``kind`` units (Bernoulli: probabilities, [0, 1]) with
    a fix in the message."""
    units = get_unit(kind, "visible")
    if units.value_range == (-math.inf, math.inf):
        return
    if units.data_values is not None:
        check_data_values(X, units, what)
        return
    low, high = value_range(X)
    if not units.accepts(low, high):  # only Bernoulli units have a bounded range so far
        found = "Negative values in data" if low < 0.0 else "Values above 1 in data"
        raise ValueError(
            f"{found}: {what} has values in [{low:g}, {high:g}] but bernoulli visible units need "
            "values in [0, 1]. Scale the data (e.g. divide 8-bit pixels by 255, or use "
            "sklearn.preprocessing.MinMaxScaler), or use visible='gaussian' for real-valued data."
        )


def holds_only(X, values, block=10_000):
    """Whether every value of ``X`` (dense, read ``block`` rows at a time, or scipy.sparse with
    its unstored zeros) is one of ``values``."""
    if sp.issparse(X):
        X = summed(X)
        zeros = X.nnz < X.shape[0] * X.shape[1]
        return not (zeros and 0.0 not in values) and bool(np.isin(X.data, values).all())
    return all(np.isin(X[start : start + block], values).all()
               for start in range(0, X.shape[0], block))


def data_values_error(units, what="X"):
    """The ValueError for training data holding values other than ``units.data_values``."""
    values = " and ".join(f"{v:g}" for v in units.data_values)
    return ValueError(
        f"{what} must hold only {values} to train {units.name} visible units, but it holds "
        f"other values. Recode 0/1 data as 2 * X - 1 (and threshold real values, e.g. "
        f"np.where(X > 0, 1, -1)), or use visible='bernoulli' or 'gaussian'."
    )


def check_data_values(X, units, what="X"):
    """Refuse training data with values other than ``units.data_values`` (spins: -1 and +1)."""
    if not holds_only(X, units.data_values):
        raise data_values_error(units, what)


def clip_unit_range(X, kind):
    """New data for fitted Bernoulli units: finite values outside [0, 1] are clipped to it
    (spin units: to [-1, 1], where values between are means).

    A Bernoulli unit's input is a probability, so 1.2 means "on" and -0.1 "off". Such values
    are common at prediction time: ``MinMaxScaler`` maps unseen data outside [0, 1], and passes a
    pixel that was constant in training through unscaled. Returns ``X`` itself when nothing
    needs clipping, else a clipped copy (for sparse ``X``, of its stored values).
    """
    units = get_unit(kind, "visible")
    if units.value_range == (-math.inf, math.inf):
        return X
    low, high = value_range(X)
    if units.accepts(low, high):
        return X
    low, high = units.value_range
    if sp.issparse(X):
        X = summed(X).tocsr(copy=True)
        np.clip(X.data, low, high, out=X.data)
        return X
    return np.clip(X, low, high)
