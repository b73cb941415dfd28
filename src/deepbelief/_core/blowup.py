"""Telling a training run that blew up from one that is still learning.

Sigmoid units never overflow: with far too large a learning rate the weights of an RBM, a DBM or
a backprop net grow into the millions, every sigmoid unit is stuck at 0 or 1, and the model does
worse than one that ignores its input, all without a NaN. Two signs together tell that apart
from a model that is merely young (which does about as well as ignoring its input too) or small
data (whose error jumps about): weights beyond ``WEIGHT_LIMIT``, where one input alone saturates
a unit, and an error worse than the baseline of a model that learned nothing:

- RBM and DBM: the reconstruction error against always predicting the mean image;
- a classifier's training loss against guessing uniformly among the classes (log n_classes);
- an autoencoder's training loss against always predicting the mean image.

Every loop checks after each epoch, with the error it computed anyway; a baseline that needs a
pass over the data is computed only once the weights are large. Weights that touch Gaussian
visible units scale with the data and are not watched (non-finite values still stop those
runs). Real training stays far inside both limits (docs/benchmarks.md, "How far real training
stays from the blow-up check", has the figures).
"""

import math

import numpy as np

from .batches import ArrayRows, RowStream

# sigmoid(10) = 0.99995: a weight this large decides its unit from one input in [0, 1].
WEIGHT_LIMIT = 10.0


def _column_moments(X):
    """Column means and mean squares of ``X`` in float64: (mean, squares), each (n_features,)."""
    if hasattr(X, "toarray"):  # scipy.sparse: the squares stay sparse
        X = X.astype(np.float64)
        return np.asarray(X.mean(axis=0)).ravel(), np.asarray(X.multiply(X).mean(axis=0)).ravel()
    stream = X if isinstance(X, RowStream) else ArrayRows(X)
    n_samples, n_features = stream.shape
    total, squares = np.zeros(n_features), np.zeros(n_features)
    for chunk in stream.chunks():
        chunk = np.asarray(chunk, dtype=np.float64)
        total += chunk.sum(axis=0)
        squares += np.square(chunk).sum(axis=0)
    return total / n_samples, squares / n_samples


def mean_image_error(X, sampled=False):
    """Mean squared error per pixel of predicting every row by the column means of ``X``.

    That is the mean over columns of their variance, computed in float64 chunks.

    Parameters
    ----------
    X : ndarray, memmap, RowStream or scipy sparse matrix of shape (n_samples, n_features)
    sampled : bool, default=False
        The error against 0/1 draws with P(1) = X (the batches of ``DBM.sample_input``):
        p (1 - p) per column of mean p, which adds the draws' own noise to the variance.

    Returns
    -------
    error : float
    """
    mean, squares = _column_moments(X)
    if sampled:
        return float(np.mean(mean - mean**2))
    return float(np.mean(np.maximum(squares - mean**2, 0.0)))


def mean_image_loss(X, visible):
    """An autoencoder's loss per example when it always outputs the mean image of ``X``.

    Bernoulli visible units: the cross-entropy summed over pixels, sum_j H(p_j) for column
    means p_j (the cross-entropy is linear in the data, so its mean is the entropy of the mean);
    Gaussian: the squared error summed over pixels, the sum of the column variances.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
    visible : {"bernoulli", "gaussian"}

    Returns
    -------
    loss : float
    """
    if visible != "bernoulli":
        return mean_image_error(X) * X.shape[1]
    p = np.clip(_column_moments(X)[0], 0.0, 1.0)
    entropy = -(p * np.log(np.where(p > 0, p, 1.0)) + (1 - p) * np.log(np.where(p < 1, 1 - p, 1.0)))
    return float(entropy.sum())


def largest_weight(weights):
    """The largest absolute value in a list of tensors (0.0 for an empty list)."""
    return max((float(W.detach().abs().max()) for W in weights if W.numel()), default=0.0)


class BlowUpCheck:
    """Called after every epoch; raises ``FloatingPointError`` once the training blew up.

    Parameters
    ----------
    weights : list of Tensor
        The weights to watch, updated in place by the training loop.
    baseline : float or callable
        The error of a model that learned nothing, or a function computing it (called once,
        the first time the weights are large).
    error_name, baseline_name : str
        For the message: "the {error_name} (...) is worse than {baseline_name} (...)".
    consequence : str, default=""
        Appended to that sentence (", so ...").
    """

    def __init__(self, weights, baseline, error_name, baseline_name, consequence=""):
        self.weights = list(weights)
        self.baseline = baseline
        self.error_name = error_name
        self.baseline_name = baseline_name
        self.consequence = consequence

    def __call__(self, error, what, fix):
        """Check one epoch's result; raise ``FloatingPointError`` if the training blew up.

        Parameters
        ----------
        error : float
            The epoch's mean error, comparable with the baseline.
        what : str
            Opens the message: "RBM training blew up in epoch 3".
        fix : str
            Ends it: which settings to lower, with their values now.
        """
        largest = largest_weight(self.weights)
        if largest <= WEIGHT_LIMIT:
            return
        if callable(self.baseline):
            self.baseline = float(self.baseline())
        if error > self.baseline:
            raise FloatingPointError(
                f"{what}: weights reach {largest:.3g} and the {self.error_name} ({error:.4g}) is "
                f"worse than {self.baseline_name} ({self.baseline:.4g}){self.consequence}: {fix}."
            )


def reconstruction_check(weights, X, sampled=False):
    """The check of an RBM or a DBM: the reconstruction error (squared, per pixel) against
    always predicting the mean image of ``X`` (``sampled``: of its 0/1 draws)."""
    return BlowUpCheck(weights, lambda: mean_image_error(X, sampled), "reconstruction error",
                       "always predicting the mean image", ", so the hidden units are stuck at 0 or 1")


def classification_check(weights, n_classes):
    """The check of a classifier: the training cross-entropy against log(n_classes)."""
    return BlowUpCheck(weights, math.log(n_classes), "training loss",
                       f"guessing among the {n_classes} classes at random",
                       ", so the network is confidently wrong")


def autoencoder_check(weights, X, visible):
    """The check of an autoencoder: the training loss against ``mean_image_loss(X, visible)``."""
    return BlowUpCheck(weights, lambda: mean_image_loss(X, visible), "training loss",
                       "always predicting the mean image", ", so the hidden units are stuck at 0 or 1")


def lower(*settings):
    """'lower learning_rate (now 0.1) or momentum (now 0.9)' from (name, value) pairs."""
    return "lower " + " or ".join(f"{name} (now {value:g})" for name, value in settings)
