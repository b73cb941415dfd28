"""What DBNClassifier and DeepAutoencoder share: a DBN pretrained from their settings, the
fine-tuning settings, the parameter constraints of both, and the parts of their model files."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._core import backprop, memory
from .._core.backend import DEVICE_CONSTRAINT, resolve_device
from .._core.budget import resolve_n_iter
from .._core.counts import Count
from .._core.precision import PRECISIONS, compute_dtype, macs_per_product
from .._core.rbm_math import STACKED_UNIT_TYPES as UNIT_TYPES
from ._layers import expand_per_layer
from .dbn import DBN
from .modelfile import SaveLoadMixin

PRETRAIN_SETTINGS = ("pretrain_n_iter", "pretrain_learning_rate", "pretrain_momentum",
                     "pretrain_weight_decay")
# What fine-tuning appends to its record every epoch (besides its metric): a loaded one has them.
HISTORY_KEYS = ("epoch", "loss", "learning_rate", "time")


class FineTunedNet(SaveLoadMixin, BaseEstimator):
    """Base of the networks that start from a pretrained DBN and are fine-tuned by backprop.

    Subclasses store their own constructor arguments (scikit-learn reads them from
    ``__init__``) and add theirs to ``_parameter_constraints``.
    """

    _parameter_constraints = {
        "visible": [StrOptions(set(UNIT_TYPES))],
        "pretrain": ["boolean"],
        "pretrain_n_iter": [Count(1), StrOptions({"auto"}), list, tuple],
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
        "n_iter": [Count(0), StrOptions({"auto"})],
        "batch_size": [Count(1)],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Count(1)],
        "random_state": ["random_state"],
        "device": DEVICE_CONSTRAINT,
        "precision": [StrOptions(set(PRECISIONS))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def _check_memory(self, shapes, n_rows):
        """MemoryError, before anything is allocated, when fine-tuning the layers ``shapes``
        ((n_in, n_out) each) cannot fit (``_core/memory``); pretraining checks its DBN itself."""
        sizes = [shapes[0][0], *(n_out for _, n_out in shapes)]
        memory.check_fits(
            memory.net_bytes(shapes, self.batch_size, n_rows),
            f"{type(self).__name__} with layers {sizes} (batch_size={self.batch_size})",
            "its weights, gradients, momentum and batches",
            "use fewer or smaller layers, or a smaller batch_size", resolve_device(self.device),
        )

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

    def _set_state(self, saved):
        """Take the fitted state from ``saved`` (a ``_file_checks.Saved``): the layers, the
        training record, and the pretrained DBN, checked to be the stack the net began as."""
        self._set_net_state(saved)
        self.dbn_ = saved.model("dbn_", DBN, optional=True)
        if self.dbn_ is not None:
            sizes = [self.n_features_in_, *self._pretrained_widths()]
            if self.dbn_.layer_sizes_ != sizes or self.dbn_.visible != self.visible:
                saved.fail("dbn_", f"is a {self.dbn_.visible} DBN with layers {self.dbn_.layer_sizes_} "
                           f"but the net began as a {self.visible} one with layers {sizes}.")
        return self

    def _set_net_state(self, saved):
        """The layers (of the shapes ``_saved_shapes`` gives) and the fine-tuning record."""
        self.n_features_in_ = saved.integer("n_features_in_", minimum=1)
        shapes = self._saved_shapes(saved)
        self.coefs_ = saved.array_list("coefs_", shapes, means=f"the layers {shapes} (n_in, n_out)")
        self.intercepts_ = saved.array_list("intercepts_", [(n_out,) for _, n_out in shapes],
                                            means="one bias per unit of each layer")
        self.n_iter_ = saved.integer("n_iter_")
        self.history_ = saved.history("history_", HISTORY_KEYS)
        self.stopping_ = saved.stopping("stopping_")  # absent from files of deepbelief <= 0.1.0


def chain_shapes(saved, n_in, min_layers):
    """The (n_in, n_out) of the file's layers ``coefs_.0``, ``coefs_.1``, ..., each taking the
    outputs of the one before, the first ``n_in`` inputs; at least ``min_layers`` of them."""
    n = saved.count("coefs_")
    if n < min_layers:
        saved.fail("coefs_", f"has {n} layers but this network has at least {min_layers}.")
    shapes = []
    for i in range(n):
        W = saved.array(f"coefs_.{i}", (n_in, None), means="the outputs of the layer below as rows")
        shapes.append(W.shape)
        n_in = W.shape[1]
    return shapes


def read_classes(saved, n_outputs):
    """A classifier's ``classes_``, one per output unit (at least two)."""
    if n_outputs < 2:
        saved.fail("coefs_", f"ends in {n_outputs} output unit but a classifier has one per "
                   "class, at least two.")
    return saved.labels("classes_", "classes_dtype", n_outputs)


def _dbn_to_saved(dbn, prefix="dbn_."):
    """(arrays, state) for a DBN held by another estimator, arrays prefixed; None saves nothing."""
    if dbn is None:
        return {}, None
    arrays, state = dbn._get_state()
    return {prefix + k: v for k, v in arrays.items()}, {"params": dbn.get_params(), "state": state}
