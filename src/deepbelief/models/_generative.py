"""An RBM as a generative model: Gibbs chains, samples, free energy, pseudo- and true
log-likelihood (the latter by annealed importance sampling, ``likelihood.py``)."""

import numpy as np
import torch
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._core import rbm_math as m
from .._core.backend import RandomSource, resolve_device, to_numpy, to_tensor
from . import likelihood


class GenerativeMixin:
    """Sampling and scoring for ``RBM``; uses its ``_fitted_tensors`` and ``_param_arrays``."""

    def gibbs(self, X, n_steps=1):
        """Run ``n_steps`` Gibbs steps v -> h -> v from ``X``; returns the last visible sample."""
        _, v, (W, b, c) = self._fitted_tensors(X)
        source = RandomSource(self.random_state_, v.device)
        with torch.inference_mode():
            h = m.sample_units(m.mean_hiddens(v, W, c, self.hidden), self.hidden, source)
            vk, _, _ = m.gibbs_chain(h, W, b, c, self.visible, self.hidden, n_steps, source)
        return to_numpy(vk).astype(float)

    def sample(self, n_samples=16, n_steps=1000, return_chain=False):
        """Draw digits from the model by running Gibbs chains from random visible states.

        Returns the visible means E[v | h] of the last step, shape (n_samples, n_features); with
        ``return_chain=True`` also the means after every step, shape (n_steps, n_samples, n_features).
        """
        check_is_fitted(self)
        device = resolve_device(self.device)
        source = RandomSource(self.random_state_, device)
        W, b, c = (to_tensor(p, device) for p in self._param_arrays())
        chain = []
        with torch.inference_mode():
            v = source.uniform((n_samples, W.shape[1])).to(device)
            if self.visible == "bernoulli":
                v = source.bernoulli(v)
            h = m.sample_units(m.mean_hiddens(v, W, c, self.hidden), self.hidden, source)
            v_mean = m.mean_visibles(h, W, b, self.visible)
            for _ in range(n_steps):
                v = m.sample_units(v_mean, self.visible, source)
                h = m.sample_units(m.mean_hiddens(v, W, c, self.hidden), self.hidden, source)
                v_mean = m.mean_visibles(h, W, b, self.visible)
                if return_chain:
                    chain.append(to_numpy(v_mean))
        last = to_numpy(v_mean).astype(float)
        return (last, np.stack(chain).astype(float)) if return_chain else last

    def free_energy(self, X):
        """F(v) = -log sum_h exp(-E(v, h)) for each row, shape (n_samples,)."""
        _, v, (W, b, c) = self._fitted_tensors(X)
        with torch.inference_mode():
            return to_numpy(m.free_energy(v, W, b, c, self.visible, self.hidden)).astype(float)

    def _has_binary_visibles(self):
        return self.visible == "bernoulli"

    @available_if(_has_binary_visibles)
    def score_samples(self, X):
        """Pseudo-log-likelihood: the sum over every pixel i of ``log p(v_i | v_-i)``, exact.

        Defined for Bernoulli visible units; each row of ``X`` is binarised at 0.5 first.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        _, v, (W, b, c) = self._fitted_tensors(X)
        with torch.inference_mode():
            binary = (v > 0.5).to(v.dtype)
            return to_numpy(m.pseudo_log_likelihood(binary, W, b, c, self.hidden)).astype(float)

    def log_partition(self, base_data=None, n_betas=None, n_runs=100, random_state=None):
        """log Z by annealed importance sampling, with its uncertainty.

        Parameters
        ----------
        base_data : array-like of shape (n_samples, n_features), optional
            Data whose mean sets the base-rate model AIS starts from (usually the training
            set); a base model close to the data makes the estimate less noisy.
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
        first, e.g. with ``deepbelief.models.likelihood.binarize``); Gaussian visible units take
        real values (a density, so the figure is in nats of density).

        Returns
        -------
        float
        """
        check_is_fitted(self)
        return likelihood.rbm_log_likelihood(self, X, log_z, n_betas=n_betas, n_runs=n_runs,
                                             random_state=random_state, verbose=self.verbose)

