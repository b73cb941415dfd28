"""A classifier: a DBN pretrained without labels, topped with softmax, fine-tuned by backprop."""

import warnings
from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_is_fitted, validate_data

from .._core import backprop as ft
from .._core import blowup
from .._core.backend import RandomSource, check_unit_range, clip_unit_range, resolve_device, to_tensor
from .._core.counts import Count
from .._core.threads import limit_threads
from ._continued import ContinuedTrainingMixin, class_indices, split_off
from ._finetuned import FineTunedNet, chain_shapes, read_classes
from ._layers import hidden_sizes
from ._mlp_attributes import MLPAttributesMixin
from .modelfile import register


@register
class DBNClassifier(ContinuedTrainingMixin, MLPAttributesMixin, ClassifierMixin, FineTunedNet):
    """Deep belief net classifier: greedy RBM pretraining, then backprop through the whole net.

    The hidden layers are pretrained as a :class:`~deepbelief.DBN` on X alone; a softmax layer
    is put on top and the network (sigmoid hidden units initialised from the RBMs' weights and
    hidden biases) is fine-tuned on the labels with mini-batch backprop. Input and output sizes
    come from the data, as in scikit-learn's ``MLPClassifier``, whose fitted attributes it has
    too (``classes_``, ``coefs_`` and ``intercepts_`` in its (n_in, n_out) layout, ``loss_``,
    ``loss_curve_``, ``best_loss_``, ``validation_scores_``, ``best_validation_score_``,
    ``t_``, ``n_iter_``, ``n_layers_``, ``n_outputs_``, ``out_activation_``), with
    ``predict_proba``, ``predict_log_proba``, ``partial_fit(X, y, classes=...)`` and
    ``warm_start``. Differences: early stopping is on when ``validation_fraction > 0``
    (default 0; MLPClassifier has ``early_stopping=True`` with ``validation_fraction=0.1``) and
    compares the validation error, without a ``tol``; two classes get two softmax outputs
    rather than one logistic one.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(500,)
        Sizes of the hidden layers only. nolearn's ``DBN([784, 300, 10])`` is
        ``DBNClassifier(hidden_layer_sizes=(300,))`` here.
    visible : {"bernoulli", "gaussian"}, default="bernoulli"
        Input units of the first RBM. Bernoulli units need X in [0, 1]; use "gaussian" with
        standardized real-valued X.
    pretrain : bool, default=True
        False trains the same network from a random (Glorot) initialisation, for comparison.
    pretrain_n_iter : int, "auto" or list, default="auto"
        RBM epochs, one value for all RBMs or a list with one per hidden layer. "auto" counts
        updates: about 3,000, within 10 to 200 epochs (see ``n_iter``).
    pretrain_learning_rate : float, "auto" or list, default="auto"
        RBM step sizes; "auto" is 0.1 for Bernoulli RBMs and 0.001 for a Gaussian first layer.
    pretrain_momentum : float, (float, float) or list, default=0.5
        RBM momentum; a tuple ``(start, end)`` is a linear ramp, a list gives one per RBM.
    pretrain_weight_decay : float or list of float, default=0.0
        RBM weight decay (Hinton 2006 used 2e-4).
    solver : {"adam", "sgd"}, default="adam"
        Fine-tuning optimizer: Adam (as scikit-learn's ``MLPClassifier``; robust at every data
        size), or SGD with momentum (the recipes of the DBN papers, with a tuned learning rate).
    learning_rate : float, default=0.001
        Fine-tuning step size (for the mean cross-entropy of a mini-batch); 0.001 suits Adam,
        SGD needs about 0.1.
    learning_rate_decay : float, default=1.0
        The fine-tuning step size is multiplied by this after every epoch (nolearn's
        ``learn_rate_decays``).
    momentum : float or (float, float), default=0.9
        SGD momentum, or a (start, end) ramp over the epochs. Ignored by Adam.
    weight_decay : float, default=0.0
        Shrinks the fine-tuned weights (not the biases): an L2 penalty with SGD; decoupled
        weight decay with Adam (AdamW: every step multiplies the weights by
        ``1 - learning_rate * weight_decay`` besides the gradient step).
    dropout : float, default=0.0
        Fraction of hidden units dropped in every fine-tuning update (0.5 is usual).
    input_dropout : float, default=0.0
        Fraction of input pixels dropped in every fine-tuning update (0.2 is usual).
    n_iter : int or "auto", default="auto"
        Fine-tuning epochs of the whole network (0: only the softmax layer is trained). "auto"
        counts updates, so small data sets get enough of them: about 3,000, within 10 to 200
        epochs (200 for the 1,257 training images of the 8x8 digits, 30 for 10,000 MNIST
        images, 10 for 60,000, at batch 100).
    output_n_iter : int, default=0
        Epochs training the softmax layer alone on the pretrained features before the whole
        network is fine-tuned.
    batch_size : int, default=100
        Examples per update, in pretraining and fine-tuning.
    validation_fraction : float, default=0.0
        Fraction of the training data held out (stratified) to measure the validation error
        every epoch. When > 0, the model keeps the weights of the epoch with the lowest
        validation error and stops after ``n_iter_no_change`` epochs without improvement.
    n_iter_no_change : int, default=10
        Patience of early stopping; used only when ``validation_fraction > 0``.
    warm_start : bool, default=False
        If True, ``fit`` on a fitted model goes on fine-tuning its weights for ``n_iter`` more
        epochs (no pretraining, no output phase, a new optimizer), as MLPClassifier's
        ``warm_start``; ``y`` must hold the classes of the first fit.
    random_state : int, RandomState instance or None, default=None
        Seeds pretraining, initialisation, shuffling and dropout. Same seed, same model on CPU.
    device : {"auto", "cpu", "cuda"}, default="auto"
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        dtype of the matrix products during training (weights and their updates stay
        float32; prediction computes in float32). "auto" is bfloat16 where it is faster: on
        CPUs with AVX-512 BF16 or AMX when a batch's products average at least 3 million
        multiply-adds (``batch_size x n_in x n_out``: 784 -> 500 layers at batch 10 or more;
        smaller ones train slower in bfloat16), and on CUDA GPUs that support it; else float32.
    n_jobs : int or None, default=None
        Threads torch may use during ``fit`` and prediction (-1: all CPUs), restored afterwards.
        None leaves torch's setting alone (inside a joblib or dask worker: the worker's share).
    verbose : int, default=0
        1 prints loss, training error, validation error and time per fine-tuning epoch and shows
        progress bars; 2 also prints a line per RBM epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_ : list of ndarray
        ``coefs_[i]`` has shape (n_units[i], n_units[i + 1]); the last one feeds the softmax.
    intercepts_ : list of ndarray
    dbn_ : DBN or None
        The pretrained stack, before fine-tuning (None when ``pretrain=False``).
    history_ : dict of lists
        Per fine-tuning epoch: ``epoch``, ``phase`` ("output" or "network"), ``loss`` and
        ``train_error`` (means over the epoch's mini-batches, with dropout active),
        ``validation_error`` (only when ``validation_fraction > 0``), ``learning_rate``, ``time``.
    stopping_ : dict
        When and why fine-tuning stopped: ``epochs_run``, ``planned_epochs``, ``best_epoch``
        (with a validation split: the epoch whose weights were kept), ``stopped_early``,
        ``reason`` in words.
    n_iter_ : int
        Epochs of whole-network fine-tuning actually run (counted on over ``warm_start`` fits
        and ``partial_fit`` calls).
    t_ : int
        Training rows seen by whole-network fine-tuning (``n_iter_`` times the rows per epoch).
    loss_ : float
        Mean cross-entropy of the last whole-network fine-tuning epoch.
    loss_curve_ : list of float
        Mean cross-entropy of every whole-network fine-tuning epoch (``n_iter_`` entries).
    best_loss_ : float or None
        The lowest of ``loss_curve_``; None with a validation split, as in MLPClassifier.
    validation_scores_ : list of float or None
        Validation accuracy of every whole-network epoch; None without a validation split.
    best_validation_score_ : float or None
        The best of ``validation_scores_`` (whose weights were kept).
    n_layers_ : int
        Layers including input and output.
    n_outputs_ : int
        Output units: one per class.
    out_activation_ : str
        "softmax".
    n_features_in_ : int

    References
    ----------
    Hinton, G. E. & Salakhutdinov, R. R. (2006). Reducing the dimensionality of data with
    neural networks. Science 313, 504-507.
    Srivastava, N. et al. (2014). Dropout: a simple way to prevent neural networks from
    overfitting. JMLR 15, 1929-1958.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import DBNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DBNClassifier((64,), pretrain_n_iter=2, n_iter=2, random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints = {
        **FineTunedNet._parameter_constraints,
        "hidden_layer_sizes": [Count(1), list, tuple, np.ndarray],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "output_n_iter": [Count(0)],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(500,),
        *,
        visible="bernoulli",
        pretrain=True,
        pretrain_n_iter="auto",
        pretrain_learning_rate="auto",
        pretrain_momentum=0.5,
        pretrain_weight_decay=0.0,
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
        warm_start=False,
        random_state=None,
        device="auto",
        precision="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.pretrain = pretrain
        self.pretrain_n_iter = pretrain_n_iter
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_momentum = pretrain_momentum
        self.pretrain_weight_decay = pretrain_weight_decay
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
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def _validate_fit_data(self, X, y, classes=None):
        try:
            n_X, n_y = _num_samples(X), _num_samples(y)
        except TypeError:
            n_X = n_y = None  # let validate_data explain what is wrong
        if n_X is not None and n_X != n_y:
            raise ValueError(f"y has {n_y} labels but X has {n_X} rows; pass one label per row.")
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=(np.float64, np.float32))
        check_classification_targets(y)
        if classes is None:
            self.classes_, y = np.unique(y, return_inverse=True)
        else:
            self.classes_ = np.unique(classes)
            y = class_indices(y, self.classes_)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y contains only one class ({self.classes_[0]}); a classifier needs at least "
                "two: pass labels from two or more classes."
            )
        sizes = hidden_sizes(self.hidden_layer_sizes)
        if len(sizes) >= 2 and sizes[0] == X.shape[1] and sizes[-1] == len(self.classes_):
            warnings.warn(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} looks like a nolearn-style list "
                "with the input and output sizes included; DBNClassifier takes the hidden sizes "
                f"only, so this builds {'-'.join(map(str, [X.shape[1], *sizes, sizes[-1]]))}. "
                f"Use hidden_layer_sizes={tuple(sizes[1:-1])!r} for the net nolearn would build.",
                UserWarning,
                stacklevel=3,
            )
        if self.n_iter == 0 and self.output_n_iter == 0:
            raise ValueError("n_iter + output_n_iter must be at least 1 (got 0): set n_iter.")
        check_unit_range(X, self.visible)
        return X, y, sizes

    def _initial_layers(self, X, sizes, rng, callback):
        """(coefs, intercepts) of the hidden layers: from pretrained RBMs or at random."""
        self.dbn_ = None
        if self.pretrain:
            self.dbn_ = self._pretrain(X, [X.shape[1], *sizes], "bernoulli", rng, callback)
            coefs = [rbm.components_.T for rbm in self.dbn_.rbms_]
            return coefs, [rbm.intercept_hidden_ for rbm in self.dbn_.rbms_]
        fan_in = [X.shape[1], *sizes[:-1]]
        layers = [ft.glorot(rng, n_in, n_out, True) for n_in, n_out in zip(fan_in, sizes)]
        return [W for W, _ in layers], [b for _, b in layers]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, callback=None):
        """Pretrain (unless ``pretrain=False``), then fine-tune on the labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Any labels scikit-learn accepts (ints, strings, ...), at least two classes.
        callback : callable, optional
            ``callback(clf, stage, epoch)`` after every epoch (0-based) of every stage: while
            RBM ``i`` is pretrained ``stage`` is ``i`` and ``clf.dbn_`` is the stack so far;
            then ``stage`` is "output" or "network" and ``coefs_``, ``intercepts_`` and
            ``predict`` reflect the weights of that epoch. For snapshots and training videos.

        Returns
        -------
        self : DBNClassifier
        """
        if self.warm_start and hasattr(self, "coefs_"):
            return self._go_on(X, y, self.n_iter, callback)
        return self._fit_new(X, y, callback)

    def _fit_new(self, X, y, callback, classes=None, n_iter=None):
        """Pretrain, add the softmax layer and fine-tune for ``n_iter`` (default ``self.n_iter``)
        epochs; ``classes`` (for ``partial_fit``) fixes the labels, and then no rows are held
        out for validation."""
        with limit_threads(self.n_jobs):
            X, y, sizes = self._validate_fit_data(X, y, classes)
            n_classes = len(self.classes_)
            self._check_memory(list(zip([X.shape[1], *sizes], [*sizes, n_classes])), X.shape[0])
            rng = self._rng = check_random_state(self.random_state)
            device = resolve_device(self.device)
            X_val = y_val = None
            if self.validation_fraction > 0 and classes is None:
                X, X_val, y, y_val = split_off(X, y, self.validation_fraction, rng)
            coefs, intercepts = self._initial_layers(X, sizes, rng, callback)
            W_out, b_out = ft.glorot(rng, sizes[-1], len(self.classes_), False)
            weights = ft.as_parameters([*coefs, W_out], device)
            biases = ft.as_parameters([*intercepts, b_out], device)
            source = RandomSource(rng, device)
            self.history_ = ft.new_history("train_error", X_val is not None)
            self.n_iter_ = self.t_ = 0
            self.stopping_ = self._optimizer_state = None
            n_iter = self.n_iter if n_iter is None else n_iter
            self._fine_tune(X, y, X_val, y_val, weights, biases, source, callback, n_iter, self.output_n_iter)
            self.coefs_, self.intercepts_ = ft.to_arrays(weights), ft.to_arrays(biases)
            return self

    def _fine_tune(self, X, y, X_val, y_val, weights, biases, source, callback, n_iter, output_n_iter):
        """``output_n_iter`` epochs of the softmax layer, then ``n_iter`` of the whole network,
        added to ``history_``, ``n_iter_`` and ``t_``."""
        device = weights[0].device
        data, labels = ft.Rows(X, device), torch.as_tensor(y, device=device)
        hidden = list(zip(weights[:-1], biases[:-1]))

        def features(x, train):  # (B, n_features) -> (B, last hidden size)
            h = ft.dropout(x, self.input_dropout, source) if train else x
            for W, b in hidden:
                h = ft.layer_forward(h, W, b, "sigmoid")
                h = ft.dropout(h, self.dropout, source) if train else h
            return h

        def logits(h):  # (B, last hidden size) -> (B, n_classes)
            return ft.layer_forward(h, weights[-1], biases[-1], "linear")

        def logits_loss(h, rows):
            z, target = logits(h), labels[rows]
            return F.cross_entropy(z, target), (z.argmax(1) != target).sum()

        evaluate = None
        if X_val is not None:
            val_data, val_labels = ft.Rows(X_val, device), torch.as_tensor(y_val, device=device)

            def evaluate():
                predicted = val_data.map(lambda x: logits(features(x, False)).argmax(1))
                return (predicted != val_labels).float().mean()

        common = dict(evaluate=evaluate, history=self.history_, metric="train_error",
                      name=type(self).__name__, verbose=self.verbose)
        # Weights from Gaussian visible units scale with the data: the blow-up check skips them.
        watched = weights[1:] if self.visible == "gaussian" else weights
        if output_n_iter:
            with torch.no_grad():  # (n_samples, last hidden size), computed once
                top = data.map(lambda x: features(x, False))
            self.stopping_ = ft.train(
                [weights[-1]], [biases[-1]],
                lambda rows: logits_loss(ft.dropout(top[rows], self.dropout, source), rows),
                len(y), self._settings(output_n_iter, len(y), [weights[-1]]), source, phase="output",
                on_epoch=ft.snapshot_hook(self, callback, "output", weights, biases),
                blow_up=blowup.classification_check([weights[-1]], len(self.classes_)), **common,
            )
            del top
        if n_iter:
            settings = self._settings(n_iter, len(y), weights)
            optimizer = ft.make_optimizer(settings, weights, biases)
            if self._optimizer_state is not None:  # partial_fit goes on where it stopped
                optimizer.load_state_dict(self._optimizer_state)
            self.stopping_ = ft.train(
                weights, biases, lambda rows: logits_loss(features(data.take(rows), True), rows),
                len(y), settings, source, phase="network", optimizer=optimizer,
                on_epoch=ft.snapshot_hook(self, callback, "network", weights, biases),
                blow_up=blowup.classification_check(watched, len(self.classes_)), **common,
            )
            self._optimizer_state = optimizer.state_dict()
            self.n_iter_ += self.stopping_["epochs_run"]
            self.t_ += self.stopping_["epochs_run"] * len(y)

    # ------------------------------------------------------------- inference
    def predict_proba(self, X):
        """Class probabilities from the softmax layer.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), columns in the order of ``classes_``
        """
        with limit_threads(self.n_jobs):
            check_is_fitted(self)
            X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=(np.float64, np.float32))
            X = clip_unit_range(X, self.visible)
            device, dtype = resolve_device(self.device), ft.torch_dtype(X)
            weights = [to_tensor(W, device, dtype) for W in self.coefs_]
            biases = [to_tensor(b, device, dtype) for b in self.intercepts_]

            def forward(h):
                for W, b in zip(weights[:-1], biases[:-1]):
                    h = ft.layer_forward(h, W, b, "sigmoid")
                return torch.softmax(ft.layer_forward(h, weights[-1], biases[-1], "linear"), dim=1)

            return ft.predict_in_batches(forward, X, device).astype(np.float64)

    # ------------------------------------------------------------ model files
    def _get_state(self):
        arrays, state = super()._get_state()
        # Labels go in the JSON description: numbers and strings both survive it.
        state["classes_"], state["classes_dtype"] = self.classes_.tolist(), self.classes_.dtype.str
        state["t_"] = int(self.t_)
        return arrays, state

    def _set_state(self, saved):
        self.t_ = saved.integer("t_", default=None)  # absent from files of deepbelief 0.1.0
        self._optimizer_state = None
        return super()._set_state(saved)

    def _saved_shapes(self, saved):
        """The layers in a file: a chain from the features to one output per class."""
        saved.check_params(lambda: hidden_sizes(self.hidden_layer_sizes))
        shapes = chain_shapes(saved, self.n_features_in_, min_layers=2)
        self.classes_ = read_classes(saved, shapes[-1][1])
        return shapes

    def _pretrained_widths(self):
        return [W.shape[1] for W in self.coefs_[:-1]]

