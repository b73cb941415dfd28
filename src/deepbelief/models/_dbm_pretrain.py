"""Greedy pretraining of a DBM (Salakhutdinov & Hinton 2009, section 3.1): a stack of RBMs with
doubled weights, composed into the DBM's starting point.

A DBM's hidden layer gets input from below and from above. Each pretraining RBM is trained with
the input it lacks stood in for by doubling what it has: the bottom RBM counts the visible layer
twice going up, the top RBM counts its hidden layer twice going down, RBMs between do both (an
ordinary RBM whose weights are halved in the DBM). Composed, every layer then gets the average
of the bottom-up and top-down inputs of its two RBMs, so the weights go in as they are and a
hidden layer's bias is the mean of its two RBMs' biases for it.
"""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import validate_data

from .._core.backend import to_tensor
from .._core.batches import as_stream, dense_blocks
from .._core.dbm_pcd import pretraining_scales, scaled_contrastive_divergence
from ._rbm_training import _shadow
from .rbm import RBM


class _ScaledRBM(RBM):
    """An RBM trained by ``scaled_contrastive_divergence``: the epoch loop, checks, history and
    reduced precision of ``RBM``, with the hidden units taking ``up`` times their input and the
    visible units ``down`` times theirs. Private to pretraining; never cloned or saved."""

    up = 1.0
    down = 1.0
    sample_input = False

    def _validate_X(self, X, reset=False, fitting=False):
        # The DBM has checked its data; the RBMs above get probabilities from the ones below.
        # Sparse data is streamed, a densified batch at a time, as by RBM.
        X = validate_data(self, X, reset=reset, accept_sparse="csr", dtype=(np.float32, np.float64))
        return as_stream(X) if fitting and sp.issparse(X) else X

    def _statistics(self, v0, params, persistent, source, dtype=None, work=None):
        if dtype is not None:
            params = _shadow(params, dtype)
        return scaled_contrastive_divergence(v0, *params, self.up, self.down, self.k, source,
                                             work=work, sample_input=self.sample_input)

    def scaled_transform(self, X):
        """E[h | v] with the doubled input: what the RBM above is trained on (sparse X a
        block of rows at a time)."""
        W, c = to_tensor(self.components_ * self.up, "cpu"), to_tensor(self.intercept_hidden_, "cpu")
        with torch.inference_mode():
            H = [torch.sigmoid_(torch.addmm(c, to_tensor(block, "cpu"), W.T)).numpy()
                 for block in dense_blocks(X)]
        return H[0] if len(H) == 1 else np.concatenate(H)


def pretrain(dbm, X, sizes, settings, seeds, sample_input=False):
    """Train the RBMs of ``dbm``'s pretraining on ``X`` and return (weights, biases, rbms).

    ``settings`` holds one dict per RBM with ``n_iter``, ``learning_rate``, ``momentum`` and
    ``weight_decay``; ``seeds`` one int per RBM. ``sample_input`` binarizes the bottom RBM's
    batches afresh (``DBM.sample_input`` on grey data). Weights are (n_{l+1}, n_l) float32 arrays.
    """
    n_rbms = len(sizes) - 1
    rbms, H = [], X
    for i, ((up, down), setting, seed) in enumerate(zip(pretraining_scales(n_rbms), settings, seeds)):
        rbm = _ScaledRBM(sizes[i + 1], method="cd", k=1, batch_size=dbm.batch_size,
                         random_state=seed, device=dbm.device, precision=dbm.precision,
                         n_jobs=None, verbose=dbm.verbose, **setting)
        rbm.up, rbm.down = up, down
        rbm.sample_input = sample_input and i == 0
        if dbm.verbose >= 2:
            print(f"[DBM] pretraining RBM {i + 1}/{n_rbms}: {sizes[i]} -> {sizes[i + 1]} "
                  f"(input x{up:g} up, x{down:g} down)")
        try:
            rbm.fit(H)
        except FloatingPointError as exc:
            raise FloatingPointError(
                f"DBM pretraining failed in RBM {i + 1}: {exc} On DBM these settings are "
                "pretrain_learning_rate and pretrain_momentum (one value, or a list per RBM)."
            ) from None
        rbms.append(rbm)
        if i + 1 < n_rbms:
            H = rbm.scaled_transform(H)
    weights = [r.components_.astype(np.float32) for r in rbms]
    biases = [rbms[0].intercept_visible_.astype(np.float32)]
    for below, above in zip(rbms[:-1], rbms[1:]):
        biases.append(((below.intercept_hidden_ + above.intercept_visible_) / 2).astype(np.float32))
    biases.append(rbms[-1].intercept_hidden_.astype(np.float32))
    return weights, biases, rbms
