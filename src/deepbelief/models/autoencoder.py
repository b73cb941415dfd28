"""The deep autoencoder of Hinton & Salakhutdinov (2006): a pretrained DBN unrolled, fine-tuned."""


import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._core import backprop as ft
from .._core import blowup
from .._core.backend import RandomSource, check_unit_range, clip_unit_range, resolve_device, to_tensor
from .._core.batches import dense_blocks
from .._core.rbm_math import STACKED_UNIT_TYPES as UNIT_TYPES
from .._core.threads import limit_threads
from ._finetuned import FineTunedNet
from ._layers import layer_sizes
from .modelfile import register


def _activation(units):
    return "sigmoid" if units == "bernoulli" else "linear"


@register
class DeepAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, FineTunedNet):
    """Deep autoencoder: an RBM stack pretrained greedily, unrolled, and fine-tuned by backprop.

    The encoder is the DBN's up pass (weights ``W.T``, hidden biases); the decoder its down pass
    (weights ``W``, visible biases), so before fine-tuning the network reconstructs exactly as
    ``dbn_.reconstruct`` does. Fine-tuning minimises the cross-entropy between the data and its
    reconstruction for Bernoulli inputs, and the squared error for Gaussian inputs. Input may
    be scipy.sparse (densified a batch at a time); the codes are named ``deepautoencoder0,
    ...`` (``get_feature_names_out``, ``set_output(transform="pandas")``).

    Parameters
    ----------
    layers : sequence of int, default=(None, 1000, 500, 250, 30)
        Layer sizes from the input to the code: ``[784, 1000, 500, 250, 30]`` is the MNIST net of
        Hinton & Salakhutdinov. ``layers[0]`` must equal the number of features of X (``None``:
        whatever X has).
    visible : {"bernoulli", "gaussian"}, default="bernoulli"
        Input units. Bernoulli units need X in [0, 1]; use "gaussian" for standardized data.
    code : {"gaussian", "bernoulli"}, default="gaussian"
        Units of the code layer: Gaussian (linear) codes as in the paper, or logistic ones.
    pretrain : bool, default=True
        False starts fine-tuning from a random (Glorot) initialisation, for comparison.
    pretrain_n_iter : int, "auto" or list, default="auto"
        RBM epochs, one value for all RBMs or a list with one per RBM. "auto" counts updates:
        about 3,000, within 10 to 200 epochs (see ``n_iter``).
    pretrain_learning_rate : float, "auto" or list, default="auto"
        RBM step sizes; "auto" is 0.1 for Bernoulli RBMs and 0.001 for RBMs with Gaussian
        units (the code layer, as in the paper).
    pretrain_momentum : float, (float, float) or list, default=0.5
        RBM momentum; a tuple ``(start, end)`` is a linear ramp, a list gives one per RBM.
    pretrain_weight_decay : float or list of float, default=0.0
        RBM weight decay (the paper used 2e-4).
    solver : {"adam", "sgd"}, default="adam"
        Fine-tuning optimizer: Adam, or SGD with momentum. (The paper used conjugate gradients
        on mini-batches of 1,000; Adam needs no line searches and is robust to the scale of the
        summed loss.)
    learning_rate : float, default=0.001
        Fine-tuning step size. The loss is summed over pixels, so SGD needs a small value.
    learning_rate_decay : float, default=1.0
        The fine-tuning step size is multiplied by this after every epoch.
    momentum : float or (float, float), default=0.9
        SGD momentum, or a (start, end) ramp. Ignored by Adam.
    weight_decay : float, default=0.0
        Shrinks the fine-tuned weights (not the biases): an L2 penalty with SGD; decoupled
        weight decay with Adam (AdamW: every step multiplies the weights by
        ``1 - learning_rate * weight_decay`` besides the gradient step).
    n_iter : int or "auto", default="auto"
        Fine-tuning epochs. "auto" counts updates: about 3,000, within 10 to 200 epochs (200 for
        the 8x8 digits, 30 for 10,000 MNIST images, 10 for 60,000, at batch 100).
    batch_size : int, default=100
        Examples per update, in pretraining and fine-tuning.
    validation_fraction : float, default=0.0
        Fraction of X held out to measure the reconstruction error every epoch. When > 0, the
        model keeps the weights of the best epoch and stops after ``n_iter_no_change`` epochs
        without improvement.
    n_iter_no_change : int, default=10
        Patience of early stopping; used only when ``validation_fraction > 0``.
    random_state : int, RandomState instance or None, default=None
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
        1 prints loss, reconstruction error and time per fine-tuning epoch and shows progress
        bars; 2 also prints a line per RBM epoch.

    Attributes
    ----------
    coefs_ : list of ndarray
        Encoder then decoder weights; ``coefs_[i]`` has shape (n_in, n_out).
    intercepts_ : list of ndarray
    layer_sizes_ : list of int
        ``layers`` with ``None`` resolved.
    dbn_ : DBN or None
        The pretrained stack before fine-tuning (None when ``pretrain=False``).
    history_ : dict of lists
        Per fine-tuning epoch: ``epoch``, ``phase``, ``loss``, ``reconstruction_error`` (mean
        squared error per example over the epoch's mini-batches), ``validation_error`` (only
        when ``validation_fraction > 0``), ``learning_rate``, ``time``.
    stopping_ : dict
        When and why fine-tuning stopped: ``epochs_run``, ``planned_epochs``, ``best_epoch``
        (with a validation split: the epoch whose weights were kept), ``stopped_early``,
        ``reason`` in words.
    n_iter_ : int
        Fine-tuning epochs actually run.
    n_features_in_ : int

    References
    ----------
    Hinton, G. E. & Salakhutdinov, R. R. (2006). Reducing the dimensionality of data with
    neural networks. Science 313, 504-507.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import DeepAutoencoder
    >>> X = load_digits().data / 16
    >>> ae = DeepAutoencoder([64, 32, 2], pretrain_n_iter=2, n_iter=2, random_state=0).fit(X)
    >>> ae.transform(X).shape, ae.reconstruct(X).shape
    ((1797, 2), (1797, 64))
    """

    _parameter_constraints = {
        **FineTunedNet._parameter_constraints,
        "layers": [list, tuple, np.ndarray],
        "code": [StrOptions(set(UNIT_TYPES))],
    }

    def __init__(
        self,
        layers=(None, 1000, 500, 250, 30),
        *,
        visible="bernoulli",
        code="gaussian",
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
        n_iter="auto",
        batch_size=100,
        validation_fraction=0.0,
        n_iter_no_change=10,
        random_state=None,
        device="auto",
        precision="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.layers = layers
        self.visible = visible
        self.code = code
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
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def _activations(self):
        """Activation of every layer, encoder then decoder (the last one before any sigmoid)."""
        n = len(self.layer_sizes_) - 1
        encoder = ["sigmoid"] * (n - 1) + [_activation(self.code)]
        decoder = ["sigmoid"] * (n - 1) + [_activation(self.visible)]
        return encoder + decoder

    def _initial_layers(self, X, rng, callback):
        """Encoder and decoder (coefs, intercepts): the unrolled DBN, or random."""
        sizes = self.layer_sizes_
        self.dbn_ = None
        if self.pretrain:
            hidden = ["bernoulli"] * (len(sizes) - 2) + [self.code]
            self.dbn_ = self._pretrain(X, sizes, hidden, rng, callback)
            rbms = self.dbn_.rbms_
            coefs = [r.components_.T for r in rbms] + [r.components_ for r in reversed(rbms)]
            intercepts = [r.intercept_hidden_ for r in rbms]
            return coefs, intercepts + [r.intercept_visible_ for r in reversed(rbms)]
        pairs = list(zip(sizes[:-1], sizes[1:]))
        layers = [ft.glorot(rng, a, b, True) for a, b in pairs]
        layers += [ft.glorot(rng, b, a, True) for a, b in reversed(pairs)]
        return [W for W, _ in layers], [b for _, b in layers]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, callback=None):
        """Pretrain the stack (unless ``pretrain=False``), unroll it and fine-tune it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is densified one batch at a time, in pretraining and fine-tuning.
        y : ignored
        callback : callable, optional
            ``callback(ae, stage, epoch)`` after every epoch (0-based) of every stage: while
            RBM ``i`` is pretrained ``stage`` is ``i`` and ``ae.dbn_`` is the stack so far;
            then ``stage`` is "network" and ``transform``, ``reconstruct`` and the other
            methods use the weights of that epoch. For snapshots and training videos.

        Returns
        -------
        self : DeepAutoencoder
        """
        with limit_threads(self.n_jobs):
            X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32))
            self.layer_sizes_ = layer_sizes(self.layers, X.shape[1])
            check_unit_range(X, self.visible)
            pairs = list(zip(self.layer_sizes_[:-1], self.layer_sizes_[1:]))
            self._check_memory(pairs + [(b, a) for a, b in reversed(pairs)], X.shape[0])
            rng = check_random_state(self.random_state)
            device = resolve_device(self.device)
            X_val = None
            if self.validation_fraction > 0:
                X, X_val = train_test_split(X, test_size=self.validation_fraction, random_state=rng)
            coefs, intercepts = self._initial_layers(X, rng, callback)
            weights, biases = ft.as_parameters(coefs, device), ft.as_parameters(intercepts, device)
            source = RandomSource(rng, device)
            self.history_ = ft.new_history("reconstruction_error", X_val is not None)
            self.n_iter_, self.stopping_ = 0, None
            if self.n_iter:
                self.stopping_ = self._fine_tune(X, X_val, weights, biases, source, callback)
                self.n_iter_ = self.stopping_["epochs_run"]
            self.coefs_, self.intercepts_ = ft.to_arrays(weights), ft.to_arrays(biases)
            return self

    def _fine_tune(self, X, X_val, weights, biases, source, callback):
        device = weights[0].device
        data = ft.Rows(X, device)
        activations = self._activations()
        bernoulli = self.visible == "bernoulli"

        def output(x):  # (B, n_features): logits for Bernoulli inputs, values for Gaussian
            for W, b, act in zip(weights[:-1], biases[:-1], activations[:-1]):
                x = ft.layer_forward(x, W, b, act)
            return ft.layer_forward(x, weights[-1], biases[-1], "linear")

        def squared_error(out, x):
            rec = torch.sigmoid(out) if bernoulli else out
            return ((rec - x) ** 2).sum()

        def batch_loss(rows):
            x = data.take(rows)
            out = output(x)
            se = squared_error(out, x)
            if bernoulli:
                loss = F.binary_cross_entropy_with_logits(out, x, reduction="sum") / x.shape[0]
            else:
                loss = se / x.shape[0]
            return loss, se

        evaluate = None
        if X_val is not None:
            val = ft.Rows(X_val, device)

            def evaluate():
                return sum(squared_error(output(x), x) for x in val.blocks()) / X_val.shape[0]

        settings = self._settings(self.n_iter, X.shape[0], weights)
        # The first and last layers touch Gaussian visible units, whose weights scale with the
        # data: the blow-up check skips them.
        watched = weights if bernoulli else weights[1:-1]
        return ft.train(
            weights, biases, batch_loss, X.shape[0], settings, source, evaluate=evaluate,
            history=self.history_, metric="reconstruction_error", name=type(self).__name__,
            verbose=self.verbose,
            on_epoch=ft.snapshot_hook(self, callback, "network", weights, biases),
            blow_up=blowup.autoencoder_check(watched, X, self.visible),
        )

    # ------------------------------------------------------------- inference
    def _run(self, Z, start, stop):
        """Apply layers ``start:stop`` of the unrolled net to the rows of ``Z``."""
        with limit_threads(self.n_jobs):
            device, dtype = resolve_device(self.device), ft.torch_dtype(Z)
            all_layers = list(zip(self.coefs_, self.intercepts_, self._activations()))
            layers = [
                (to_tensor(W, device, dtype), to_tensor(b, device, dtype), act)
                for W, b, act in all_layers[start:stop]
            ]

            def forward(h):
                for W, b, act in layers:
                    h = ft.layer_forward(h, W, b, act)
                return h

            return ft.predict_in_batches(forward, Z, device).astype(Z.dtype, copy=False)

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=(np.float64, np.float32))
        X = clip_unit_range(X, self.visible)
        return X

    @property
    def _n_features_out(self):
        """Columns of ``transform``, for ``get_feature_names_out`` ("deepautoencoder0", ...)."""
        return self.layer_sizes_[-1]

    def transform(self, X):
        """Codes: the encoder's output.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        codes : ndarray of shape (n_samples, layer_sizes_[-1])
            float32 for float32 ``X``, else float64.
        """
        return self._run(self._check_X(X), 0, len(self.coefs_) // 2)

    def inverse_transform(self, codes):
        """Decode codes back to data space.

        Parameters
        ----------
        codes : array-like of shape (n_samples, layer_sizes_[-1])

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        codes = check_array(codes, dtype=(np.float32, np.float64))
        if codes.shape[1] != self.layer_sizes_[-1]:
            raise ValueError(f"codes have {codes.shape[1]} columns but the code layer has "
                             f"{self.layer_sizes_[-1]} units; pass one column per code unit.")
        return self._run(codes, len(self.coefs_) // 2, len(self.coefs_))

    def reconstruct(self, X):
        """Encode and decode.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features)
        """
        return self._run(self._check_X(X), 0, len(self.coefs_))

    def reconstruction_error(self, X):
        """Mean over examples of the squared error summed over features (H&S 2006's measure).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse X is densified a block of rows at a time.

        Returns
        -------
        error : float
        """
        X = self._check_X(X)
        errors = [
            np.sum((self._run(block, 0, len(self.coefs_)) - block) ** 2, axis=1, dtype=np.float64)
            for block in dense_blocks(X)
        ]
        return float(np.mean(np.concatenate(errors)))

    def score(self, X, y=None):
        """Negative ``reconstruction_error(X)``: greater is better, as scikit-learn expects."""
        return -self.reconstruction_error(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------ model files
    def _get_state(self):
        arrays, state = super()._get_state()
        state["layer_sizes_"] = self.layer_sizes_
        return arrays, state

    def _saved_shapes(self, saved):
        """The layers in a file: the encoder down ``layer_sizes_``, the decoder back up."""
        sizes = saved.sizes("layer_sizes_", min_length=2)
        saved.check_params(lambda: layer_sizes(self.layers, self.n_features_in_))
        if sizes[0] != self.n_features_in_:
            saved.fail("layer_sizes_", f"starts with {sizes[0]} but n_features_in_ is "
                       f"{self.n_features_in_}.")
        self.layer_sizes_ = sizes
        encoder = list(zip(sizes[:-1], sizes[1:]))
        return encoder + [(n_out, n_in) for n_in, n_out in reversed(encoder)]

    def _pretrained_widths(self):
        return self.layer_sizes_[1:]
