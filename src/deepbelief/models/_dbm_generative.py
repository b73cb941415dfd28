"""A DBM as a generative model: log Z (AIS, or exact for tiny models), the variational bound on
log p(x), and samples from Gibbs chains. Arrays in, floats and arrays out."""

from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .._core import ais
from .._core import dbm_ais as da
from .._core import dbm_math as dm
from .._core.backend import RandomSource, make_generator, resolve_device, to_numpy, to_tensor
from .._core.progress import progress
from .._core.threads import limit_threads

_ROWS_AT_ONCE = 4096  # rows whose mean-field posteriors are held in memory at once


class DBMGenerativeMixin:
    """Scoring and sampling for ``DBM``; uses its ``weights_``, ``biases_`` and ``layer_means_``."""

    def _tensors(self, device, dtype=torch.float32):
        check_is_fitted(self)
        weights = [torch.as_tensor(W, dtype=dtype, device=device) for W in self.weights_]
        biases = [torch.as_tensor(b, dtype=dtype, device=device) for b in self.biases_]
        return weights, biases

    def _mean_field_rows(self, X, n_mean_field=None, dtype=torch.float32):
        """Mean-field ``[v, mu_1, ..., mu_L]`` of ``X`` (checked), per chunk of rows, with the
        weights and biases in ``dtype``."""
        X = self._check_X(X)
        device = resolve_device(self.device)
        weights, biases = self._tensors(device, dtype)
        steps = self.n_mean_field if n_mean_field is None else n_mean_field
        with torch.inference_mode(), limit_threads(self.n_jobs):
            for start in range(0, X.shape[0], _ROWS_AT_ONCE):
                v = to_tensor(X[start : start + _ROWS_AT_ONCE], device, dtype)
                yield dm.mean_field(v, weights, biases, steps)[0], weights, biases

    # ------------------------------------------------------------------ the bound
    def free_energy(self, X, n_mean_field=None):
        """Variational free energy -(E_q[-E(x, h)] + H(q)) of each row, q the mean-field posterior.

        An upper bound on the free energy ``-log sum_h exp(-E(x, h))``, which a DBM cannot
        compute; ``score_samples`` is minus this minus log Z.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
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
        base_data : array-like of shape (n_samples, n_features), optional
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
            means = [torch.cat(parts) for parts in zip(
                *(mus for mus, _, _ in self._mean_field_rows(base_data)))]
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
        X : array-like of shape (n_samples, n_features)
            0/1 data (binarize grey images first, e.g. ``likelihood.binarize``).
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
        """Mean of ``score_samples(X)``: the average lower bound on log p(x) in nats."""
        return float(np.mean(self.score_samples(X)))

    def log_likelihood(self, X, log_z=None, n_betas=None, n_runs=100, n_mean_field=None,
                       random_state=None):
        """Average variational lower bound on log p(x) over the rows of binary ``X``, in nats.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
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
    def sample(self, n_samples=16, n_steps=1000, *, thin=None, start="persistent",
               return_chain=False):
        """Draw from the model by block Gibbs sampling; returns the visible means E[v | h1].

        Parameters
        ----------
        n_samples : int, default=16
        n_steps : int, default=1000
            Gibbs sweeps before the first sample (burn-in).
        thin : int, optional
            Without it every sample comes from its own chain. With it, up to ``n_chains``
            chains run and each gives a sample every ``thin`` sweeps after the burn-in
            (samples ordered by sweep, then chain).
        start : {"persistent", "random"}, default="persistent"
            Start from the training's persistent chains (the fantasy particles, reused in turn
            when more chains are needed), or from random pixels and a bottom-up pass.
        return_chain : bool, default=False
            Also return the visible means after every sweep.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        chain : ndarray of shape (n_sweeps, n_chains, n_features)
            Only with ``return_chain=True``.
        """
        check_is_fitted(self)
        for name, value in (("n_samples", n_samples), ("n_steps", n_steps), ("thin", thin)):
            if value is not None and not (isinstance(value, Integral) and value >= 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if start not in ("persistent", "random"):
            raise ValueError(f"start must be 'persistent' or 'random', got {start!r}.")
        device = resolve_device(self.device)
        weights, biases = self._tensors(device)
        source = RandomSource(self.random_state_, device)
        if self._chains is None:  # never trained jointly (n_iter=0): no chains to start from
            start = "random"
        n_chains = n_samples if thin is None else min(n_samples, self.n_chains)
        sweeps = n_steps + (-(-n_samples // n_chains) - 1) * (thin or 0)
        kept, chain = [], []
        with torch.inference_mode(), limit_threads(self.n_jobs):
            if start == "persistent":
                index = torch.arange(n_chains) % len(self._chains[0])  # reused in turn
                states = [to_tensor(c, device)[index] for c in self._chains]
            else:
                v = source.bernoulli(source.uniform((n_chains, self.n_features_in_)).to(device))
                states = [v] + [source.bernoulli(mu) for mu in dm.bottom_up(v, weights, biases)[1:]]
            for sweep in range(1, sweeps + 1):
                dm.gibbs_sweep(states, weights, biases, source)
                keep = sweep == n_steps or (thin is not None and sweep > n_steps
                                            and (sweep - n_steps) % thin == 0)
                if keep or return_chain:
                    v_mean = to_numpy(torch.sigmoid(dm.layer_input(states, weights, biases, 0)))
                    kept += [v_mean] if keep else []
                    chain += [v_mean] if return_chain else []
        samples = np.concatenate(kept)[:n_samples].astype(float)
        return (samples, np.stack(chain).astype(float)) if return_chain else samples
