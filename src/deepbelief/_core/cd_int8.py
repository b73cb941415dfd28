"""CD-k and PCD-k with int8 matrix products: ``precision="int8"``, Bernoulli units on a CPU.

Every operand of the step's products is a whole number in [-127, 127] standing for a value:

- unit values in [0, 1] (the data, probabilities, 0/1 states) as ``round(127 x)``: states are
  exact, grey levels and probabilities are rounded to 1/127;
- the weights as ``round(W / s)`` with one scale ``s = max|W| / 127`` per step, refreshed after
  every update from the float32 weights (which, with the biases and velocities, stay float32).

The products accumulate exactly in int32 (``torch._int_mm``, VNNI on x86), and are scaled back
to float32 before the biases, the sigmoids and the update. On this project's AVX-512 CPU an
int8 product runs at about twice bfloat16's rate (885 against 428 GOP/s for 2048^3).

Unlike the float path this one does not go through ``units``: its states are 0/127 codes of
Bernoulli units, sampled from 16-bit uniforms, and ``precision.check_int8`` refuses other kinds.
A kind of unit with int8 support would add its own quantised mean and sample here.
"""

import functools

import torch

from .cd import Statistics

UNIT = 127  # a unit value x in [0, 1] is round(UNIT * x)
# int32 sums of products of two int8 operands stay exact up to this many terms (127^2 each).
MAX_TERMS = (2**31 - 1) // (UNIT * UNIT)


@functools.cache
def int8_supported():
    """True when this torch multiplies int8 matrices on the CPU (``torch._int_mm``), exactly.

    Some kernels (oneDNN's on CPUs without AVX-512 VNNI) add pairs of products in 16 bits and
    saturate: 127 * 127 + 127 * 127 comes out as 32767, not 32258, and int8 training would learn
    garbage without an error. So the probe holds such pairs, in a small product and in one of
    the shapes training uses, and compares with exact integer products.
    """
    try:
        a = torch.tensor([[127, -127], [3, 4]], dtype=torch.int8)
        if torch._int_mm(a, a).tolist() != [[15748, -16637], [393, -365]]:
            return False
        g = torch.Generator().manual_seed(0)
        x = torch.randint(-127, 128, (32, 64), generator=g, dtype=torch.int8)
        x[:, :8] = 127  # runs of extremes: the pairs that saturate 16-bit sums
        y = torch.randint(-127, 128, (64, 48), generator=g, dtype=torch.int8)
        y[:8] = 127
        exact = x.to(torch.int64) @ y.to(torch.int64)
        return bool(torch.equal(torch._int_mm(x, y).to(torch.int64), exact))
    except (AttributeError, RuntimeError):
        return False


def quantize_units(x, out, scratch=None):
    """``round(127 x)`` of values in [0, 1] (any float dtype) into the int8 tensor ``out``;
    ``scratch``, a float32 tensor of x's shape, saves allocating one."""
    return out.copy_(torch.mul(x, UNIT, out=scratch).round_())


class QuantizedWeights:
    """The int8 copy of ``W`` the products read, its scale, and the float32 biases."""

    def __init__(self, W, b, c):
        self.Wq = torch.empty_like(W, dtype=torch.int8)
        self._scaled = torch.empty_like(W)
        self.b, self.c = b, c  # the float32 biases themselves, updated in place
        self.refresh(W)

    def refresh(self, W):
        """Re-quantize after ``W`` changed."""
        low, high = torch.aminmax(W)
        largest = max(-float(low), float(high))
        self.scale = (largest if largest > 0 else 1.0) / UNIT
        torch.mul(W, 1.0 / self.scale, out=self._scaled).round_()
        self.Wq.copy_(self._scaled)
        return self


class Int8Workspace:
    """The buffers of int8 CD steps on batches of up to ``batch_size`` rows (see ``cd.Workspace``)."""

    def __init__(self, batch_size, n_visible, n_hidden, device):
        def new(dtype, *shape):
            return torch.empty(shape, dtype=dtype, device=device)

        self.A = new(torch.int8, 2 * batch_size, n_hidden)  # [round(127 E[h0]); -round(127 E[hk])]
        self.B = new(torch.int8, 2 * batch_size, n_visible)  # [round(127 v0); 127 vk]
        self.h = new(torch.int8, batch_size, n_hidden)  # sampled hidden states, 0 / 127
        self.v = new(torch.int8, batch_size, n_visible)  # sampled visible states, 0 / 127
        self.hidden_input = new(torch.int32, batch_size, n_hidden)  # products before scaling
        self.visible_input = new(torch.int32, batch_size, n_visible)
        self.h_mean = new(torch.float32, batch_size, n_hidden)
        self.v_mean = new(torch.float32, batch_size, n_visible)
        self.diff = new(torch.float32, batch_size, n_visible)
        self.scratch = new(torch.float32, batch_size, n_hidden)
        self.product = new(torch.int32, n_hidden, n_visible)
        self.product32 = new(torch.float32, n_hidden, n_visible)
        self._signs = {}

    def signs(self, n):
        """(1, 2n) int8: n ones then n minus ones. Products with it sum the batch's rows of A and
        B (a product is several times faster than an int8 sum, which casts first)."""
        if n not in self._signs:
            self._signs[n] = torch.cat([torch.ones(1, n), -torch.ones(1, n)], 1).to(torch.int8)
        return self._signs[n]

    def data(self, n):
        return self.B[:n]

    def weight_product(self, A, B):
        """``A^T B`` into the int32 buffer kept for it (``cd.Statistics.product32``)."""
        return weight_product(A, B, out=self.product)


def _mean(units, weights, bias, q, product, out):
    """sigmoid(units @ weights * scale + bias) of int8 ``units`` (round(127 x)), through the
    int32 buffer ``product``, into the float32 ``out``."""
    x = torch._int_mm(units, weights, out=product[: len(units)])
    return torch.add(bias, out.copy_(x), alpha=q.scale / UNIT, out=out).sigmoid_()


def _mean_hiddens(vq, q, out, work):
    """E[h | v] from int8 visible values ``vq``."""
    return _mean(vq, q.Wq.T, q.c, q, work.hidden_input, out)


def _mean_visibles(hq, q, out, work):
    """E[v | h] from int8 hidden values ``hq``."""
    return _mean(hq, q.Wq, q.b, q, work.visible_input, out)


def _sample(mean, source, out):
    """0 / 127 states drawn with probabilities ``mean`` (float32), into the int8 ``out``."""
    return source.bernoulli_16bit(mean, out).mul_(UNIT)


def weight_product(A, B, out):
    """``A^T B`` of int8 operands, exact in int32, in slices of rows if there are many."""
    if A.shape[0] <= MAX_TERMS:
        return torch._int_mm(A.T, B, out=out)
    out.zero_()
    for start in range(0, A.shape[0], MAX_TERMS):
        out += torch._int_mm(A[start : start + MAX_TERMS].T, B[start : start + MAX_TERMS])
    return out


def contrastive_divergence_int8(vq0, q, k, source, persistent=None, pcd=False, work=None):
    """``cd.contrastive_divergence`` with int8 products, for Bernoulli visible and hidden units.

    The same steps in the same order, so the same random numbers are drawn for the same
    purposes. ``vq0`` holds the batch as ``round(127 v)`` (write it into ``work.data(n)``); ``q``
    is a ``QuantizedWeights``. Returns the ``cd.Statistics`` (int8 ``A`` and ``B``), the
    persistent chains' states (0 / 127, PCD) and the batch's mean squared reconstruction error
    against the data as the products see it (rounded to 1/127).
    """
    n = vq0.shape[0]
    if work is None:
        work = Int8Workspace(n, q.Wq.shape[1], q.Wq.shape[0], vq0.device)
    A, B = work.A[: 2 * n], work.B[: 2 * n]
    if vq0.data_ptr() != B.data_ptr():
        B[:n] = vq0
    h0_mean = _mean_hiddens(B[:n], q, work.h_mean[:n], work)
    quantize_units(h0_mean, A[:n], work.scratch[:n])
    h0 = _sample(h0_mean, source, work.h[:n])
    v1_mean = _mean_visibles(h0, q, work.v_mean[:n], work)
    diff = work.diff[:n].copy_(B[:n])
    error = torch.sub(v1_mean, diff, alpha=1.0 / UNIT, out=diff).square_().mean()
    if pcd:
        # A short last batch runs the first n chains.
        if persistent is None or persistent.shape[0] < n:
            persistent = h0.clone()
        persistent[:n] = _chain(persistent[:n], q, k, source, work, B[n:], A[n:], True)
    else:
        _chain(h0, q, k, source, work, B[n:], A[n:], False, first_v_mean=v1_mean)
    # Exact integer sums of the data rows minus the chain rows: B's second half is subtracted
    # by the signs, A's is negated first (A^T B then needs no signs either).
    signs = work.signs(n)
    grad_b = torch._int_mm(signs, B).float().div_(UNIT * n).view(-1)
    grad_c = torch._int_mm(signs, A).float().div_(UNIT * n).view(-1)
    A[n:].neg_()
    return Statistics(A, B, grad_b, grad_c, n, work, 1.0 / (UNIT * UNIT)), persistent, error


def _chain(h, q, k, source, work, v_out, h_mean_out, sample_last, first_v_mean=None):
    """``rbm_math.gibbs_chain`` on int8 states: k steps h -> v -> h from ``h`` (0 / 127). The
    last visible sample goes to ``v_out``, the last hidden mean (rounded) to ``h_mean_out``;
    returns the last hidden sample (``None`` unless ``sample_last``)."""
    n = len(h)
    for step in range(k):
        last = step == k - 1
        v_mean = first_v_mean if step == 0 and first_v_mean is not None else (
            _mean_visibles(h, q, work.v_mean[:n], work))
        v = _sample(v_mean, source, v_out if last else work.v[:n])
        h_mean = _mean_hiddens(v, q, work.h_mean[:n], work)
        if last:
            quantize_units(h_mean, h_mean_out, work.scratch[:n])
        h = _sample(h_mean, source, work.h[:n]) if sample_last or not last else None
    return h
