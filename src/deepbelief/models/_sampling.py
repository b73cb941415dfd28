"""Where an RBM's Gibbs chains start and what ``sample`` returns: shared by ``RBM`` and ``DBN``."""

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_is_fitted

from .._core import memory, tempering
from .._core import rbm_math as m
from .._core.backend import RandomSource, resolve_device, to_numpy, to_tensor
from .._core.counts import is_count
from .._core.sampling import chain_length, check_chain_settings, run_chains
from .._core.threads import limit_threads
from .._core.units import get_unit

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


def dense_rows(init):
    """Checked ``init`` rows as a dense array: sparse rows are densified, one chain starts at
    each and its samples are dense anyway."""
    return init.toarray() if sp.issparse(init) else init


def n_chains(init, n_samples):
    """The number of chains: ``n_samples``, or the rows of an array ``init``."""
    if isinstance(init, str):
        n = DEFAULT_N_SAMPLES if n_samples is None else n_samples
    else:
        n = len(init) if n_samples is None else n_samples
        if n != len(init):
            raise ValueError(f"init has {len(init)} rows but n_samples={n_samples}: one chain "
                             "starts at each row, so leave n_samples out or make them agree.")
    if not is_count(n, 1):
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    return int(n)


def check_memory(model, n, sizes, burn_in, thin, samples_per_chain, return_chain, device):
    """MemoryError, before the chains start, when ``n`` chains of ``model`` through layers of
    ``sizes`` (visible first) and the samples they return cannot fit (``_core/memory``)."""
    recorded = chain_length(burn_in, thin, samples_per_chain) if return_chain else 0
    fix = "draw fewer chains (n_samples) or fewer samples_per_chain"
    memory.check_fits(
        memory.chains_bytes(n, sizes, samples_per_chain, recorded),
        f"{type(model).__name__}.sample(n_samples={n}, samples_per_chain={samples_per_chain}"
        f"{', return_chain=True' if return_chain else ''})",
        "its chains and samples",
        fix + (", or leave return_chain off" if return_chain else ""), device,
    )


def _start(rbm, init, n, W, b, c, source):
    """Hidden states (n, n_hidden) the chains start from."""
    if isinstance(init, str) and init == "persistent":
        chains = to_tensor(rbm._persistent, W.device)
        return chains[torch.arange(n, device=W.device) % len(chains)]
    if isinstance(init, str):
        shape = (n, W.shape[1])
        if init == "noise":  # Bernoulli: pixels on with probability 1/2; Gaussian: N(0, 1)
            v = get_unit(rbm.visible).noise(shape, source, W.device)
        else:  # "biases": the model with its weights set to zero
            v = m.sample_units(m.mean_visibles(torch.zeros(n, W.shape[0], device=W.device), W, b,
                                               rbm.visible), rbm.visible, source)
    else:
        v = to_tensor(init, W.device)
    return m.sample_units(m.mean_hiddens(v, W, c, rbm.hidden), rbm.hidden, source)


SAMPLERS = ("gibbs", "pt")


def check_sampler(method, n_temperatures, betas, visible, hidden):
    """The ladder of inverse temperatures for ``method="pt"`` (``_core/tempering``), None for
    "gibbs"; ValueError naming the parameter for anything else."""
    if method not in SAMPLERS:
        raise ValueError(f"method must be 'gibbs' (plain Gibbs chains) or 'pt' (parallel "
                         f"tempering), got {method!r}.")
    if method == "gibbs":
        if n_temperatures is not None or betas is not None:
            raise ValueError("n_temperatures and betas set the ladder of parallel tempering: "
                             "pass method='pt' with them, or leave them out.")
        return None
    tempering.check_units(visible, hidden)
    return tempering.check_ladder(n_temperatures, betas)


def rbm_chains(rbm, init, n_samples, burn_in, thin, samples_per_chain, output, return_chain,
               owner=None, betas=None):
    """What ``RBM.sample`` returns; ``init`` is checked already (``resolve_init``). ``owner``
    is the model sampled (a DBN whose top RBM ``rbm`` is), for messages; default ``rbm``.
    ``betas``, a checked ladder (``check_sampler``), runs parallel tempering; its swap rates
    go to ``rbm.pt_swap_rates_``.

    Returns ``(samples, chain)``: samples of shape (samples_per_chain, n, n_features) and the
    report of every step (n_steps, n, n_features) or None.
    """
    check_chain_settings(burn_in, thin, samples_per_chain, output)
    n = n_chains(init, n_samples)
    device = resolve_device(rbm.device)
    replicas = 1 if betas is None else len(betas)
    check_memory(owner or rbm, n * replicas, rbm.components_.shape[::-1], burn_in, thin,
                 samples_per_chain, return_chain, device)
    source = RandomSource(rbm.random_state_, device)
    W, b, c = (to_tensor(p, device) for p in rbm._param_arrays())
    steps = []
    with torch.inference_mode(), limit_threads(rbm.n_jobs):
        h = _start(rbm, init, n, W, b, c, source)
        if betas is None:
            kept = run_chains(h, W, b, c, rbm.visible, rbm.hidden, source, burn_in, thin,
                              samples_per_chain, output,
                              record=steps.append if return_chain else None)
        else:
            v = m.sample_units(m.mean_visibles(h, W, b, rbm.visible), rbm.visible, source)
            kept, rbm.pt_swap_rates_ = tempering.run_tempered_chains(
                v, W, b, c, rbm.visible, rbm.hidden, source, betas, burn_in, thin,
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


class DBNSamplingMixin:
    """``DBN.sample``: chains in the top RBM, then a pass down (uses ``rbms_``, ``_check_X``,
    ``layer_activations`` and ``inverse_transform``)."""

    def sample(self, n_samples=None, burn_in=1000, *, thin=100, samples_per_chain=1, init="auto",
               output="mean", return_chain=False, n_steps=None):
        """Draw from the model: Gibbs chains in the top RBM, then one pass down to the data.

        The top RBM is the DBN's undirected prior; the layers below are directed, so a sample
        of the network is a sample of the top RBM's visible layer carried down once. By default
        (``init="auto"``) the chains start at the top RBM's persistent chains when it was
        trained with PCD, else at noise in the top RBM's visible layer; passing data rows
        as ``init`` starts them at those rows carried up (E[h | v] layer by layer).

        Parameters
        ----------
        n_samples : int, optional
            Number of chains: default 16, or one per row of an array ``init``.
        burn_in : int, default=1000
            Gibbs steps in the top RBM before the first kept sample.
        thin : int, default=100
            Steps between two kept samples of one chain.
        samples_per_chain : int, default=1
            Samples kept per chain.
        init : {"auto", "persistent", "biases", "noise"} or array-like of shape (n_chains, \
                n_features), default="auto"
            Where the top RBM's chains start; strings as in :meth:`deepbelief.RBM.sample`
            (in the top RBM's own visible layer), an array: those data rows carried up (a
            scipy.sparse one is densified first).
        output : {"mean", "state"}, default="mean"
            "mean": the top RBM's E[v | h] carried down with E[v | h] of every RBM below (grey
            pixels, the picture to look at); "state": binary states drawn at every layer on the
            way down (an ancestral sample of the network, 0/1 pixels for Bernoulli units).
        return_chain : bool, default=False
            Also return every Gibbs step carried down to the data, for animations.
        n_steps : int, optional
            Deprecated name of ``burn_in``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Shape (samples_per_chain, n_samples, n_features) when ``samples_per_chain > 1``.
        chain : ndarray of shape (n_total_steps, n_samples, n_features)
            Only with ``return_chain=True``: every Gibbs step carried down to the data;
            ``n_total_steps = burn_in + (samples_per_chain - 1) * thin``.
        """
        check_is_fitted(self)
        burn_in = deprecated_n_steps(burn_in, n_steps)
        top, below = self.rbms_[-1], len(self.rbms_) - 1
        init = resolve_init(top, init)
        if not isinstance(init, str):
            X = dense_rows(self._check_X(init))
            init = self.layer_activations(X, below)[-1] if below else X
        samples, chain = rbm_chains(top, init, n_samples, burn_in, thin,
                                              samples_per_chain, output, return_chain, owner=self)
        if below:
            samples = self._down(samples, below, output)
            if return_chain:
                chain = self._down(chain, below, output)
        return shape_samples(samples, chain, samples_per_chain, return_chain)

    def _down(self, H, n_layers, output):
        """(..., layer_sizes_[n_layers]) states carried down to (..., n_features)."""
        flat = H.reshape(-1, H.shape[-1])
        if output == "mean":
            flat = self.inverse_transform(flat, n_layers)
        else:
            flat = down_states(self.rbms_[:n_layers], flat)
        return flat.reshape(*H.shape[:-1], flat.shape[-1])
