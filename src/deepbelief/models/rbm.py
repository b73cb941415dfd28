"""The Restricted Boltzmann Machine as a scikit-learn transformer computed with PyTorch."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from .._core import memory
from .._core import rbm_math as m
from .._core.backend import DEVICE_CONSTRAINT, resolve_device, to_numpy, to_tensor
from .._core.batches import column_mean
from .._core.budget import AUTO_MIN_EPOCHS as PARTIAL_FIT_AUTO
from .._core.budget import resolve_n_iter
from .._core.cd import check_momentum
from .._core.counts import Count
from .._core.distributed import parallel_size
from .._core.precision import RBM_PRECISIONS, check_int8
from .._core.threads import limit_threads
from ._generative import GenerativeMixin
from ._rbm_file import RBMFileMixin
from ._rbm_rows import RBMRowsMixin
from ._rbm_training import RBMTrainingMixin
from .modelfile import register


@register
class RBM(
    ClassNamePrefixFeaturesOutMixin, RBMTrainingMixin, RBMRowsMixin, GenerativeMixin, RBMFileMixin,
    TransformerMixin, BaseEstimator,
):
    """Restricted Boltzmann Machine trained with contrastive divergence (CD-k) or PCD.

    Code written for scikit-learn's ``BernoulliRBM`` runs on it: the same parameters
    (``n_components``, ``learning_rate``, ``batch_size``, ``n_iter``, ``verbose``,
    ``random_state``), attributes (``components_``, ``intercept_hidden_``,
    ``intercept_visible_``, ``h_samples_``) and methods (``fit``, ``partial_fit``,
    ``transform``, ``gibbs``, ``score_samples``, ``get_feature_names_out``, ``set_output``),
    on dense arrays and scipy.sparse matrices or arrays alike. The defaults differ
    (CD-1 with momentum 0.5, 500 hidden units, batches of 100, visible biases started at the
    data mean); ``RBM(method="pcd", momentum=0.0, batch_size=10, n_iter=10, n_components=256)``
    is BernoulliRBM's algorithm. Deliberate differences: Bernoulli visible units refuse
    training data outside [0, 1] (BernoulliRBM trains on anything), the weights are float32
    whatever the data's dtype, ``score_samples`` is the exact pseudo-log-likelihood, and
    ``gibbs`` returns 0/1 floats in X's dtype instead of booleans.

    Parameters
    ----------
    n_components : int, default=500
        Number of hidden units. (500 features give logistic regression 95.7% on 10,000 MNIST
        images where 256 give 94.8%; ``bench/defaults.py``.)
    visible : {"bernoulli", "gaussian", "spin"}, default="bernoulli"
        Visible units. Bernoulli units need data in [0, 1]; Gaussian units have unit variance,
        so standardize real-valued data first; spin units take -1 / +1 data (Ising
        configurations; training data must hold only those two values, new data may hold
        means in [-1, 1]).
    hidden : {"bernoulli", "gaussian", "spin"}, default="bernoulli"
        Hidden units. Gaussian (linear) hiddens suit the code layer of a deep autoencoder;
        spin hiddens (-1 / +1, mean tanh of the input) keep a spin model's symmetry
        under v -> -v when the biases are zero.
    method : {"cd", "pcd"}, default="cd"
        Contrastive divergence restarts the chains at the data; persistent CD keeps them running.
    k : int, default=1
        Gibbs steps per update.
    learning_rate : float, default=0.1
        Step size for the batch-averaged gradient. Gaussian units usually need about 0.001-0.01.
    batch_size : int, default=100
        Examples per update.
    n_iter : int or "auto", default="auto"
        Epochs (passes over the data); 0 initialises the model without training it, as in
        BernoulliRBM. "auto" counts updates instead, so small data sets get
        enough of them: about 3,000 updates, within 10 to 200 epochs (200 epochs for 1,000
        images, 30 for 10,000, 10 for 60,000 at batch 100). ``partial_fit`` takes "auto" as 10
        (it never sees the whole data).
    momentum : float or (float, float), default=0.5
        Momentum, or a (start, end) pair ramped linearly over the epochs (e.g. (0.5, 0.9)).
    weight_decay : float, default=0.0
        Penalty strength on the weights (not the biases).
    penalty : {"l2", "l1"}, default="l2"
        Kind of weight decay.
    learning_rate_decay : float or "linear", default=1.0
        The learning rate is multiplied by this after every epoch; "linear" lowers it in equal
        steps to 0 over the ``n_iter`` epochs (epoch e uses ``learning_rate * (1 - e / n_iter)``),
        which PCD needs to reach good likelihoods (``bench/rbm_likelihood.py``).
    warm_start : bool, default=False
        If True, ``fit`` on a fitted model continues from its weights, momentum buffers and chains
        until ``n_iter`` epochs have been trained in total: load an interrupted run's checkpoint,
        set ``warm_start=True`` and call ``fit`` again to finish it.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and sampling. The same seed gives the same model on CPU.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where to compute; "auto" uses a CUDA GPU when present.
    precision : {"auto", "float32", "bfloat16", "int8"}, default="auto"
        dtype of the matrix products during training; weights, momentum and gradient sums stay
        float32, and ``transform`` always computes in float32. "auto" is bfloat16 where it is
        faster: on CPUs with AVX-512 BF16 or AMX when ``batch_size x n_features x n_components``
        is at least 3 million (smaller RBMs train slower in bfloat16), and on CUDA GPUs that
        support it; else float32. On MNIST (784 -> 500, batch 100) bfloat16 made a CD-1
        epoch 1.4-1.6x faster than float32 here, with features as good for a logistic
        regression (bench/rbm_throughput.py, bench/defaults.py over three seeds). The same
        seed gives the same model on the same machine and precision; pass "float32" for the
        same model on machines with and without bfloat16 hardware. "int8" (Bernoulli units, CPU,
        never picked by "auto") rounds unit values and weights to 7 bits for products that run
        about twice as fast as bfloat16's on CPUs with VNNI (``_core/cd_int8.py``).
    n_jobs : int or None, default=None
        Threads torch may use during ``fit``, ``partial_fit`` and ``transform`` (-1: all CPUs);
        torch's setting is restored afterwards. None leaves it alone, which inside a joblib or
        dask worker means the worker's share of the cores. Set it when several fits share the
        cores in separate processes, e.g. ``n_jobs=1`` for two jobs on two cores.
    distributed : {"auto", True, False}, default="auto"
        Data-parallel training on ``torch.distributed`` (docs: "Training on several
        processes"). "auto": when ``fit`` runs inside an initialised process group of several
        ranks (``torchrun``, or ``torch.distributed.init_process_group``), every rank trains
        the one model on its shard of the rows (rows ``rank::world_size``), each update
        averaging the gradient over all ranks' batches: N ranks with ``batch_size`` B train as
        one process with batches of N x B, up to the random numbers, and end with the same
        model. Every rank must call ``fit`` with the same data and parameters. Outside a
        process group it trains alone. True: as "auto", but a missing process group is an
        error. False: train alone, ignoring any process group.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar; 2 also prints a line per epoch on stderr,
        ``[RBM] epoch 3: reconstruction error 0.01234, pseudo-likelihood -21.03, 0.52s``: what
        BernoulliRBM prints at any verbose level (the pseudo-likelihood only for Bernoulli
        visible units, the mean ``score_samples`` of up to 1,000 evenly spaced training rows;
        the time is the epoch's training alone).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights ``W``.
    intercept_hidden_ : ndarray of shape (n_components,)
    intercept_visible_ : ndarray of shape (n_features,)
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states sampled from the model's negative-phase chains, as BernoulliRBM's: for
        ``method="pcd"`` the persistent chains (``n_chains`` is ``batch_size``, or the number
        of rows when the first training call had fewer); for ``method="cd"`` the hidden states
        sampled at the end of the last batch's k-step chain (``n_chains`` rows of that batch).
        Zeros of shape (batch_size, n_components) before any update (``n_iter=0``) and for
        CD models loaded from files of deepbelief 0.1.0, which did not keep them.
    history_ : dict of lists
        Per epoch: ``epoch``, ``reconstruction_error`` (mean squared error per pixel of
        v -> h -> v), ``time`` (seconds), ``learning_rate``, ``momentum``; and
        ``batch_reconstruction_error`` (one list per epoch).
    n_features_in_ : int
    n_iter_ : int
        Epochs trained so far.
    pt_swap_rates_ : ndarray of shape (n_temperatures - 1,)
        Only after ``sample(method="pt")``: the fraction of proposed swaps accepted between
        neighbouring temperatures in the last such call (see ``sample``).

    References
    ----------
    Hinton, G. E. (2002). Training products of experts by minimizing contrastive divergence.
    Tieleman, T. (2008). Training RBMs using approximations to the likelihood gradient.
    Hinton, G. E. (2010). A practical guide to training restricted Boltzmann machines.

    Examples
    --------
    >>> from deepbelief import RBM
    >>> import numpy as np
    >>> X = (np.random.RandomState(0).rand(50, 16) > 0.5).astype(float)
    >>> rbm = RBM(n_components=8, n_iter=2, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (50, 8)
    """

    _parameter_constraints = {
        "n_components": [Count(1)],
        "visible": [StrOptions(set(m.UNIT_TYPES))],
        "hidden": [StrOptions(set(m.UNIT_TYPES))],
        "method": [StrOptions({"cd", "pcd"})],
        "k": [Count(1)],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Count(1)],
        "n_iter": [Count(0), StrOptions({"auto"})],
        "momentum": [Interval(Real, 0, 1, closed="left"), tuple, list],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"l2", "l1"})],
        "learning_rate_decay": [Interval(Real, 0, 1, closed="right"), StrOptions({"linear"})],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": DEVICE_CONSTRAINT,
        "precision": [StrOptions(set(RBM_PRECISIONS))],
        "n_jobs": [Integral, None],  # -1 or >= 1, checked by limit_threads
        "distributed": [StrOptions({"auto"}), "boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=500,
        *,
        visible="bernoulli",
        hidden="bernoulli",
        method="cd",
        k=1,
        learning_rate=0.1,
        batch_size=100,
        n_iter="auto",
        momentum=0.5,
        weight_decay=0.0,
        penalty="l2",
        learning_rate_decay=1.0,
        warm_start=False,
        random_state=None,
        device="auto",
        precision="auto",
        n_jobs=None,
        distributed="auto",
        verbose=0,
    ):
        self.n_components = n_components
        self.visible = visible
        self.hidden = hidden
        self.method = method
        self.k = k
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.penalty = penalty
        self.learning_rate_decay = learning_rate_decay
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.n_jobs = n_jobs
        self.distributed = distributed
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, callback=None):
        """Train from scratch for ``n_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} or np.memmap of shape (n_samples, n_features)
            Integers are taken as float64. A memmap (e.g. ``np.load(path, mmap_mode="r")``) of
            float data (in [0, 1] for bernoulli visibles) is streamed, never loaded: checks and
            the mean go through it in 4 MiB chunks, and each update reads its batch's rows from
            the file. Memory is then one batch, one chunk and the epoch's shuffled index (8
            bytes per row) besides the model, and the model equals the one trained on the same
            rows in memory, bit for bit. The rows are read in shuffled order: quick from the
            page cache, a seek per row from a cold disk. scipy.sparse data (any format; CSR is
            used, others are converted once) is densified one batch at a time, and gives the
            same model as the same rows dense, bit for bit.
        y : ignored
        callback : callable, optional
            Called as ``callback(self, epoch)`` after every epoch (for snapshots).

        Returns
        -------
        self : RBM
        """
        check_momentum(self.momentum)
        resume = self.warm_start and hasattr(self, "components_")
        X = self._validate_X(X, reset=not resume, fitting=True)
        check_int8(self.precision, (self.visible, self.hidden), (X.shape[1], self.n_components))
        self._check_memory(X)
        if not resume:
            self.random_state_ = check_random_state(self.random_state)
            self._init_params(X)
        # "auto" counts the updates, of batch_size rows on every rank of a data-parallel run.
        planned = resolve_n_iter(self.n_iter, X.shape[0], self.batch_size * parallel_size(self.distributed))
        if planned > self.n_iter_:
            with limit_threads(self.n_jobs):
                self._train(X, planned - self.n_iter_, callback, planned)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch over ``X``, initialising on the first call.

        A (start, end) momentum ramps over ``n_iter`` such calls and stays at ``end`` after.
        ``X`` may be a memmap or sparse, streamed as in ``fit``. Data that arrives in pieces
        (an iterator of mini-batch arrays, files read one by one) trains with one call per
        piece: each call is one shuffled pass over that piece, in updates of ``batch_size``
        rows. When ``len(X) <= batch_size`` that is one update with ``X`` as the mini-batch,
        which is what BernoulliRBM's ``partial_fit`` does with any ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} or np.memmap of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : RBM
        """
        check_momentum(self.momentum)
        first = not hasattr(self, "components_")
        X = self._validate_X(X, reset=first, fitting=True)
        check_int8(self.precision, (self.visible, self.hidden), (X.shape[1], self.n_components))
        self._check_memory(X)
        if first:
            self.random_state_ = check_random_state(self.random_state)
            self._init_params(X)
        with limit_threads(self.n_jobs):
            self._train(X, 1, None, PARTIAL_FIT_AUTO if self.n_iter == "auto" else max(1, self.n_iter))
        return self

    def _check_memory(self, X):
        """MemoryError, before anything is allocated, when training cannot fit (``_core/memory``)."""
        rows = 0 if self.n_iter == 0 else X.shape[0]  # n_iter=0 only initialises: no batches
        need = memory.rbm_bytes(X.shape[1], self.n_components, self.batch_size, rows, self.precision)
        memory.check_fits(
            need, f"{type(self).__name__}(n_components={self.n_components}, batch_size="
            f"{self.batch_size}) on {X.shape[1]} features", "its weights, momentum and batches",
            "use fewer hidden units (n_components) or a smaller batch_size",
            resolve_device(self.device),
        )

    def _init_params(self, X):
        # Hinton's guide: weights N(0, 0.01^2), hidden biases 0, and visible biases that make
        # each unit's probability its mean over the data (log p / (1 - p); the data mean for
        # gaussian units), so the model starts from the mean image instead of flat grey.
        n_features = X.shape[1]
        W = self.random_state_.normal(0.0, 0.01, (self.n_components, n_features))
        self.components_ = W.astype(np.float32)
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=np.float32)
        mean = column_mean(X)  # in chunks: no float64 copy of the data
        if self.visible == "bernoulli":
            p = np.clip(mean, 0.01, 0.99)
            mean = np.log(p / (1 - p))
        elif self.visible == "spin":  # tanh(b) = mean, clipped as p above (mean = 2 p - 1)
            mean = np.arctanh(np.clip(mean, -0.98, 0.98))
        self.intercept_visible_ = mean.astype(np.float32)
        self._velocity = None
        self._persistent = None
        self.h_samples_ = np.zeros((self.batch_size, self.n_components), dtype=np.float32)
        self.history_ = {
            "epoch": [],
            "reconstruction_error": [],
            "time": [],
            "learning_rate": [],
            "momentum": [],
            "batch_reconstruction_error": [],
        }
        self.n_iter_ = 0

    def _param_arrays(self):
        return self.components_, self.intercept_visible_, self.intercept_hidden_

    @property
    def _n_features_out(self):
        """Columns of ``transform``, for ``get_feature_names_out`` ("rbm0", "rbm1", ...)."""
        return self.components_.shape[0]

    # ------------------------------------------------------------- inference
    def transform(self, X):
        """Hidden activations E[h | v] (p(h=1 | v) for Bernoulli hiddens).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is multiplied as it is (a sparse product). For Bernoulli visible units,
            values outside [0, 1] are clipped to it.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            float32 for float32 ``X``, else float64 (computed in float32 either way).
        """
        return self._map_rows(X, lambda v, W, b, c: m.mean_hiddens(v, W, c, self.hidden), self._sparse_mean_hiddens)

    def inverse_transform(self, H):
        """Visible means E[v | h].

        Parameters
        ----------
        H : array-like of shape (n_samples, n_components)

        Returns
        -------
        V : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        H = check_array(H, dtype=(np.float32, np.float64))
        if H.shape[1] != self.n_components:
            raise ValueError(
                f"H has {H.shape[1]} columns but this RBM has n_components={self.n_components} "
                "hidden units; pass one column per hidden unit."
            )
        device = resolve_device(self.device)
        W, b, _ = (to_tensor(p, device) for p in self._param_arrays())
        with torch.inference_mode():
            V = m.mean_visibles(to_tensor(H, device), W, b, self.visible)
        return to_numpy(V).astype(H.dtype, copy=False)

    def reconstruct(self, X):
        """v -> E[h | v] -> E[v | h]: the deterministic reconstruction.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        V : ndarray of shape (n_samples, n_features)
        """
        return self.inverse_transform(self.transform(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self.visible == "bernoulli"
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
