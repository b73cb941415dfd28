"""What DBNClassifier and DeepAutoencoder share: a DBN pretrained from their settings, the
fine-tuning settings, the parameter constraints of both, and the parts of their model files."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._core import backprop
from .._core.backend import DEVICE_CONSTRAINT, resolve_device
from .._core.budget import resolve_n_iter
from .._core.precision import PRECISIONS, compute_dtype, macs_per_product
from .._core.rbm_math import UNIT_TYPES
from ._layers import expand_per_layer
from .dbn import DBN
from .modelfile import SaveLoadMixin

PRETRAIN_SETTINGS = ("pretrain_n_iter", "pretrain_learning_rate", "pretrain_momentum",
                     "pretrain_weight_decay")


class FineTunedNet(SaveLoadMixin, BaseEstimator):
    """Base of the networks that start from a pretrained DBN and are fine-tuned by backprop.

    Subclasses store their own constructor arguments (scikit-learn reads them from
    ``__init__``) and add theirs to ``_parameter_constraints``.
    """

    _parameter_constraints = {
        "visible": [StrOptions(set(UNIT_TYPES))],
        "pretrain": ["boolean"],
        "pretrain_n_iter": [
            Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), list, tuple
        ],
        "pretrain_learning_rate": [
            Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), list, tuple
        ],
        "pretrain_momentum": [Interval(Real, 0, 1, closed="left"), list, tuple],
        "pretrain_weight_decay": [Interval(Real, 0, None, closed="left"), list, tuple],
        "solver": [StrOptions({"sgd", "adam"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_decay": [Interval(Real, 0, 1, closed="right")],
        "momentum": [Interval(Real, 0, 1, closed="left"), tuple],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "device": DEVICE_CONSTRAINT,
        "precision": [StrOptions(set(PRECISIONS))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def _pretrain(self, X, sizes, hidden, rng, callback=None):
        """The DBN that initialises the network, fitted on ``X`` from the ``pretrain_*`` settings.

        ``callback(self, layer_index, epoch)`` runs after every RBM epoch, with ``self.dbn_``
        the stack so far. Errors name this estimator's parameters (``pretrain_learning_rate``,
        not the DBN's ``learning_rate``).
        """
        for name in PRETRAIN_SETTINGS:
            expand_per_layer(name, getattr(self, name), len(sizes) - 1)
        dbn = DBN(
            sizes,
            visible=self.visible,
            hidden=hidden,
            learning_rate=self.pretrain_learning_rate,
            n_iter=self.pretrain_n_iter,
            momentum=self.pretrain_momentum,
            weight_decay=self.pretrain_weight_decay,
            batch_size=self.batch_size,
            random_state=int(rng.randint(np.iinfo(np.int32).max)),
            device=self.device,
            precision=self.precision,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        on_epoch = None
        if callback is not None:

            def on_epoch(stack, layer, epoch):
                self.dbn_ = stack
                callback(self, layer, epoch)

        try:
            return dbn.fit(X, callback=on_epoch)
        except FloatingPointError as exc:
            raise FloatingPointError(
                f"pretraining failed: {exc} On {type(self).__name__} these settings are "
                "pretrain_learning_rate and pretrain_momentum (one value, or a list per RBM)."
            ) from None

    def _settings(self, n_iter, n_samples, weights):
        """The fine-tuning settings for a phase of ``n_iter`` epochs ("auto": by updates) over
        ``n_samples`` training rows that trains ``weights`` (the (n_in, n_out) tensors)."""
        batch_size = min(self.batch_size, n_samples)
        macs = macs_per_product(batch_size, [W.shape for W in weights])
        return backprop.Settings(
            solver=self.solver,
            learning_rate=self.learning_rate,
            learning_rate_decay=self.learning_rate_decay,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size,
            n_iter=resolve_n_iter(n_iter, n_samples, self.batch_size),
            n_iter_no_change=self.n_iter_no_change,
            dtype=compute_dtype(self.precision, resolve_device(self.device), macs),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self.visible == "bernoulli"
        tags.input_tags.sparse = True  # the first RBM and fine-tuning densify one batch at a time
        return tags

    # ------------------------------------------------------------ model files
    def _get_state(self):
        """Layers, pretrained stack and training record; subclasses add to the state."""
        check_is_fitted(self)
        arrays = backprop.layers_to_saved(self.coefs_, self.intercepts_)
        state = {
            "n_features_in_": int(self.n_features_in_),
            "n_iter_": int(self.n_iter_),
            "history_": self.history_,
            "stopping_": self.stopping_,
        }
        dbn_arrays, state["dbn_"] = _dbn_to_saved(self.dbn_)
        arrays.update(dbn_arrays)
        return arrays, state

    def _set_state(self, arrays, state):
        self.coefs_, self.intercepts_ = backprop.layers_from_saved(arrays)
        self.n_features_in_ = state["n_features_in_"]
        self.n_iter_ = state["n_iter_"]
        self.history_ = state["history_"]
        self.stopping_ = state.get("stopping_")  # absent from files of deepbelief <= 0.1.0
        self.dbn_ = _dbn_from_saved(arrays, state["dbn_"])
        return self


def _dbn_to_saved(dbn, prefix="dbn_."):
    """(arrays, state) for a DBN held by another estimator, arrays prefixed; None saves nothing."""
    if dbn is None:
        return {}, None
    arrays, state = dbn._get_state()
    return {prefix + k: v for k, v in arrays.items()}, {"params": dbn.get_params(), "state": state}


def _dbn_from_saved(arrays, saved, prefix="dbn_."):
    """The inverse of ``_dbn_to_saved``."""
    if saved is None:
        return None
    own = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    return DBN(**saved["params"])._set_state(own, saved["state"])
