"""Telling an RBM whose training blew up from one that is still learning.

Sigmoid units never overflow: with far too large a learning rate a Bernoulli RBM's weights grow
into the millions, every hidden unit is stuck at 0 or 1, and the reconstructions are worse than
the plain mean image, all without a NaN. Two signs together tell that apart from a model that
is merely young (whose reconstructions are about the mean image too) or small data (whose
error jumps about): weights beyond ``WEIGHT_LIMIT``, where one pixel alone saturates a unit,
and a reconstruction error above the error of always predicting each pixel's mean. Real
training stays far inside both (docs/benchmarks.md, "How far real training stays from the
blow-up check", has the figures).
"""

import numpy as np
import torch

from .batches import ArrayRows, RowStream

# sigmoid(10) = 0.99995: a weight this large decides its unit from one pixel of [0, 1] data.
WEIGHT_LIMIT = 10.0


def mean_image_error(X):
    """Mean squared error per pixel of predicting every row by the column means of ``X``.

    That is the mean over columns of their variance, computed in float64 chunks.

    Parameters
    ----------
    X : ndarray, memmap, RowStream or scipy sparse matrix of shape (n_samples, n_features)

    Returns
    -------
    error : float
    """
    if hasattr(X, "toarray"):  # scipy.sparse: the squares stay sparse
        X = X.astype(np.float64)
        mean = np.asarray(X.mean(axis=0)).ravel()
        squares = np.asarray(X.multiply(X).mean(axis=0)).ravel()
        return float(np.mean(squares - mean**2))
    stream = X if isinstance(X, RowStream) else ArrayRows(X)
    n_samples, n_features = stream.shape
    total, squares = np.zeros(n_features), np.zeros(n_features)
    for chunk in stream.chunks():
        chunk = np.asarray(chunk, dtype=np.float64)
        total += chunk.sum(axis=0)
        squares += np.square(chunk).sum(axis=0)
    mean = total / n_samples
    return float(np.mean(np.maximum(squares / n_samples - mean**2, 0.0)))


class BlowUpCheck:
    """Called after every epoch; raises ``FloatingPointError`` once a Bernoulli RBM blew up.

    Parameters
    ----------
    X : array-like or RowStream of shape (n_samples, n_features)
        The training data (its mean-image error is computed only if the weights get large).
    visible : {"bernoulli", "gaussian"}
        Gaussian visible units are left to the NaN check: their weights scale with the data.
    """

    def __init__(self, X, visible):
        self.X = X
        self.visible = visible
        self._mean_image_error = None

    def __call__(self, W, error, epoch, learning_rate, momentum):
        """Check one epoch's result; raise ``FloatingPointError`` if the training blew up.

        Parameters
        ----------
        W : Tensor of shape (n_components, n_features)
            The weights after the epoch.
        error : float
            The epoch's mean reconstruction error (squared, per pixel).
        epoch : int
            0-based.
        learning_rate, momentum : float
            As the message reports them.
        """
        if self.visible != "bernoulli":
            return
        largest = float(torch.max(torch.abs(W)))
        if largest <= WEIGHT_LIMIT:
            return
        if self._mean_image_error is None:
            self._mean_image_error = mean_image_error(self.X)
        if error > self._mean_image_error:
            raise FloatingPointError(
                f"RBM training blew up in epoch {epoch + 1}: weights reach {largest:.3g} and "
                f"the reconstruction error ({error:.4g}) is worse than always predicting the "
                f"mean image ({self._mean_image_error:.4g}), so the hidden units are stuck at "
                f"0 or 1: lower learning_rate (now {learning_rate:g}; 0.01 to 0.1 suits "
                f"data in [0, 1]) or momentum (now {momentum:g})."
            )
