"""One contrastive-divergence update: the gradient estimate, momentum and weight decay."""

from numbers import Real

import torch

from . import _rbm_math as m


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


def contrastive_divergence(v0, W, b, c, visible, hidden, k, source, persistent=None, pcd=False):
    """CD-k (or PCD-k) estimate of the log-likelihood gradient, averaged over the batch.

    Returns ``[grad_W, grad_b, grad_c]``, the persistent chain's hidden states (PCD; one chain
    per batch row, kept across batches) and the batch's reconstruction error (mean squared
    error per pixel of v -> h -> v).
    """
    n = v0.shape[0]
    h0_mean = m.mean_hiddens(v0, W, c, hidden)  # (B, H)
    h0 = m.sample_units(h0_mean, hidden, source)
    v1_mean = m.mean_visibles(h0, W, b, visible)  # (B, V): the reconstruction
    error = ((v0 - v1_mean) ** 2).mean()
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
    scale = 1.0 / n
    # <h v>_data - <h v>_model without copies: h0^T v0, then subtract hk^T vk in place.
    grad_W = torch.addmm(h0_mean.T @ v0, hk_mean.T, vk, alpha=-1.0).mul_(scale)  # (H, V)
    grad_b = (v0.sum(0) - vk.sum(0)).mul_(scale)
    grad_c = (h0_mean.sum(0) - hk_mean.sum(0)).mul_(scale)
    return [grad_W, grad_b, grad_c], persistent, error


def momentum_step(params, velocity, grads, lr, mom, weight_decay=0.0, penalty="l2"):
    """velocity <- mom * velocity + lr * (grad - decay); params += velocity. In place.

    Weight decay (L2: the weights; L1: their signs) applies to the weights, not the biases.
    """
    if weight_decay:
        W = params[0]
        grads[0].sub_(W if penalty == "l2" else torch.sign(W), alpha=weight_decay)
    for p, vel, g in zip(params, velocity, grads):
        vel.mul_(mom).add_(g, alpha=lr)
        p.add_(vel)
