"""Where an RBM's Gibbs chains start and what ``sample`` returns: shared by ``RBM`` and ``DBN``."""

import warnings

import numpy as np
import torch

from .._core import rbm_math as m
from .._core.backend import RandomSource, resolve_device, to_numpy, to_tensor
from .._core.sampling import check_chain_settings, run_chains
from .._core.threads import limit_threads

INITS = ("auto", "persistent", "biases", "noise")
DEFAULT_N_SAMPLES = 16


def deprecated_n_steps(burn_in, n_steps):
    """``n_steps`` was the name of ``burn_in`` before samples could be thinned."""
    if n_steps is None:
        return burn_in
    warnings.warn("sample(n_steps=...) is now sample(burn_in=...); n_steps will be removed.",
                  FutureWarning, stacklevel=3)
    return n_steps


def resolve_init(rbm, init):
    """``init`` as "persistent", "biases", "noise" or an array; "auto" picks the best start."""
    if isinstance(init, str):
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(map(repr, INITS))} or an array of "
                             f"visible rows to start the chains at, got {init!r}.")
        if init == "auto":
            return "persistent" if getattr(rbm, "_persistent", None) is not None else "noise"
        if init == "persistent" and getattr(rbm, "_persistent", None) is None:
            raise ValueError(
                "init='persistent' starts from the chains that PCD training keeps, but this model "
                f"has none (method={rbm.method!r}; models saved before the chains were stored "
                "have none either): use init='noise', 'biases' or an array of data rows."
            )
    return init


def n_chains(init, n_samples):
    """The number of chains: ``n_samples``, or the rows of an array ``init``."""
    if isinstance(init, str):
        n = DEFAULT_N_SAMPLES if n_samples is None else n_samples
    else:
        n = len(init) if n_samples is None else n_samples
        if n != len(init):
            raise ValueError(f"init has {len(init)} rows but n_samples={n_samples}: one chain "
                             "starts at each row, so leave n_samples out or make them agree.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    return int(n)


def _start(rbm, init, n, W, b, c, source):
    """Hidden states (n, n_hidden) the chains start from."""
    if isinstance(init, str) and init == "persistent":
        chains = to_tensor(rbm._persistent, W.device)
        return chains[torch.arange(n, device=W.device) % len(chains)]
    if isinstance(init, str):
        shape = (n, W.shape[1])
        if init == "noise" and rbm.visible == "bernoulli":  # pixels on with probability 1/2
            v = source.bernoulli(torch.full(shape, 0.5, device=W.device))
        elif init == "noise":  # standardized data: N(0, 1)
            v = source.normal(shape).to(W.device)
        else:  # "biases": the model with its weights set to zero
            v = m.sample_units(m.mean_visibles(torch.zeros(n, W.shape[0], device=W.device), W, b,
                                               rbm.visible), rbm.visible, source)
    else:
        v = to_tensor(init, W.device)
    return m.sample_units(m.mean_hiddens(v, W, c, rbm.hidden), rbm.hidden, source)


def rbm_chains(rbm, init, n_samples, burn_in, thin, samples_per_chain, output, return_chain):
    """What ``RBM.sample`` returns; ``init`` is checked already (``resolve_init``).

    Returns ``(samples, chain)``: samples of shape (samples_per_chain, n, n_features) and the
    report of every step (n_steps, n, n_features) or None.
    """
    check_chain_settings(burn_in, thin, samples_per_chain, output)
    n = n_chains(init, n_samples)
    device = resolve_device(rbm.device)
    source = RandomSource(rbm.random_state_, device)
    W, b, c = (to_tensor(p, device) for p in rbm._param_arrays())
    steps = []
    with torch.inference_mode(), limit_threads(rbm.n_jobs):
        h = _start(rbm, init, n, W, b, c, source)
        kept = run_chains(h, W, b, c, rbm.visible, rbm.hidden, source, burn_in, thin,
                          samples_per_chain, output, record=steps.append if return_chain else None)
    chain = np.stack([to_numpy(s) for s in steps]).astype(float) if return_chain else None
    return to_numpy(kept).astype(float), chain


def shape_samples(samples, chain, samples_per_chain, return_chain):
    """(n, n_features) for one sample per chain, else (samples_per_chain, n, n_features)."""
    out = samples[0] if samples_per_chain == 1 else samples
    return (out, chain) if return_chain else out


def down_states(rbms, H):
    """States of the top RBM's visible layer (n, n_hidden of ``rbms[-1]``) carried down through
    ``rbms`` (bottom first) with a draw of v ~ p(v | h) at every layer; returns (n, n_features)."""
    device = resolve_device(rbms[0].device)
    source = RandomSource(rbms[0].random_state_, device)
    h = to_tensor(H, device)
    with torch.inference_mode():
        for rbm in reversed(rbms):
            W, b, _ = (to_tensor(p, device) for p in rbm._param_arrays())
            h = m.sample_units(m.mean_visibles(h, W, b, rbm.visible), rbm.visible, source)
    return to_numpy(h).astype(float)
