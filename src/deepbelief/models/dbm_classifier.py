"""A classifier initialised from a DBM (Salakhutdinov & Hinton 2009, section 4): a feed-forward
net whose input is augmented with the DBM's mean-field posteriors, fine-tuned by backprop."""

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import backprop as ft
from .._core import blowup
from .._core.backend import RandomSource, check_unit_range, clip_unit_range, resolve_device, to_tensor
from .._core.counts import Count
from .._core.threads import limit_threads
from ._continued import split_off
from ._finetuned import FineTunedNet, chain_shapes, read_classes
from ._mlp_attributes import MLPAttributesMixin
from .classifier import DBNClassifier, hidden_sizes
from .dbm import DBM
from .modelfile import register

# The settings of DBNClassifier that a DBM-initialised one shares (no Gaussian inputs, and the
# DBM's own momentum and weight decay instead of pretrain_momentum / pretrain_weight_decay).
_SHARED = set(DBNClassifier._parameter_constraints) - {"visible", "pretrain_momentum",
                                                        "pretrain_weight_decay", "warm_start"}


@register
class DBMClassifier(MLPAttributesMixin, ClassifierMixin, FineTunedNet):
    """Classifier started from a Deep Boltzmann Machine, fine-tuned by backprop.

    A :class:`~deepbelief.DBM` is trained on X (greedy pretraining, then joint training), or
    given to ``fit``. Its mean-field posteriors q(h_l | x) then feed a feed-forward net with the
    DBM's weights: hidden layer l takes the layer below and, as extra input, the posterior of the
    layer above, q(h_{l+1} | x), through the DBM's weights to that layer. For two hidden layers
    this is Salakhutdinov & Hinton's net: the input [x, q(h2 | x)] goes to h1, h1 to h2, h2 to
    a softmax layer. The posteriors are computed once per example and stay fixed while the
    net's weights (all of them, the copies included) are fine-tuned on the labels.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(500, 1000)
        Sizes of the DBM's hidden layers (at least two), so the DBM is
        ``(n_features, *hidden_layer_sizes)``.
    pretrain : bool, default=True
        Train a DBM first; False trains a plain sigmoid net of the same sizes from a random
        (Glorot) start, with no posteriors added to the input, for comparison.
    pretrain_n_iter : int, "auto" or list, default="auto"
        Epochs of each RBM of the DBM's greedy pretraining (``DBM.pretrain_n_iter``).
    pretrain_learning_rate : float or list, default=0.05
        Step size of those RBMs (``DBM.pretrain_learning_rate``).
    dbm_n_iter : int or "auto", default="auto"
        Epochs of the DBM's joint training (``DBM.n_iter``).
    dbm_learning_rate : float, default=0.005
        Step size of the DBM's joint training (``DBM.learning_rate``). Other DBM settings keep
        their defaults; for full control fit a ``DBM`` and pass it to ``fit``.
    solver, learning_rate, learning_rate_decay, momentum, weight_decay, dropout, input_dropout, \
n_iter, output_n_iter, batch_size, validation_fraction, n_iter_no_change
        Fine-tuning, as in :class:`~deepbelief.DBNClassifier`; ``dropout`` applies to the
        hidden units, ``input_dropout`` to the pixels (not the posteriors).
    random_state : int, RandomState instance or None, default=None
    device : {"auto", "cpu", "cuda"}, default="auto"
    precision : {"auto", "float32", "bfloat16"}, default="auto"
    n_jobs : int or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    dbm_ : DBM or None
        The DBM whose posteriors augment the input (None when ``pretrain=False``).
    coefs_ : list of ndarray
        ``coefs_[l]`` has shape (n_in, n_out): hidden layer l takes
        ``[h_{l-1}, q(h_{l+1})]`` (``[x, q(h2)]`` for the first), the top hidden layer only
        the layer below; the last matrix feeds the softmax.
    intercepts_ : list of ndarray
    history_ : dict of lists
    stopping_ : dict
    n_iter_ : int
    n_features_in_ : int
    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_, n_layers_, \
n_outputs_, out_activation_
        MLPClassifier's fitted attributes, as on :class:`~deepbelief.DBNClassifier`.
        (No ``partial_fit`` or ``warm_start``: each fit computes the DBM's posteriors anew.)

    References
    ----------
    Salakhutdinov, R. & Hinton, G. E. (2009). Deep Boltzmann machines. AISTATS, section 4.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import DBMClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DBMClassifier((32, 16), pretrain_n_iter=2, dbm_n_iter=2, n_iter=2,
    ...                     random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints = {
        **{k: v for k, v in DBNClassifier._parameter_constraints.items() if k in _SHARED},
        "hidden_layer_sizes": [list, tuple, np.ndarray],
        "pretrain_learning_rate": DBM._parameter_constraints["pretrain_learning_rate"],
        "dbm_n_iter": [Count(0), StrOptions({"auto"})],
        "dbm_learning_rate": DBM._parameter_constraints["learning_rate"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(500, 1000),
        *,
        pretrain=True,
        pretrain_n_iter="auto",
        pretrain_learning_rate=0.05,
        dbm_n_iter="auto",
        dbm_learning_rate=0.005,
        solver="adam",
        learning_rate=0.001,
        learning_rate_decay=1.0,
        momentum=0.9,
        weight_decay=0.0,
        dropout=0.0,
        input_dropout=0.0,
        n_iter="auto",
        output_n_iter=0,
        batch_size=100,
        validation_fraction=0.0,
        n_iter_no_change=10,
        random_state=None,
        device="auto",
        precision="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.pretrain = pretrain
        self.pretrain_n_iter = pretrain_n_iter
        self.pretrain_learning_rate = pretrain_learning_rate
        self.dbm_n_iter = dbm_n_iter
        self.dbm_learning_rate = dbm_learning_rate
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.n_iter = n_iter
        self.output_n_iter = output_n_iter
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.n_jobs = n_jobs
        self.verbose = verbose

    _dbm_class = DBM  # what fit trains
    visible = "bernoulli"  # the DBM's units, not a parameter (FineTunedNet's tags read it)

    # ------------------------------------------------------------------ fitting
    def _check_range(self, X):
        check_unit_range(X, "bernoulli")

    def _make_dbm(self, X, sizes, rng, dbm):
        """The DBM behind the net: the one given (checked), one trained on X, or None."""
        if dbm is not None:
            if not isinstance(dbm, DBM):
                raise TypeError(f"dbm must be a fitted DBM, got {type(dbm).__name__}.")
            check_is_fitted(dbm)
            if list(dbm.layer_sizes_) != [X.shape[1], *sizes]:
                raise ValueError(
                    f"dbm must be a fitted DBM with layers {[X.shape[1], *sizes]} (the features of "
                    f"X, then hidden_layer_sizes), got {getattr(dbm, 'layer_sizes_', dbm)!r}."
                )
            return dbm
        if not self.pretrain:
            return None
        dbm = self._dbm_class((X.shape[1], *sizes), pretrain_n_iter=self.pretrain_n_iter,
                  pretrain_learning_rate=self.pretrain_learning_rate, n_iter=self.dbm_n_iter,
                  learning_rate=self.dbm_learning_rate, batch_size=self.batch_size,
                  random_state=int(rng.randint(np.iinfo(np.int32).max)), device=self.device,
                  precision=self.precision, n_jobs=self.n_jobs, verbose=self.verbose)
        try:
            return dbm.fit(X)
        except FloatingPointError as exc:
            raise FloatingPointError(f"{exc} On DBMClassifier these settings are "
                                     "pretrain_learning_rate and dbm_learning_rate.") from None

    def _inputs(self, X):
        """The net's input: X, then the posteriors q(h_2 | x), ..., q(h_L | x) of the DBM; for
        sparse X a CSR matrix (X's columns stay sparse, the posteriors are stored whole)."""
        if self.dbm_ is None:
            return X
        parts = [X, *self.dbm_.layer_activations(X)[1:]]
        if sp.issparse(X):
            return sp.hstack(parts, format="csr", dtype=X.dtype)
        return np.hstack(parts).astype(X.dtype, copy=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, dbm=None):
        """Train (or take) the DBM, then fine-tune the net it initialises on the labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values in [0, 1]. scipy.sparse X is never densified whole: the DBM trains on it a
            mini-batch at a time, and fine-tuning densifies each mini-batch of the net's input.
        y : array-like of shape (n_samples,)
        dbm : DBM, optional
            A fitted DBM with layers ``(n_features, *hidden_layer_sizes)`` to start from instead
            of training one (``pretrain`` and the ``pretrain_*`` / ``dbm_*`` settings are then
            unused). It is kept as ``dbm_``, not copied.

        Returns
        -------
        self : DBMClassifier
        """
        with limit_threads(self.n_jobs):
            X, y = validate_data(self, X, y, accept_sparse="csr", dtype=(np.float32, np.float64))
            check_classification_targets(y)
            self._check_range(X)
            self.classes_, y = np.unique(y, return_inverse=True)
            if len(self.classes_) < 2:
                raise ValueError(f"y contains only one class ({self.classes_[0]}); a classifier "
                                 "needs at least two: pass labels from two or more classes.")
            sizes = hidden_sizes(self.hidden_layer_sizes)
            if len(sizes) < 2:
                raise ValueError(f"hidden_layer_sizes={self.hidden_layer_sizes!r}: a DBM needs at "
                                 "least two hidden layers, e.g. (500, 1000).")
            if self.n_iter == 0 and self.output_n_iter == 0:
                raise ValueError("n_iter + output_n_iter must be at least 1 (got 0): set n_iter.")
            self._check_memory(list(zip([X.shape[1], *sizes], [*sizes, len(self.classes_)])), X.shape[0])
            rng = check_random_state(self.random_state)
            self.dbm_ = self._make_dbm(X, sizes, rng, dbm)
            Z = self._inputs(X)
            Z_val = y_val = None
            if self.validation_fraction > 0:
                Z, Z_val, y, y_val = split_off(Z, y, self.validation_fraction, rng)
            device = resolve_device(self.device)
            coefs, intercepts = self._initial_layers(X.shape[1], sizes, rng)
            W_out, b_out = ft.glorot(rng, sizes[-1], len(self.classes_), False)
            weights = ft.as_parameters([*coefs, W_out], device)
            biases = ft.as_parameters([*intercepts, b_out], device)
            self.history_ = ft.new_history("train_error", Z_val is not None)
            self._fine_tune(Z, y, Z_val, y_val, weights, biases, RandomSource(rng, device), X.shape[1])
            self.coefs_, self.intercepts_ = ft.to_arrays(weights), ft.to_arrays(biases)
            return self

    def _initial_layers(self, n_features, sizes, rng):
        """Hidden layer l from the DBM: [W_l^T; W_{l+1}] (the top one: W_L^T), bias b_l."""
        if self.dbm_ is None:
            fan_in = [n_features, *sizes[:-1]]
            layers = [ft.glorot(rng, a, b, True) for a, b in zip(fan_in, sizes)]
            return [W for W, _ in layers], [b for _, b in layers]
        W, b = self.dbm_.weights_, self.dbm_.biases_
        coefs = [np.vstack([W[i].T, W[i + 1]]) for i in range(len(W) - 1)] + [W[-1].T]
        return [c.astype(np.float32) for c in coefs], [x.copy() for x in b[1:]]

    def _hidden(self, z, weights, biases, n_features, source=None):
        """(B, n_inputs) -> the top hidden layer; ``z`` holds x, then the posteriors above h1.
        With a ``source`` (training) dropout is applied."""
        h = z[:, :n_features]
        if source is not None:
            h = ft.dropout(h, self.input_dropout, source)
        extras = ()
        if self.dbm_ is not None:  # q(h_2), ..., q(h_L): extra inputs of h_1, ..., h_{L-1}
            extras = torch.split(z[:, n_features:], [W.shape[1] for W in weights[1:-1]], dim=1)
        for i, (W, b) in enumerate(zip(weights[:-1], biases[:-1])):
            h = ft.layer_forward(torch.cat([h, extras[i]], dim=1) if i < len(extras) else h, W, b,
                                 "sigmoid")
            if source is not None:
                h = ft.dropout(h, self.dropout, source)
        return h

    def _forward(self, z, weights, biases, n_features, source=None):
        """(B, n_inputs) -> logits (B, n_classes)."""
        h = self._hidden(z, weights, biases, n_features, source)
        return ft.layer_forward(h, weights[-1], biases[-1], "linear")

    def _fine_tune(self, Z, y, Z_val, y_val, weights, biases, source, n_features):
        device = weights[0].device
        data, labels = ft.Rows(Z, device), torch.as_tensor(y, device=device)

        def batch_loss(rows):
            z = self._forward(data.take(rows), weights, biases, n_features, source)
            return F.cross_entropy(z, labels[rows]), (z.argmax(1) != labels[rows]).sum()

        evaluate = None
        if Z_val is not None:
            val, val_labels = ft.Rows(Z_val, device), torch.as_tensor(y_val, device=device)

            def evaluate():
                predicted = val.map(lambda z: self._forward(z, weights, biases, n_features).argmax(1))
                return (predicted != val_labels).float().mean()

        common = dict(evaluate=evaluate, history=self.history_, metric="train_error",
                      name=type(self).__name__, verbose=self.verbose)
        self.stopping_, self.n_iter_ = None, 0
        if self.output_n_iter:
            with torch.no_grad():  # the pretrained features, computed once
                top = data.map(lambda z: self._hidden(z, weights, biases, n_features))

            def output_loss(rows):
                z = ft.layer_forward(ft.dropout(top[rows], self.dropout, source), weights[-1],
                                     biases[-1], "linear")
                return F.cross_entropy(z, labels[rows]), (z.argmax(1) != labels[rows]).sum()

            self.stopping_ = ft.train([weights[-1]], [biases[-1]], output_loss, len(y),
                                      self._settings(self.output_n_iter, len(y), [weights[-1]]),
                                      source, phase="output", **common,
                                      blow_up=blowup.classification_check([weights[-1]], len(self.classes_)))
        if self.n_iter:
            self.stopping_ = ft.train(weights, biases, batch_loss, len(y),
                                      self._settings(self.n_iter, len(y), weights), source,
                                      phase="network", **common,
                                      blow_up=blowup.classification_check(weights, len(self.classes_)))
            self.n_iter_ = self.stopping_["epochs_run"]

    # ------------------------------------------------------------- inference
    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is densified a block of rows at a time; values outside [0, 1] are clipped.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        with limit_threads(self.n_jobs):
            check_is_fitted(self)
            X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=(np.float32, np.float64))
            Z = self._inputs(clip_unit_range(X, "bernoulli"))
            device, dtype = resolve_device(self.device), ft.torch_dtype(Z)
            weights = [to_tensor(W, device, dtype) for W in self.coefs_]
            biases = [to_tensor(b, device, dtype) for b in self.intercepts_]
            n = X.shape[1]
            forward = lambda z: torch.softmax(self._forward(z, weights, biases, n), dim=1)  # noqa: E731
            return ft.predict_in_batches(forward, Z, device).astype(np.float64)

    # ------------------------------------------------------------ model files
    def _get_state(self):
        check_is_fitted(self)
        arrays = ft.layers_to_saved(self.coefs_, self.intercepts_)
        state = {"n_features_in_": int(self.n_features_in_), "n_iter_": int(self.n_iter_),
                 "history_": self.history_, "stopping_": self.stopping_,
                 "classes_": self.classes_.tolist(), "classes_dtype": self.classes_.dtype.str,
                 "dbm_": None}
        if self.dbm_ is not None:
            dbm_arrays, dbm_state = self.dbm_._get_state()
            arrays.update({f"dbm_.{k}": v for k, v in dbm_arrays.items()})
            state["dbm_"] = {"params": self.dbm_.get_params(), "state": dbm_state}
        return arrays, state

    def _set_state(self, saved):
        """Take the fitted state from ``saved`` (a ``_file_checks.Saved``): the DBM, then the
        layers, checked to be the net that DBM initialises (or a plain one without it)."""
        self.dbm_ = saved.model("dbm_", DBM, optional=True)
        self._set_net_state(saved)
        return self

    def _saved_shapes(self, saved):
        """The layers in a file: hidden layer l takes layer l - 1 and the posterior of layer
        l + 1 (``_initial_layers``), then the softmax; without a DBM a plain chain."""
        saved.check_params(lambda: hidden_sizes(self.hidden_layer_sizes))
        if self.dbm_ is None:
            shapes = chain_shapes(saved, self.n_features_in_, min_layers=3)
        else:
            sizes = self.dbm_.layer_sizes_
            if sizes[0] != self.n_features_in_:
                saved.fail("dbm_.n_features_in_", f"is {sizes[0]} but the classifier's is "
                           f"{self.n_features_in_}.")
            top = len(sizes) - 1
            shapes = [(sizes[i] + sizes[i + 2], sizes[i + 1]) for i in range(top - 1)]
            shapes.append((sizes[top - 1], sizes[top]))
            n_out = saved.array(f"coefs_.{top}", (sizes[top], None),
                                means="the top layer's units as rows").shape[1]
            shapes.append((sizes[top], n_out))
        self.classes_ = read_classes(saved, shapes[-1][1])
        return shapes

