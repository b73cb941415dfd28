"""One contrastive-divergence update: the gradient estimate, momentum and weight decay."""

from numbers import Real
from typing import NamedTuple

import torch

from . import rbm_math as m
from .units import get_unit


def momentum_schedule(momentum, n_epochs):
    """Momentum for each epoch: a constant, or a (start, end) pair ramped linearly."""
    if isinstance(momentum, Real):
        return [float(momentum)] * n_epochs
    start, end = momentum
    if n_epochs == 1:
        return [float(start)]
    return [start + (end - start) * e / (n_epochs - 1) for e in range(n_epochs)]


def check_momentum(momentum):
    values = [momentum] if isinstance(momentum, Real) else list(momentum)
    if len(values) not in (1, 2) or not all(isinstance(x, Real) and 0 <= x < 1 for x in values):
        raise ValueError(
            f"momentum must be a number in [0, 1) or a (start, end) pair of such numbers, "
            f"got {momentum!r}."
        )


class Statistics(NamedTuple):
    """What one CD step measured: the weight gradient is ``A^T B / n`` (times ``product_scale``
    for int8 operands), kept factored so the update can fold it into a single matrix product."""

    A: torch.Tensor  # (2B, H): [E[h0 | v0]; -E[hk | vk]]
    B: torch.Tensor  # (2B, V): [v0; vk]
    grad_b: torch.Tensor  # (V,)
    grad_c: torch.Tensor  # (H,)
    n: int
    work: "Workspace"  # the buffers A and B live in, and those of their product
    product_scale: float = 1.0  # what one unit of A^T B is worth (int8: 1 / 127^2)

    def weight_gradient(self):
        """<h v>_data - <h v>_model, shape (H, V), float32, as a new tensor."""
        if self.A.dtype == torch.int8:
            return self.product32().mul(self.product_scale / self.n)
        return (self.A.T @ self.B).float().div_(self.n)

    def product32(self):
        """``A^T B`` in float32, for the update: for reduced-precision A and B, their product
        rounded to float32 (no CPU kernel accumulates it straight into float32; int8 products
        are exact in int32), written into the workspace's buffers."""
        if self.A.dtype == torch.float32:
            return self.A.T @ self.B
        return self.work.product32.copy_(self.work.weight_product(self.A, self.B))


class Workspace:
    """The buffers of CD steps on batches of up to ``batch_size`` rows, reused batch after batch.

    A step writes its data rows and chain states straight into the two operands of the weight
    gradient (``B = [v0; vk]``, ``A = [E[h0 | v0]; -E[hk | vk]]``), so a step allocates no
    batch-sized tensor and needs no concatenation. Write a batch's rows into ``data(n)``.
    Under the torch profiler, fresh (500, 784) float32 temporaries took 0.2-2 ms a step on
    this project's shared 2-core machine, against about 20 us for a copy into a kept buffer.
    """

    def __init__(self, batch_size, n_visible, n_hidden, dtype, device):
        def new(*shape):
            return torch.empty(shape, dtype=dtype, device=device)

        self.A = new(2 * batch_size, n_hidden)
        self.B = new(2 * batch_size, n_visible)
        self.h0 = new(batch_size, n_hidden)
        self.v1_mean = new(batch_size, n_visible)
        self.diff = new(batch_size, n_visible)
        # For reduced precision: float32 copies of A and B for the bias sums, and the weight
        # product in the compute dtype and in float32 (torch would allocate one for each cast).
        self.A32 = self.B32 = self.product = self.product32 = None
        if dtype != torch.float32:
            self.A32 = torch.empty_like(self.A, dtype=torch.float32)
            self.B32 = torch.empty_like(self.B, dtype=torch.float32)
            self.product = new(n_hidden, n_visible)
            self.product32 = torch.empty_like(self.product, dtype=torch.float32)

    def data(self, n):
        return self.B[:n]

    def weight_product(self, A, B):
        """``A^T B`` into the buffer kept for it (reduced precision)."""
        return torch.mm(A.T, B, out=self.product)


def _float32(x, mirror):
    """``x`` in float32: itself, or copied into the first rows of its float32 ``mirror``."""
    return x if mirror is None else mirror[: len(x)].copy_(x)


def contrastive_divergence(
    v0, W, b, c, visible, hidden, k, source, persistent=None, pcd=False, work=None
):
    """CD-k (or PCD-k) estimate of the log-likelihood gradient, averaged over the batch.

    Returns the ``Statistics`` of the gradient, the persistent chain's hidden states (PCD; one
    chain per batch row, kept across batches) and the batch's reconstruction error (mean
    squared error per pixel of v -> h -> v). With a ``Workspace`` (whose ``data(n)`` should
    hold ``v0`` already) the statistics are views of its buffers, valid until the next step.
    ``visible`` and ``hidden`` name the kinds of units (or are ``units.Units``).
    """
    visible, hidden = get_unit(visible), get_unit(hidden)
    n = v0.shape[0]
    if work is None:
        work = Workspace(n, W.shape[1], W.shape[0], v0.dtype, v0.device)
    A, B = work.A[: 2 * n], work.B[: 2 * n]
    if v0.data_ptr() != B.data_ptr():
        B[:n] = v0
    v0 = B[:n]
    h0_mean = m.mean_hiddens(v0, W, c, hidden, out=A[:n])  # (B, H)
    h0 = m.sample_units(h0_mean, hidden, source, out=work.h0[:n])
    v1_mean = m.mean_visibles(h0, W, b, visible, out=work.v1_mean[:n])  # the reconstruction
    # The mean squared error, as F.mse_loss computes it, in buffers of our own; for reduced
    # precision the difference and its square are rounded to it (a reported figure only).
    error = torch.sub(v1_mean, v0, out=work.diff[:n]).square_().mean(dtype=torch.float32)
    chain_out = dict(v_out=B[n:], h_mean_out=A[n:])
    if pcd:
        # A short last batch runs the first n chains.
        if persistent is None or persistent.shape[0] < n:
            persistent = h0.clone()
        _, _, hk = m.gibbs_chain(persistent[:n], W, b, c, visible, hidden, k, source, **chain_out)
        persistent[:n] = hk
    else:
        # CD's chain starts at the reconstruction already computed for the error.
        m.gibbs_chain(
            h0, W, b, c, visible, hidden, k, source, sample_last=False, first_v_mean=v1_mean,
            **chain_out,
        )
    # Sums in float32 whatever the products ran in (a no-op cast for float32 batches); one
    # reduction over the stacked halves adds in the same order as one per half.
    sums_v = _float32(B, work.B32).view(2, n, -1).sum(1)
    sums_h = _float32(A, work.A32).view(2, n, -1).sum(1)
    grad_b = sums_v[0].sub_(sums_v[1]).div_(n)
    grad_c = sums_h[0].sub_(sums_h[1]).div_(n)
    A[n:].neg_()  # the weight gradient A^T B is then one product with K = 2B
    return Statistics(A, B, grad_b, grad_c, n, work), persistent, error


def momentum_step(params, velocity, stats, lr, mom, weight_decay=0.0, penalty="l2", reduce=None):
    """velocity <- mom * velocity + lr * (gradient - decay); params += velocity. In place.

    The weight gradient goes straight into the velocity through one ``addmm_`` (beta = mom).
    ``stats`` may come from bfloat16 or int8 products; ``params`` and ``velocity`` are float32.
    Weight decay (L2: the weights; L1: their signs) applies to the weights, not the biases.
    ``reduce`` (data-parallel training, ``distributed.GradientSum``) turns ``stats`` into the
    gradient (grad_W, grad_b, grad_c) averaged over every rank's rows.
    """
    (W, b, c), (vel_W, vel_b, vel_c) = params, velocity
    grad_b, grad_c = stats.grad_b, stats.grad_c
    if reduce is not None:
        grad_W, grad_b, grad_c = reduce(stats)
        vel_W.mul_(mom).add_(grad_W, alpha=lr)
    elif stats.A.dtype == vel_W.dtype:
        vel_W.addmm_(stats.A.T, stats.B, beta=mom, alpha=lr / stats.n)
    else:  # a bfloat16 or int8 product, added into the float32 velocity
        vel_W.mul_(mom).add_(stats.product32(), alpha=lr * stats.product_scale / stats.n)
    if weight_decay:
        vel_W.sub_(W if penalty == "l2" else torch.sign(W), alpha=lr * weight_decay)
    vel_b.mul_(mom).add_(grad_b, alpha=lr)
    vel_c.mul_(mom).add_(grad_c, alpha=lr)
    W.add_(vel_W)
    b.add_(vel_b)
    c.add_(vel_c)
