"""The greedy training of ``DBN``: one RBM per pair of layers, each fitted on what the one
below makes of the data (hidden means, sampled states, or batches carried up from a memmap)."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from .._core import memory
from .._core.backend import resolve_device
from .._core.batches import LiftedRows, is_streamed
from .._core.precision import check_int8
from .._core.rbm_math import STACKED_UNIT_TYPES as UNIT_TYPES
from .._core.sampled_rows import SampledRows
from ._layers import expand_per_layer
from ._stacking import fit_turned_over, kept_rbms
from .rbm import RBM

# Step sizes of the "auto" learning rate (Hinton 2010, section 13.2; Hinton & Salakhutdinov 2006):
# Gaussian units have unbounded activations and need a rate about 100 times smaller.
AUTO_LEARNING_RATE = {"bernoulli": 0.1, "gaussian": 0.001}

# Settings that may be given per RBM (a list with one entry per RBM) or once for all.
PER_LAYER = ("hidden", "learning_rate", "n_iter", "momentum", "weight_decay", "method", "k",
             "learning_rate_decay")


class DBNTrainingMixin:
    """``_fit_stack`` trains the RBMs of a ``DBN`` on checked data, keeping those a warm start
    may keep; ``_make_rbms`` builds them from the per-layer settings."""

    def _make_rbms(self, sizes):
        """Unfitted RBMs with the per-layer settings expanded, each seeded from one generator,
        and a seed per RBM for the states drawn from its hidden means (``propagate="sample"``)."""
        n_rbms = len(sizes) - 1
        settings = {name: expand_per_layer(name, getattr(self, name), n_rbms) for name in PER_LAYER}
        if any(h not in UNIT_TYPES for h in settings["hidden"]):
            raise ValueError(f"hidden must be 'bernoulli', 'gaussian' or a list of them, "
                             f"got {self.hidden!r}.")
        rng = check_random_state(self.random_state)
        rbms = []
        visible = self.visible
        for i in range(n_rbms):
            hidden = settings["hidden"][i]
            learning_rate = settings["learning_rate"][i]
            if isinstance(learning_rate, str) and learning_rate == "auto":
                learning_rate = min(AUTO_LEARNING_RATE[visible], AUTO_LEARNING_RATE[hidden])
            rbms.append(
                RBM(
                    sizes[i + 1],
                    visible=visible,
                    hidden=hidden,
                    method=settings["method"][i],
                    k=settings["k"][i],
                    learning_rate=learning_rate,
                    batch_size=self.batch_size,
                    n_iter=settings["n_iter"][i],
                    momentum=settings["momentum"][i],
                    weight_decay=settings["weight_decay"][i],
                    penalty=self.penalty,
                    learning_rate_decay=settings["learning_rate_decay"][i],
                    random_state=int(rng.randint(np.iinfo(np.int32).max)),
                    device=self.device,
                    precision=self.precision,
                    n_jobs=self.n_jobs,
                    verbose=self.verbose,
                )
            )
            visible = hidden
        return rbms, [int(rng.randint(np.iinfo(np.int32).max)) for _ in rbms]

    def _fit_stack(self, X, callback):
        rbms, seeds = self._make_rbms(self.layer_sizes_)
        check_int8(self.precision, [u for r in rbms for u in (r.visible, r.hidden)], self.layer_sizes_)
        memory.check_fits(
            memory.stack_bytes(self.layer_sizes_, self.batch_size, X.shape[0], self.precision),
            f"DBN(layers={self.layer_sizes_}, batch_size={self.batch_size})",
            "its RBMs' weights, momentum and batches",
            "use fewer or smaller layers, or a smaller batch_size", resolve_device(self.device),
        )
        fitted = self.warm_start and hasattr(self, "rbms_")
        kept = kept_rbms(self.rbms_, rbms, self.layer_sizes_) if fitted else 0
        if kept:
            rbms[:kept] = self.rbms_[:kept]
        self.rbms_, self.history_ = [], []
        H = X  # what RBM i trains on: the data, then means or states of the layer below
        for i, rbm in enumerate(rbms):
            self.rbms_.append(rbm)
            if i >= kept:
                if self.verbose >= 2:
                    print(f"[DBN] RBM {i + 1}/{len(rbms)}: {rbm.visible} {H.shape[1]} -> "
                          f"{rbm.hidden} {rbm.n_components}, learning_rate={rbm.learning_rate:g}")
                rbm_callback = None
                if callback is not None:
                    rbm_callback = lambda _, epoch, i=i: callback(self, i, epoch)  # noqa: E731
                if i and self.upper_init == "transpose":
                    fit_turned_over(rbm, rbms[i - 1], H, callback=rbm_callback)
                else:
                    rbm.fit(H, callback=rbm_callback)
            self.history_.append(rbm.history_)
            if i + 1 < len(rbms):
                if is_streamed(H) and not sp.issparse(H):
                    H = LiftedRows(H, rbm.components_, rbm.intercept_hidden_, rbm.hidden)
                else:
                    H = rbm.transform(H)
                if self.propagate == "sample":
                    H = SampledRows(H, rbm.hidden, seeds[i])
