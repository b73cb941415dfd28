"""What a fitted RBM or DBN has learned, as arrays of pixels ready to be drawn.

Every function takes a fitted :class:`~deepbelief.RBM` or :class:`~deepbelief.DBN`, or a fine-tuned
network (its pretrained stack is used) and returns NumPy arrays with one
row per picture. Drawing them is left to :mod:`deepbelief.viz.figures` or :mod:`deepbelief.viz.tiles`.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from ..models.stack import rbm_stack


def _rbm_stack(model):
    """The RBMs of ``model``, bottom first; an error when it has none to draw from."""
    rbms = rbm_stack(model)
    if not rbms:
        raise TypeError(
            f"this {type(model).__name__} was trained with pretrain=False, so it has no RBM or "
            "DBN to draw from."
        )
    return rbms


def _layer_index(layer, n_layers):
    """``layer`` as a 0-based index into the stack; negative values count from the top."""
    valid = isinstance(layer, Integral) and not isinstance(layer, bool)
    if not valid or not -n_layers <= layer < n_layers:
        raise ValueError(
            f"layer must be an integer from {-n_layers} to {n_layers - 1} (0 is the first hidden "
            f"layer, -1 the top; this model has {n_layers}), got {layer!r}."
        )
    return int(layer) % n_layers


def _down(rbms, H):
    """E[v | h] down through ``rbms`` from the top one to the pixels."""
    for rbm in reversed(rbms):
        H = rbm.inverse_transform(H)
    return H


def _up_down(rbms, X):
    """Up through ``rbms`` with E[h | v], then back down with E[v | h]."""
    H = X
    for rbm in rbms:
        H = rbm.transform(H)
    return _down(rbms, H)


def bias_only_reconstruction(model, layer=-1):
    """The picture drawn with every hidden unit of one layer off: E[v | h = 0], then down.

    For an RBM this is ``sigmoid(intercept_visible_)`` (Bernoulli pixels), which after training
    looks much like the mean digit ``X.mean(axis=0)``.

    Parameters
    ----------
    model : fitted RBM or DBN
    layer : int, default=-1
        Hidden layer whose units are all off, 0-based (0 is the first RBM, -1 the top). The
        layers below it are driven by its visible means, down to the pixels.

    Returns
    -------
    image : ndarray of shape (n_features,)

    Examples
    --------
    >>> from deepbelief import RBM
    >>> from deepbelief.datasets import load_digits
    >>> X = load_digits().X
    >>> rbm = RBM(32, n_iter=2, random_state=0).fit(X)
    >>> bias_only_reconstruction(rbm).shape
    (64,)
    """
    rbms = _rbm_stack(model)
    k = _layer_index(layer, len(rbms))
    return _down(rbms[: k + 1], np.zeros((1, rbms[k].n_components)))[0]


def unit_probes(model, units=None, layer=0, subtract_bias=False):
    """What single hidden units draw: one unit on, every other unit of its layer off, then down.

    For an RBM, the probe of unit ``j`` is ``sigmoid(components_[j] + intercept_visible_)``; for
    a unit of a higher DBN layer it goes down through every RBM below.

    Parameters
    ----------
    model : fitted RBM or DBN
    units : array-like of int, default=None
        Which units of the layer to probe; all of them when None.
    layer : int, default=0
        Hidden layer of the units, 0-based (0 is the first RBM, -1 the top).
    subtract_bias : bool, default=False
        Subtract :func:`bias_only_reconstruction` of the layer, leaving only what the unit adds
        (positive where it turns pixels on, negative where it turns them off).

    Returns
    -------
    probes : ndarray of shape (n_units, n_features)
    """
    rbms = _rbm_stack(model)
    k = _layer_index(layer, len(rbms))
    n_hidden = rbms[k].n_components
    units = np.arange(n_hidden) if units is None else np.asarray(units).reshape(-1)
    if units.size and (units.dtype.kind not in "iu" or units.min() < 0 or units.max() >= n_hidden):
        raise ValueError(
            f"units must be integers from 0 to {n_hidden - 1} (layer {k} has {n_hidden} hidden "
            f"units), got {units.tolist()!r}."
        )
    H = np.zeros((len(units), n_hidden))
    H[np.arange(len(units)), units] = 1.0
    probes = _down(rbms[: k + 1], H)
    if subtract_bias:
        probes = probes - bias_only_reconstruction(model, layer=k)
    return probes


def layer_reconstructions(model, X):
    """Reconstructions of ``X`` through 1, 2, ... RBMs: up with E[h | v], back down with E[v | h].

    Parameters
    ----------
    model : fitted RBM or DBN
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    reconstructions : list of ndarray of shape (n_samples, n_features)
        ``reconstructions[i]`` went up through ``i + 1`` RBMs; one item for an RBM.
    """
    rbms = _rbm_stack(model)
    reconstructions, H = [], X
    for k, rbm in enumerate(rbms):
        H = rbm.transform(H)
        reconstructions.append(_down(rbms[: k + 1], H))
    return reconstructions


def repair(model, X_damaged, n_steps=1, n_layers=None, keep=None):
    """Clean up damaged or noisy digits with deterministic (mean-field) reconstructions.

    Each step takes the images up through the first ``n_layers`` RBMs with E[h | v] and back
    down with E[v | h]. The model pulls the images towards what it has learned digits look like.

    Parameters
    ----------
    model : fitted RBM or DBN
    X_damaged : array-like of shape (n_samples, n_features)
    n_steps : int, default=1
        Up-and-down passes; a few more can restore larger holes, too many blur the digit.
    n_layers : int, default=None
        RBMs to go up through (DBN only); all of them when None.
    keep : array-like of bool of shape (n_samples, n_features), default=None
        Pixels known to be intact (e.g. ``~mask`` from :func:`damage`): they are reset to their
        values in ``X_damaged`` after every step, so only the others are filled in.

    Returns
    -------
    X_repaired : ndarray of shape (n_samples, n_features)
    """
    rbms = _rbm_stack(model)
    n = len(rbms) if n_layers is None else n_layers
    if not isinstance(n, Integral) or isinstance(n, bool) or not 1 <= n <= len(rbms):
        raise ValueError(f"n_layers must be an integer from 1 to {len(rbms)}, got {n_layers!r}.")
    if not isinstance(n_steps, Integral) or isinstance(n_steps, bool) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")
    X_damaged = np.asarray(X_damaged)
    if keep is not None:
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != X_damaged.shape:
            raise ValueError(
                f"keep must have the shape of X_damaged {X_damaged.shape}, got {keep.shape}."
            )
    X = X_damaged
    for _ in range(n_steps):
        X = _up_down(rbms[:n], X)
        if keep is not None:
            X = np.where(keep, X_damaged, X).astype(X.dtype, copy=False)
    return X


def damage(X, image_shape, kind="occlude", amount=0.25, random_state=None, return_mask=False):
    """Damaged copies of images, for repair demos and tests.

    Parameters
    ----------
    X : array-like of shape (n_samples, height * width)
        Pixels in [0, 1].
    image_shape : (int, int)
        ``(height, width)`` of one image.
    kind : {"occlude", "noise"}, default="occlude"
        "occlude" blanks (sets to 0) one square at a random place in each image, covering about
        ``amount`` of its area; "noise" sets a random ``amount`` of the pixels to 0 or 1
        (salt and pepper).
    amount : float, default=0.25
        Fraction of each image damaged, in (0, 1].
    random_state : int, RandomState instance or None, default=None
    return_mask : bool, default=False
        Also return which pixels were damaged.

    Returns
    -------
    X_damaged : ndarray of shape (n_samples, height * width), float
    mask : ndarray of bool, same shape
        True where a pixel was damaged; only with ``return_mask=True``.
    """
    X = np.array(X, dtype=float)
    height, width = image_shape
    if X.ndim != 2 or X.shape[1] != height * width:
        raise ValueError(
            f"X must have shape (n_samples, {height * width}) for image_shape="
            f"{tuple(image_shape)}, got {X.shape}."
        )
    if not isinstance(amount, Real) or not 0 < amount <= 1:
        raise ValueError(f"amount must be a fraction in (0, 1], got {amount!r}.")
    rng = check_random_state(random_state)
    n = len(X)
    if kind == "occlude":
        side_h = max(1, round(height * np.sqrt(amount)))
        side_w = max(1, round(width * np.sqrt(amount)))
        tops = rng.randint(0, height - side_h + 1, size=n)
        lefts = rng.randint(0, width - side_w + 1, size=n)
        rows, cols = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
        mask = (
            (rows >= tops[:, None, None]) & (rows < (tops + side_h)[:, None, None])
            & (cols >= lefts[:, None, None]) & (cols < (lefts + side_w)[:, None, None])
        ).reshape(n, -1)  # (n, height * width)
        X[mask] = 0.0
    elif kind == "noise":
        mask = rng.rand(*X.shape) < amount
        X[mask] = rng.randint(0, 2, size=int(mask.sum()))
    else:
        raise ValueError(f"kind must be 'occlude' or 'noise', got {kind!r}.")
    return (X, mask) if return_mask else X
