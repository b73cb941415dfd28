"""The Deep Boltzmann Machine of Salakhutdinov & Hinton (2009) as a scikit-learn transformer."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import dbm_math as dm
from .._core import memory
from .._core.backend import DEVICE_CONSTRAINT, check_unit_range, clip_unit_range, is_binary, resolve_device
from .._core.batches import column_mean
from .._core.budget import resolve_n_iter
from .._core.cd import check_momentum
from .._core.counts import Count
from .._core.precision import PRECISIONS
from .._core.threads import limit_threads
from ._dbm_generative import DBMGenerativeMixin
from ._dbm_pretrain import pretrain
from ._dbm_training import DBMTrainingMixin
from ._layers import expand_per_layer, layer_sizes
from .likelihood import _check_binary
from .modelfile import SaveLoadMixin, random_state_to_saved, register

PRETRAIN_SETTINGS = {"pretrain_n_iter": "n_iter", "pretrain_learning_rate": "learning_rate",
                     "pretrain_momentum": "momentum", "pretrain_weight_decay": "weight_decay"}
# What joint training appends to every epoch: a loaded model's record must have them to resume.
HISTORY_KEYS = ("epoch", "reconstruction_error", "time", "learning_rate", "momentum")


def check_dbm_layers(sizes):
    """A DBM has at least two hidden layers (one is an RBM)."""
    if len(sizes) < 3:
        raise ValueError(
            f"layers has {len(sizes) - 1} hidden layer but a DBM needs at least two, "
            "e.g. (None, 500, 1000); for one hidden layer use RBM."
        )


@register
class DBM(DBMTrainingMixin, DBMGenerativeMixin, SaveLoadMixin, TransformerMixin, BaseEstimator):
    """Deep Boltzmann Machine: Bernoulli layers with connections between neighbours only,
    pretrained greedily and trained jointly (Salakhutdinov & Hinton 2009).

    Unlike a :class:`~deepbelief.DBN`, every hidden layer is undirected and gets input from below
    and from above, so inference is approximate: ``transform`` gives mean-field posteriors.
    Training has two phases. Pretraining fits one RBM per pair of layers with the input a layer
    will get from its missing neighbour stood in for by doubling the other (the bottom RBM
    counts the pixels twice going up, the top RBM its hidden layer twice going down), and
    composes them. Joint training then follows the gradient of the variational bound on the
    log-likelihood: data statistics from mean field, model statistics from persistent Gibbs
    chains (fantasy particles), with momentum, weight decay and a learning rate going to 0.

    Parameters
    ----------
    layers : sequence of int, default=(None, 500, 1000)
        Layer sizes, input first, at least two hidden layers; ``None`` first means "as many as
        X has features". (784-500-1000 is the MNIST model of the paper.)
    pretrain : bool, default=True
        Greedy pretraining first; False starts joint training from small random weights.
    pretrain_n_iter : int, "auto" or list, default="auto"
        Epochs of each pretraining RBM ("auto": about 3,000 updates, within 10 to 200 epochs).
    pretrain_learning_rate : float or list, default=0.05
    pretrain_momentum : float, (float, float) or list, default=(0.5, 0.9)
        A number, or a (start, end) ramp over the epochs; a list gives one per RBM.
    pretrain_weight_decay : float or list, default=2e-4
    n_iter : int or "auto", default="auto"
        Epochs of joint training ("auto": about 3,000 updates, within 10 to 200 epochs); 0
        keeps the composed pretrained model as it is.
    learning_rate : float, default=0.005
        Step size of joint training in the first epoch.
    learning_rate_decay : float or "linear", default="linear"
        "linear" lowers the step size in equal steps to 0 over ``n_iter`` epochs, which
        stochastic approximation needs to settle; a number multiplies it after every epoch.
    momentum : float or (float, float), default=(0.5, 0.9)
        Momentum of joint training, or a (start, end) ramp over the epochs.
    weight_decay : float, default=2e-4
        L2 penalty on the weights (not the biases) in joint training.
    batch_size : int, default=100
        Examples per update, in both phases.
    n_chains : int, default=100
        Persistent Gibbs chains (fantasy particles) for the model statistics.
    k : int, default=5
        Gibbs sweeps of the chains per update.
    n_mean_field : int, default=10
        Mean-field steps per posterior, in training and in ``transform`` and the scores; each
        step updates the odd hidden layers, then the even ones.
    sample_input : bool, default=False
        False reads grey data (values strictly between 0 and 1) as it is, as the positive
        phase's visible probabilities. True replaces every mini-batch by 0/1 draws, fresh each
        time it is used, in the bottom RBM's pretraining and in joint training, as in
        Salakhutdinov's DBM code: the model sees a new binarization every epoch, which keeps
        long training from overfitting (the paper's 300-epoch recipe) but slows short training
        (see the user guide). 0/1 data (checked once per ``fit``) trains the same either way.
    warm_start : bool, default=False
        If True, ``fit`` on a fitted model continues joint training (weights, momentum, chains)
        until ``n_iter`` epochs in total, without pretraining again.
    random_state : int, RandomState instance or None, default=None
    device : {"auto", "cpu", "cuda"}, default="auto"
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        dtype of the matrix products in training; weights and updates stay float32 and
        inference is float32. "auto": bfloat16 for large models on CPUs with AVX-512 BF16
        (see :class:`~deepbelief.RBM`).
    n_jobs : int or None, default=None
        Threads torch may use in ``fit`` and inference, restored afterwards.
    verbose : int, default=0
        1 shows progress bars; 2 also prints a line per epoch.

    Attributes
    ----------
    weights_ : list of ndarray
        ``weights_[l]`` joins layer l to l + 1, shape (layer_sizes_[l + 1], layer_sizes_[l]).
    biases_ : list of ndarray
        ``biases_[l]`` has shape (layer_sizes_[l],); ``biases_[0]`` is the visible bias.
    layer_means_ : list of ndarray
        Mean of the data and of each layer's mean-field posterior over the last epoch: the
        base-rate model of ``log_partition``.
    layer_sizes_ : list of int
    history_ : dict of lists
        Per joint-training epoch: ``epoch``, ``reconstruction_error`` (per pixel, of
        v -> q(h1) -> E[v | q(h1)]), ``time``, ``learning_rate``, ``momentum``.
    pretrain_history_ : list of dict
        The ``history_`` of each pretraining RBM (empty without pretraining).
    n_iter_ : int
        Joint-training epochs so far.
    n_features_in_ : int

    References
    ----------
    Salakhutdinov, R. & Hinton, G. E. (2009). Deep Boltzmann machines. AISTATS, 448-455.
    Salakhutdinov, R. (2008). Learning and evaluating Boltzmann machines. UTML TR 2008-002.

    Examples
    --------
    >>> import numpy as np
    >>> from deepbelief import DBM
    >>> X = (np.random.RandomState(0).rand(100, 16) > 0.5).astype(float)
    >>> dbm = DBM((None, 8, 4), pretrain_n_iter=2, n_iter=2, random_state=0).fit(X)
    >>> dbm.transform(X).shape, [q.shape for q in dbm.layer_activations(X)]
    ((100, 4), [(100, 8), (100, 4)])
    """

    _parameter_constraints = {
        "layers": [list, tuple, np.ndarray],
        "pretrain": ["boolean"],
        "pretrain_n_iter": [Count(1), StrOptions({"auto"}),
                            list, tuple],
        "pretrain_learning_rate": [Interval(Real, 0, None, closed="neither"), list, tuple],
        "pretrain_momentum": [Interval(Real, 0, 1, closed="left"), list, tuple],
        "pretrain_weight_decay": [Interval(Real, 0, None, closed="left"), list, tuple],
        "n_iter": [Count(0), StrOptions({"auto"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_decay": [Interval(Real, 0, 1, closed="right"), StrOptions({"linear"})],
        "momentum": [Interval(Real, 0, 1, closed="left"), tuple, list],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Count(1)],
        "n_chains": [Count(1)],
        "k": [Count(1)],
        "n_mean_field": [Count(1)],
        "sample_input": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": DEVICE_CONSTRAINT,
        "precision": [StrOptions(set(PRECISIONS))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        layers=(None, 500, 1000),
        *,
        pretrain=True,
        pretrain_n_iter="auto",
        pretrain_learning_rate=0.05,
        pretrain_momentum=(0.5, 0.9),
        pretrain_weight_decay=2e-4,
        n_iter="auto",
        learning_rate=0.005,
        learning_rate_decay="linear",
        momentum=(0.5, 0.9),
        weight_decay=2e-4,
        batch_size=100,
        n_chains=100,
        k=5,
        n_mean_field=10,
        sample_input=False,
        warm_start=False,
        random_state=None,
        device="auto",
        precision="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.layers = layers
        self.pretrain = pretrain
        self.pretrain_n_iter = pretrain_n_iter
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_momentum = pretrain_momentum
        self.pretrain_weight_decay = pretrain_weight_decay
        self.n_iter = n_iter
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.n_chains = n_chains
        self.k = k
        self.n_mean_field = n_mean_field
        self.sample_input = sample_input
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, callback=None):
        """Pretrain (unless ``pretrain=False`` or warm-starting), then train jointly.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values in [0, 1]: binary data, or grey levels read as probabilities. scipy.sparse
            data (any format; CSR is used) is never densified whole: pretraining and joint
            training densify one mini-batch at a time, inference a block of rows.
        y : ignored
        callback : callable, optional
            Called as ``callback(self, epoch)`` after every joint-training epoch (0-based),
            with the fitted attributes of that epoch (for snapshots).

        Returns
        -------
        self : DBM
        """
        check_momentum(self.momentum)
        resume = self.warm_start and hasattr(self, "weights_")
        X = self._validate_X(X, reset=not resume, fitting=True)
        self._sample_batches = self.sample_input and not is_binary(X)
        with limit_threads(self.n_jobs):
            if not resume:
                self.layer_sizes_ = layer_sizes(self.layers, X.shape[1])
                check_dbm_layers(self.layer_sizes_)
                training = self.n_iter != 0  # n_iter=0 only initialises: no chains, no batches
                memory.check_fits(
                    memory.dbm_bytes(self.layer_sizes_, self.batch_size, X.shape[0] * training,
                                     self.n_chains * training, self.precision),
                    f"DBM(layers={self.layer_sizes_}, batch_size={self.batch_size}, n_chains="
                    f"{self.n_chains})", "its weights, momentum, chains and batches",
                    "use fewer or smaller layers, a smaller batch_size or fewer n_chains",
                    resolve_device(self.device),
                )
                self.random_state_ = check_random_state(self.random_state)
                self._init_params(X)
            planned = resolve_n_iter(self.n_iter, X.shape[0], self.batch_size)
            if planned > self.n_iter_:
                self._train(X, planned - self.n_iter_, callback, planned)
        return self

    def _init_params(self, X):
        sizes, n_rbms = self.layer_sizes_, len(self.layer_sizes_) - 1
        self.pretrain_history_ = []
        if self.pretrain:
            settings = self._pretrain_settings(n_rbms)
            per_rbm = [{key: values[i] for key, values in settings.items()} for i in range(n_rbms)]
            seeds = [int(self.random_state_.randint(np.iinfo(np.int32).max)) for _ in range(n_rbms)]
            weights, biases, rbms = pretrain(self, X, sizes, per_rbm, seeds,
                                             sample_input=self._sample_batches)
            self.pretrain_history_ = [rbm.history_ for rbm in rbms]
        else:  # Hinton's guide: N(0, 0.01^2) weights, visible biases at the pixel log-odds
            weights = [self.random_state_.normal(0.0, 0.01, (n_out, n_in)).astype(np.float32)
                       for n_in, n_out in zip(sizes[:-1], sizes[1:])]
            p = np.clip(column_mean(X), 0.01, 0.99)
            biases = [np.log(p / (1 - p)).astype(np.float32)]
            biases += [np.zeros(n, dtype=np.float32) for n in sizes[1:]]
        self.weights_, self.biases_ = weights, biases
        self.n_features_in_ = X.shape[1]
        # Until joint training records them: the data's and its posteriors' means (some rows).
        rows = X[:10_000]
        means = [column_mean(rows),
                 *(np.mean(q, axis=0, dtype=np.float64) for q in self.layer_activations(rows))]
        self.layer_means_ = [m.astype(np.float32) for m in means]
        self._velocity = self._chains = None
        self.history_ = {"epoch": [], "reconstruction_error": [], "time": [], "learning_rate": [],
                         "momentum": []}
        self.n_iter_ = 0

    # ------------------------------------------------------------- inference
    def _validate_X(self, X, reset=False, fitting=False, binary=False):
        """Training data must lie in [0, 1], scored data be 0/1; other new data is clipped.
        Sparse data stays sparse (CSR); its checks read the stored values."""
        X = validate_data(self, X, reset=reset, accept_sparse="csr", dtype=(np.float32, np.float64))
        if binary:
            _check_binary(X, "bernoulli")
        if fitting:
            check_unit_range(X, "bernoulli")
        return X if fitting or binary else clip_unit_range(X, "bernoulli")

    def _check_X(self, X):
        check_is_fitted(self)
        return self._validate_X(X)

    def layer_activations(self, X):
        """Mean-field posteriors q(h_l = 1 | x) of every hidden layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is densified a block of rows at a time.

        Returns
        -------
        activations : list of ndarray
            ``activations[l]`` has shape (n_samples, layer_sizes_[l + 1]), dtype of ``X``.
        """
        X = self._check_X(X)
        chunks = [[to_array(mu) for mu in mus[1:]] for mus, _, _ in self._mean_field_rows(X)]
        return [np.concatenate(layer).astype(X.dtype, copy=False) for layer in zip(*chunks)]

    def transform(self, X):
        """Mean-field posterior of the top layer, q(h_L = 1 | x).

        All layers' posteriors come from ``layer_activations``. The top layer is the one a DBN's
        ``transform`` also returns; in a DBM it already carries what the layers below inferred.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        H : ndarray of shape (n_samples, layer_sizes_[-1])
        """
        return self.layer_activations(X)[-1]

    def reconstruct(self, X):
        """E[v | q(h1)]: the pixels the first layer's mean-field posterior predicts.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features)
        """
        X = self._check_X(X)
        parts = [to_array(torch.sigmoid_(dm.layer_input([None, mus[1]], w[:1], b[:1], 0)))
                 for mus, w, b in self._mean_field_rows(X)]
        return np.concatenate(parts).astype(X.dtype, copy=False)

    def __sklearn_is_fitted__(self):
        # not merely random_state_ or layer_sizes_: a fit that failed in pretraining sets those
        return hasattr(self, "weights_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------ model files
    def _get_state(self):
        check_is_fitted(self)
        arrays = {}
        for name in ("weights_", "biases_", "layer_means_"):
            arrays.update({f"{name}.{i}": a for i, a in enumerate(getattr(self, name))})
        for name, values in (("velocity", self._velocity), ("chains", self._chains)):
            arrays.update({f"{name}.{i}": a for i, a in enumerate(values or [])})
        keys, rng_info = random_state_to_saved(self.random_state_)
        arrays["random_state_.keys"] = keys
        state = {"n_features_in_": int(self.n_features_in_), "n_iter_": int(self.n_iter_),
                 "layer_sizes_": self.layer_sizes_, "history_": self.history_,
                 "pretrain_history_": self.pretrain_history_, "random_state_": rng_info}
        return arrays, state

    def _set_state(self, saved):
        """Take the fitted state from ``saved`` (a ``_file_checks.Saved``): weights, biases,
        base rates, momentum buffers and chains, each checked against ``layer_sizes_``."""
        n_features = saved.integer("n_features_in_", minimum=1)
        sizes = saved.sizes("layer_sizes_", min_length=3)
        n_rbms = len(sizes) - 1
        saved.check_params(lambda: check_dbm_layers(layer_sizes(self.layers, n_features)),
                           lambda: check_momentum(self.momentum),
                           lambda: self.pretrain and self._pretrain_settings(n_rbms))
        if sizes[0] != n_features:
            saved.fail("n_features_in_", f"is {n_features} but layer_sizes_ starts with {sizes[0]}.")
        pairs = [(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        layers = [(n,) for n in sizes]
        self.weights_ = saved.array_list("weights_", pairs, means=f"the layer sizes {sizes}")
        self.biases_ = saved.array_list("biases_", layers, means=f"the layer sizes {sizes}")
        self.layer_means_ = saved.array_list("layer_means_", layers,
                                             means=f"a mean per unit of the layers {sizes}")
        for i, mean in enumerate(self.layer_means_):
            if mean.min() < 0 or mean.max() > 1:
                saved.fail(f"layer_means_.{i}", "must hold means of units in [0, 1].")
        self._velocity = saved.optional_array_list(
            "velocity", pairs + layers, means="momentum buffers shaped as weights_, then biases_")
        first = saved.optional_array("chains.0", (None, sizes[0]),
                                     means="one row per chain, one column per visible unit")
        rows = None if first is None else len(first)
        self._chains = saved.optional_array_list(
            "chains", [(rows, n) for n in sizes],
            means=f"{rows} chains (as in chains.0) by the units of the layers {sizes}")
        self.random_state_ = saved.random_state()
        self.layer_sizes_, self.n_features_in_ = sizes, n_features
        self.n_iter_ = saved.integer("n_iter_")
        self.history_ = saved.history("history_", HISTORY_KEYS)
        self.pretrain_history_ = saved.history_list("pretrain_history_", ())
        return self

    def _pretrain_settings(self, n_rbms):
        """The ``pretrain_*`` settings of each of ``n_rbms`` RBMs, checked."""
        settings = {key: expand_per_layer(name, getattr(self, name), n_rbms)
                    for name, key in PRETRAIN_SETTINGS.items()}
        for momentum in settings["momentum"]:
            check_momentum(momentum)
        return settings


def to_array(tensor):
    """A float32 NumPy copy of a tensor (float64 tensors stay float64)."""
    return tensor.detach().cpu().numpy().copy()
