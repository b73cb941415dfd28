"""log Z of a Deep Boltzmann Machine by AIS, exact log Z and log p(v) of tiny ones, the bound.

AIS (Salakhutdinov & Hinton 2009, section 3.2; Salakhutdinov 2008) runs on the even layers
``(v, h2, ...)`` with the odd ones summed out in closed form. The intermediate distributions
scale the DBM's parameters by beta and mix in a base-rate model A that has biases ``a`` on the
even layers (from the data and its posteriors) and nothing else::

    log p*_beta(x_even) = sum_even ((1 - beta) a_l + beta b_l) . x_l
                          + sum_odd sum_j softplus(beta * input_j(x_even))

so p_0 is A (odd units uniform) and p_1 the DBM with the odd layers summed out. Each step is
one block Gibbs sweep that leaves p_beta invariant: odd layers given the even ones, then the
even ones given the odd ones. See ``dbm_math`` for the energy and the layer layout.
"""

import torch

from .ais import _check_betas, _summarise, check_runs, standard_betas
from .dbm_math import even_layers, layer_input, log_marginal, odd_layers
from .units import BERNOULLI

MAX_ENUMERATED_UNITS = 24  # units of one parity that exact sums enumerate, 2^24 states at most
_CHUNK = 1 << 13  # states enumerated at a time


# ----------------------------------------------------------------------------------------- AIS
def ais_log_partition(weights, biases, base_biases, betas=None, n_runs=100, generator=None,
                      progress=None, progress_every=100):
    """Estimate log Z of a DBM by annealed importance sampling.

    Parameters
    ----------
    weights, biases : lists of tensors
        The DBM (``dbm_math`` layout). Sampling runs in their dtype; log weights in float64.
    base_biases : list of tensors
        Biases of the base-rate model, one per even layer (v, h2, ...), e.g. the logits of the
        data's pixel means and of the mean posteriors of the even hidden layers.
    betas : 1-D tensor rising from 0 to 1, default ``ais.standard_betas()``
    n_runs : int, default=100
    generator : torch.Generator, optional
    progress : callable, optional
        ``progress(n)`` every ``progress_every`` steps, the calls adding up to ``len(betas) - 1``.

    Returns
    -------
    ais.LogPartition
    """
    n_runs = check_runs(n_runs, [len(b) for b in biases], biases[0].device)
    betas = _check_betas(standard_betas() if betas is None else betas).tolist()
    n_layers = len(biases)
    even, odd = list(even_layers(n_layers)), list(odd_layers(n_layers))
    if len(base_biases) != len(even):
        raise ValueError(f"base_biases needs one tensor per even layer ({len(even)}), "
                         f"got {len(base_biases)}.")
    f64 = torch.float64
    base = dict(zip(even, (a.to(biases[0].dtype) for a in base_biases)))
    gap = {i: biases[i].to(f64) - base[i].to(f64) for i in even}  # b_l - a_l
    units = BERNOULLI  # every layer of a DBM
    log_z_base = sum(units.log_partition(base[i].to(f64)) for i in even)
    log_z_base += units.log_partition_at_zero(sum(biases[i].numel() for i in odd))
    states = [None] * n_layers
    for i in even:
        states[i] = units.sample_from_inputs(base[i].expand(n_runs, -1), generator)
    log_w = torch.full((n_runs,), log_z_base, dtype=f64, device=biases[0].device)
    pending = 0
    with torch.inference_mode():
        for k in range(1, len(betas)):
            beta, previous = betas[k], betas[k - 1]
            log_w += (beta - previous) * sum(states[i].to(f64) @ gap[i] for i in even)
            inputs = {i: layer_input(states, weights, biases, i) for i in odd}
            for x in inputs.values():
                x64 = x.to(f64)
                log_w += (units.annealed_cumulant(x64, beta, 0.0)
                          - units.annealed_cumulant(x64, previous, 0.0))
            if k < len(betas) - 1:  # a sweep that leaves p_beta invariant
                for i in odd:
                    states[i] = units.sample_from_inputs(beta * inputs[i], generator)
                for i in even:
                    x = layer_input(states, weights, biases, i)
                    states[i] = units.sample_from_inputs(x.mul_(beta).add_(base[i], alpha=1 - beta),
                                                         generator)
            pending += 1
            if progress is not None and (pending == progress_every or k == len(betas) - 1):
                progress(pending)
                pending = 0
    return _summarise(log_w, len(betas), n_runs)


def base_rate_biases(mus, eps=0.01):
    """Base-rate biases for AIS from ``mus = [v, mu_1, ..., mu_L]`` (data and its mean-field
    posteriors): the logit of each even layer's mean over the rows, clipped to [eps, 1 - eps]."""
    return [BERNOULLI.base_rate_bias(mus[i].to(torch.float64).mean(dim=0), eps)
            for i in even_layers(len(mus))]


# --------------------------------------------------------------------------------- exact sums
def _split(flat, sizes):
    return list(torch.split(flat, sizes, dim=1))


def _logsumexp_states(sizes, log_weight, dtype, device):
    """log sum over every binary state of layers of ``sizes`` of ``log_weight(list of layers)``."""
    n = sum(sizes)
    if n > MAX_ENUMERATED_UNITS:
        raise ValueError(f"exact sums enumerate {n} binary units here (at most "
                         f"{MAX_ENUMERATED_UNITS}): estimate log Z by AIS instead.")
    parts = [
        torch.logsumexp(log_weight(_split(BERNOULLI.states(n, i, min(i + _CHUNK, 2**n), dtype,
                                                           device), sizes)), 0)
        for i in range(0, 2**n, _CHUNK)
    ]
    return torch.logsumexp(torch.stack(parts), 0)


def enumerable(biases):
    """True when one parity of layers has few enough units for ``exact_log_partition``."""
    n_layers = len(biases)
    return min(sum(biases[i].numel() for i in group)
               for group in (even_layers(n_layers), odd_layers(n_layers))) <= MAX_ENUMERATED_UNITS


def exact_log_partition(weights, biases):
    """log Z exactly (float64): enumerate the parity with fewer units, sum the other out."""
    weights, biases = [W.double() for W in weights], [b.double() for b in biases]
    n_layers = len(biases)
    groups = {"even": list(even_layers(n_layers)), "odd": list(odd_layers(n_layers))}
    keep = min(groups, key=lambda g: sum(biases[i].numel() for i in groups[g]))
    kept = groups[keep]

    def log_weight(layers):
        states = [None] * n_layers
        for i, x in zip(kept, layers):
            states[i] = x
        return log_marginal(states, weights, biases, keep)

    return _logsumexp_states([biases[i].numel() for i in kept], log_weight, torch.float64,
                             biases[0].device)


def exact_log_probabilities(v, weights, biases, log_z=None):
    """log p(v) exactly for each row of binary ``v`` (float64): enumerate the even hidden layers
    (h2, h4, ...), sum the odd ones out. ``log_z`` default ``exact_log_partition``."""
    weights, biases = [W.double() for W in weights], [b.double() for b in biases]
    v = v.double()
    n_layers = len(biases)
    kept = list(even_layers(n_layers))[1:]
    if log_z is None:
        log_z = exact_log_partition(weights, biases)
    out = []
    for row in v:
        def log_weight(layers, row=row):
            states = [row.expand(len(layers[0]), -1)] + [None] * (n_layers - 1)
            for i, x in zip(kept, layers):
                states[i] = x
            return log_marginal(states, weights, biases, "even")
        out.append(_logsumexp_states([biases[i].numel() for i in kept], log_weight,
                                     torch.float64, v.device))
    return torch.stack(out) - float(log_z)
