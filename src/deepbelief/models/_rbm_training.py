"""The epoch loop of ``RBM``: mini-batches, the CD/PCD update, divergence checks, the history."""

import sys
import time

import numpy as np
import torch

from .._core import rbm_math as m
from .._core.backend import RandomSource, resolve_device, to_numpy, to_tensor
from .._core.batches import as_stream, batch_source, is_streamed
from .._core.blowup import reconstruction_check
from .._core.cd import Workspace, contrastive_divergence, momentum_schedule, momentum_step
from .._core.cd_int8 import UNIT, Int8Workspace, QuantizedWeights, contrastive_divergence_int8
from .._core.distributed import data_parallel
from .._core.precision import compute_dtype, macs_per_product
from .._core.progress import progress


class RBMTrainingMixin:
    """Training for ``RBM``: ``_train`` runs epochs on the estimator's parameters."""

    def _train(self, X, n_epochs, callback, planned):
        device = resolve_device(self.device)
        W, b, c = self._param_arrays()
        # Data-parallel (_core/distributed.py): this rank trains on its shard of the rows.
        parallel = data_parallel(self.distributed)
        rows = X if parallel is None else parallel.shard(X)
        batch_size = min(self.batch_size, rows.shape[0])
        dtype = compute_dtype(self.precision, device, macs_per_product(batch_size, [W.shape]))
        take = batch_source(rows, device, dtype)
        # Copies, so a run that diverges half-way leaves the fitted arrays untouched.
        W, b, c = (to_tensor(p, device).clone() for p in (W, b, c))
        params = (W, b, c)
        # The products read a copy in the compute dtype, refreshed after each update (for
        # float32 the parameters themselves; for int8 the quantized weights).
        shadow = _shadow(params, dtype)
        velocity = (
            [torch.zeros_like(p) for p in params]
            if self._velocity is None
            else [to_tensor(v, device).clone() for v in self._velocity]
        )
        reduce = None
        if parallel is not None:  # every rank starts from rank 0's model and random state
            parallel.broadcast([*params, *velocity])
            _refresh(shadow, params)
            self.random_state_ = parallel.broadcast_object(self.random_state_)
            reduce = parallel.gradient_sum(W.shape[0], W.shape[1], device)
        persistent = None
        if self._persistent is not None:  # chain states, 0 / 1 (0 / 127 for int8)
            persistent = to_tensor(self._persistent, device)
            persistent = (persistent * UNIT if dtype == torch.int8 else persistent).to(dtype, copy=True)
            if parallel is not None:  # every rank's chains were saved, rank 0's first
                persistent = parallel.own_rows(persistent)
        n_samples = rows.shape[0]
        n_batches = -(-n_samples // batch_size)
        if dtype == torch.int8:
            work = Int8Workspace(batch_size, W.shape[1], W.shape[0], device)
        else:
            work = Workspace(batch_size, W.shape[1], W.shape[0], dtype, device)
        epochs_before = self.n_iter_
        # Ramp over the planned epochs whether they come from one fit or several calls; flat after.
        total = max(planned, epochs_before + n_epochs)
        ramp = momentum_schedule(self.momentum, planned)
        schedule = (ramp + [ramp[-1]] * total)[epochs_before : epochs_before + n_epochs]
        # Gaussian visible units are left to the NaN check: their weights scale with the data.
        # So are spins (no mean-image baseline for them yet; tanh keeps their means bounded).
        blow_up = reconstruction_check([W] if self.visible == "bernoulli" else [], X)
        bar = progress(
            total=n_epochs * n_batches, desc="RBM", unit="batch", verbose=self.verbose
        )
        monitor = _monitor_rows(X, self.visible, W.shape[0], device) if self.verbose >= 2 else None
        with torch.inference_mode(), bar:
            for e in range(n_epochs):
                epoch = epochs_before + e
                lr = self._epoch_learning_rate(epoch, planned)
                mom = schedule[e]
                start = time.perf_counter()
                # A fresh stream per epoch, seeded from random_state_: the state at every epoch
                # boundary is then all in random_state_, so a saved checkpoint resumes exactly.
                seed = self.random_state_ if parallel is None else parallel.random_state(self.random_state_)
                source = RandomSource(seed, device)
                order = source.permutation(n_samples)
                errors = torch.empty(n_batches, device=device)
                for i in range(n_batches):
                    index = order[i * batch_size : (i + 1) * batch_size]
                    v0 = take(index, work.data(len(index)))
                    persistent, errors[i] = self._update(
                        v0, params, velocity, persistent, lr, mom, source, shadow, work, reduce
                    )
                    bar.update(1)
                if parallel is not None:  # the whole batch's error: every rank decides alike
                    errors = parallel.mean(errors)
                batch_errors = to_numpy(errors).astype(float).tolist()
                if not (torch.isfinite(W).all() and np.all(np.isfinite(batch_errors))):
                    raise FloatingPointError(
                        f"RBM training diverged in epoch {epoch + 1} (weights or reconstruction "
                        f"error became NaN or infinite): lower learning_rate (now "
                        f"{self.learning_rate:g}) or momentum (now {mom:g})"
                        + (
                            "; gaussian units also need standardized data (zero mean, unit variance)."
                            if "gaussian" in (self.visible, self.hidden)
                            else "."
                        )
                    )
                blow_up(float(np.mean(batch_errors)), f"RBM training blew up in epoch {epoch + 1}",
                        f"lower learning_rate (now {self.learning_rate:g}; 0.01 to 0.1 suits data "
                        f"in [0, 1]) or momentum (now {mom:g})")
                chain_end = None if self.method == "pcd" else _chain_end(work, len(index), params, self.hidden, source)
                if parallel is None:
                    self._store(params, velocity, persistent, chain_end)
                else:  # every rank's chains, as one process with batches of N x B holds them
                    chains = None if persistent is None else parallel.gather_rows(persistent)
                    if chain_end is not None:
                        chain_end = to_numpy(parallel.gather_rows(torch.from_numpy(chain_end).to(device)))
                    self._store(params, velocity, chains, chain_end)
                seconds = time.perf_counter() - start
                pll = None if monitor is None else float(
                    m.pseudo_log_likelihood(monitor, W, b, c, self.hidden, visible=self.visible).mean())
                self._record(epoch, batch_errors, seconds, lr, mom, bar, pll)
                if callback is not None:
                    callback(self, epoch)

    def _epoch_learning_rate(self, epoch, planned):
        if self.learning_rate_decay == "linear":
            return self.learning_rate * max(0.0, 1.0 - epoch / planned)
        return self.learning_rate * self.learning_rate_decay**epoch

    def _update(self, v0, params, velocity, persistent, lr, mom, source, shadow, work, reduce=None):
        """One CD-k / PCD-k step on a batch; returns the chain state and the batch's error.

        ``shadow`` holds the parameters in the compute dtype (``params`` itself for float32);
        ``work`` is the ``Workspace`` whose ``data(len(v0))`` holds the batch; ``reduce``
        averages the statistics over the ranks of a data-parallel run.
        """
        stats, persistent, error = self._statistics(v0, shadow, persistent, source, work=work)
        momentum_step(params, velocity, stats, lr, mom, self.weight_decay, self.penalty, reduce)
        _refresh(shadow, params)
        return persistent, error

    def _statistics(self, v0, params, persistent, source, dtype=None, work=None):
        # The products run in ``dtype`` (default: that of ``params``) on copies of the parameters.
        # For int8, ``v0`` holds round(127 v) and ``params`` may be a ``QuantizedWeights``.
        if dtype is not None:
            params = _shadow(params, dtype)
        if isinstance(params, QuantizedWeights):
            return contrastive_divergence_int8(
                v0, params, self.k, source, persistent=persistent, pcd=self.method == "pcd", work=work
            )
        return contrastive_divergence(
            v0, *params, self.visible, self.hidden, self.k, source,
            persistent=persistent, pcd=self.method == "pcd", work=work,
        )

    def _gradient(self, v0, params, persistent, source):
        """The CD-k / PCD-k gradient for (W, b, c), batch-averaged, the chain state, the error."""
        stats, persistent, error = self._statistics(v0, params, persistent, source)
        return [stats.weight_gradient(), stats.grad_b, stats.grad_c], persistent, error

    def _store(self, params, velocity, persistent, chain_end=None):
        W, b, c = (to_numpy(p) for p in params)
        # On CPU the tensors share memory with these arrays; copying keeps that explicit.
        self.components_ = np.array(W, dtype=np.float32)
        self.intercept_visible_ = np.array(b, dtype=np.float32)
        self.intercept_hidden_ = np.array(c, dtype=np.float32)
        self._velocity = [np.array(to_numpy(v)) for v in velocity]
        if persistent is not None:  # as 0 / 1 states whatever the products ran in
            persistent = persistent.float() / UNIT if persistent.dtype == torch.int8 else persistent.float()
        self._persistent = None if persistent is None else np.array(to_numpy(persistent))
        # BernoulliRBM's name for the chains: PCD's own, or where CD's last chain ended.
        self.h_samples_ = self._persistent if chain_end is None else chain_end

    def _record(self, epoch, batch_errors, seconds, lr, mom, bar, pll=None):
        h = self.history_
        h["epoch"].append(epoch + 1)
        h["reconstruction_error"].append(float(np.mean(batch_errors)))
        h["time"].append(seconds)
        h["learning_rate"].append(lr)
        h["momentum"].append(mom)
        h["batch_reconstruction_error"].append(batch_errors)
        self.n_iter_ = epoch + 1
        bar.set_postfix(epoch=epoch + 1, recon=f"{h['reconstruction_error'][-1]:.4f}")
        if self.verbose >= 2:
            score = "" if pll is None else f", pseudo-likelihood {pll:.2f}"
            bar.write(
                f"[RBM] epoch {epoch + 1}: reconstruction error "
                f"{h['reconstruction_error'][-1]:.5f}{score}, {seconds:.2f}s",
                file=sys.stderr,
            )


MONITOR_ROWS = 1000  # training rows the pseudo-likelihood of verbose=2 is measured on, at most
MONITOR_TERMS = 2**28  # and at most about this many (row, visible, hidden) terms of it


def _monitor_rows(X, visible, n_hidden, device):
    """Evenly spaced training rows, binarised at 0.5, for the pseudo-likelihood that
    ``verbose=2`` prints per epoch (Bernoulli and spin visible units; None otherwise). Fixed
    rows and no random numbers: printing never changes the model."""
    if visible not in ("bernoulli", "spin"):
        return None
    n_samples, n_features = X.shape
    cap = max(10, MONITOR_TERMS // (n_features * n_hidden))
    index = np.unique(np.linspace(0, n_samples - 1, min(n_samples, MONITOR_ROWS, cap)).astype(np.int64))
    rows = as_stream(X).rows(index, device) if is_streamed(X) else to_tensor(X[index], device)
    if visible == "spin":  # training data holds -1 and +1 already
        return rows.float()
    return (rows > 0.5).float()


def _chain_end(work, n, params, hidden, source):
    """``h_samples_`` of a CD step: hidden states sampled from the step's last visible
    sample (rows n:2n of ``work.B``), with the updated weights and the epoch's random stream
    after its last batch (so the parameters and later epochs draw the same numbers as ever)."""
    W, _, c = params
    v = work.B[n : 2 * n].float()
    if work.B.dtype == torch.int8:
        v = v / UNIT
    return np.array(to_numpy(m.sample_units(m.mean_hiddens(v, W, c, hidden), hidden, source)))


def _shadow(params, dtype):
    """What the products read: ``params`` themselves (float32), copies in ``dtype``, or the
    quantized weights (int8)."""
    if dtype == torch.int8:
        return QuantizedWeights(*params)
    return params if dtype == params[0].dtype else tuple(p.to(dtype) for p in params)


def _refresh(shadow, params):
    """Bring ``_shadow(params, dtype)`` up to date after ``params`` changed in place."""
    if isinstance(shadow, QuantizedWeights):
        shadow.refresh(params[0])  # its biases are the float32 ones
    elif shadow is not params:
        for low, p in zip(shadow, params):
            low.copy_(p)
