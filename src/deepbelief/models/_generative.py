"""An RBM as a generative model: Gibbs chains, samples, free energy, pseudo- and true
log-likelihood (the latter by annealed importance sampling, ``likelihood.py``)."""

import torch
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._core import rbm_math as m
from .._core.backend import RandomSource, to_numpy
from .._core.counts import check_count
from . import _sampling, likelihood


class GenerativeMixin:
    """Sampling and scoring for ``RBM``; uses its ``_fitted_tensors`` and ``_param_arrays``."""

    def gibbs(self, X, n_steps=1):
        """Run ``n_steps`` Gibbs steps v -> h -> v from ``X``; returns the last visible sample.

        With the default one step this is BernoulliRBM's ``gibbs``: hidden states sampled
        from p(h | v), then visible states from p(v | h). Each call draws new numbers from
        ``random_state_`` (two calls on the same ``X`` give different samples).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The visible states to start from (sparse X is densified: the samples are dense
            and as large anyway).
        n_steps : int, default=1
            Gibbs steps v -> h -> v.

        Returns
        -------
        V : ndarray of shape (n_samples, n_features)
            Sampled visible states in X's float dtype (float64 for other input): 0.0 / 1.0 for
            Bernoulli units (BernoulliRBM returns them as booleans), -1.0 / 1.0 for spins, real
            values for Gaussian.
        """
        n_steps = check_count("n_steps", n_steps)
        dtype, v, (W, b, c) = self._fitted_tensors(X)
        source = RandomSource(self.random_state_, v.device)
        with torch.inference_mode():
            h = m.sample_units(m.mean_hiddens(v, W, c, self.hidden), self.hidden, source)
            vk, _, _ = m.gibbs_chain(h, W, b, c, self.visible, self.hidden, n_steps, source)
        return to_numpy(vk).astype(dtype)

    def sample(self, n_samples=None, burn_in=1000, *, thin=100, samples_per_chain=1, init="auto",
               output="mean", return_chain=False, method="gibbs", n_temperatures=None,
               betas=None, n_steps=None):
        """Draw from the model with Gibbs chains: a burn-in, then samples every ``thin`` steps.

        By default (``init="auto"``) a model trained with PCD starts its chains at the
        persistent chains it kept from training, which already sit in the model's typical
        states: its samples look like digits from the first steps, where chains from noise
        first wander through blurry blends. Other models start from noise. Each step is
        h -> v -> h; what a step reports is E[v | h] (``output="mean"``) or a draw of v.

        Parameters
        ----------
        n_samples : int, optional
            Number of chains: default 16, or one per row of an array ``init``. Chains started
            at persistent chains reuse them in turn when there are fewer (``batch_size`` are kept).
        burn_in : int, default=1000
            Gibbs steps before the first kept sample.
        thin : int, default=100
            Gibbs steps between two kept samples of one chain.
        samples_per_chain : int, default=1
            Samples kept per chain: at steps ``burn_in + j * thin``, ``j < samples_per_chain``.
        init : {"auto", "persistent", "biases", "noise"}, array-like or sparse matrix of shape \
                (n_chains, n_features), default="auto"
            Where the chains start: "persistent", the chains of PCD training (saved with the
            model; ValueError for a model without them); "biases", a draw of the model with its
            weights set to zero (each pixel on with probability sigmoid(visible bias));
            "noise", uniform random pixels (a standard normal for Gaussian visible units);
            an array, those rows (e.g. test images; scipy.sparse rows are densified);
            "auto", "persistent" when the model has such chains, else "noise".
        output : {"mean", "state"}, default="mean"
            "mean" returns E[v | h] of each kept step (grey pixels: the picture to look at);
            "state" returns a draw of v itself (0/1 pixels for Bernoulli units), an exact
            sample of the model once the chain has mixed.
        return_chain : bool, default=False
            Also return every step's report, for animations.
        method : {"gibbs", "pt"}, default="gibbs"
            "gibbs": one Gibbs chain per sample. "pt": parallel tempering, for models whose
            plain chains stay in one mode: each chain runs K replicas at inverse temperatures
            0 < beta_1 < ... < beta_K = 1 (replica k samples exp(-beta_k E(v, h)), the
            parameters times beta_k), and after every sweep neighbouring replicas swap states
            with probability min(1, exp(F_i(v_i) + F_j(v_j) - F_i(v_j) - F_j(v_i))) (free
            energies at beta_i, beta_j; even pairs, then odd pairs, in turn). Returned is the
            replica at beta = 1. A step costs K Gibbs sweeps plus K - 1 free-energy pairs that
            reuse the sweeps' products (about K times a Gibbs step). The acceptance rate of
            each neighbouring pair goes to ``pt_swap_rates_``. Bernoulli and spin units only
            (ValueError for Gaussian ones).
        n_temperatures : int, optional
            K for ``method="pt"``: default 10, with the ladder beta_k = k / K (0.1, 0.2, ...,
            1).
        betas : array-like of shape (n_temperatures,), optional
            The ladder for ``method="pt"`` itself: strictly increasing, above 0, ending at 1.
        n_steps : int, optional
            Deprecated name of ``burn_in``.

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
            Shape (samples_per_chain, n_samples, n_features) when ``samples_per_chain > 1``.
        chain : ndarray of shape (n_total_steps, n_samples, n_features)
            Only with ``return_chain=True``; ``n_total_steps`` is
            ``burn_in + (samples_per_chain - 1) * thin``, and its last entry is the last sample.

        Notes
        -----
        With ``method="pt"`` the call also sets ``pt_swap_rates_``, an ndarray of shape
        (n_temperatures - 1,): the fraction of proposed swaps accepted between betas[i] and
        betas[i + 1], over all chains and steps. Rates near 0 mean neighbouring temperatures
        too far apart (add temperatures); rates near 1 everywhere mean more than needed.
        """
        check_is_fitted(self)
        burn_in = _sampling.deprecated_n_steps(burn_in, n_steps)
        ladder = _sampling.check_sampler(method, n_temperatures, betas, self.visible, self.hidden)
        init = _sampling.resolve_init(self, init)
        if not isinstance(init, str):
            init = _sampling.dense_rows(self._validate_X(init))
        samples, chain = _sampling.rbm_chains(self, init, n_samples, burn_in, thin,
                                              samples_per_chain, output, return_chain,
                                              betas=ladder)
        return _sampling.shape_samples(samples, chain, samples_per_chain, return_chain)

    def free_energy(self, X):
        """F(v) = -log sum_h exp(-E(v, h)) for each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is densified a block of rows at a time.

        Returns
        -------
        F : ndarray of shape (n_samples,), float64
        """
        fn = lambda v, W, b, c: m.free_energy(v, W, b, c, self.visible, self.hidden)  # noqa: E731
        return self._map_rows(X, fn).astype(float)

    def _has_binary_visibles(self):
        return self.visible in ("bernoulli", "spin")

    @available_if(_has_binary_visibles)
    def score_samples(self, X):
        """Pseudo-log-likelihood: the sum over every pixel i of ``log p(v_i | v_-i)``, exact.

        Defined for Bernoulli visible units, each row of ``X`` binarised at 0.5 first, and
        for spin units, each value taken as its sign (+1 for 0).
        BernoulliRBM's ``score_samples`` estimates the same sum from one pixel picked at
        random per row (``n_features * log p(v_i | v_-i)``, seeded by ``random_state``): on
        binary data its expectation is this value, which is exact and deterministic, at
        ``n_features`` times the cost (about ``n_features * n_components`` operations per
        row). On grey data BernoulliRBM scores the grey values; this scores them binarised.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is densified a block of rows at a time.

        Returns
        -------
        scores : ndarray of shape (n_samples,), float64
        """
        if self.visible == "spin":
            fn = lambda v, W, b, c: m.pseudo_log_likelihood(  # noqa: E731
                (v > 0).to(v.dtype).mul_(2).sub_(1), W, b, c, self.hidden, visible="spin")
        else:
            fn = lambda v, W, b, c: m.pseudo_log_likelihood((v > 0.5).to(v.dtype), W, b, c, self.hidden)  # noqa: E731
        return self._map_rows(X, fn).astype(float)

    def log_partition(self, base_data=None, n_betas=None, n_runs=100, random_state=None):
        """log Z by annealed importance sampling, with its uncertainty.

        Parameters
        ----------
        base_data : {array-like, sparse matrix} of shape (n_samples, n_features), optional
            Data whose mean sets the base-rate model AIS starts from (usually the training
            set); a base model close to the data makes the estimate less noisy. Sparse data
            is averaged a block of rows at a time.
        n_betas : int, optional
            Intermediate distributions; default the standard 14,501 (Salakhutdinov & Murray 2008).
        n_runs : int, default=100
            Independent annealing runs.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        LogPartition
            ``log_z``, ``std``, the 3-sigma band ``log_z_low`` / ``log_z_high``; ``float()`` of it
            is ``log_z``. Pass it to ``log_likelihood`` to score many data sets with one AIS run.
        """
        return likelihood.rbm_log_partition(self, base_data, n_betas=n_betas, n_runs=n_runs,
                                            random_state=random_state, verbose=self.verbose)

    def log_likelihood(self, X, log_z=None, n_betas=None, n_runs=100, random_state=None):
        """Average log p(x) over the rows of binary ``X``, in nats per example.

        log p(x) = -F(x) - log Z with log Z estimated by AIS (``log_partition``), or the
        ``log_z`` given. For Bernoulli visible units ``X`` must hold 0/1 (binarize grey data
        first, e.g. with ``deepbelief.models.likelihood.binarize``), for spin units -1/+1;
        Gaussian visible units take
        real values (a density, so the figure is in nats of density).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is scored a block of rows at a time; only its stored values are checked
            to be 0 or 1. The result is the dense one (to float rounding).
        log_z : float or LogPartition, optional
            log Z to use (from ``log_partition``); without it AIS runs first, with X as
            ``base_data``.
        n_betas, n_runs, random_state
            As in ``log_partition``.

        Returns
        -------
        float
        """
        check_is_fitted(self)
        return likelihood.rbm_log_likelihood(self, X, log_z, n_betas=n_betas, n_runs=n_runs,
                                             random_state=random_state, verbose=self.verbose)

