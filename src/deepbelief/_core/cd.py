"""One contrastive-divergence update: the gradient estimate, momentum and weight decay."""

from numbers import Real
from typing import NamedTuple

import torch
import torch.nn.functional as F

from . import rbm_math as m


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
    """What one CD step measured: the weight gradient is ``A^T B / n``, kept factored so the
    update can fold it into a single matrix product."""

    A: torch.Tensor  # (2B, H): [E[h0 | v0]; -E[hk | vk]]
    B: torch.Tensor  # (2B, V): [v0; vk]
    grad_b: torch.Tensor  # (V,)
    grad_c: torch.Tensor  # (H,)
    n: int

    def weight_gradient(self):
        """<h v>_data - <h v>_model, shape (H, V), float32."""
        return (self.A.T @ self.B).float().div_(self.n)


def contrastive_divergence(v0, W, b, c, visible, hidden, k, source, persistent=None, pcd=False):
    """CD-k (or PCD-k) estimate of the log-likelihood gradient, averaged over the batch.

    Returns the ``Statistics`` of the gradient, the persistent chain's hidden states (PCD; one
    chain per batch row, kept across batches) and the batch's reconstruction error (mean
    squared error per pixel of v -> h -> v).
    """
    n = v0.shape[0]
    h0_mean = m.mean_hiddens(v0, W, c, hidden)  # (B, H)
    h0 = m.sample_units(h0_mean, hidden, source)
    v1_mean = m.mean_visibles(h0, W, b, visible)  # (B, V): the reconstruction
    error = F.mse_loss(v1_mean.float(), v0.float())
    if pcd:
        # A short last batch runs the first n chains.
        if persistent is None or persistent.shape[0] < n:
            persistent = h0.clone()
        vk, hk_mean, hk = m.gibbs_chain(persistent[:n], W, b, c, visible, hidden, k, source)
        persistent[:n] = hk
    else:
        # CD's chain starts at the reconstruction already computed for the error.
        vk, hk_mean, _ = m.gibbs_chain(
            h0, W, b, c, visible, hidden, k, source, sample_last=False, first_v_mean=v1_mean
        )
    # Sums in float32 whatever the products ran in (a no-op cast for float32 batches).
    f32 = torch.float32
    grad_b = (v0.sum(0, dtype=f32) - vk.sum(0, dtype=f32)).div_(n)
    grad_c = (h0_mean.sum(0, dtype=f32) - hk_mean.sum(0, dtype=f32)).div_(n)
    # One product with K = 2B runs faster than two with K = B accumulating into the output.
    stats = Statistics(torch.cat([h0_mean, hk_mean.neg_()]), torch.cat([v0, vk]), grad_b, grad_c, n)
    return stats, persistent, error


def momentum_step(params, velocity, stats, lr, mom, weight_decay=0.0, penalty="l2"):
    """velocity <- mom * velocity + lr * (gradient - decay); params += velocity. In place.

    The weight gradient goes straight into the velocity through one ``addmm_`` (beta = mom).
    ``stats`` may come from bfloat16 products; ``params`` and ``velocity`` are float32.
    Weight decay (L2: the weights; L1: their signs) applies to the weights, not the biases.
    """
    (W, b, c), (vel_W, vel_b, vel_c) = params, velocity
    if stats.A.dtype == vel_W.dtype:
        vel_W.addmm_(stats.A.T, stats.B, beta=mom, alpha=lr / stats.n)
    else:  # a bfloat16 product, added into the float32 velocity
        vel_W.mul_(mom).add_(stats.A.T @ stats.B, alpha=lr / stats.n)
    if weight_decay:
        vel_W.sub_(W if penalty == "l2" else torch.sign(W), alpha=lr * weight_decay)
    vel_b.mul_(mom).add_(stats.grad_b, alpha=lr)
    vel_c.mul_(mom).add_(stats.grad_c, alpha=lr)
    W.add_(vel_W)
    b.add_(vel_b)
    c.add_(vel_c)
