"""Log-likelihood of fitted RBMs and DBNs in nats, with log Z estimated by AIS.

Works on any fitted estimator with the RBM attributes (``components_``, ``intercept_visible_``,
``intercept_hidden_``, ``visible``, ``hidden``, ``device``); a DBN is anything with ``rbms_``.
Arrays in, floats out: torch stays inside ``_core.ais``. scipy.sparse data is densified a block
of rows at a time, never whole.
"""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._core import ais, memory
from .._core.backend import holds_only, is_binary, make_generator, resolve_device, summed
from .._core.batches import column_mean, dense_blocks
from .._core.counts import check_count
from .._core.progress import progress
from .._core.units import get_unit

_SAMPLES_AT_ONCE = 4096  # rows x samples per image held in memory at once by the DBN bound


def _rbm_tensors(rbm, device, dtype=torch.float32):
    check_is_fitted(rbm, "components_")
    arrays = (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)
    return [torch.as_tensor(np.asarray(a), dtype=dtype, device=device) for a in arrays]


def _data(X, n_features, what="X"):
    """``X`` as a float64 array, or scipy.sparse ``X`` as float64 CSR, of shape checked."""
    X = summed(X).tocsr().astype(np.float64, copy=False) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(
            f"{what} must have shape (n_samples, {n_features}) like the model's training data, "
            f"got shape {X.shape}."
        )
    return X


def _tensor(X, device):
    """Rows of ``X`` (checked by ``_data``) as a float64 tensor; sparse rows are densified."""
    return torch.as_tensor(X.toarray() if sp.issparse(X) else X, device=device)


def _rows_to_average(X, device):
    """What a base-rate model averages over its rows: a dense X whole, sparse X's column means
    as one row (the mean of one row is itself), so it is not densified."""
    if sp.issparse(X):
        return torch.as_tensor(column_mean(X), device=device)[None]
    return torch.as_tensor(X, device=device)


def _check_binary(X, visible):
    """log p(x) of Bernoulli units is defined for 0/1 data only (spins: -1/+1); grey levels
    give no probability.

    ``X`` is an array or scipy.sparse (``backend.is_binary`` reads its values)."""
    if visible == "bernoulli" and not is_binary(X):
        raise ValueError(
            "X must hold only 0 and 1 for a log-likelihood under bernoulli visible units; "
            "binarize it first (e.g. X > 0.5, or sample pixels with probability X)."
        )
    if visible == "spin" and not holds_only(X, (-1.0, 1.0)):
        raise ValueError(
            "X must hold only -1 and 1 for a log-likelihood under spin visible units; "
            "recode 0/1 data as 2 * X - 1, or take signs (np.where(X > 0, 1, -1))."
        )


def binarize(X, how="sample", random_state=0):
    """Grey pixels in [0, 1] as 0/1 data for a log-likelihood under Bernoulli units.

    ``how="sample"`` sets each pixel to 1 with probability its value (the stochastic
    binarization of Salakhutdinov & Murray 2008; seeded, so the same X gives the same data);
    ``"threshold"`` sets the pixels above 0.5.
    """
    X = np.asarray(X, dtype=np.float64)
    if how == "threshold":
        return (X > 0.5).astype(np.float64)
    if how != "sample":
        raise ValueError(f"binarize how must be 'sample' or 'threshold', got {how!r}.")
    return (check_random_state(random_state).random_sample(X.shape) < X).astype(np.float64)


def _betas(n_betas, betas):
    if betas is not None:
        return torch.as_tensor(np.asarray(betas, dtype=np.float64))
    return ais.standard_betas(n_betas)


def rbm_log_partition(rbm, base_data=None, *, n_betas=None, betas=None, n_runs=100,
                      random_state=None, verbose=0):
    """Estimate log Z of a fitted RBM by annealed importance sampling.

    Parameters
    ----------
    rbm : fitted RBM
    base_data : {array-like, sparse matrix} of shape (n_samples, n_features), optional
        Data whose (clipped) mean sets the base-rate model, usually the training set; without it
        the base model is uniform (Bernoulli) or centred at zero (Gaussian), and the estimate
        needs more betas to be as good. Sparse data is averaged a block of rows at a time.
    n_betas : int, optional
        Number of intermediate distributions on the standard schedule's shape; default the
        standard 14,501 (steps of 1e-3 to 0.5, 1e-4 to 0.9, 1e-5 to 1).
    betas : array-like, optional
        An explicit schedule rising from 0 to 1; overrides ``n_betas``.
    n_runs : int, default=100
        Independent annealing runs.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        1 shows a progress bar.

    Returns
    -------
    ais.LogPartition
        ``log_z``, ``std``, the 3-sigma band ``log_z_low`` / ``log_z_high``, ``n_betas``,
        ``n_runs``. An RBM with Gaussian units on both sides gets its exact log Z (closed form,
        ``std`` 0, ``n_betas`` and ``n_runs`` 0); it raises ValueError if that Z is infinite.
    """
    device = resolve_device(rbm.device)
    W, b, c = _rbm_tensors(rbm, device)
    if rbm.visible == rbm.hidden == "gaussian":  # closed form: nothing to anneal
        log_z = float(ais.exact_log_partition(W, b, c, "gaussian", "gaussian"))
        return ais.LogPartition(log_z, 0.0, log_z, log_z, 0, 0, torch.empty(0, dtype=torch.float64))
    base_bias = None
    if base_data is not None:
        base = _data(base_data, W.shape[1], "base_data")
        base_bias = ais.base_rate_bias(_rows_to_average(base, device), rbm.visible)
    schedule = _betas(n_betas, betas)
    generator = make_generator(random_state, device)
    with progress(total=len(schedule) - 1, desc="AIS", unit="beta", verbose=verbose) as bar:
        return ais.ais_log_partition(
            W, b, c, rbm.visible, rbm.hidden, betas=schedule, n_runs=n_runs,
            base_bias=base_bias, generator=generator, progress=bar.update,
        )


def rbm_log_likelihood(rbm, X, log_z=None, *, base_data=None, n_betas=None, betas=None,
                       n_runs=100, random_state=None, verbose=0):
    """Average log p(x) over the rows of ``X``, in nats per example: mean(-F(x)) - log Z.

    Parameters
    ----------
    rbm : fitted RBM
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Sparse X is densified a block of rows at a time; only its stored values are checked
        to be 0 or 1.
    log_z : float or ais.LogPartition, optional
        A log Z estimate to reuse (from ``rbm_log_partition``), so one AIS run serves many data
        sets. Without it AIS runs first with the remaining arguments.
    base_data : {array-like, sparse matrix} of shape (n_samples, n_features), optional
        Data for the base-rate model of that AIS run; default ``X`` (any base model gives an
        unbiased estimate of Z, a closer one a less noisy one).
    n_betas, betas, n_runs, random_state, verbose
        As in ``rbm_log_partition``.

    Returns
    -------
    float
        The uncertainty of ``log_z`` carries over unchanged (one shared constant).
    """
    device = resolve_device(rbm.device)
    W, b, c = (t.to(torch.float64) for t in _rbm_tensors(rbm, device))
    X = _data(X, W.shape[1])
    _check_binary(X, rbm.visible)
    if log_z is None:
        log_z = rbm_log_partition(
            rbm, X if base_data is None else base_data, n_betas=n_betas, betas=betas,
            n_runs=n_runs, random_state=random_state, verbose=verbose,
        )
    log_p = [ais.log_probabilities(_tensor(block, device), W, b, c, rbm.visible, rbm.hidden,
                                   float(log_z)) for block in dense_blocks(X)]
    return float(torch.cat(log_p).mean())


def dbn_log_likelihood_bound(dbn, X, log_z_top=None, *, n_samples=10, base_data=None,
                             n_betas=None, betas=None, n_runs=100, random_state=None, verbose=0):
    """Variational lower bound on the average log p(x) of a DBN, in nats per example.

    Samples hidden states from each RBM's posterior on the way up and uses AIS for the top RBM's
    log Z (Salakhutdinov & Murray 2008, section 5).

    Parameters
    ----------
    dbn : fitted DBN (anything with ``rbms_``, bottom first)
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Sparse X is densified a block of rows at a time (the rows of one block of samples).
    log_z_top : float or ais.LogPartition, optional
        An estimate of the top RBM's log Z to reuse (``rbm_log_partition(dbn.rbms_[-1], ...)``).
    n_samples : int, default=10
        Posterior samples per example; more lowers the noise of the estimate, not the bound.
    base_data : {array-like, sparse matrix} of shape (n_samples, n_features), optional
        Data for the top RBM's base-rate model, passed up through the lower RBMs' mean
        activations (sparse data a block of rows at a time); default ``X``.
    n_betas, betas, n_runs, random_state, verbose
        As in ``rbm_log_partition``.

    Returns
    -------
    float
    """
    check_is_fitted(dbn, "rbms_")
    rbms = dbn.rbms_
    device = resolve_device(rbms[0].device)
    rng = check_random_state(random_state)
    layers = [
        (*(t.to(torch.float64) for t in _rbm_tensors(r, device)), r.visible, r.hidden)
        for r in rbms
    ]
    X = _data(X, layers[0][0].shape[1])
    _check_binary(X, rbms[0].visible)
    n_samples = check_count("n_samples", n_samples)
    rows = max(1, _SAMPLES_AT_ONCE // n_samples)
    first = layers[0][0].shape[::-1]  # (n_visible, n_hidden) of the bottom RBM
    memory.check_fits(
        memory.FLOAT64 * min(rows, X.shape[0]) * n_samples * sum(first),
        f"the DBN bound with n_samples={n_samples} posterior samples per example",
        "the samples of its bottom layers", "use fewer samples (n_samples)", device,
    )
    if log_z_top is None:
        base = X if base_data is None else _data(base_data, X.shape[1], "base_data")
        if len(layers) > 1:  # the top RBM's visible layer: means carried up, a block at a time
            base = torch.cat([_mean_up(_tensor(block, device), layers[:-1])
                              for block in dense_blocks(base)]).cpu().numpy()
        log_z_top = rbm_log_partition(
            rbms[-1], base, n_betas=n_betas, betas=betas, n_runs=n_runs,
            random_state=rng, verbose=verbose,
        )
    generator = make_generator(rng, device)
    log_z_top = float(log_z_top)
    bounds = [
        ais.dbn_log_likelihood_bound(_tensor(X[i : i + rows], device), layers, log_z_top,
                                     n_samples, generator)
        for i in range(0, X.shape[0], rows)
    ]
    return float(torch.cat(bounds).mean())


def _mean_up(x, layers):
    """Rows ``x`` carried up through ``layers`` (``(W, b, c, visible, hidden)``, bottom first)
    with the hidden means (the hidden inputs of Gaussian units)."""
    for W, _, c, _, hidden in layers:
        x = get_unit(hidden).mean_(torch.addmm(c, x, W.T))
    return x
