"""Training steps of a Deep Boltzmann Machine: the greedy pretraining of its RBMs with scaled
(doubled) weights, and the joint stochastic-approximation (PCD) update with mean field.

Salakhutdinov & Hinton (2009), sections 3.1 and 3.3. See ``dbm_math`` for the layout.
"""

import torch

from . import dbm_math as dm
from .cd import Statistics, Workspace, _float32
from .dbm_math import UNITS


# -------------------------------------------------------------------------------- pretraining
def scaled_contrastive_divergence(v0, W, b, c, up, down, k, source, work=None,
                                  sample_input=False):
    """CD-k of an RBM whose hidden units take ``up`` times their input ``W v`` and whose
    visible units take ``down`` times theirs ``W^T h``: the RBMs a DBM is pretrained from.

    ``up=2`` counts the visible layer twice (the bottom RBM: its hidden layer will also get
    input from above), ``down=2`` the hidden one (the top RBM), both for the RBMs between.
    The gradient is the plain one of the statistics, with the same buffers and return values
    as ``cd.contrastive_divergence`` (CD, no persistent chains; Bernoulli units).
    ``sample_input`` replaces ``v0`` by 0/1 draws with P(1) = v0 first (DBM.sample_input).
    """
    n = v0.shape[0]
    if work is None:
        work = Workspace(n, W.shape[1], W.shape[0], v0.dtype, v0.device)
    A, B = work.A[: 2 * n], work.B[: 2 * n]
    if v0.data_ptr() != B.data_ptr():
        B[:n] = v0
    v0 = B[:n]
    if sample_input:
        UNITS.sample(v0, source, out=v0)
    h_mean = UNITS.mean_(torch.addmm(c, v0, W.T, alpha=up, out=A[:n]))  # (B, H)
    h = UNITS.sample(h_mean, source, out=work.h0[:n])
    v1_mean = UNITS.mean_(torch.addmm(b, h, W, alpha=down, out=work.v1_mean[:n]))
    error = torch.sub(v1_mean, v0, out=work.diff[:n]).square_().mean(dtype=torch.float32)
    v_mean = v1_mean
    for step in range(k):
        v = UNITS.sample(v_mean, source, out=B[n:])
        h_mean = UNITS.mean_(torch.addmm(c, v, W.T, alpha=up, out=A[n:]))
        if step < k - 1:
            h = UNITS.sample(h_mean, source, out=work.h0[:n])
            v_mean = UNITS.mean_(torch.addmm(b, h, W, alpha=down, out=work.v1_mean[:n]))
    sums_v = _float32(B, work.B32).view(2, n, -1).sum(1)
    sums_h = _float32(A, work.A32).view(2, n, -1).sum(1)
    grad_b = sums_v[0].sub_(sums_v[1]).div_(n)
    grad_c = sums_h[0].sub_(sums_h[1]).div_(n)
    A[n:].neg_()
    return Statistics(A, B, grad_b, grad_c, n, work), None, error


def pretraining_scales(n_rbms):
    """(up, down) factors of each pretraining RBM, bottom first: the bottom one doubles its
    visible layer, the top one its hidden layer, the ones between both."""
    return [(2.0 if i < n_rbms - 1 else 1.0, 2.0 if i > 0 else 1.0) for i in range(n_rbms)]


# ------------------------------------------------------------------------------ joint training
def init_chains(v, weights, biases, source):
    """Fantasy particles from visible rows ``v``: v sampled, the hidden layers sampled from the
    bottom-up pass. Returns one (n_chains, n_l) tensor per layer."""
    mus = dm.bottom_up(UNITS.sample(v, source), weights, biases)
    return [mus[0]] + [UNITS.sample(mu, source) for mu in mus[1:]]


def pcd_statistics(v, chains, weights, biases, n_mean_field, k, source):
    """The two halves of the gradient of Salakhutdinov & Hinton's (2009) learning rule.

    Data-dependent: mean-field posteriors of the batch ``v`` (``n_mean_field`` steps from the
    bottom-up pass). Model: ``k`` block Gibbs sweeps of the persistent ``chains`` (updated in
    place), their odd layers then replaced by their means given the even ones.

    Returns
    -------
    data, model : lists of tensors, one per layer (data[0] is v)
    """
    data, _ = dm.mean_field(v, weights, biases, n_mean_field)
    for _ in range(k):
        dm.gibbs_sweep(chains, weights, biases, source)
    return data, dm.rao_blackwell(chains, weights, biases)


def _mean_outer(upper, lower):
    """<upper^T lower> / n in float32, shape (n_upper, n_lower)."""
    return (upper.T @ lower).float().div_(upper.shape[0])


def gradient(data, model):
    """Estimates of d(log-likelihood)/d(weights) and d/d(biases): <.>_data - <.>_model."""
    grad_w = [_mean_outer(data[i + 1], data[i]).sub_(_mean_outer(model[i + 1], model[i]))
              for i in range(len(data) - 1)]
    grad_b = [d.float().mean(0) - m.float().mean(0) for d, m in zip(data, model)]
    return grad_w, grad_b


def momentum_update(weights, biases, velocity, grads, lr, mom, weight_decay):
    """velocity <- mom * velocity + lr * (gradient - weight_decay * W); parameters += velocity.

    In place on float32 ``weights``, ``biases`` and ``velocity`` (weights first, then biases);
    the biases get no weight decay.
    """
    grad_w, grad_b = grads
    params = list(weights) + list(biases)
    for p, vel, g in zip(params, velocity, grad_w + grad_b):
        vel.mul_(mom).add_(g, alpha=lr)
        if weight_decay and p.dim() == 2:
            vel.sub_(p, alpha=lr * weight_decay)
        p.add_(vel)


def reconstruction_error(v, mu_1, W, b):
    """Mean squared error per pixel of v against E[v | q(h1)], a float32 scalar tensor."""
    v_mean = UNITS.mean_(torch.addmm(b, mu_1, W))
    return v_mean.sub_(v).square_().mean(dtype=torch.float32)
