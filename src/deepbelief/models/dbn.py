"""The Deep Belief Network: a stack of RBMs trained greedily, one layer at a time."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._core.backend import DEVICE_CONSTRAINT, check_unit_range, clip_unit_range
from .._core.batches import as_stream, check_stream, is_streamed
from .._core.counts import Count, is_count
from .._core.precision import RBM_PRECISIONS
from .._core.rbm_math import STACKED_UNIT_TYPES as UNIT_TYPES
from . import likelihood
from ._dbn_training import PER_LAYER, DBNTrainingMixin
from ._layers import expand_per_layer, layer_sizes
from ._sampling import DBNSamplingMixin
from ._stacking import UPPER_INITS
from .modelfile import SaveLoadMixin, register
from .rbm import RBM


@register
class DBN(DBNTrainingMixin, DBNSamplingMixin, ClassNamePrefixFeaturesOutMixin, SaveLoadMixin,
          TransformerMixin, BaseEstimator):
    """Deep Belief Network: RBMs stacked and trained greedily, layer by layer.

    RBM ``i`` is trained on E[h | v] of RBM ``i - 1`` applied to the data (Hinton, Osindero & Teh
    2006), or on binary states drawn from it (``propagate="sample"``). ``transform`` maps data
    to the top layer, ``reconstruct`` goes up and back down, ``sample`` draws from the model.
    It takes dense arrays, memmaps and scipy.sparse matrices or arrays, keeps float32 and
    float64 (other input becomes float64), names its outputs ``dbn0, dbn1, ...``
    (``get_feature_names_out``) and gives pandas output after ``set_output(transform="pandas")``.

    Parameters
    ----------
    layers : sequence of int, default=(None, 256, 256)
        Layer sizes, input first: ``[784, 500, 500, 2000]`` is three RBMs 784-500, 500-500 and
        500-2000. ``layers[0]`` must equal the number of features of X; ``None`` there means
        "whatever X has". Stored as given.
    visible : {"bernoulli", "gaussian"}, default="bernoulli"
        Input units of the first RBM. Bernoulli units need data in [0, 1]; Gaussian units need
        standardized data. Every higher RBM's visible units are the hidden units below it.
    hidden : {"bernoulli", "gaussian"} or list of them, default="bernoulli"
        Hidden units of each RBM. ``["bernoulli", "bernoulli", "gaussian"]`` gives a linear top
        layer, as in a deep autoencoder.
    learning_rate : float, "auto" or list, default="auto"
        Step size of each RBM. "auto" is 0.1 for an RBM with Bernoulli units on both sides and
        0.001 when either side is Gaussian.
    n_iter : int, "auto" or list, default="auto"
        Epochs of each RBM. "auto" counts updates: about 3,000, within 10 to 200 epochs (200 for
        1,000 images, 30 for 10,000, 10 for 60,000 at batch 100).
    momentum : float, (float, float) or list, default=0.5
        Momentum of each RBM; a tuple ``(start, end)`` is a linear ramp used by every RBM, and a
        list gives one momentum (or ramp) per RBM.
    weight_decay : float or list of float, default=0.0
        Weight penalty of each RBM.
    method : {"cd", "pcd"} or list of them, default="cd"
        Training method of each RBM; see :class:`~deepbelief.RBM`.
    k : int or list of int, default=1
        Gibbs steps per update of each RBM.
    learning_rate_decay : float, "linear" or list of them, default=1.0
        Learning-rate schedule of each RBM; see :class:`~deepbelief.RBM`.
    batch_size, penalty
        Shared by every RBM; see :class:`~deepbelief.RBM`.
    propagate : {"mean", "sample"}, default="mean"
        What each upper RBM is trained on: "mean", the hidden probabilities E[h | v] of the RBM
        below (Hinton et al. 2006); "sample", binary hidden states drawn from them, a new
        draw in every epoch and through every layer below (h1 ~ q(h1 | v), h2 ~ q(h2 | h1),
        ...). "sample" trains the upper RBMs on the distribution that the generative model
        and its variational bound on log p(v) use; for the 784-500-2000 MNIST network it gave
        a better bound (``bench/dbn_likelihood.py``). Features for a classifier are
        computed with E[h | v] either way.
    upper_init : {"random", "transpose"}, default="random"
        How each upper RBM starts: small random weights, or (``"transpose"``) as the RBM below
        it turned over, its weights transposed and biases swapped, with any further hidden
        units at small random weights (it needs at least as many hidden units as the RBM below
        has visible units). Then its prior over the layer below starts as that RBM's own, so
        the variational bound starts at the lower RBM's log-likelihood (Hinton, Osindero & Teh
        2006, section 4) and training improves from there.
    warm_start : bool, default=False
        If True, ``fit`` on a fitted DBN keeps its bottom RBMs that match the new ``layers``
        (sizes and unit types) and trains only the RBMs above them: grow a network one layer
        at a time, or try several upper layers on one trained bottom RBM.
    random_state : int, RandomState instance or None, default=None
        Seeds every RBM; the same seed gives the same stack on CPU.
    device : {"auto", "cpu", "cuda"}, default="auto"
    precision : {"auto", "float32", "bfloat16", "int8"}, default="auto"
        dtype of the matrix products during training (weights and their updates stay
        float32; prediction computes in float32). "int8": see :class:`~deepbelief.RBM`.
        "auto" is bfloat16 where it is faster: on
        CPUs with AVX-512 BF16 or AMX when a batch's products average at least 3 million
        multiply-adds (``batch_size x n_in x n_out``: 784 -> 500 layers at batch 10 or more;
        smaller ones train slower in bfloat16), and on CUDA GPUs that support it; else float32.
    n_jobs : int or None, default=None
        Threads torch may use during ``fit`` and prediction (-1: all CPUs), restored afterwards.
        None leaves torch's setting alone (inside a joblib or dask worker: the worker's share).
    verbose : int, default=0
        0 is silent; 1 shows a progress bar per RBM; 2 also prints a line per epoch.

    Any per-RBM setting given as a list must have one entry per RBM (``len(layers) - 1``).

    Attributes
    ----------
    rbms_ : list of RBM
        The fitted RBMs, bottom first.
    history_ : list of dict
        ``history_[i]`` is ``rbms_[i].history_`` (per-epoch reconstruction error, time, ...).
    layer_sizes_ : list of int
        ``layers`` with ``None`` resolved.
    n_features_in_ : int

    References
    ----------
    Hinton, G. E., Osindero, S. & Teh, Y. (2006). A fast learning algorithm for deep belief nets.
    Neural Computation 18, 1527-1554.

    Examples
    --------
    >>> import numpy as np
    >>> from deepbelief import DBN
    >>> X = np.random.RandomState(0).rand(60, 16)
    >>> dbn = DBN([16, 8, 4], n_iter=2, random_state=0).fit(X)
    >>> dbn.transform(X).shape, dbn.reconstruct(X).shape
    ((60, 4), (60, 16))
    """

    _parameter_constraints = {
        "layers": [list, tuple, np.ndarray],
        "visible": [StrOptions(set(UNIT_TYPES))],
        "hidden": [StrOptions(set(UNIT_TYPES)), list, tuple],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), list, tuple
        ],
        "n_iter": [Count(1), StrOptions({"auto"}), list, tuple],
        "momentum": [Interval(Real, 0, 1, closed="left"), list, tuple],
        "weight_decay": [Interval(Real, 0, None, closed="left"), list, tuple],
        "method": [StrOptions({"cd", "pcd"}), list, tuple],
        "k": [Count(1), list, tuple],
        "batch_size": [Count(1)],
        "penalty": [StrOptions({"l2", "l1"})],
        "learning_rate_decay": [
            Interval(Real, 0, 1, closed="right"), StrOptions({"linear"}), list, tuple
        ],
        "propagate": [StrOptions({"mean", "sample"})],
        "upper_init": [StrOptions(set(UPPER_INITS))],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": DEVICE_CONSTRAINT,
        "precision": [StrOptions(set(RBM_PRECISIONS))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        layers=(None, 256, 256),
        *,
        visible="bernoulli",
        hidden="bernoulli",
        learning_rate="auto",
        n_iter="auto",
        momentum=0.5,
        weight_decay=0.0,
        method="cd",
        k=1,
        batch_size=100,
        penalty="l2",
        learning_rate_decay=1.0,
        propagate="mean",
        upper_init="random",
        warm_start=False,
        random_state=None,
        device="auto",
        precision="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.layers = layers
        self.visible = visible
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.method = method
        self.k = k
        self.batch_size = batch_size
        self.penalty = penalty
        self.learning_rate_decay = learning_rate_decay
        self.propagate = propagate
        self.upper_init = upper_init
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, callback=None):
        """Train the RBMs bottom-up, each on the hidden means (or states) of the one below.

        Parameters
        ----------
        X : {array-like, sparse matrix} or np.memmap of shape (n_samples, n_features)
            A memmap of float data is streamed as in ``RBM.fit``; each upper RBM then gets
            every batch carried up through the fitted RBMs below, so no layer's activations
            are stored. The first RBM equals the in-memory one bit for bit; the upper ones
            differ by float rounding (a row's products and sigmoid may round its last bit
            differently in a batch than in the whole matrix): about 1e-7 in the weights.
            Sparse X trains the first RBM one densified batch at a time (bit for bit the
            dense model); the RBMs above it train on its dense hidden means, computed a
            block of rows at a time (so equal to the dense ones up to that rounding).
        y : ignored
        callback : callable, optional
            Called as ``callback(dbn, layer_index, epoch)`` after every epoch of every RBM
            (both 0-based). ``dbn.rbms_`` then holds the RBMs up to and including the one in
            training, so ``dbn.transform`` and ``dbn.reconstruct`` work on the current state.

        Returns
        -------
        self : DBN
        """
        if is_streamed(X) and not sp.issparse(X):
            # A memmap stays on disk: checked in chunks, and each upper RBM gets every batch
            # carried up through the fitted RBMs below it (LiftedRows) instead of a matrix.
            X = as_stream(X)
            validate_data(self, X, skip_check_array=True)
            self.layer_sizes_ = layer_sizes(self.layers, X.shape[1])
            check_stream(X, self.visible)
        else:
            X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32))
            self.layer_sizes_ = layer_sizes(self.layers, X.shape[1])
            check_unit_range(X, self.visible)
        self._fit_stack(X, callback)
        return self

    # ------------------------------------------------------------- inference
    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=(np.float64, np.float32))
        return clip_unit_range(X, self.visible)

    @property
    def _n_features_out(self):
        """Columns of ``transform``, for ``get_feature_names_out`` ("dbn0", "dbn1", ...)."""
        return self.layer_sizes_[-1]

    def _n_layers(self, n_layers):
        n = len(self.rbms_)
        if n_layers is None:
            return n
        if not (is_count(n_layers, 1) and n_layers <= n):
            raise ValueError(f"n_layers must be an integer from 1 to {n} (the number of RBMs), "
                             f"got {n_layers!r}.")
        return int(n_layers)

    def layer_activations(self, X, n_layers=None):
        """Hidden means E[h | v] of every layer on the way up.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is densified a block of rows at a time by the first RBM.
        n_layers : int, optional
            Stop after this many RBMs (default: all).

        Returns
        -------
        activations : list of ndarray
            ``activations[i]`` has shape (n_samples, layer_sizes_[i + 1]).
        """
        H = self._check_X(X)
        activations = []
        for rbm in self.rbms_[: self._n_layers(n_layers)]:
            H = rbm.transform(H)
            activations.append(H)
        return activations

    def transform(self, X):
        """Top-layer hidden means.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        H : ndarray of shape (n_samples, layer_sizes_[-1])
            float32 for float32 ``X``, else float64.
        """
        return self.layer_activations(X)[-1]

    def inverse_transform(self, H, n_layers=None):
        """Down pass E[v | h] from layer ``n_layers`` (default: the top) to the data.

        Parameters
        ----------
        H : array-like of shape (n_samples, layer_sizes_[n_layers])

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        H = check_array(H, dtype=(np.float32, np.float64))
        for rbm in reversed(self.rbms_[: self._n_layers(n_layers)]):
            H = rbm.inverse_transform(H)
        return H

    def reconstruct(self, X, n_layers=None):
        """Up through the first ``n_layers`` RBMs (default: all) with E[h | v], then back down.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features)
        """
        n = self._n_layers(n_layers)
        return self.inverse_transform(self.layer_activations(X, n)[-1], n)

    def log_likelihood(self, X, n_samples=10, n_betas=None, n_runs=100, random_state=None):
        """Variational lower bound on the average log p(x) of binary ``X``, in nats per example
        (Salakhutdinov & Murray 2008): posterior samples up the stack, AIS for the top RBM's
        log Z. Bernoulli visible units only; binarize grey data first.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            0/1 data; sparse X is densified a block of rows at a time (only its stored values
            are checked to be 0 or 1) and gives the dense X's bound.
        n_samples : int, default=10
            Posterior samples per example.
        n_betas, n_runs, random_state
            As in ``RBM.log_partition``; AIS's base-rate model is X carried up.

        Returns
        -------
        float
        """
        check_is_fitted(self)
        return likelihood.dbn_log_likelihood_bound(self, X, n_samples=n_samples, n_betas=n_betas,
                                                   n_runs=n_runs, random_state=random_state,
                                                   verbose=self.verbose)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self.visible == "bernoulli"
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------ model files
    def _get_state(self):
        check_is_fitted(self)
        arrays, layers = {}, []
        for i, rbm in enumerate(self.rbms_):
            rbm_arrays, rbm_state = rbm._get_state()
            arrays.update({f"layers.{i}.{k}": v for k, v in rbm_arrays.items()})
            layers.append({"params": rbm.get_params(), "state": rbm_state})
        state = {
            "n_features_in_": int(self.n_features_in_),
            "layer_sizes_": self.layer_sizes_,
            "layers": layers,
        }
        return arrays, state

    def _set_state(self, saved):
        """Take the fitted RBMs from ``saved`` (a ``_file_checks.Saved``), checked to form
        this stack: each RBM's sizes those of ``layer_sizes_``, its visible units the hidden
        units below it, its settings those the DBN's parameters give."""
        n_features = saved.integer("n_features_in_", minimum=1)
        sizes = saved.sizes("layer_sizes_", min_length=2)
        n_rbms = len(sizes) - 1
        saved.check_params(lambda: layer_sizes(self.layers, n_features),
                           *(lambda name=name: expand_per_layer(name, getattr(self, name), n_rbms)
                             for name in PER_LAYER))
        if sizes[0] != n_features:
            saved.fail("n_features_in_", f"is {n_features} but layer_sizes_ starts with {sizes[0]}.")
        rbms = saved.models("layers", RBM)
        if len(rbms) != n_rbms:
            saved.fail("layers", f"holds {len(rbms)} RBMs but layer_sizes_ {sizes} needs {n_rbms}.")
        hidden = expand_per_layer("hidden", self.hidden, n_rbms)
        for i, rbm in enumerate(rbms):
            if rbm.components_.shape != (sizes[i + 1], sizes[i]):
                saved.fail(f"layers.{i}.components_", f"has shape {rbm.components_.shape} but "
                           f"layer_sizes_ {sizes} needs ({sizes[i + 1]}, {sizes[i]}).")
            units = (self.visible if i == 0 else rbms[i - 1].hidden, hidden[i])
            if (rbm.visible, rbm.hidden) != units:
                saved.fail(f"layers.{i}.params", f"has {rbm.visible} visible and {rbm.hidden} "
                           f"hidden units but the DBN needs {units[0]} and {units[1]} there.")
        self.rbms_ = rbms
        self.history_ = [rbm.history_ for rbm in self.rbms_]
        self.layer_sizes_ = sizes
        self.n_features_in_ = n_features
        return self
