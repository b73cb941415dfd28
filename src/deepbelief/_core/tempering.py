"""Parallel tempering: Gibbs chains at several temperatures that swap states with neighbours.

Replica k of a chain samples the tempered RBM p_k(v, h) ∝ exp(-beta_k E(v, h)) on a ladder
0 < beta_1 < ... < beta_K = 1; the replica at beta_K = 1 samples the model itself. Hot replicas
(small beta) see a flattened energy and cross between modes easily; swaps hand their states up
the ladder, so the cold chain visits modes that plain Gibbs sampling leaves only after very
many steps (Swendsen & Wang 1986; Geyer 1991; for RBMs Desjardins et al. 2010).

For Bernoulli and spin units the energy is linear in (W, b, c), so p_k is the RBM with every
parameter times beta_k: its conditionals take the inputs times beta_k. (Gaussian units have
the quadratic term |v - b|^2 / 2, whose tempering would change their variance; they are
refused.)

One step of every chain, replicas stacked as a (K, B, n) tensor:

1. one Gibbs sweep h ~ p_k(h | v), v ~ p_k(v | h) of each replica at its own beta;
2. swaps between neighbours, on even pairs (1, 2), (3, 4), ... at odd steps and odd pairs
   (2, 3), ... at even steps. The swap of replicas i, j = i + 1 with visible states v_i, v_j
   is accepted with probability min(1, r), using the free energies
   F_k(v) = -log sum_h exp(-beta_k E(v, h)) (hiddens summed out, which makes swaps more
   likely than the joint energy would)::

       log r = F_i(v_i) + F_j(v_j) - F_i(v_j) - F_j(v_i)

   r is the ratio p_i(v_j) p_j(v_i) / (p_i(v_i) p_j(v_j)) (the Z_k cancel), so the swap
   obeys detailed balance with respect to the product of the replicas' marginals.

Cost per step: K Gibbs sweeps (two matrix products over K * B rows) and K - 1 free-energy
pairs; these need the hidden inputs ``c + v W^T`` of the new states, which the next sweep's
h ~ p(h | v) reuses, so they add no matrix product, only element-wise work of (B, n_hidden)
per pair.
"""

import numpy as np
import torch

from .counts import check_count
from .units import get_unit

TEMPERABLE = ("bernoulli", "spin")  # energy linear in the parameters: tempering scales them
DEFAULT_N_TEMPERATURES = 10


def default_betas(n_temperatures=DEFAULT_N_TEMPERATURES):
    """The default ladder: ``n_temperatures`` inverse temperatures evenly spaced in beta,
    k / K for k = 1..K (0.1, 0.2, ..., 1 for K = 10), as a float64 array."""
    n_temperatures = check_count("n_temperatures", n_temperatures, 2)
    return np.arange(1, n_temperatures + 1) / n_temperatures


def check_ladder(n_temperatures=None, betas=None):
    """The ladder to use, a float64 array: ``betas`` checked, else ``default_betas``.

    ValueError naming the parameter when ``betas`` is not strictly increasing in (0, 1] and
    ending at 1, or disagrees with ``n_temperatures``.
    """
    if betas is None:
        return default_betas(DEFAULT_N_TEMPERATURES if n_temperatures is None else n_temperatures)
    ladder = np.asarray(betas, dtype=float)
    if ladder.ndim != 1 or len(ladder) < 2:
        raise ValueError(f"betas must be a 1-D sequence of at least 2 inverse temperatures, "
                         f"got shape {ladder.shape}.")
    if not (np.all(np.isfinite(ladder)) and ladder[0] > 0 and np.all(np.diff(ladder) > 0)
            and ladder[-1] == 1):
        raise ValueError(f"betas must increase strictly from above 0 to exactly 1 (the model "
                         f"itself), e.g. {default_betas(len(ladder)).round(3).tolist()}; "
                         f"got {ladder.tolist()}.")
    if n_temperatures is not None and n_temperatures != len(ladder):
        raise ValueError(f"n_temperatures={n_temperatures!r} but betas has {len(ladder)} "
                         "values: give one of them, or make them agree.")
    return ladder


def check_units(visible, hidden):
    """ValueError unless both layers are of a kind whose tempering scales the parameters."""
    for side, kind in (("visible", visible), ("hidden", hidden)):
        name = get_unit(kind).name
        if name not in TEMPERABLE:
            raise ValueError(
                f"method='pt' tempers Bernoulli or spin units, but {side}={name!r}: tempering "
                "Gaussian units would change their variance. Use method='gibbs'."
            )


def hidden_inputs(v, W, c):
    """c + v W^T for stacked replicas: v (K, B, n_visible) -> (K, B, n_hidden)."""
    K, B, n = v.shape
    return torch.addmm(c, v.reshape(K * B, n), W.T).reshape(K, B, -1)


def tempered_free_energy(v, x, beta, b, visible, hidden):
    """F_beta(v) = beta * vis(v) - Gamma(beta * x) per row, with x = c + v W^T the hidden
    inputs; v (..., B, n_visible), x (..., B, n_hidden), beta broadcast as (..., 1, 1)."""
    shape = v.shape[:-1]
    vis = get_unit(visible).energy(v.reshape(-1, v.shape[-1]), b).reshape(shape)
    return beta[..., 0] * vis - get_unit(hidden).relative_cumulant(beta * x)


def swap_log_ratio(v_i, x_i, v_j, x_j, beta_i, beta_j, b, visible, hidden):
    """log r = F_i(v_i) + F_j(v_j) - F_i(v_j) - F_j(v_i): the log acceptance ratio of swapping
    the states of replicas at ``beta_i`` and ``beta_j`` (broadcast as (..., 1, 1))."""
    F = lambda v, x, beta: tempered_free_energy(v, x, beta, b, visible, hidden)  # noqa: E731
    return F(v_i, x_i, beta_i) + F(v_j, x_j, beta_j) - F(v_j, x_j, beta_i) - F(v_i, x_i, beta_j)


def swap(v, x, betas, parity, b, visible, hidden, source):
    """Propose swaps of neighbours (i, i + 1) for i = parity, parity + 2, ...; accepted ones
    exchange rows of ``v`` and ``x`` in place. Returns the accepted swaps per pair, shape (P, B)."""
    lo = torch.arange(parity, len(betas) - 1, 2, device=v.device)
    if len(lo) == 0:
        return None
    hi = lo + 1
    beta = betas[:, None, None]
    log_r = swap_log_ratio(v[lo], x[lo], v[hi], x[hi], beta[lo], beta[hi], b, visible, hidden)
    accept = torch.lt(source.uniform(log_r.shape, log_r.dtype).to(log_r.device), log_r.exp())
    for t in (v, x):
        a = accept[..., None]
        t_lo, t_hi = t[lo], t[hi]
        t[lo] = torch.where(a, t_hi, t_lo)
        t[hi] = torch.where(a, t_lo, t_hi)
    return accept


def run_tempered_chains(v, W, b, c, visible, hidden, source, betas, burn_in, thin=1, n_keep=1,
                        output="mean", record=None):
    """Run one tempered chain per row of the visible states ``v`` (B, n_visible).

    Every replica starts at ``v``. A step is one sweep of every replica (reported: E[v | h]
    or the draw of v of the replica at beta = 1), then swaps. Kept and recorded are the steps
    of ``sampling.run_chains`` (burn-in, then one every ``thin``).

    Parameters
    ----------
    v : tensor of shape (B, n_visible)
    W, b, c, visible, hidden, source
        As in ``sampling.run_chains``.
    betas : array-like of shape (K,)
        The ladder, checked (``check_ladder``): increasing, last 1.
    burn_in, thin, n_keep, output, record
        As in ``sampling.run_chains``.

    Returns
    -------
    kept : tensor of shape (n_keep, B, n_visible)
    swap_rates : ndarray of shape (K - 1,)
        Accepted / proposed swaps between betas[i] and betas[i + 1], over all chains and steps
        (NaN for a pair never proposed: pair 2 when only one step is taken).
    """
    visible, hidden = get_unit(visible), get_unit(hidden)
    K = len(betas)
    betas = torch.as_tensor(np.asarray(betas), dtype=W.dtype, device=W.device)
    beta = betas[:, None, None]  # (K, 1, 1)
    accepted = torch.zeros(K - 1, dtype=torch.float64, device=W.device)  # no sync per step
    proposed = np.zeros(K - 1)
    v = v.expand(K, *v.shape).contiguous()  # (K, B, n_visible)
    x = hidden_inputs(v, W, c)  # (K, B, n_hidden)
    kept = []
    n_steps = burn_in + (n_keep - 1) * thin
    for step in range(1, n_steps + 1):
        h = hidden.sample(hidden.mean_(beta * x), source)
        v_mean = visible.mean_(beta * (h @ W + b))  # (K, B, n_visible)
        v = visible.sample(v_mean, source)
        report = v_mean[-1] if output == "mean" else v[-1]
        if record is not None:
            record(report)
        if step >= burn_in and (step - burn_in) % thin == 0:
            kept.append(report.clone())
        x = hidden_inputs(v, W, c)
        parity = (step - 1) % 2
        accept = swap(v, x, betas, parity, b, visible, hidden, source)
        if accept is not None:
            accepted[parity::2] += accept.sum(dim=1)
            proposed[parity::2] += accept.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = accepted.cpu().numpy() / proposed
    return torch.stack(kept), rates
