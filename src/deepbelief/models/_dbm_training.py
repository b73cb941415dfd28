"""The joint training of ``DBM``: mini-batches, mean field, persistent chains, the history."""

import sys
import time

import numpy as np
import torch

from .._core import dbm_pcd
from .._core.backend import RandomSource, resolve_device, to_numpy, to_tensor
from .._core.batches import batch_source
from .._core.blowup import lower, reconstruction_check
from .._core.cd import momentum_schedule
from .._core.precision import compute_dtype, macs_per_product
from .._core.progress import progress


class DBMTrainingMixin:
    """``_train`` runs epochs of PCD with mean field on the estimator's fitted arrays."""

    def _train(self, X, n_epochs, callback, planned):
        device = resolve_device(self.device)
        shapes = [W.shape for W in self.weights_]
        batch_size = min(self.batch_size, X.shape[0])
        dtype = compute_dtype(self.precision, device, macs_per_product(batch_size, shapes))
        take = batch_source(X, device, dtype)
        # float32 copies (a diverging run leaves the fitted arrays alone) and, for reduced
        # precision, copies in the dtype of the products, refreshed after every update.
        weights = [to_tensor(W, device).clone() for W in self.weights_]
        biases = [to_tensor(b, device).clone() for b in self.biases_]
        low_w, low_b = _low(weights, dtype), _low(biases, dtype)
        velocity = [torch.zeros_like(p) for p in weights + biases]
        if self._velocity is not None:
            velocity = [to_tensor(v, device).clone() for v in self._velocity]
        n_samples = X.shape[0]
        if self._chains is None:
            source = RandomSource(self.random_state_, device)
            rows = source.permutation(n_samples)[: self.n_chains]
            rows = rows.repeat(-(-self.n_chains // len(rows)))[: self.n_chains]
            v = take(rows, torch.empty(len(rows), X.shape[1], dtype=dtype, device=device))
            chains = dbm_pcd.init_chains(v, low_w, low_b, source)
        else:
            chains = [to_tensor(c, device).to(dtype) for c in self._chains]
        batch = torch.empty(batch_size, X.shape[1], dtype=dtype, device=device)
        n_batches = -(-n_samples // batch_size)
        epochs_before = self.n_iter_
        total = max(planned, epochs_before + n_epochs)
        ramp = momentum_schedule(self.momentum, planned)
        schedule = (ramp + [ramp[-1]] * total)[epochs_before : epochs_before + n_epochs]
        # The mean-field reconstructions are compared with the mean image of what they
        # reconstruct: the 0/1 draws when the batches are binarized afresh.
        blow_up = reconstruction_check(weights, X, sampled=self._sample_batches)
        bar = progress(total=n_epochs * n_batches, desc="DBM", unit="batch", verbose=self.verbose)
        with torch.inference_mode(), bar:
            for e in range(n_epochs):
                epoch = epochs_before + e
                lr, mom = self._epoch_learning_rate(epoch, planned), schedule[e]
                start = time.perf_counter()
                source = RandomSource(self.random_state_, device)
                order = source.permutation(n_samples)
                errors = torch.empty(n_batches, device=device)
                sums = [torch.zeros(len(b), dtype=torch.float64, device=device) for b in biases]
                for i in range(n_batches):
                    index = order[i * batch_size : (i + 1) * batch_size]
                    v = take(index, batch[: len(index)])
                    if self._sample_batches:
                        source.bernoulli(v, out=v)
                    data, model = dbm_pcd.pcd_statistics(
                        v, chains, low_w, low_b, self.n_mean_field, self.k, source
                    )
                    errors[i] = dbm_pcd.reconstruction_error(v, data[1], low_w[0], low_b[0])
                    for s, mu in zip(sums, data):
                        s += mu.sum(0, dtype=torch.float64)
                    grads = dbm_pcd.gradient(data, model)
                    dbm_pcd.momentum_update(weights, biases, velocity, grads, lr, mom,
                                            self.weight_decay)
                    _refresh(low_w, weights)
                    _refresh(low_b, biases)
                    bar.update(1)
                batch_errors = to_numpy(errors).astype(float).tolist()
                fix = lower(("learning_rate", self.learning_rate), ("momentum", mom))
                if not (all(torch.isfinite(W).all() for W in weights)
                        and np.all(np.isfinite(batch_errors))):
                    raise FloatingPointError(
                        f"DBM training diverged in epoch {epoch + 1} (weights or reconstruction "
                        f"error became NaN or infinite): {fix}."
                    )
                blow_up(float(np.mean(batch_errors)), f"DBM training blew up in epoch {epoch + 1}", fix)
                self._store(weights, biases, velocity, chains)
                self.layer_means_ = [to_numpy(s / n_samples).astype(np.float32) for s in sums]
                self._record(epoch, batch_errors, time.perf_counter() - start, lr, mom, bar)
                if callback is not None:
                    callback(self, epoch)

    def _epoch_learning_rate(self, epoch, planned):
        if self.learning_rate_decay == "linear":
            return self.learning_rate * max(0.0, 1.0 - epoch / planned)
        return self.learning_rate * self.learning_rate_decay**epoch

    def _store(self, weights, biases, velocity, chains):
        self.weights_ = [np.array(to_numpy(W), dtype=np.float32) for W in weights]
        self.biases_ = [np.array(to_numpy(b), dtype=np.float32) for b in biases]
        self._velocity = [np.array(to_numpy(v)) for v in velocity]
        self._chains = [np.array(to_numpy(c.float())) for c in chains]

    def _record(self, epoch, batch_errors, seconds, lr, mom, bar):
        h = self.history_
        h["epoch"].append(epoch + 1)
        h["reconstruction_error"].append(float(np.mean(batch_errors)))
        h["time"].append(seconds)
        h["learning_rate"].append(lr)
        h["momentum"].append(mom)
        self.n_iter_ = epoch + 1
        bar.set_postfix(epoch=epoch + 1, recon=f"{h['reconstruction_error'][-1]:.4f}")
        if self.verbose >= 2:
            bar.write(f"[DBM] epoch {epoch + 1}: mean-field reconstruction error "
                      f"{h['reconstruction_error'][-1]:.5f}, {seconds:.2f}s", file=sys.stderr)


def _low(tensors, dtype):
    """What the products read: the float32 tensors themselves, or copies in ``dtype``."""
    return tensors if tensors[0].dtype == dtype else [t.to(dtype) for t in tensors]


def _refresh(low, tensors):
    if low is not tensors:
        for a, t in zip(low, tensors):
            a.copy_(t)
