"""Going on training a fitted DBNClassifier: ``partial_fit`` (one epoch a call, the optimizer's
state kept) and ``warm_start`` fits, as MLPClassifier has them; and its label helpers."""

import numpy as np
from sklearn.base import _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .._core import backprop as ft
from .._core.backend import RandomSource, check_unit_range, resolve_device
from .._core.threads import limit_threads


def split_off(X, y, fraction, rng):
    """Hold out ``fraction`` of the rows, stratified when every class has two examples."""
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    return train_test_split(X, y, test_size=fraction, random_state=rng, stratify=stratify)


def class_indices(y, classes):
    """The index in ``classes`` (sorted) of every label of ``y``; unknown labels are refused."""
    index = np.searchsorted(classes, y)
    known = (index < len(classes)) & (classes[np.minimum(index, len(classes) - 1)] == y)
    if not np.all(known):
        raise ValueError(f"y holds labels {np.unique(np.asarray(y)[~known])!r} that are not among the "
                         f"classes {classes!r}; pass every label of the data in classes.")
    return index


class ContinuedTrainingMixin:
    """``partial_fit`` and the warm-start path of ``DBNClassifier.fit``; uses its ``_fit_new``
    and ``_fine_tune``."""

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One epoch of fine-tuning over ``(X, y)``; the first call builds the network.

        As MLPClassifier's ``partial_fit``: the first call needs ``classes``, every call runs
        one pass of mini-batches over X, and the optimizer's state (Adam's moments, SGD's
        momentum) carries over between calls (in memory: model files do not hold it). The
        first call also pretrains the DBN on its X (unless ``pretrain=False``) and trains
        ``output_n_iter`` epochs of the softmax layer, as ``fit`` does. ``partial_fit`` holds
        no rows out for validation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels, each one of ``classes``.
        classes : array-like of shape (n_classes,), optional
            Every label of the whole data (e.g. ``np.unique(y_all)``): needed on the first
            call, checked on later ones.

        Returns
        -------
        self : DBNClassifier
        """
        if not hasattr(self, "coefs_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit, e.g. "
                                 "classes=np.unique(y_all) with the labels of the whole data.")
            return self._fit_new(X, y, None, classes=classes, n_iter=1)
        if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={np.unique(classes)!r} differ from those of the first call "
                             f"({self.classes_!r}); pass the same classes or none.")
        return self._go_on(X, y, 1, None, keep_optimizer=True)

    def _go_on(self, X, y, n_iter, callback, keep_optimizer=False):
        """Fine-tune the fitted network for ``n_iter`` more epochs (warm start, partial_fit)."""
        with limit_threads(self.n_jobs):
            X, y = validate_data(self, X, y, reset=False, accept_sparse="csr", dtype=(np.float64, np.float32))
            check_classification_targets(y)
            y = class_indices(y, self.classes_)
            check_unit_range(X, self.visible)
            device = resolve_device(self.device)
            rng = getattr(self, "_rng", None) or check_random_state(self.random_state)
            X_val = y_val = None
            if self.validation_fraction > 0 and not keep_optimizer:
                X, X_val, y, y_val = split_off(X, y, self.validation_fraction, rng)
            weights, biases = ft.as_parameters(self.coefs_, device), ft.as_parameters(self.intercepts_, device)
            if not keep_optimizer:
                self._optimizer_state = None
            self._fine_tune(X, y, X_val, y_val, weights, biases, RandomSource(rng, device), callback, n_iter, 0)
            self.coefs_, self.intercepts_ = ft.to_arrays(weights), ft.to_arrays(biases)
            return self
