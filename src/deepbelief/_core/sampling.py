"""Gibbs chains that keep samples: burn-in, then one kept sample every ``thin`` steps.

A chain starts from hidden states ``h_0`` and takes steps h -> v -> h. After step ``t`` it holds
``h_t``; what it reports for that step is ``E[v | h_t]`` (the mean: a smooth picture) or a draw
``v ~ p(v | h_t)`` (a state), which is also the visible state the next step starts from. Kept are
the steps ``burn_in, burn_in + thin, ..., burn_in + (n_keep - 1) * thin``.
"""

import torch

from . import rbm_math as m
from .counts import check_count
from .units import get_unit

OUTPUTS = ("mean", "state")


def check_chain_settings(burn_in, thin, n_keep, output):
    """ValueError naming the setting when a chain's settings are not usable."""
    for name, value in (("burn_in", burn_in), ("thin", thin), ("samples_per_chain", n_keep)):
        check_count(name, value, 1)
    if output not in OUTPUTS:
        raise ValueError(f"output must be 'mean' (E[v | h]) or 'state' (a draw of v), "
                         f"got {output!r}.")


def chain_length(burn_in, thin, n_keep):
    """Steps a chain takes to deliver ``n_keep`` samples."""
    return burn_in + (n_keep - 1) * thin


def run_chains(h, W, b, c, visible, hidden, source, burn_in, thin=1, n_keep=1, output="mean",
               record=None):
    """Run one chain per row of ``h`` (B, n_hidden) and return the kept samples.

    Parameters
    ----------
    h : tensor of shape (B, n_hidden)
        Starting hidden states.
    W, b, c : tensors of shape (n_hidden, n_visible), (n_visible,), (n_hidden,)
    visible, hidden : str or units.Units
        The kinds of units, e.g. "bernoulli" or "gaussian".
    source : RandomSource or torch.Generator
    burn_in, thin, n_keep : int
        Steps before the first kept sample, steps between kept samples, samples kept per chain.
    output : {"mean", "state"}
    record : callable, optional
        Called as ``record(x)`` with every step's report (B, n_visible), in order.

    Returns
    -------
    tensor of shape (n_keep, B, n_visible)
    """
    visible, hidden = get_unit(visible), get_unit(hidden)
    kept = []
    n_steps = chain_length(burn_in, thin, n_keep)
    v_mean = m.mean_visibles(h, W, b, visible)
    v = m.sample_units(v_mean, visible, source)
    for step in range(1, n_steps + 1):
        h = m.sample_units(m.mean_hiddens(v, W, c, hidden), hidden, source)
        v_mean = m.mean_visibles(h, W, b, visible)
        v = m.sample_units(v_mean, visible, source)
        report = v_mean if output == "mean" else v
        if record is not None:
            record(report)
        if step >= burn_in and (step - burn_in) % thin == 0:
            kept.append(report.clone())
    return torch.stack(kept)
