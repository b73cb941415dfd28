"""A DBM as a generative model: log Z (AIS, or exact for tiny models), the variational bound on
log p(x), and samples from Gibbs chains. Arrays in, floats and arrays out."""


import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_is_fitted

from .._core import ais
from .._core import dbm_ais as da
from .._core import dbm_math as dm
from .._core.backend import RandomSource, make_generator, resolve_device, to_numpy, to_tensor
from .._core.batches import dense_blocks
from .._core.counts import check_count
from .._core.progress import progress
from .._core.sampling import chain_length, check_chain_settings
from .._core.threads import limit_threads
from . import _sampling
from .likelihood import _rows_to_average

_ROWS_AT_ONCE = 4096  # rows whose mean-field posteriors are held in memory at once


class DBMGenerativeMixin:
    """Scoring and sampling for ``DBM``; uses its ``weights_``, ``biases_`` and ``layer_means_``."""

    def _tensors(self, device, dtype=torch.float32):
        check_is_fitted(self)
        weights = [torch.as_tensor(W, dtype=dtype, device=device) for W in self.weights_]
        biases = [torch.as_tensor(b, dtype=dtype, device=device) for b in self.biases_]
        return weights, biases

    def _mean_field_rows(self, X, n_mean_field=None, dtype=torch.float32):
        """Mean-field ``[v, mu_1, ..., mu_L]`` of ``X`` (checked), per chunk of rows (sparse X
        densified a chunk at a time), with the weights and biases in ``dtype``."""
        X = self._check_X(X)
        device = resolve_device(self.device)
        weights, biases = self._tensors(device, dtype)
        steps = self.n_mean_field if n_mean_field is None else check_count("n_mean_field", n_mean_field)
        with torch.inference_mode(), limit_threads(self.n_jobs):
            for block in dense_blocks(X, _ROWS_AT_ONCE):
                v = to_tensor(block, device, dtype)
                yield dm.mean_field(v, weights, biases, steps)[0], weights, biases

    def _base_rate_rows(self, X):
        """``[v, mu_1, ..., mu_L]`` of the rows of ``X`` for ``base_rate_biases``, which averages
        each layer over its rows. Of sparse X the pixels' column means stand in for v as one row
        (the mean of one row is itself), so X is never densified whole."""
        X = self._check_X(X)
        sparse = sp.issparse(X)
        blocks = [mus[1:] if sparse else mus for mus, _, _ in self._mean_field_rows(X)]
        layers = [torch.cat(parts) for parts in zip(*blocks)]
        if sparse:
            layers.insert(0, _rows_to_average(X, layers[0].device))
        return layers

    # ------------------------------------------------------------------ the bound
    def free_energy(self, X, n_mean_field=None):
        """Variational free energy -(E_q[-E(x, h)] + H(q)) of each row, q the mean-field posterior.

        An upper bound on the free energy ``-log sum_h exp(-E(x, h))``, which a DBM cannot
        compute; ``score_samples`` is minus this minus log Z.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is densified a block of rows at a time.
        n_mean_field : int, optional
            Mean-field steps (default ``self.n_mean_field``); more never loosen the bound.

        Returns
        -------
        F : ndarray of shape (n_samples,)
        """
        # Mean field in float32; the bound (a sum of some thousand terms) in float64.
        parts = [-dm.variational_bound(*([t.double() for t in ts] for ts in (mus, w, b)))
                 for mus, w, b in self._mean_field_rows(X, n_mean_field)]
        return to_numpy(torch.cat(parts)).astype(float)

    def log_partition(self, base_data=None, n_betas=None, n_runs=100, method="auto",
                      random_state=None):
        """log Z of the DBM: exact for tiny models, else by AIS with the odd layers summed out.

        Parameters
        ----------
        base_data : {array-like, sparse matrix} of shape (n_samples, n_features), optional
            Data for AIS's base-rate model (pixel means, and the mean posteriors of the even
            hidden layers). Default: the means recorded over the last training epoch.
        n_betas : int, optional
            Intermediate distributions on the standard schedule's shape (default 14,501).
        n_runs : int, default=100
            Independent annealing runs.
        method : {"auto", "ais", "exact"}, default="auto"
            "exact" enumerates the parity of layers with fewer units (at most 24 units, see
            ``dbm_ais.MAX_ENUMERATED_UNITS``) and sums the other out; "auto" does that when it
            can and AIS otherwise.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        LogPartition
            ``log_z``, ``std``, the 3-sigma band ``log_z_low`` / ``log_z_high``; an exact
            value has ``std`` 0 and ``n_betas`` = ``n_runs`` = 0.
        """
        if method not in ("auto", "ais", "exact"):
            raise ValueError(f"method must be 'auto', 'ais' or 'exact', got {method!r}.")
        device = resolve_device(self.device)
        weights, biases = self._tensors(device)
        if method == "exact" or (method == "auto" and da.enumerable(biases)):
            log_z = float(da.exact_log_partition(weights, biases))
            return ais.LogPartition(log_z, 0.0, log_z, log_z, 0, 0,
                                    torch.empty(0, dtype=torch.float64))
        if base_data is None:
            means = [torch.as_tensor(m, device=device)[None] for m in self.layer_means_]
        else:
            means = self._base_rate_rows(base_data)
        betas = ais.standard_betas(n_betas)
        bar = progress(total=len(betas) - 1, desc="AIS", unit="beta", verbose=self.verbose)
        with bar, limit_threads(self.n_jobs):
            return da.ais_log_partition(
                weights, biases, da.base_rate_biases(means), betas=betas, n_runs=n_runs,
                generator=make_generator(random_state, device), progress=bar.update,
            )

    def score_samples(self, X, log_z=None, n_mean_field=None):
        """Variational lower bound on log p(x) of each row of binary ``X``, in nats.

        ``E_q[-E(x, h)] + H(q) - log Z`` with q the mean-field posterior (Salakhutdinov &
        Hinton 2009, eq. 6).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            0/1 data (binarize grey images first, e.g. ``likelihood.binarize``); of sparse X
            only the stored values are checked.
        log_z : float or LogPartition, optional
            log Z to use. Without it ``log_partition()`` runs first (seeded with 0, so calls
            agree): exact for tiny models, AIS with the standard 14,501 betas otherwise, which
            takes about a minute for 784-500-1000 on 2 cores. Pass one estimate to score many sets.
        n_mean_field : int, optional
            Mean-field steps (default ``self.n_mean_field``).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, binary=True)
        if log_z is None:
            log_z = self.log_partition(random_state=0)
        return -self.free_energy(X, n_mean_field) - float(log_z)

    def score(self, X, y=None):
        """Mean of ``score_samples(X)``: the average lower bound on log p(x) in nats.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        float
        """
        return float(np.mean(self.score_samples(X)))

    def log_likelihood(self, X, log_z=None, n_betas=None, n_runs=100, n_mean_field=None,
                       random_state=None):
        """Average variational lower bound on log p(x) over the rows of binary ``X``, in nats.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        log_z : float or LogPartition, optional
            Reuse an estimate from ``log_partition``; without it one runs first with
            ``n_betas``, ``n_runs`` and ``random_state``, its base-rate model from the training
            means.
        n_mean_field : int, optional
            Mean-field steps (default ``self.n_mean_field``).

        Returns
        -------
        float
        """
        check_is_fitted(self)
        if log_z is None:
            log_z = self.log_partition(n_betas=n_betas, n_runs=n_runs, random_state=random_state)
        return float(np.mean(self.score_samples(X, log_z, n_mean_field)))

    # ------------------------------------------------------------------ sampling
    def sample(self, n_samples=None, burn_in=1000, *, thin=100, samples_per_chain=1, init="auto",
               output="mean", return_chain=False, n_steps=None):
        """Draw from the model by block Gibbs sweeps: a burn-in, then a sample every ``thin`` sweeps.

        The same arguments as :meth:`deepbelief.RBM.sample`. A sweep samples the odd layers
        (h1, h3, ...) given the even ones, then the even layers (v, h2, ...) given the odd
        ones; what a sweep reports is E[v | h1] (``output="mean"``) or the drawn v. By default
        the chains start at the fantasy particles of joint training, which already sit in the
        model's typical states.

        Parameters
        ----------
        n_samples : int, optional
            Number of chains: default 16, or one per row of an array ``init``. Chains started
            at the fantasy particles reuse them in turn when there are fewer (``n_chains`` are
            kept).
        burn_in : int, default=1000
            Sweeps before the first kept sample.
        thin : int, default=100
            Sweeps between two kept samples of one chain.
        samples_per_chain : int, default=1
            Samples kept per chain: after sweeps ``burn_in + j * thin``, ``j < samples_per_chain``.
        init : {"auto", "persistent", "biases", "noise"}, array-like or sparse matrix of shape \
                (n_chains, n_features), default="auto"
            Where the chains start: "persistent", the fantasy particles of joint training
            (ValueError for a DBM trained with ``n_iter=0``); "biases", pixels drawn with
            probability sigmoid(visible bias); "noise", pixels on with probability 1/2; an
            array, those rows (scipy.sparse rows are densified). From pixels, the hidden
            layers start at a draw from the doubled bottom-up pass that starts mean field.
            "auto" is "persistent" when the model has fantasy particles, else "noise".
        output : {"mean", "state"}, default="mean"
            "mean": E[v | h1] of each kept sweep (grey pixels: the picture to look at);
            "state": the drawn 0/1 pixels, an exact sample once the chain has mixed.
        return_chain : bool, default=False
            Also return every sweep's report, for animations.
        n_steps : int, optional
            Deprecated name of ``burn_in``.

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
            Shape (samples_per_chain, n_samples, n_features) when ``samples_per_chain > 1``.
        chain : ndarray of shape (n_total_sweeps, n_samples, n_features)
            Only with ``return_chain=True``; ``n_total_sweeps`` is
            ``burn_in + (samples_per_chain - 1) * thin``, and its last entry is the last sample.
        """
        check_is_fitted(self)
        burn_in = _sampling.deprecated_n_steps(burn_in, n_steps)
        check_chain_settings(burn_in, thin, samples_per_chain, output)
        init = self._resolve_init(init)
        if not isinstance(init, str):
            init = _sampling.dense_rows(self._check_X(init))
        n = _sampling.n_chains(init, n_samples)
        device = resolve_device(self.device)
        _sampling.check_memory(self, n, self.layer_sizes_, burn_in, thin, samples_per_chain,
                               return_chain, device)
        weights, biases = self._tensors(device)
        source = RandomSource(self.random_state_, device)
        kept, chain = [], []
        with torch.inference_mode(), limit_threads(self.n_jobs):
            states = self._chain_start(init, n, weights, biases, source, device)
            for sweep in range(1, chain_length(burn_in, thin, samples_per_chain) + 1):
                dm.gibbs_sweep(states, weights, biases, source)
                keep = sweep >= burn_in and (sweep - burn_in) % thin == 0
                if keep or return_chain:
                    report = states[0]
                    if output == "mean":
                        report = torch.sigmoid(dm.layer_input(states, weights, biases, 0))
                    report = to_numpy(report).astype(float)
                    kept += [report] if keep else []
                    chain += [report] if return_chain else []
        samples = np.stack(kept)
        return _sampling.shape_samples(samples, np.stack(chain) if return_chain else None,
                                       samples_per_chain, return_chain)

    def _resolve_init(self, init):
        """``init`` as "persistent", "biases", "noise" or an array ("auto" resolved)."""
        if isinstance(init, str):
            if init not in _sampling.INITS:
                raise ValueError(f"init must be one of {', '.join(map(repr, _sampling.INITS))} or "
                                 f"an array of visible rows to start the chains at, got {init!r}.")
            if init == "auto":
                return "persistent" if self._chains is not None else "noise"
            if init == "persistent" and self._chains is None:
                raise ValueError("init='persistent' starts from the fantasy particles of joint "
                                 "training, but this DBM has none (it was trained with n_iter=0): "
                                 "use init='noise', 'biases' or an array of data rows.")
        return init

    def _chain_start(self, init, n, weights, biases, source, device):
        """The states ``[v, h1, ..., hL]`` (n rows each) the chains start from."""
        if isinstance(init, str) and init == "persistent":
            index = torch.arange(n, device=device) % len(self._chains[0])  # reused in turn
            return [to_tensor(c, device)[index] for c in self._chains]
        if isinstance(init, str):
            p = 0.5 if init == "noise" else torch.sigmoid(biases[0])
            v = source.bernoulli(torch.ones(n, self.n_features_in_, device=device) * p)
        else:
            v = to_tensor(init, device)
        return [v] + [source.bernoulli(mu) for mu in dm.bottom_up(v, weights, biases)[1:]]
