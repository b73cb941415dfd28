"""Log partition function of an RBM by annealed importance sampling (AIS), and the DBN bound.

The energy is the one of ``rbm_math``, with Bernoulli or unit-variance Gaussian units::

    E(v, h) = vis(v) + hid(h) - v W^T h
    vis(v)  = -b.v   (bernoulli)   or  |v - b|^2 / 2   (gaussian);   hid likewise with c

``W`` has scikit-learn's layout (n_hidden, n_visible). AIS (Neal 2001) anneals from a base-rate
model A (visible biases ``base_bias``, no weights, zero hidden biases) to the RBM B through

    p_beta*(v) = exp(-(1 - beta) vis_A(v) - beta vis_B(v)) * int_h exp(-hid_beta(h) + beta h.Wv)

with one Gibbs sweep h -> v per intermediate distribution, as in Salakhutdinov & Murray (2008).
Supported by AIS: Bernoulli or Gaussian visible with Bernoulli hidden, and Bernoulli visible with
Gaussian hidden (hid_beta(h) = |h - beta c|^2 / 2 up to a constant, so every p_beta has a finite
Z). Gaussian on both sides has a closed-form Z (finite only when I - W^T W is positive definite):
``exact_log_partition`` computes it and ``ais_log_partition`` refuses it.

References
----------
Neal, R. M. (2001). Annealed importance sampling. Statistics and Computing 11, 125-139.
Salakhutdinov, R. & Murray, I. (2008). On the quantitative analysis of deep belief networks. ICML.
"""

import math
from dataclasses import dataclass

import torch

from .counts import is_count
from .memory import ais_bytes, betas_bytes, check_fits
from .rbm_math import free_energy
from .units import GAUSSIAN, LOG_2PI, get_unit

MAX_ENUMERATED_UNITS = 26  # 2^26 states take a minute; more is hopeless
_CHUNK = 1 << 14  # states enumerated at a time


# ------------------------------------------------------------------------------------ schedules
def standard_betas(n_betas=None, dtype=torch.float64):
    """The usual schedule: steps of 1e-3 up to 0.5, 1e-4 up to 0.9, 1e-5 up to 1 (14,501 values).

    With ``n_betas``, the same three stretches hold 500 : 4000 : 10000 parts of ``n_betas - 1``
    steps, for a cheaper run with the same shape.
    """
    counts = (500, 4000, 10000)
    if n_betas is not None:
        if not is_count(n_betas, 4):
            raise ValueError(
                f"n_betas must be at least 4 for the standard schedule, got {n_betas!r}."
            )
        check_fits(betas_bytes(n_betas), f"an AIS schedule of n_betas={n_betas}", "its betas",
                   "use fewer betas (n_betas)")
        steps = n_betas - 1
        counts = [max(1, round(steps * c / 14500)) for c in counts[:2]]
        counts.append(steps - sum(counts))
    edges = (0.0, 0.5, 0.9, 1.0)
    parts = [torch.zeros(1, dtype=dtype)]
    for n, low, high in zip(counts, edges[:-1], edges[1:]):
        parts.append(torch.linspace(low, high, n + 1, dtype=dtype)[1:])
    return torch.cat(parts)


def spaced_betas(n_betas, spacing="linear", start=1e-4, dtype=torch.float64):
    """``n_betas`` values from 0 to 1, evenly (``"linear"``) or geometrically from ``start``."""
    if not is_count(n_betas, 2):
        raise ValueError(f"n_betas must be an integer >= 2 (0 and 1), got {n_betas!r}.")
    check_fits(betas_bytes(n_betas), f"an AIS schedule of n_betas={n_betas}", "its betas",
               "use fewer betas (n_betas)")
    if spacing == "linear":
        return torch.linspace(0.0, 1.0, n_betas, dtype=dtype)
    if spacing == "geometric":
        rest = torch.logspace(math.log10(start), 0.0, n_betas - 1, dtype=dtype)
        return torch.cat([torch.zeros(1, dtype=dtype), rest])
    raise ValueError(f"spacing must be 'linear' or 'geometric', got {spacing!r}.")


def _check_betas(betas):
    betas = torch.as_tensor(betas, dtype=torch.float64).flatten().cpu()
    if betas.numel() < 2 or betas[0] != 0.0 or betas[-1] != 1.0 or (betas.diff() < 0).any():
        raise ValueError(
            "betas must rise from 0 to 1 (at least the two values [0, 1]); "
            "use standard_betas() or spaced_betas(n)."
        )
    return betas


# --------------------------------------------------------------------------------- exact maths
def _logsumexp_over_states(units, n, log_weight, dtype, device):
    """log sum over every joint state s of ``n`` discrete ``units`` of ``log_weight(s)``, in
    chunks."""
    n_states = units.n_states(n)
    parts = [
        torch.logsumexp(log_weight(units.states(n, i, min(i + _CHUNK, n_states), dtype, device)), 0)
        for i in range(0, n_states, _CHUNK)
    ]
    return torch.logsumexp(torch.stack(parts), 0)


def exact_log_partition(W, b, c, visible, hidden):
    """log Z exactly: sum over the smaller binary side, integrate the other side out.

    Needs a binary side of at most ``MAX_ENUMERATED_UNITS`` units, or Gaussian units on both
    sides (closed form). Computed in float64. Raises ValueError when neither holds, or when a
    Gaussian-Gaussian Z is infinite.
    """
    visible, hidden = _check_units(visible, hidden)
    W, b, c = (t.to(torch.float64) for t in (W, b, c))
    n_hidden, n_visible = W.shape
    sizes = {}
    if hidden.n_states(1) is not None:
        sizes["hidden"] = n_hidden
    if visible.n_states(1) is not None:
        sizes["visible"] = n_visible
    if visible is hidden is GAUSSIAN:  # a closed form
        return _gaussian_gaussian_log_partition(W, b, c)
    if not sizes:
        raise ValueError(f"exact_log_partition needs discrete units on one side, got "
                         f"{visible.name} visible and {hidden.name} hidden units.")
    side = min(sizes, key=sizes.get)
    if sizes[side] > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"exact_log_partition enumerates the {side} units, but there are {sizes[side]} "
            f"(at most {MAX_ENUMERATED_UNITS}): estimate log Z with ais_log_partition instead."
        )
    if side == "visible":
        def log_weight(v):
            return -free_energy(v, W, b, c, visible, hidden)
        return _logsumexp_over_states(visible, n_visible, log_weight, W.dtype, W.device)

    def log_weight(h):  # log of exp(-hid(h)) int_v exp(-vis(v) + v.W^T h)
        return -hidden.energy(h, c) + visible.cumulant(h @ W + b, b)
    return _logsumexp_over_states(hidden, n_hidden, log_weight, W.dtype, W.device)


def _gaussian_gaussian_log_partition(W, b, c):
    # -F(v) = -v^T A v / 2 + m.v - |b|^2 / 2 + const with A = I - W^T W, m = b + W^T c
    n_hidden, n_visible = W.shape
    A = torch.eye(n_visible, dtype=W.dtype, device=W.device) - W.T @ W
    L, info = torch.linalg.cholesky_ex(A)
    if info != 0:
        raise ValueError(
            "Z is infinite: with Gaussian visible and hidden units I - W^T W must be positive "
            "definite (the largest singular value of W below 1). Shrink the weights."
        )
    m = b + W.T @ c
    y = torch.cholesky_solve(m[:, None], L)[:, 0]
    log_det = 2 * torch.log(torch.diagonal(L)).sum()
    return (0.5 * (n_visible + n_hidden) * LOG_2PI - 0.5 * log_det + 0.5 * m @ y - 0.5 * b @ b)


# ----------------------------------------------------------------------------------------- AIS
@dataclass(frozen=True)
class LogPartition:
    """An AIS estimate of log Z with its spread (Salakhutdinov & Murray 2008, section 4).

    ``log_z_low`` / ``log_z_high`` are log(Z_hat -+ 3 sigma), sigma the standard error of the
    mean importance weight (``-inf`` low end when 3 sigma exceeds Z_hat); ``std`` is the
    delta-method standard deviation of ``log_z`` (sigma / Z_hat).
    """

    log_z: float
    std: float
    log_z_low: float
    log_z_high: float
    n_betas: int
    n_runs: int
    log_weights: torch.Tensor  # (n_runs,) log importance weights, including log Z of the base

    def __str__(self):
        return (
            f"log Z = {self.log_z:.4f} +- {self.std:.4f} (3 sigma: [{self.log_z_low:.4f}, "
            f"{self.log_z_high:.4f}]; {self.n_betas} betas, {self.n_runs} runs)"
        )

    def __float__(self):
        return self.log_z


def base_rate_bias(X, visible="bernoulli", eps=0.01):
    """Visible biases of the base-rate model: logit of the mean clipped to [eps, 1 - eps]
    (Bernoulli), or the mean itself (Gaussian). ``X`` is a (n_samples, n_visible) tensor."""
    mean = X.to(torch.float64).mean(dim=0)
    return get_unit(visible, "visible").base_rate_bias(mean, eps)


def _check_units(visible, hidden):
    """The ``Units`` of both sides; ValueError naming the side for an unknown kind."""
    return get_unit(visible, "visible"), get_unit(hidden, "hidden")


def ais_log_partition(W, b, c, visible, hidden, betas=None, n_runs=100, base_bias=None,
                      generator=None, progress=None, progress_every=100):
    """Estimate log Z of an RBM by AIS from a base-rate model (see the module docstring).

    Parameters
    ----------
    W, b, c : tensors of shape (n_hidden, n_visible), (n_visible,), (n_hidden,)
        Sampling runs in W's dtype and device; the log weights add up in float64.
    visible, hidden : {"bernoulli", "gaussian"}
    betas : 1-D tensor rising from 0 to 1, default ``standard_betas()``
    n_runs : int, default=100
        Independent annealing runs (importance weights).
    base_bias : tensor of shape (n_visible,), optional
        Visible biases of the base model (``base_rate_bias(training_data)``); default zeros.
    generator : torch.Generator, optional
        Source of every random number; the same seed gives the same estimate on one device.
    progress : callable, optional
        Called as ``progress(n)`` after every ``progress_every`` annealing steps with the steps
        done since the last call; the calls add up to ``len(betas) - 1``.

    Returns
    -------
    LogPartition
    """
    visible, hidden = _check_units(visible, hidden)
    if visible.n_states(1) is None and hidden.n_states(1) is None:
        raise ValueError(
            "ais_log_partition does not anneal Gaussian-Gaussian RBMs: their log Z has a closed "
            "form, call exact_log_partition."
        )
    n_runs = check_runs(n_runs, W.shape[::-1], W.device)
    betas = _check_betas(standard_betas() if betas is None else betas).tolist()
    n_hidden, n_visible = W.shape
    f64 = torch.float64
    b_a = torch.zeros_like(b) if base_bias is None else base_bias.to(W.dtype)
    b64, b_a64, c64 = b.to(f64), b_a.to(f64), c.to(f64)
    bias_gap = b64 - b_a64
    # vis_A(v) - vis_B(v): linear in v plus the constant parts (Gaussian: |b_A|^2 / 2 - |b|^2 / 2)
    gap_const = visible.bias_constant(b_a64) - visible.bias_constant(b64)
    c_const = hidden.bias_constant(c64)
    log_z_base = visible.log_partition(b_a64) + hidden.log_partition_at_zero(n_hidden)

    base_input = b_a.expand(n_runs, n_visible)
    v = visible.sample_from_inputs(base_input, generator)  # (R, n_visible)
    log_w = torch.full((n_runs,), log_z_base, dtype=f64, device=W.device)
    pending = 0
    with torch.inference_mode():
        for k in range(1, len(betas)):
            beta, previous = betas[k], betas[k - 1]
            x = torch.addmm(c, v, W.T)  # (R, n_hidden)
            x64 = x.to(f64)
            vis_gap = v.to(f64) @ bias_gap + gap_const
            log_w += (beta - previous) * vis_gap
            log_w += hidden.annealed_cumulant(x64, beta, c_const)
            log_w -= hidden.annealed_cumulant(x64, previous, c_const)
            if k < len(betas) - 1:  # one Gibbs sweep that leaves p_beta invariant
                h = hidden.sample_from_inputs(beta * x, generator)
                v_input = torch.addmm(b, h, W, beta=beta, alpha=beta)  # beta (b + W^T h)
                v = visible.sample_from_inputs(v_input.add_(b_a, alpha=1 - beta), generator)
            pending += 1
            if progress is not None and (pending == progress_every or k == len(betas) - 1):
                progress(pending)
                pending = 0
    return _summarise(log_w, len(betas), n_runs)


def check_runs(n_runs, sizes, device):
    """``n_runs`` as an int: ValueError unless it is an integer >= 2, MemoryError when the
    states of that many runs through layers of ``sizes`` cannot fit (``memory.ais_bytes``)."""
    if not is_count(n_runs, 2):
        raise ValueError(f"n_runs must be an integer >= 2 (the spread needs two weights), "
                         f"got {n_runs!r}.")
    check_fits(ais_bytes(n_runs, sizes), f"AIS with n_runs={n_runs} through layers of {list(sizes)} units",
               "the states of its runs", "use fewer runs (n_runs)", device)
    return int(n_runs)


def _summarise(log_w, n_betas, n_runs):
    log_z = torch.logsumexp(log_w, 0) - math.log(n_runs)
    top = log_w.max()
    log_sigma = torch.log(torch.exp(log_w - top).std()) + top - 0.5 * math.log(n_runs)
    rel = float(torch.exp(log_sigma - log_z))  # sigma / Z_hat
    log_z = float(log_z)
    low = log_z + math.log1p(-3 * rel) if 3 * rel < 1 else -math.inf
    return LogPartition(log_z, rel, low, log_z + math.log1p(3 * rel), n_betas, n_runs, log_w.cpu())


# ------------------------------------------------------------------------------- likelihoods
def log_probabilities(v, W, b, c, visible, hidden, log_z):
    """log p(v) = -F(v) - log Z for each row of ``v``, shape (B,)."""
    return -free_energy(v, W, b, c, visible, hidden) - float(log_z)


def log_likelihood(v, W, b, c, visible, hidden, log_z):
    """Mean log p(v) over the rows of ``v`` in nats, given one estimate of log Z."""
    return float(log_probabilities(v, W, b, c, visible, hidden, log_z).mean())


def dbn_log_likelihood_bound(v, layers, log_z_top, n_samples=10, generator=None):
    """Variational lower bound on log p(v) of a DBN, one value per row of ``v``, shape (B,).

    ``layers`` lists each RBM as ``(W, b, c, visible, hidden)`` from the data up. With
    h_0 = v and h_l ~ q(h_l | h_{l-1}) the RBM posteriors (Salakhutdinov & Murray 2008, eq. 15,
    applied recursively)::

        log p(v) >= E_q[ sum_l (log p(h_{l-1} | h_l) + H(q(. | h_{l-1})))
                         - F_top(h_{L-1}) ] - log Z_top

    The entropies are exact; the rest is averaged over ``n_samples`` draws per row. With a single
    RBM the bound is exact: -F(v) - log Z.
    """
    rows = v.shape[0]
    x = v.repeat_interleave(n_samples, dim=0)  # (B * n_samples, n_visible)
    total = torch.zeros(x.shape[0], dtype=torch.float64, device=v.device)
    with torch.inference_mode():
        for W, b, c, visible, hidden in layers[:-1]:
            visible, hidden = _check_units(visible, hidden)
            q_input = torch.addmm(c, x, W.T)
            total += hidden.entropy(q_input).to(torch.float64)
            h = hidden.sample_from_inputs(q_input, generator)
            total += visible.log_prob(x, torch.addmm(b, h, W)).to(torch.float64)
            x = h
        W, b, c, visible, hidden = layers[-1]
        total -= free_energy(x, W, b, c, visible, hidden).to(torch.float64)
    return total.view(rows, n_samples).mean(dim=1) - float(log_z_top)
